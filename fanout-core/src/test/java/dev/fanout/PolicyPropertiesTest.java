package dev.fanout;

import static org.assertj.core.api.Assertions.assertThat;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.stream.IntStream;
import net.jqwik.api.Arbitraries;
import net.jqwik.api.Arbitrary;
import net.jqwik.api.Combinators;
import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import net.jqwik.api.Provide;
import net.jqwik.api.lifecycle.AfterContainer;
import net.jqwik.api.lifecycle.BeforeContainer;

/**
 * Random jobs under random retry, failure, ordering, concurrency and batching policies. Each item's
 * fate is a pure function of its index and attempt, so the expected outcome can be computed
 * independently and compared with what the engine reports.
 */
class PolicyPropertiesTest {
  private static Engine engine;

  @BeforeContainer
  static void start() {
    engine = FanOut.builder().build();
  }

  @AfterContainer
  static void stop() {
    engine.close();
  }

  /** A random scenario: how many items, and how many attempts each needs (0 = never succeeds). */
  record Scenario(
      List<Integer> attemptsNeeded,
      int maxAttempts,
      int maxConcurrency,
      int batchSize,
      ResultOrder order,
      FailureMode mode,
      int tolerated) {}

  @Provide
  Arbitrary<Scenario> scenarios() {
    Arbitrary<List<Integer>> needs =
        Arbitraries.frequencyOf(
                net.jqwik.api.Tuple.of(8, Arbitraries.just(1)),
                net.jqwik.api.Tuple.of(2, Arbitraries.integers().between(2, 4)),
                net.jqwik.api.Tuple.of(1, Arbitraries.just(0)))
            .list()
            .ofMinSize(0)
            .ofMaxSize(120);
    return Combinators.combine(
            needs,
            Arbitraries.integers().between(1, 4),
            Arbitraries.integers().between(1, 64),
            Arbitraries.integers().between(1, 4),
            Arbitraries.of(ResultOrder.class),
            Arbitraries.of(FailureMode.class),
            Arbitraries.integers().between(0, 5))
        .as(Scenario::new);
  }

