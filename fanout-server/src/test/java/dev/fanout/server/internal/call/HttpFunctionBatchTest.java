package dev.fanout.server.internal.call;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.awaitility.Awaitility.await;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.IntNode;
import com.fasterxml.jackson.databind.node.NullNode;
import com.fasterxml.jackson.databind.node.TextNode;
import dev.fanout.JobId;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.time.ZoneOffset;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import org.eclipse.jetty.client.HttpClient;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/**
 * A batched HTTP function against a real stub on loopback: concurrent attempts of one job become
 * one call of a JSON array, whose answer is split back by position, and whose failures reach every
 * attempt of the batch.
 */
class HttpFunctionBatchTest {
  private static final ObjectMapper MAPPER = new ObjectMapper();
  private static final String TRACEPARENT =
      "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01";
  // Long enough never to fire in these tests: batches here go out because they are full or
  // because the job's whole maxConcurrency is waiting, which makes their contents deterministic.
  private static final Duration NEVER = HttpFunction.MAX_BATCH_LINGER;

  private static StubFunctionServer stub;
  private static HttpClient client;

  @BeforeAll
  static void start() throws Exception {
    stub = StubFunctionServer.start();
    client = HttpFunction.newClient(Duration.ofSeconds(5));
  }

  @AfterAll
  static void stop() {
    HttpFunction.stopClient(client);
    stub.close();
  }

  private static HttpFunction.Builder batched(String pathAndQuery, int size, int maxConcurrency) {
    return HttpFunction.builder(HttpFunctionConfig.of(stub.uri(pathAndQuery)), client)
        .maxConcurrency(maxConcurrency)
        .batch(size, NEVER);
  }

  private static JsonNode json(String text) throws Exception {
    return MAPPER.readTree(text.replace('\'', '"'));
  }

  private static FakeTaskContext attempt(JobId job, long index, int number) {
    return new FakeTaskContext(job, index, number, Optional.empty());
  }

  /** One attempt running on a thread of its own; it ends in a value or a failure. */
  private record Running(Thread thread, CompletableFuture<JsonNode> outcome) {
    static Running start(HttpFunction function, JsonNode item, FakeTaskContext context) {
      CompletableFuture<JsonNode> outcome = new CompletableFuture<>();
      Thread thread =
          Thread.ofVirtual()
              .start(
                  () -> {
                    try {
                      outcome.complete(function.apply(item, context));
                    } catch (Throwable t) {
                      outcome.completeExceptionally(t);
                    }
                  });
      return new Running(thread, outcome);
    }
  }

  /** Starts one attempt per context, with the item at the same position. */
  private static List<CompletableFuture<JsonNode>> callAll(
      HttpFunction function, List<FakeTaskContext> contexts, List<JsonNode> items) {
    List<CompletableFuture<JsonNode>> outcomes = new ArrayList<>();
    for (int i = 0; i < contexts.size(); i++) {
      outcomes.add(Running.start(function, items.get(i), contexts.get(i)).outcome());
    }
    return outcomes;
  }

  private static Throwable failureOf(CompletableFuture<JsonNode> outcome) throws Exception {
    try {
      outcome.get();
    } catch (ExecutionException e) {
      return e.getCause();
    }
    throw new AssertionError("the attempt succeeded");
  }

  @Test
  void concurrent_attempts_become_one_call_in_index_order_with_the_batch_headers()
      throws Exception {
    JobId job = FakeTaskContext.newJobId();
    HttpFunction function = batched("/f?echo=1", 10, 5).traceparent(TRACEPARENT).build();
    List<FakeTaskContext> contexts =
        List.of(
            attempt(job, 9, 1),
            attempt(job, 3, 2),
            attempt(job, 12, 1),
            attempt(job, 5, 1),
            attempt(job, 4, 3));
    List<JsonNode> items =
        List.of(json("'nine'"), json("3"), json("{'i': 12}"), json("5"), json("4"));

    List<CompletableFuture<JsonNode>> outcomes = callAll(function, contexts, items);

    // The stub echoes the request as the first result (the lowest index, 3) and nulls after it.
    JsonNode echo = outcomes.get(1).get();
    JsonNode headers = echo.get("headers");
    assertThat(echo.get("body")).isEqualTo(json("[3, 4, 5, 'nine', {'i': 12}]"));
    assertThat(headers.get("content-type").asText()).isEqualTo("application/json");
    assertThat(headers.get("x-fanout-job").asText()).isEqualTo(job.value());
    assertThat(headers.get("x-fanout-index").asText()).isEqualTo("3-5,9,12");
    assertThat(headers.get("x-fanout-attempt").asText()).isEqualTo("3");
    assertThat(headers.get("x-fanout-batch-size").asText()).isEqualTo("5");
    assertThat(headers.get("idempotency-key").asText()).isEqualTo(job.value() + ":3-5,9,12");
    assertThat(headers.get("traceparent").asText()).isEqualTo(TRACEPARENT);
    for (int i : List.of(0, 2, 3, 4)) {
      assertThat(outcomes.get(i).get()).isEqualTo(NullNode.instance);
    }
    assertThat(stub.calls(job.value() + ":3-5,9,12")).isEqualTo(1);
    assertThat(function.limiter().inFlight()).isZero();
  }

