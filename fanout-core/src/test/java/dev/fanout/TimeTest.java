package dev.fanout;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import dev.fanout.testing.FakeTime;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicReference;
import java.util.stream.IntStream;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/**
 * Timeouts, deadlines and backoffs, driven by a fake clock: nothing here waits for real time to
 * pass; the test moves the clock and the engine's timers fire.
 */
class TimeTest {
  private final FakeTime time = new FakeTime();
  private final Engine engine = FanOut.builder().clock(time).scheduler(time).build();

  @AfterEach
  void close() {
    engine.close();
  }

  private static List<Integer> range(int n) {
    return IntStream.range(0, n).boxed().toList();
  }

  private static <A> JobOutcome<A> outcomeOf(JobHandle<A> job) {
    return job.outcome().orTimeout(30, TimeUnit.SECONDS).join();
  }

  /** Blocks until interrupted, as a call to a hung service would. */
  private static int hang() throws InterruptedException {
    new CountDownLatch(1).await();
    throw new AssertionError("unreachable");
  }

  @Test
  void an_attempt_past_its_timeout_is_interrupted_and_fails() {
    AtomicReference<Instant> deadlineSeen = new AtomicReference<>();
    JobHandle<Void> job =
        engine.submit(
            JobSpec.items(List.of(1))
                .function(
                    (Integer i, TaskContext ctx) -> {
                      deadlineSeen.set(ctx.deadline().orElseThrow());
                      return hang();
                    })
                .attemptTimeout(Duration.ofSeconds(2))
                .retry(RetryPolicy.none())
                .build());

    await().until(() -> job.status().running() == 1 && time.pendingTimers() == 1);
    time.advance(Duration.ofMillis(1_999));
    assertThat(job.outcome()).isNotDone();
    time.advance(Duration.ofMillis(1));

    JobOutcome<Void> outcome = outcomeOf(job);
    assertThat(outcome.state()).isEqualTo(JobState.FAILED);
    assertThat(outcome.failures().get(0).error())
        .isInstanceOf(AttemptTimeoutException.class)
        .hasMessage("attempt timed out after 2000 ms");
    assertThat(deadlineSeen.get()).isEqualTo(Instant.parse("2026-01-01T00:00:02Z"));
  }

  @Test
  void a_retry_waits_for_the_retry_after_a_task_exception_asks_for() {
    AtomicInteger calls = new AtomicInteger();
    JobHandle<Long> job =
        engine.submit(
            JobSpec.items(List.of(7))
                .function(
                    (Integer i, TaskContext ctx) -> {
                      if (calls.incrementAndGet() == 1) {
                        throw new TaskException(
                            "busy", "come back later", true, Duration.ofSeconds(30), null, null);
                      }
                      return i;
                    })
                .retry(
                    RetryPolicy.builder()
                        .backoff(Duration.ofMillis(1))
                        .maxBackoff(Duration.ofMillis(1))
                        .build())
                .reduce(Reducers.count())
                .build());

    await().until(() -> calls.get() == 1 && time.pendingTimers() == 1);
    time.advance(Duration.ofSeconds(29));
    assertThat(calls.get()).isEqualTo(1);
    time.advance(Duration.ofSeconds(1));
    assertThat(outcomeOf(job).aggregate()).isEqualTo(1);
    assertThat(calls.get()).isEqualTo(2);
  }

  @Test
  void a_timed_out_attempt_is_retried_after_its_backoff() {
    AtomicInteger calls = new AtomicInteger();
    JobHandle<Long> job =
        engine.submit(
            JobSpec.items(List.of(7))
                .function(
                    (Integer i, TaskContext ctx) -> {
                      if (calls.incrementAndGet() == 1) {
                        return hang();
                      }
                      return i;
                    })
                .reduce(Reducers.sumLong())
                .attemptTimeout(Duration.ofSeconds(1))
                .retry(
                    RetryPolicy.builder()
                        .maxAttempts(2)
                        .backoff(Duration.ofSeconds(10))
                        .maxBackoff(Duration.ofSeconds(10))
                        .build())
                .build());

    await().until(() -> time.pendingTimers() == 1);
    time.advance(Duration.ofSeconds(1));
    // The retry waits for its backoff (somewhere in [0, 10 s) with full jitter).
    await().until(() -> job.status().retries() == 1 && job.status().pending() == 1);
    assertThat(calls).hasValue(1);
    time.advance(Duration.ofSeconds(10));

    JobOutcome<Long> outcome = outcomeOf(job);
    assertThat(outcome.state()).isEqualTo(JobState.SUCCEEDED);
    assertThat(outcome.aggregate()).isEqualTo(7L);
    assertThat(calls).hasValue(2);
  }