  @Property(tries = 150)
  void every_item_settles_once_and_the_aggregate_is_the_fold_of_the_successes(
      @ForAll("scenarios") Scenario s) {
    ConcurrentHashMap<Integer, AtomicInteger> calls = new ConcurrentHashMap<>();
    List<ItemResult<Integer>> delivered = new CopyOnWriteArrayList<>();
    int n = s.attemptsNeeded().size();
    List<Integer> items = IntStream.range(0, n).boxed().toList();

    BatchFunction<Integer, Integer> fn =
        (batch, ctx) -> {
          // A batch succeeds on the attempt its neediest item needs; an item needing 0 never does.
          int need = 1;
          for (int i : batch) {
            calls.computeIfAbsent(i, k -> new AtomicInteger()).incrementAndGet();
            int itemNeed = s.attemptsNeeded().get(i);
            need = itemNeed == 0 || need == 0 ? 0 : Math.max(need, itemNeed);
          }
          if (need == 0 || ctx.attempt() < need) {
            throw new IllegalStateException("attempt " + ctx.attempt() + " of " + batch);
          }
          return batch.stream().map(i -> i * 3).toList();
        };
    FailurePolicy policy = FailurePolicy.of(s.mode()).toleratingFailures(s.tolerated());
    JobHandle<List<Integer>> job =
        engine.submit(
            JobSpec.items(items)
                .batchFunction(s.batchSize(), fn)
                .consumer(delivered::add)
                .reduce(Reducers.<Integer>collect())
                .maxConcurrency(s.maxConcurrency())
                .retry(
                    RetryPolicy.builder()
                        .maxAttempts(s.maxAttempts())
                        .backoff(Duration.ZERO)
                        .build())
                .resultOrder(s.order())
                .failurePolicy(policy)
                .build());
    JobOutcome<List<Integer>> outcome = job.outcome().orTimeout(60, TimeUnit.SECONDS).join();
    JobStatus status = outcome.status();

    // What must have happened, computed without the engine.
    List<Integer> expectedOk = new ArrayList<>();
    List<Long> expectedFailed = new ArrayList<>();
    for (int start = 0; start < n; start += s.batchSize()) {
      int end = Math.min(n, start + s.batchSize());
      int need = 1;
      for (int i = start; i < end; i++) {
        int itemNeed = s.attemptsNeeded().get(i);
        need = itemNeed == 0 || need == 0 ? 0 : Math.max(need, itemNeed);
      }
      boolean ok = need != 0 && need <= s.maxAttempts();
      for (int i = start; i < end; i++) {
        if (ok) {
          expectedOk.add(i);
        } else {
          expectedFailed.add((long) i);
        }
      }
    }

    assertThat(status.total()).hasValue(n);
    assertThat(status.succeeded() + status.failed() + status.cancelled()).isEqualTo(n);
    assertThat(delivered).extracting(ItemResult::index).doesNotHaveDuplicates();
    assertThat(delivered).hasSize((int) (status.succeeded() + status.failed()));
    assertThat(calls.values())
        .allSatisfy(c -> assertThat(c.get()).isLessThanOrEqualTo(s.maxAttempts()));
    if (s.order() == ResultOrder.INPUT) {
      assertThat(delivered).extracting(ItemResult::index).isSorted();
    }
    // Whatever settled, settled the way its fate says, and the aggregate folds exactly those.
    List<Integer> succeededIndexes = new ArrayList<>();
    for (ItemResult<Integer> r : delivered) {
      int i = (int) r.index();
      assertThat(r.succeeded()).as("item %d succeeded", i).isEqualTo(expectedOk.contains(i));
      if (r.succeeded()) {
        assertThat(r.value()).isEqualTo(i * 3);
        succeededIndexes.add(i);
      }
    }
    succeededIndexes.sort(null);
    assertThat(outcome.aggregate())
        .containsExactlyElementsOf(succeededIndexes.stream().map(i -> i * 3).toList());
    assertThat(outcome.failures()).extracting(ItemFailure::index).isSorted();

    boolean crossed = expectedFailed.size() > s.tolerated();
    if (s.mode() == FailureMode.ALL_SETTLED || !crossed) {
      // Everything ran to its end.
      assertThat(status.cancelled()).isZero();
      assertThat(outcome.aggregate()).hasSize(expectedOk.size());
      assertThat(outcome.failures()).extracting(ItemFailure::index).isEqualTo(expectedFailed);
      assertThat(outcome.state()).isEqualTo(crossed ? JobState.FAILED : JobState.SUCCEEDED);
    } else {
      assertThat(outcome.state()).isEqualTo(JobState.FAILED);
      assertThat(status.failed()).isGreaterThan(s.tolerated());
    }
  }

  @Property(tries = 200)
  void backoff_stays_within_its_full_jitter_bound(
      @ForAll("retries") int retry,
      @ForAll("millis") int base,
      @ForAll("millis") int extra,
      @ForAll("unit") double random) {
    RetryPolicy policy =
        RetryPolicy.builder()
            .backoff(Duration.ofMillis(base))
            .maxBackoff(Duration.ofMillis(base + extra))
            .build();
    Duration delay = policy.delayBefore(retry, random);
    double bound = Math.min((double) base + extra, base * Math.pow(2, retry - 1));
    assertThat(delay).isGreaterThanOrEqualTo(Duration.ZERO);
    assertThat(delay.toNanos()).isLessThanOrEqualTo((long) Math.ceil(bound * 1_000_000));
  }

  @Provide
  Arbitrary<Integer> retries() {
    return Arbitraries.integers().between(1, 100);
  }

  @Provide
  Arbitrary<Integer> millis() {
    return Arbitraries.integers().between(0, 60_000);
  }

  @Provide
  Arbitrary<Double> unit() {
    return Arbitraries.doubles().between(0, 1).filter(d -> d < 1);
  }

  @Property(tries = 300)
  void failure_tolerance_by_percent_matches_its_definition(
      @ForAll("counts") int failed, @ForAll("counts") int extra, @ForAll("percents") double p) {
    long total = (long) failed + extra;
    FailurePolicy policy = FailurePolicy.allSettled().toleratingPercent(p);
    assertThat(policy.isExceeded(failed, total)).isEqualTo(failed * 100.0 > p * total);
    assertThat(policy.isExceeded(failed, -1)).as("unknown total").isFalse();
  }

  @Provide
  Arbitrary<Integer> counts() {
    return Arbitraries.integers().between(0, 1_000_000);
  }

  @Provide
  Arbitrary<Double> percents() {
    return Arbitraries.doubles().between(0, 100);
  }
}
