package dev.fanout;

import static org.assertj.core.api.Assertions.assertThat;

import java.time.Duration;
import java.util.AbstractList;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.List;
import java.util.SplittableRandom;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicIntegerArray;
import java.util.concurrent.locks.LockSupport;
import java.util.stream.IntStream;
import net.jqwik.api.Arbitraries;
import net.jqwik.api.Arbitrary;
import net.jqwik.api.Combinators;
import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import net.jqwik.api.Provide;
import net.jqwik.api.Tuple;
import net.jqwik.api.Tuple.Tuple2;

/**
 * Random in-memory jobs on real threads, where attempts settle, read the next item, and deliver
 * results concurrently: every source kind (a collection, read under the job's lock by whichever
 * thread settles; an iterator, read by the pump alone; a collection that throws part-way), virtual
 * threads or a small pool of platform threads, batches, both result orders, items that finish at
 * once, block briefly or stall a chain that runs ahead until a sweep settles for it, failures and
 * retries, and a cancel, a pause or a new cap from inside the consumer. Whatever the mix, the
 * consumer is never called concurrently, no index is delivered twice, sequence numbers have no gap,
 * the cap holds, the counts add up, and the aggregate is the fold of exactly the delivered
 * successes.
 */
class InMemoryConcurrencyPropertiesTest {

  enum SourceKind {
    LIST,
    ITERATOR,
    /** A collection whose element at {@link Job#breakAt} throws while the job reads it. */
    BROKEN_LIST
  }

  enum Interference {
    NONE,
    CANCEL,
    PAUSE_AND_RESUME,
    NEW_CAP
  }

  record Job(
      long seed,
      int items,
      SourceKind source,
      int poolThreads,
      int maxConcurrency,
      int batchSize,
      ResultOrder order,
      boolean orderedReducer,
      Interference interference,
      int at,
      int breakAt) {}

  @Provide
  Arbitrary<Job> jobs() {
    Arbitrary<Tuple2<Long, Integer>> sizes =
        Combinators.combine(Arbitraries.longs(), Arbitraries.integers().between(0, 1_500))
            .as(Tuple::of);
    Arbitrary<Tuple2<Interference, Integer>> interferences =
        Combinators.combine(
                Arbitraries.of(Interference.class), Arbitraries.integers().between(0, 1_500))
            .as(Tuple::of);
    return Combinators.combine(
            sizes,
            Arbitraries.of(SourceKind.class),
            // 0: virtual threads, the default.
            Arbitraries.of(0, 0, 1, 2, 4),
            Arbitraries.integers().between(1, 48),
            Arbitraries.of(1, 1, 1, 2, 5),
            Arbitraries.of(ResultOrder.class),
            Arbitraries.of(false, true),
            interferences)
        .as(
            (size, source, pool, cap, batch, order, ordered, interference) -> {
              long seed = size.get1();
              int n = size.get2();
              return new Job(
                  seed,
                  n,
                  source,
                  pool,
                  cap,
                  batch,
                  order,
                  ordered,
                  interference.get1(),
                  n == 0 ? 0 : interference.get2() % n,
                  n == 0 ? 0 : (int) Math.floorMod(seed, (long) n));
            });
  }