  @Test
  void the_deadline_fails_the_job_and_keeps_what_settled_before_it() {
    JobHandle<Long> job =
        engine.submit(
            JobSpec.items(range(10))
                .function((Integer i, TaskContext ctx) -> i < 4 ? i : hang())
                .reduce(Reducers.sumLong())
                .deadline(Duration.ofMinutes(1))
                .build());

    await().until(() -> job.status().succeeded() == 4 && job.status().running() == 6);
    time.advance(Duration.ofSeconds(59));
    assertThat(job.status().state()).isEqualTo(JobState.RUNNING);
    time.advance(Duration.ofSeconds(1));

    JobOutcome<Long> outcome = outcomeOf(job);
    assertThat(outcome.state()).isEqualTo(JobState.FAILED);
    assertThat(outcome.aggregate()).isEqualTo(6L);
    assertThat(outcome.status().cancelled()).isEqualTo(6);
    assertThat(outcome.status().error()).isEqualTo("job deadline of 60000 ms passed");
    assertThat(outcome.status().finishedAt()).isEqualTo(Instant.parse("2026-01-01T00:01:00Z"));
  }

  @Test
  void an_attempt_sees_the_earlier_of_its_timeout_and_the_job_deadline() {
    AtomicReference<Instant> seen = new AtomicReference<>();
    JobHandle<Void> job =
        engine.submit(
            JobSpec.items(List.of(1))
                .function(
                    (Integer i, TaskContext ctx) -> {
                      seen.set(ctx.deadline().orElseThrow());
                      return i;
                    })
                .attemptTimeout(Duration.ofMinutes(5))
                .deadline(Duration.ofSeconds(30))
                .build());

    outcomeOf(job);
    assertThat(seen.get()).isEqualTo(Instant.parse("2026-01-01T00:00:30Z"));
  }

  @Test
  void a_finished_job_leaves_no_timer_behind() {
    JobHandle<Void> job =
        engine.submit(
            JobSpec.items(range(20))
                .function((Integer i, TaskContext ctx) -> i)
                .attemptTimeout(Duration.ofSeconds(5))
                .deadline(Duration.ofHours(1))
                .build());

    outcomeOf(job);
    await().until(() -> time.pendingTimers() == 0);
  }

  @Test
  void cancelling_a_job_waiting_on_a_backoff_cancels_it_at_once() {
    AtomicInteger calls = new AtomicInteger();
    JobHandle<Void> job =
        engine.submit(
            JobSpec.items(List.of(1))
                .function(
                    (Integer i, TaskContext ctx) -> {
                      calls.incrementAndGet();
                      throw new IllegalStateException("down");
                    })
                .retry(
                    RetryPolicy.builder()
                        .maxAttempts(5)
                        .backoff(Duration.ofMinutes(1))
                        .maxBackoff(Duration.ofMinutes(1))
                        .build())
                .build());

    await().until(() -> job.status().retries() == 1);
    assertThat(job.cancel()).isTrue();
    JobOutcome<Void> outcome = outcomeOf(job);
    assertThat(outcome.state()).isEqualTo(JobState.CANCELLED);
    assertThat(outcome.status().cancelled()).isEqualTo(1);
    time.advance(Duration.ofMinutes(2));
    assertThat(calls).hasValue(1);
  }

  @Test
  void durations_and_times_come_from_the_injected_clock() {
    AtomicReference<ItemResult<Integer>> result = new AtomicReference<>();
    CountDownLatch inside = new CountDownLatch(1);
    CountDownLatch proceed = new CountDownLatch(1);
    JobHandle<Void> job =
        engine.submit(
            JobSpec.items(List.of(1))
                .function(
                    (Integer i, TaskContext ctx) -> {
                      inside.countDown();
                      proceed.await();
                      return i;
                    })
                .consumer(result::set)
                .build());

    await().until(() -> inside.getCount() == 0);
    time.advance(Duration.ofMillis(1_500));
    proceed.countDown();
    JobStatus status = outcomeOf(job).status();
    assertThat(result.get().duration()).isEqualTo(Duration.ofMillis(1_500));
    assertThat(status.createdAt()).isEqualTo(Instant.parse("2026-01-01T00:00:00Z"));
    assertThat(status.finishedAt()).isEqualTo(Instant.parse("2026-01-01T00:00:01.500Z"));
  }

  @Test
  void each_result_is_timed_from_its_own_start_on_a_thread_that_runs_one_item_after_another() {
    // A job capped at one call runs every item on one thread, one after the other. The function
    // moves the clock a second: were a start read once and kept past a settling, the durations
    // would add up instead.
    List<ItemResult<Integer>> results = new CopyOnWriteArrayList<>();
    JobHandle<Void> job =
        engine.submit(
            JobSpec.items(range(5))
                .function(
                    (Integer i, TaskContext ctx) -> {
                      time.advance(Duration.ofSeconds(1));
                      return i;
                    })
                .maxConcurrency(1)
                .consumer(results::add)
                .build());

    assertThat(outcomeOf(job).state()).isEqualTo(JobState.SUCCEEDED);
    assertThat(results)
        .hasSize(5)
        .allSatisfy(r -> assertThat(r.duration()).isEqualTo(Duration.ofSeconds(1)));
  }
}
