package dev.fanout.benchmarks;

import dev.fanout.Engine;
import dev.fanout.FanOut;
import dev.fanout.JobOutcome;
import dev.fanout.JobSpec;
import dev.fanout.JobState;
import dev.fanout.Reducers;
import dev.fanout.TaskContext;
import java.lang.management.ManagementFactory;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.Executor;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.ForkJoinPool;
import java.util.concurrent.atomic.AtomicLong;
import java.util.stream.IntStream;

/**
 * Scenario 1: a million no-op items in memory, Fanout against the least the JDK needs to run a
 * million tasks and wait for all of them: a {@code supplyAsync} per item on a
 * virtual-thread-per-task executor or on a {@link ForkJoinPool}, then {@code allOf(...).join()}.
 *
 * <p>Fanout's job passes every item through every stage a real job has: the function (the
 * identity), a transform, a consumer that counts, and a reducer that sums, and refuses to report a
 * run whose sum or count is wrong. The baselines have no cap, transform, consumer or reducer: they
 * are the floor, not equals. Besides the time, the runner reads the heap the whole JVM allocated
 * during each job ({@code ThreadMXBean.getTotalThreadAllocatedBytes}, which counts virtual threads
 * through their carriers): that is the "close to the raw JDK in memory" claim.
 */
final class InMemoryNoOp implements Bench.Scenario {
  @Override
  public int number() {
    return 1;
  }

  @Override
  public String title() {
    return "In memory, 1,000,000 no-op items";
  }

  @Override
  public Outcome run(Bench.Options options) {
    int n = options.size(1_000_000, 20_000);
    int warmups = options.size(8, 1);
    int rounds = options.size(15, 2);
    List<Integer> items = IntStream.range(0, n).boxed().toList();
    long expectedSum = (long) n * (n - 1) / 2;
    com.sun.management.ThreadMXBean threads =
        (com.sun.management.ThreadMXBean) ManagementFactory.getThreadMXBean();

    Map<String, List<Double>> millis = new LinkedHashMap<>();
    Map<String, List<Double>> megabytes = new LinkedHashMap<>();
    String fanout = "Fanout (defaults)";
    String virtual = "JDK: virtual thread per task + allOf";
    String forkJoin = "JDK: ForkJoinPool + allOf";
    ForkJoinPool pool = new ForkJoinPool();
    try (Engine engine = FanOut.builder().build();
        ExecutorService virtualThreads = Executors.newVirtualThreadPerTaskExecutor()) {
      Map<String, Runnable> contenders = new LinkedHashMap<>();
      contenders.put(fanout, () -> fanoutJob(engine, items, expectedSum));
      if (options.baselines()) {
        contenders.put(virtual, () -> jdkJob(virtualThreads, items));
        contenders.put(forkJoin, () -> jdkJob(pool, items));
      }
      for (int round = -warmups; round < rounds; round++) {
        for (Map.Entry<String, Runnable> c : contenders.entrySet()) {
          System.gc();
          long bytes0 = threads.getTotalThreadAllocatedBytes();
          long t0 = System.nanoTime();
          c.getValue().run();
          double ms = (System.nanoTime() - t0) / 1e6;
          double mb = (threads.getTotalThreadAllocatedBytes() - bytes0) / (1024.0 * 1024.0);
          if (round >= 0) {
            millis.computeIfAbsent(c.getKey(), k -> new ArrayList<>()).add(ms);
            megabytes.computeIfAbsent(c.getKey(), k -> new ArrayList<>()).add(mb);
          }
        }
      }
    } finally {
      pool.close();
    }

    Outcome outcome =
        new Outcome(
            number(),
            title(),
            """
            %,d items whose function returns its item, in one JVM, from submit to the joined \
            outcome. Fanout runs them with every default (`FanOut.builder().build()`, the job's cap \
            %,d) through a transform, a counting consumer and a summing reducer, and checks the sum; \
            the baselines submit a `CompletableFuture.supplyAsync` per item and join \
            `allOf(...)`, nothing more. The contenders take turns, %d warm-up rounds then %d \
            measured ones, with a `System.gc()` before each job. Heap allocated is the whole \
            JVM's during the job (`ThreadMXBean.getTotalThreadAllocatedBytes`).
            """
                .formatted(n, JobSpec.DEFAULT_MAX_CONCURRENCY, warmups, rounds));
    Outcome.Metric time = outcome.metric("time per job", "ms", false);
    Outcome.Metric heap = outcome.metric("heap allocated per job", "MiB", false);
    for (String contender : millis.keySet()) {
      boolean isFanout = contender.equals(fanout);
      time.add("in memory", contender, isFanout, millis.get(contender));
      heap.add("in memory", contender, isFanout, megabytes.get(contender));
    }
    for (String baseline : options.baselines() ? List.of(virtual, forkJoin) : List.<String>of()) {
      double ratio = time.ratio(time.figure(baseline));
      outcome.target(
          "time at most 1.5 × " + baseline,
          String.format(java.util.Locale.ROOT, "%.2f ×", ratio),
          ratio <= 1.5);
    }
    outcome.settings(
        fanout,
        "engine",
        "`FanOut.builder().build()`: every default",
        "job cap",
        "%,d (the default)".formatted(JobSpec.DEFAULT_MAX_CONCURRENCY));
    outcome.settings(virtual, "executor", "`Executors.newVirtualThreadPerTaskExecutor()`");
    outcome.settings(
        forkJoin, "executor", "`new ForkJoinPool()`, parallelism " + pool.getParallelism());
    return outcome;
  }

  private static void fanoutJob(Engine engine, List<Integer> items, long expectedSum) {
    AtomicLong consumed = new AtomicLong();
    JobOutcome<Long> outcome =
        Bench.await(
            engine
                .submit(
                    JobSpec.items(items)
                        .function((Integer n, TaskContext ctx) -> n)
                        .transform(Integer::longValue)
                        .consumer(result -> consumed.incrementAndGet())
                        .reduce(Reducers.sumLong())
                        .build())
                .outcome());
    // A job that failed or lost items could be fast for the wrong reason; refuse to report it.
    if (outcome.state() != JobState.SUCCEEDED
        || outcome.aggregate() != expectedSum
        || consumed.get() != items.size()) {
      throw new IllegalStateException(
          "wrong outcome: " + outcome + ", consumer saw " + consumed.get() + " items");
    }
  }

  private static void jdkJob(Executor executor, List<Integer> items) {
    CompletableFuture<?>[] futures = new CompletableFuture<?>[items.size()];
    for (int i = 0; i < futures.length; i++) {
      Integer item = items.get(i);
      futures[i] = CompletableFuture.supplyAsync(() -> item, executor);
    }
    CompletableFuture.allOf(futures).join();
  }
}
