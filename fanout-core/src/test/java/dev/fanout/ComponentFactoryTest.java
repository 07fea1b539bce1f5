package dev.fanout;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.IntNode;
import dev.fanout.spi.InMemoryJobStore;
import dev.fanout.spi.StoredResult;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;
import java.util.function.Function;
import org.junit.jupiter.api.Test;

/** Durable components made per job from the configuration stored with it. */
class ComponentFactoryTest {
  private static final ObjectMapper JSON = new ObjectMapper();
  private final InMemoryJobStore store = new InMemoryJobStore();

  private Engine engine(Set<JobId> madeFor) {
    Engine engine = FanOut.builder().store(store).pollInterval(Duration.ofMillis(10)).build();
    engine.registerFunctionFactory(
        "multiply",
        Integer.class,
        (job, config) -> {
          if (config == null || !config.path("by").isInt()) {
            throw new IllegalArgumentException("multiply needs {\"by\": <int>}");
          }
          if (job != null) {
            madeFor.add(job);
          }
          int by = config.get("by").asInt();
          return (Integer n, TaskContext ctx) -> n * by;
        });
    engine.registerTransformFactory(
        "plus",
        JsonNode.class,
        (job, config) -> {
          Function<JsonNode, Object> plus = v -> v.asInt() + config.get("add").asInt();
          return plus;
        });
    engine.register(
        "refuse",
        Integer.class,
        (Integer n, TaskContext ctx) -> {
          throw new TaskException(
              "bad_item",
              "item " + n + " is refused",
              false,
              null,
              // A detail named like one of the engine's own fields must not replace it.
              Map.of("httpStatus", 422, "code", "sneaky"),
              null);
        });
    return engine;
  }

  private static JsonNode json(String text) throws Exception {
    return JSON.readTree(text);
  }

  @Test
  void each_job_gets_a_component_made_from_its_own_configuration() throws Exception {
    Set<JobId> madeFor = ConcurrentHashMap.newKeySet();
    try (Engine engine = engine(madeFor)) {
      JobHandle<JsonNode> triple =
          engine.submit(
              JobSpec.items(List.of(1, 2, 3))
                  .function("multiply", json("{\"by\": 3}"))
                  .transform("plus", json("{\"add\": 1}"))
                  .reduce("sum")
                  .build());
      JobHandle<JsonNode> tenfold =
          engine.submit(
              JobSpec.items(List.of(1, 2, 3))
                  .function("multiply", json("{\"by\": 10}"))
                  .reduce("sum")
                  .build());

      assertThat(triple.outcome().get(30, TimeUnit.SECONDS).aggregate())
          .isEqualTo(IntNode.valueOf(3 + 6 + 9 + 3));
      assertThat(tenfold.outcome().get(30, TimeUnit.SECONDS).aggregate())
          .isEqualTo(IntNode.valueOf(60));
      assertThat(madeFor).containsExactlyInAnyOrder(triple.id(), tenfold.id());
    }
  }

  @Test
  void a_consumer_that_cannot_be_made_once_the_job_runs_does_not_stop_its_items() throws Exception {
    try (Engine engine = engine(ConcurrentHashMap.newKeySet())) {
      // Accepted when checked at submit, refused when made for the job: as a webhook whose URL
      // the allow-list refuses after a restart.
      engine.registerConsumerFactory(
          "picky",
          JsonNode.class,
          (job, config) -> {
            if (job != null) {
              throw new IllegalArgumentException("not today");
            }
            return r -> {};
          });
      JobHandle<JsonNode> job =
          engine.submit(
              JobSpec.items(List.of(1, 2, 3))
                  .function("multiply", json("{\"by\": 2}"))
                  .consumer("picky", json("{}"))
                  .reduce("sum")
                  .build());

      assertThat(job.outcome().get(30, TimeUnit.SECONDS).aggregate())
          .isEqualTo(IntNode.valueOf(12));
    }
  }

  @Test
  void a_configuration_the_factory_refuses_fails_the_submission_naming_why() {
    try (Engine engine = engine(ConcurrentHashMap.newKeySet())) {
      assertThatThrownBy(
              () ->
                  engine.submit(
                      JobSpec.items(List.of(1))
                          .function("multiply", json("{\"by\": \"x\"}"))
                          .build()))
          .isInstanceOf(IllegalArgumentException.class)
          .hasMessageContaining("multiply needs {\"by\": <int>}");
      assertThatThrownBy(
              () ->
                  engine.submit(
                      JobSpec.items(List.of(1)).function("refuse", json("{\"a\": 1}")).build()))
          .isInstanceOf(IllegalArgumentException.class)
          .hasMessageContaining("takes no configuration");
    }
  }

  @Test
  void a_task_exception_is_stored_with_its_code_and_details_and_not_retried() throws Exception {
    try (Engine engine = engine(ConcurrentHashMap.newKeySet())) {
      JobHandle<Void> job =
          engine.submit(
              JobSpec.items(List.of(7))
                  .function("refuse")
                  .retry(RetryPolicy.builder().maxAttempts(5).build())
                  .build());
      JobOutcome<Void> outcome = job.outcome().get(30, TimeUnit.SECONDS);

      assertThat(outcome.state()).isEqualTo(JobState.FAILED);
      List<StoredResult> failures = store.failures(job.id(), 0, 10);
      assertThat(failures).hasSize(1);
      assertThat(failures.get(0).attempts()).isEqualTo(1);
      JsonNode error = JSON.readTree(failures.get(0).error());
      assertThat(error.get("code").asText()).isEqualTo("bad_item");
      assertThat(error.get("httpStatus").asInt()).isEqualTo(422);
      assertThat(error.get("message").asText()).isEqualTo("item 7 is refused");
    }
  }
}
