package dev.fanout.jdbc.crash;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import dev.fanout.Engine;
import dev.fanout.FanOut;
import dev.fanout.JobHandle;
import dev.fanout.JobId;
import dev.fanout.JobOutcome;
import dev.fanout.JobSpec;
import dev.fanout.JobState;
import dev.fanout.TaskContext;
import dev.fanout.jdbc.JdbcJobStore;
import dev.fanout.spi.JobStore;
import java.math.BigDecimal;
import java.nio.file.Path;
import java.sql.Connection;
import java.time.Duration;
import java.time.Instant;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.stream.IntStream;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A store call whose transaction commits but whose reply never arrives (the connection breaks in
 * between) looks to the engine exactly like a call that failed; so does a call that fails outright
 * once. Either way the engine retries, and the job must still end, with each item recorded once.
 * One engine on an H2 file, with a {@link FaultyStore} in between.
 */
@Tag("crash")
class LostReplyTest {

  private static final int ITEMS = 300;

  /** Far beyond how long the job takes; only a job that never ends waits this long. */
  private static final long GIVE_UP_SECONDS = 30;

  @TempDir Path folder;

  @Test
  void items_claimed_by_a_claim_whose_reply_was_lost_are_run_and_the_job_ends() throws Exception {
    run(FaultyStore.Fault.CLAIM_REPLY_LOST);
  }

  @Test
  void a_job_whose_last_results_were_recorded_but_whose_reply_was_lost_still_ends()
      throws Exception {
    run(FaultyStore.Fault.LAST_COMPLETION_REPLY_LOST);
  }

  @Test
  void a_job_whose_finish_failed_once_after_its_last_item_settled_still_ends() throws Exception {
    run(FaultyStore.Fault.FINISH_FAILS);
  }

  @Test
  void a_job_whose_engine_stopped_between_its_last_result_and_its_finish_is_ended_by_the_next()
      throws Exception {
    StoreTarget.H2 target = new StoreTarget.H2(folder);
    JobId id;
    // The first engine records every result, then cannot finish the job, and stops: the same
    // store state a crash between the last completion and the finish leaves behind.
    try (FaultyStore store = new FaultyStore(target.open());
        Engine engine = engine(store, "first-engine")) {
      store.arm(FaultyStore.Fault.FINISH_FAILS);
      id = engine.submit(spec()).id();
      awaitStruck(store);
    }
    try (JdbcJobStore store = target.open();
        Engine engine = engine(store, "next-engine")) {
      engine.start();
      JobHandle<?> job = engine.job(id).orElseThrow();
      JobOutcome<?> outcome =
          awaitOutcome(job, target, "the first engine stopped before finishing");
      assertThat(outcome.state()).isEqualTo(JobState.SUCCEEDED);
    }
  }

  private void run(FaultyStore.Fault fault) throws Exception {
    StoreTarget.H2 target = new StoreTarget.H2(folder);
    try (FaultyStore store = new FaultyStore(target.open());
        Engine engine = engine(store, "lost-reply-worker")) {
      engine.start();
      store.arm(fault);
      JobHandle<JsonNode> job = engine.submit(spec());
      JobOutcome<JsonNode> outcome = awaitOutcome(job, target, "the fault " + fault + " struck");
      assertThat(store.struck()).as("the fault struck").isNotNull();
      assertThat(outcome.state()).isEqualTo(JobState.SUCCEEDED);
      assertThat(outcome.aggregate().decimalValue())
          .isEqualByComparingTo(BigDecimal.valueOf((long) ITEMS * (ITEMS - 1)));
      try (Connection connection = target.connect()) {
        assertThat(
                StoredJob.notRecordedOnceAsTwiceTheIndex(
                    StoredJob.results(connection, job.id().value()), ITEMS))
            .isEmpty();
      }
    }
  }

  private static Engine engine(JobStore store, String workerId) {
    Engine engine =
        FanOut.builder()
            .store(store)
            .workerId(workerId)
            .leaseDuration(Duration.ofSeconds(1))
            .pollInterval(Duration.ofMillis(20))
            .build();
    engine.register(
        "work",
        Integer.class,
        (Integer index, TaskContext context) -> {
          Thread.sleep(1 + ThreadLocalRandom.current().nextInt(5));
          return index * 2L;
        });
    return engine;
  }

  private static JobSpec<Integer, JsonNode, JsonNode> spec() {
    return JobSpec.items(IntStream.range(0, ITEMS).boxed().toList())
        .function("work")
        .reduce("sum")
        .maxConcurrency(16)
        .build();
  }

  private static void awaitStruck(FaultyStore store) throws InterruptedException {
    for (int i = 0; i < GIVE_UP_SECONDS * 100 && store.struck() == null; i++) {
      Thread.sleep(10);
    }
    assertThat(store.struck()).as("the fault struck").isNotNull();
  }

  /** Waits for the job's outcome; a job that never ends fails with its rows as they read then. */
  private static <A> JobOutcome<A> awaitOutcome(JobHandle<A> job, StoreTarget target, String after)
      throws Exception {
    try {
      return job.outcome().get(GIVE_UP_SECONDS, TimeUnit.SECONDS);
    } catch (TimeoutException e) {
      String stuck;
      try (Connection connection = target.connect()) {
        stuck = StoredJob.read(connection, job.id().value()).toString();
      }
      throw new AssertionError(
          "the job never ended after "
              + after
              + "; "
              + GIVE_UP_SECONDS
              + " s later, at "
              + Instant.now()
              + ", it reads "
              + stuck,
          e);
    }
  }
}