  @Property(tries = 120)
  void every_result_is_delivered_once_in_order_under_the_cap_and_the_aggregate_is_exact(
      @ForAll("jobs") Job job) throws InterruptedException {
    int n = job.items();
    AtomicInteger running = new AtomicInteger();
    AtomicInteger peak = new AtomicInteger();
    AtomicInteger inConsumer = new AtomicInteger();
    AtomicInteger overlaps = new AtomicInteger();
    AtomicIntegerArray deliveries = new AtomicIntegerArray(Math.max(n, 1));
    List<ItemResult<Long>> delivered = new ArrayList<>();
    AtomicInteger newCap = new AtomicInteger(job.maxConcurrency());
    ExecutorService pool =
        job.poolThreads() == 0 ? null : Executors.newFixedThreadPool(job.poolThreads());
    FanOut.Builder builder = FanOut.builder();
    if (pool != null) {
      builder.executor(pool);
    }

    BatchFunction<Integer, Long> fn =
        (batch, ctx) -> {
          peak.accumulateAndGet(running.incrementAndGet(), Math::max);
          try {
            SplittableRandom random = new SplittableRandom(job.seed() ^ batch.get(0));
            int kind = random.nextInt(10);
            if (random.nextInt(300) == 0) {
              // Long enough for a sweep to settle what this thread finished before it.
              LockSupport.parkNanos(12_000_000);
            } else if (kind < 2) {
              LockSupport.parkNanos(random.nextLong(200_000));
            } else if (kind < 4) {
              Thread.yield();
            }
            List<Long> out = new ArrayList<>(batch.size());
            for (int i : batch) {
              if (i % 41 == 7) {
                throw new IllegalStateException("item " + i + " always fails");
              }
              if (i % 13 == 5 && ctx.attempt() == 1) {
                throw new IllegalStateException("item " + i + " fails once");
              }
              out.add(i * 3L);
            }
            return out;
          } finally {
            running.decrementAndGet();
          }
        };

    // The consumer may run before submit returns; it waits for the handle only to interfere.
    CompletableFuture<JobHandle<?>> handle = new CompletableFuture<>();
    Thread[] resumer = new Thread[1];
    try (Engine engine = builder.build()) {
      JobSpec.Builder<Integer, Long, Long, ?> spec =
          source(job)
              .batchFunction(job.batchSize(), fn)
              .consumer(
                  r -> {
                    if (inConsumer.incrementAndGet() != 1) {
                      overlaps.incrementAndGet();
                    }
                    deliveries.incrementAndGet((int) r.index());
                    delivered.add(r);
                    try {
                      if (delivered.size() == job.at() + 1) {
                        interfere(job, handle.join(), newCap, resumer);
                      }
                    } finally {
                      inConsumer.decrementAndGet();
                    }
                  })
              .maxConcurrency(job.maxConcurrency())
              .retry(RetryPolicy.builder().maxAttempts(2).backoff(Duration.ZERO).build())
              .resultOrder(job.order())
              .failurePolicy(FailurePolicy.allSettled().toleratingPercent(100));
      JobOutcome<?> outcome;
      List<Long> expectedCollect = null;
      if (job.orderedReducer()) {
        JobHandle<List<Long>> h = engine.submit(spec.reduce(Reducers.<Long>collect()).build());
        handle.complete(h);
        outcome = h.outcome().orTimeout(60, TimeUnit.SECONDS).join();
      } else {
        JobHandle<Long> h = engine.submit(spec.reduce(Reducers.sumLong()).build());
        handle.complete(h);
        outcome = h.outcome().orTimeout(60, TimeUnit.SECONDS).join();
      }
      if (resumer[0] != null) {
        resumer[0].join();
      }
      JobStatus status = outcome.status();

      assertThat(overlaps).as("consumer calls at once").hasValue(0);
      assertThat(peak.get()).as("peak running").isLessThanOrEqualTo(newCap.get());
      for (int i = 0; i < n; i++) {
        assertThat(deliveries.get(i)).as("deliveries of item %d", i).isLessThanOrEqualTo(1);
      }
      // Sequence numbers count completions: in completion order they arrive as 1, 2, 3, ...; in
      // input order they are the same numbers, in another order.
      List<Long> seqs = new ArrayList<>(delivered.stream().map(ItemResult::seq).toList());
      if (job.order() == ResultOrder.INPUT) {
        seqs.sort(null);
      }
      for (int k = 0; k < seqs.size(); k++) {
        assertThat(seqs.get(k)).as("seq %d of %d", k + 1, seqs.size()).isEqualTo(k + 1L);
      }
      if (job.order() == ResultOrder.INPUT) {
        assertThat(delivered).extracting(ItemResult::index).isSorted();
      }
      assertThat(delivered).hasSize((int) (status.succeeded() + status.failed()));
      List<Long> successes = new ArrayList<>();
      delivered.stream()
          .filter(ItemResult::succeeded)
          .sorted(java.util.Comparator.comparingLong(ItemResult::index))
          .forEach(
              r -> {
                assertThat(r.value()).isEqualTo(r.index() * 3);
                successes.add(r.value());
              });
      expectedCollect = successes;
      if (job.orderedReducer()) {
        assertThat(outcome.aggregate()).isEqualTo(expectedCollect);
      } else {
        assertThat(outcome.aggregate())
            .isEqualTo(expectedCollect.stream().mapToLong(Long::longValue).sum());
      }

      boolean broken = job.source() == SourceKind.BROKEN_LIST && n > 0;
      boolean cancelled = job.interference() == Interference.CANCEL && n > 0;
      // An iterator cancelled before its end never tells its total; the items it read count.
      long read = status.total().orElse(status.succeeded() + status.failed() + status.cancelled());
      assertThat(status.succeeded() + status.failed() + status.cancelled()).isEqualTo(read);
      assertThat(delivered).allSatisfy(r -> assertThat(r.index()).isLessThan(read));
      if (broken
          && outcome.state() == JobState.FAILED
          && status.error() != null
          && status.error().startsWith("reading the items failed")) {
        // The batch that holds the broken item is lost with it: it was never whole, never ran.
        assertThat(read).isEqualTo(job.breakAt() - job.breakAt() % job.batchSize());
      } else if (cancelled) {
        assertThat(outcome.state()).isIn(JobState.CANCELLED, JobState.SUCCEEDED);
      } else {
        assertThat(broken).as("a broken source fails the job").isFalse();
        assertThat(outcome.state()).isEqualTo(JobState.SUCCEEDED);
        assertThat(read).isEqualTo(n);
        assertThat(delivered).hasSize(n);
        assertThat(status.failed())
            .isEqualTo(
                IntStream.range(0, n).filter(i -> failsForGood(i, job.batchSize(), n)).count());
      }
    } finally {
      if (pool != null) {
        pool.shutdownNow();
      }
    }
  }

