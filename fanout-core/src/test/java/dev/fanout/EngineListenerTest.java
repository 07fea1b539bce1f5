package dev.fanout;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import dev.fanout.spi.InMemoryJobStore;
import java.time.Duration;
import java.util.List;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.LongAdder;
import java.util.stream.IntStream;
import org.junit.jupiter.api.Test;

/** The listener hears every durable item once, and cannot break the engine by throwing. */
class EngineListenerTest {

  /** Counts what it hears, as a metrics registry would. */
  static final class Counting implements EngineListener {
    final LongAdder succeeded = new LongAdder();
    final LongAdder failed = new LongAdder();
    final LongAdder retries = new LongAdder();
    final AtomicInteger inFlight = new AtomicInteger();
    final AtomicInteger maxInFlight = new AtomicInteger();
    final LongAdder attempts = new LongAdder();

    @Override
    public void onAttemptStarted(JobId job) {
      maxInFlight.accumulateAndGet(inFlight.incrementAndGet(), Math::max);
    }

    @Override
    public void onAttemptEnded(JobId job) {
      inFlight.decrementAndGet();
    }

    @Override
    public void onTaskSettled(JobId job, ItemStatus status, int attempts, Duration duration) {
      (status == ItemStatus.SUCCEEDED ? succeeded : failed).increment();
      this.attempts.add(attempts);
    }

    @Override
    public void onRetry(JobId job) {
      retries.increment();
    }
  }

  private static JobOutcome<JsonNode> runJob(EngineListener listener) {
    try (Engine engine =
        FanOut.builder()
            .store(new InMemoryJobStore())
            .pollInterval(Duration.ofMillis(10))
            .listener(listener)
            .build()) {
      Set<Integer> failedOnce = ConcurrentHashMap.newKeySet();
      // Every tenth item fails its first attempt; item 7 fails both of its attempts.
      engine.register(
          "flaky",
          Integer.class,
          (Integer n, TaskContext ctx) -> {
            if (n == 7 || n % 10 == 0 && failedOnce.add(n)) {
              throw new IllegalStateException("flaky " + n);
            }
            return n;
          });
      List<Integer> items = IntStream.range(0, 200).boxed().toList();
      JobHandle<JsonNode> job =
          engine.submit(
              JobSpec.items(items)
                  .function("flaky")
                  .reduce("count")
                  .retry(RetryPolicy.builder().maxAttempts(2).backoff(Duration.ofMillis(1)).build())
                  .failurePolicy(FailurePolicy.allSettled().toleratingFailures(1))
                  .build());
      return job.outcome().orTimeout(30, TimeUnit.SECONDS).join();
    }
  }

  @Test
  void the_listener_hears_each_settled_item_once_and_each_retry() {
    Counting listener = new Counting();

    JobOutcome<JsonNode> outcome = runJob(listener);

    assertThat(outcome.state()).isEqualTo(JobState.SUCCEEDED);
    assertThat(listener.succeeded.sum()).isEqualTo(199);
    assertThat(listener.failed.sum()).isEqualTo(1);
    // Items 0, 10, ..., 190 and item 7 each failed one attempt and were retried.
    assertThat(listener.retries.sum()).isEqualTo(21).isEqualTo(outcome.status().retries());
    assertThat(listener.attempts.sum()).isEqualTo(200 + 21);
    assertThat(listener.inFlight).hasValue(0);
    assertThat(listener.maxInFlight.get()).isPositive();
  }

  @Test
  void a_listener_that_throws_is_ignored_and_the_job_still_finishes() {
    EngineListener broken =
        new EngineListener() {
          @Override
          public void onAttemptStarted(JobId job) {
            throw new IllegalStateException("broken listener");
          }

          @Override
          public void onAttemptEnded(JobId job) {
            throw new IllegalStateException("broken listener");
          }

          @Override
          public void onTaskSettled(JobId job, ItemStatus status, int attempts, Duration d) {
            throw new IllegalStateException("broken listener");
          }

          @Override
          public void onRetry(JobId job) {
            throw new IllegalStateException("broken listener");
          }
        };

    JobOutcome<JsonNode> outcome = runJob(broken);

    assertThat(outcome.state()).isEqualTo(JobState.SUCCEEDED);
    assertThat(outcome.status().succeeded()).isEqualTo(199);
    assertThat(outcome.status().failed()).isEqualTo(1);
  }
}