  @Test
  void each_attempt_gets_the_element_at_its_position_and_a_full_batch_goes_at_once()
      throws Exception {
    JobId job = FakeTaskContext.newJobId();
    // maxConcurrency far above the batch: only fullness can send these batches.
    HttpFunction function = batched("/f", 4, 1000).build();
    List<FakeTaskContext> contexts = new ArrayList<>();
    List<JsonNode> items = new ArrayList<>();
    for (int i = 0; i < 8; i++) {
      contexts.add(attempt(job, 100 - i, 1));
      items.add(json("{'item': " + (100 - i) + "}"));
    }

    List<CompletableFuture<JsonNode>> outcomes = callAll(function, contexts, items);

    for (int i = 0; i < 8; i++) {
      assertThat(outcomes.get(i).get()).isEqualTo(items.get(i));
    }
  }

  @ParameterizedTest(name = "{1}")
  @CsvSource(
      delimiter = '|',
      value = {
        "%5B1%5D|an array of 1",
        "%5B1,2,3%5D|an array of 3",
        "%7B%7D|an object",
        "hello|a string (or a body that is not JSON)",
        "|an empty body or null"
      })
  void a_2xx_that_is_not_an_array_of_the_batchs_length_fails_every_item_for_good(
      String respond, String described) throws Exception {
    JobId job = FakeTaskContext.newJobId();
    HttpFunction function =
        batched("/f?type=application/json&respond=" + (respond == null ? "" : respond), 5, 2)
            .build();

    List<CompletableFuture<JsonNode>> outcomes =
        callAll(
            function,
            List.of(attempt(job, 0, 1), attempt(job, 1, 1)),
            List.of(json("1"), json("2")));

    Set<Throwable> distinct = new HashSet<>();
    for (CompletableFuture<JsonNode> outcome : outcomes) {
      Throwable failure = failureOf(outcome);
      distinct.add(failure);
      assertThat(failure)
          .isInstanceOfSatisfying(
              CallException.class,
              e -> {
                assertThat(e.code()).isEqualTo("bad_batch_response");
                assertThat(e.retryable()).isFalse();
                assertThat(e.httpStatus()).isEqualTo(200);
                assertThat(e.getMessage())
                    .isEqualTo(
                        "POST "
                            + stub.uri("/f")
                            + " with a batch of 2 items answered 200 with "
                            + described
                            + "; expected a JSON array of 2 results, one per item in the order"
                            + " sent");
              });
    }
    assertThat(distinct).as("each attempt gets its own exception").hasSize(2);
  }

  @Test
  void a_failed_call_fails_every_item_with_the_same_classified_error_and_retry_after()
      throws Exception {
    JobId job = FakeTaskContext.newJobId();
    // A cap of 12 items in batches of 3: the limiter allows 4 calls, and halves to 2.
    HttpFunction function = batched("/f?status=429&retryAfter=7", 3, 12).build();
    int limitBefore = function.limiter().limit();

    List<CompletableFuture<JsonNode>> outcomes =
        callAll(
            function,
            List.of(attempt(job, 0, 1), attempt(job, 1, 1), attempt(job, 2, 1)),
            List.of(json("0"), json("1"), json("2")));

    for (CompletableFuture<JsonNode> outcome : outcomes) {
      assertThat(failureOf(outcome))
          .isInstanceOfSatisfying(
              CallException.class,
              e -> {
                assertThat(e.code()).isEqualTo("http_error");
                assertThat(e.httpStatus()).isEqualTo(429);
                assertThat(e.retryable()).isTrue();
                assertThat(e.retryAfter()).contains(Duration.ofSeconds(7));
                assertThat(e.getMessage())
                    .isEqualTo(
                        "POST "
                            + stub.uri("/f")
                            + " with a batch of 3 items answered 429, retry after 7000 ms");
              });
    }
    assertThat(stub.calls(job.value() + ":0-2")).as("one call for the three").isEqualTo(1);
    assertThat(limitBefore).isEqualTo(4);
    assertThat(function.limiter().limit()).as("one overloaded call halves it once").isEqualTo(2);
    assertThat(function.limiter().inFlight()).isZero();
  }