  /** Whether item {@code i} fails for good: its batch holds an item that always fails. */
  private static boolean failsForGood(int i, int batchSize, int n) {
    int start = i / batchSize * batchSize;
    for (int j = start; j < Math.min(start + batchSize, n); j++) {
      if (j % 41 == 7) {
        return true;
      }
    }
    return false;
  }

  private static void interfere(
      Job job, JobHandle<?> handle, AtomicInteger newCap, Thread[] resumer) {
    switch (job.interference()) {
      case NONE -> {}
      case CANCEL -> handle.cancel();
      case PAUSE_AND_RESUME -> {
        if (handle.pause()) {
          resumer[0] =
              Thread.ofPlatform()
                  .start(
                      () -> {
                        LockSupport.parkNanos(2_000_000);
                        resumeUnlessFinal(handle);
                      });
        }
      }
      case NEW_CAP -> {
        int cap = 1 + (int) Math.floorMod(job.seed() >>> 8, 64L);
        newCap.accumulateAndGet(cap, Math::max);
        handle.setMaxConcurrency(cap);
      }
    }
  }

  /** The attempts running when the job was paused may have been its last, and ended it. */
  private static void resumeUnlessFinal(JobHandle<?> handle) {
    try {
      handle.resume();
    } catch (IllegalStateException e) {
      assertThat(handle.status().state().isFinal()).as("resume refused: " + e).isTrue();
    }
  }

  private static JobSpec.Items<Integer> source(Job job) {
    int n = job.items();
    List<Integer> list = IntStream.range(0, n).boxed().toList();
    return switch (job.source()) {
      case LIST -> JobSpec.items(list);
      case ITERATOR -> {
        Iterator<Integer> it = list.iterator();
        yield JobSpec.items(it);
      }
      case BROKEN_LIST ->
          JobSpec.items(
              new AbstractList<Integer>() {
                @Override
                public Integer get(int index) {
                  if (index == job.breakAt()) {
                    throw new IllegalStateException("item " + index + " cannot be read");
                  }
                  return list.get(index);
                }

                @Override
                public int size() {
                  return n;
                }
              });
    };
  }
}
