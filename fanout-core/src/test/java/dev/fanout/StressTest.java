package dev.fanout;

import static org.assertj.core.api.Assertions.assertThat;

import java.time.Duration;
import java.util.Random;
import java.util.SplittableRandom;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicIntegerArray;
import java.util.concurrent.atomic.AtomicLong;
import java.util.stream.IntStream;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;

/**
 * Many items, random latencies, random failures, real virtual threads: every index must reach the
 * consumer exactly once and the aggregate must be exact.
 */
@Tag("stress")
class StressTest {
  private static final int ITEMS = 100_000;

  @Test
  void a_hundred_thousand_items_with_random_latency_and_failures_settle_exactly_once() {
    long seed = new Random().nextLong();
    System.out.println("StressTest seed " + seed);
    AtomicInteger running = new AtomicInteger();
    AtomicInteger peak = new AtomicInteger();
    AtomicIntegerArray deliveries = new AtomicIntegerArray(ITEMS);
    AtomicIntegerArray calls = new AtomicIntegerArray(ITEMS);
    AtomicLong consumerSum = new AtomicLong();
    AtomicInteger inConsumer = new AtomicInteger();
    AtomicInteger overlaps = new AtomicInteger();

    TaskFunction<Integer, Long> flaky =
        (i, ctx) -> {
          peak.accumulateAndGet(running.incrementAndGet(), Math::max);
          try {
            calls.incrementAndGet(i);
            SplittableRandom random = new SplittableRandom(seed ^ (i * 31L + ctx.attempt()));
            int latency = random.nextInt(100);
            if (latency < 30) {
              Thread.sleep(Duration.ofNanos(random.nextLong(3_000_000)));
            } else if (latency < 60) {
              Thread.yield();
            }
            if (i % 997 == 0) {
              throw new IllegalStateException("item " + i + " is permanently broken");
            }
            if (ctx.attempt() < 3 && random.nextInt(100) < 5) {
              throw new IllegalStateException("transient failure of item " + i);
            }
            return i * 2L;
          } finally {
            running.decrementAndGet();
          }
        };
    long permanent = IntStream.range(0, ITEMS).filter(i -> i % 997 == 0).count();

    try (Engine engine = FanOut.builder().build()) {
      JobHandle<Long> job =
          engine.submit(
              JobSpec.items(IntStream.range(0, ITEMS).boxed().iterator())
                  .function(flaky)
                  .consumer(
                      r -> {
                        if (inConsumer.incrementAndGet() != 1) {
                          overlaps.incrementAndGet();
                        }
                        deliveries.incrementAndGet((int) r.index());
                        if (r.succeeded()) {
                          consumerSum.addAndGet(r.value());
                        }
                        inConsumer.decrementAndGet();
                      })
                  .reduce(Reducers.sumLong())
                  .maxConcurrency(2_000)
                  .retry(
                      RetryPolicy.builder()
                          .maxAttempts(3)
                          .backoff(Duration.ofMillis(1))
                          .maxBackoff(Duration.ofMillis(5))
                          .build())
                  .failurePolicy(FailurePolicy.allSettled().toleratingFailures(permanent))
                  .build());

      JobOutcome<Long> outcome = job.outcome().orTimeout(5, TimeUnit.MINUTES).join();

      long expected = 0;
      for (int i = 0; i < ITEMS; i++) {
        if (i % 997 != 0) {
          expected += i * 2L;
        }
      }
      assertThat(outcome.state()).isEqualTo(JobState.SUCCEEDED);
      assertThat(outcome.aggregate()).isEqualTo(expected);
      assertThat(consumerSum.get()).isEqualTo(expected);
      assertThat(overlaps).hasValue(0);
      for (int i = 0; i < ITEMS; i++) {
        assertThat(deliveries.get(i)).as("deliveries of item %d", i).isEqualTo(1);
        assertThat(calls.get(i)).as("calls of item %d", i).isBetween(1, 3);
      }
      assertThat(outcome.failures()).hasSize((int) permanent);
      assertThat(outcome.failures()).allSatisfy(f -> assertThat(f.attempts()).isEqualTo(3));
      JobStatus status = outcome.status();
      assertThat(status.succeeded() + status.failed()).isEqualTo(ITEMS);
      assertThat(status.total()).hasValue(ITEMS);
      assertThat(status.retries()).isPositive();
      assertThat(peak.get()).as("peak items running at once").isGreaterThan(100);
    }
  }
}