  @Test
  void a_4xx_fails_every_item_at_once() throws Exception {
    JobId job = FakeTaskContext.newJobId();
    HttpFunction function = batched("/f?status=404", 2, 2).build();

    List<CompletableFuture<JsonNode>> outcomes =
        callAll(
            function,
            List.of(attempt(job, 0, 1), attempt(job, 1, 1)),
            List.of(json("0"), json("1")));

    for (CompletableFuture<JsonNode> outcome : outcomes) {
      assertThat(failureOf(outcome))
          .isInstanceOfSatisfying(
              CallException.class,
              e -> {
                assertThat(e.httpStatus()).isEqualTo(404);
                assertThat(e.retryable()).isFalse();
              });
    }
  }

  @Test
  void the_limiter_counts_calls_and_its_ceiling_follows_the_jobs_cap_in_batches() {
    HttpFunction function = batched("/f", 10, 25).build();
    assertThat(function.limiter().maxConcurrency()).isEqualTo(3);

    function.setMaxConcurrency(100);
    assertThat(function.limiter().maxConcurrency()).isEqualTo(10);
    function.setMaxConcurrency(1);
    assertThat(function.limiter().maxConcurrency()).isEqualTo(1);

    assertThat(HttpFunction.callsFor(10, 10)).isEqualTo(1);
    assertThat(HttpFunction.callsFor(11, 10)).isEqualTo(2);
    assertThat(HttpFunction.callsFor(1000, 1)).isEqualTo(1000);
  }

  @Test
  void the_response_limit_grows_with_the_batch() throws Exception {
    JobId job = FakeTaskContext.newJobId();
    String fifty = "x".repeat(50);
    // Each answer element is 52 bytes: three of them pass a 100-byte-per-item limit together.
    HttpFunction function = batched("/f", 3, 3).maxResponseBytes(100).build();

    List<CompletableFuture<JsonNode>> outcomes =
        callAll(
            function,
            List.of(attempt(job, 0, 1), attempt(job, 1, 1), attempt(job, 2, 1)),
            List.of(TextNode.valueOf(fifty), TextNode.valueOf(fifty), TextNode.valueOf(fifty)));
    for (CompletableFuture<JsonNode> outcome : outcomes) {
      assertThat(outcome.get().asText()).isEqualTo(fifty);
    }

    String big = "x".repeat(150);
    List<CompletableFuture<JsonNode>> tooBig =
        callAll(
            function,
            List.of(attempt(job, 3, 1), attempt(job, 4, 1), attempt(job, 5, 1)),
            List.of(TextNode.valueOf(big), TextNode.valueOf(big), TextNode.valueOf(big)));
    for (CompletableFuture<JsonNode> outcome : tooBig) {
      assertThat(failureOf(outcome))
          .isInstanceOfSatisfying(
              CallException.class,
              e -> {
                assertThat(e.code()).isEqualTo("response_too_large");
                assertThat(e.getMessage()).contains("larger than the limit of 300 bytes");
              });
    }
  }

  @Test
  void an_attempt_interrupted_before_its_batch_is_sent_leaves_it_and_is_never_sent()
      throws Exception {
    JobId job = FakeTaskContext.newJobId();
    HttpFunction function = batched("/f?echo=1", 2, 1000).build();
    Running leaving = Running.start(function, json("'leaves'"), attempt(job, 0, 1));
    // It waits alone: a batch of 2 with a cap of 1000 and a linger that never fires.
    await().until(() -> leaving.thread().getState() == Thread.State.WAITING);

    leaving.thread().interrupt();

    assertThat(failureOf(leaving.outcome())).isInstanceOf(InterruptedException.class);

    List<CompletableFuture<JsonNode>> outcomes =
        callAll(
            function,
            List.of(attempt(job, 1, 1), attempt(job, 2, 1)),
            List.of(json("1"), json("2")));

    assertThat(outcomes.get(0).get().get("body")).isEqualTo(json("[1, 2]"));
    assertThat(outcomes.get(1).get()).isEqualTo(NullNode.instance);
    assertThat(stub.calls(job.value() + ":0")).isZero();
  }

  @Test
  void an_attempt_interrupted_during_the_call_leaves_and_the_others_still_get_their_answer()
      throws Exception {
    JobId job = FakeTaskContext.newJobId();
    HttpFunction function = batched("/f?delayMs=1500", 3, 3).build();
    List<Running> running = new ArrayList<>();
    for (int i = 0; i < 3; i++) {
      running.add(Running.start(function, IntNode.valueOf(i), attempt(job, i, 1)));
    }
    await().until(() -> stub.calls(job.value() + ":0-2") == 1);

    running.get(1).thread().interrupt();

    assertThat(failureOf(running.get(1).outcome())).isInstanceOf(InterruptedException.class);
    assertThat(running.get(0).outcome().get()).isEqualTo(IntNode.valueOf(0));
    assertThat(running.get(2).outcome().get()).isEqualTo(IntNode.valueOf(2));
  }

  @Test
  void when_every_attempt_of_a_sent_batch_leaves_its_call_is_cancelled() throws Exception {
    JobId job = FakeTaskContext.newJobId();
    HttpFunction function = batched("/f?delayMs=60000", 2, 2).build();
    List<Running> running = new ArrayList<>();
    for (int i = 0; i < 2; i++) {
      running.add(Running.start(function, IntNode.valueOf(i), attempt(job, i, 1)));
    }
    await().until(() -> stub.calls(job.value() + ":0-1") == 1);
    assertThat(function.limiter().inFlight()).isEqualTo(1);

    running.forEach(r -> r.thread().interrupt());

    // The call's permit comes back long before the stub would answer.
    await().atMost(Duration.ofSeconds(20)).until(() -> function.limiter().inFlight() == 0);
  }

  @Test
  void a_batch_call_takes_the_latest_deadline_of_its_items() throws Exception {
    Instant now = Instant.parse("2026-03-01T12:00:00Z");
    JobId job = FakeTaskContext.newJobId();
    HttpFunction function =
        batched("/f?delayMs=20000", 2, 2).clock(Clock.fixed(now, ZoneOffset.UTC)).build();

    List<CompletableFuture<JsonNode>> outcomes =
        callAll(
            function,
            List.of(
                attempt(job, 0, 1).withDeadline(now.plusMillis(100)),
                attempt(job, 1, 1).withDeadline(now.plusMillis(300))),
            List.of(json("0"), json("1")));

    for (CompletableFuture<JsonNode> outcome : outcomes) {
      assertThat(failureOf(outcome))
          .isInstanceOfSatisfying(
              CallException.class,
              e -> {
                assertThat(e.code()).isEqualTo("timeout");
                assertThat(e.retryable()).isTrue();
                assertThat(e.getMessage()).endsWith("did not answer within 300 ms");
              });
    }
  }

  @Test
  void index_lists_write_runs_of_neighbours_as_ranges() {
    assertThat(HttpFunction.indexList(new long[] {7})).isEqualTo("7");
    assertThat(HttpFunction.indexList(new long[] {3, 4, 5, 9, 12, 13})).isEqualTo("3-5,9,12-13");
    assertThat(HttpFunction.indexList(new long[] {0, 2, 4})).isEqualTo("0,2,4");
    assertThat(HttpFunction.indexList(new long[] {3, 3})).isEqualTo("3,3");
  }

  @Test
  void batching_options_are_checked() {
    HttpFunction.Builder builder =
        HttpFunction.builder(HttpFunctionConfig.of(stub.uri("/f")), client);
    assertThatThrownBy(() -> builder.batch(0, NEVER))
        .hasMessage("batchSize must be between 1 and 10000, got 0");
    assertThatThrownBy(() -> builder.batch(10_001, NEVER))
        .hasMessage("batchSize must be between 1 and 10000, got 10001");
    assertThatThrownBy(() -> builder.batch(2, Duration.ofMillis(-1)))
        .hasMessageStartingWith("batchLinger must be between 0 and 10000 ms");
    assertThatThrownBy(() -> builder.maxConcurrency(0))
        .hasMessage("maxConcurrency must be at least 1, got 0");
  }
}
