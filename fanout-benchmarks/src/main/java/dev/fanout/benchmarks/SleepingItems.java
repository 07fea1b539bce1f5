package dev.fanout.benchmarks;

import dev.fanout.Engine;
import dev.fanout.FanOut;
import dev.fanout.JobOutcome;
import dev.fanout.JobSpec;
import dev.fanout.JobState;
import dev.fanout.Reducers;
import dev.fanout.TaskContext;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.stream.IntStream;

/**
 * Scenario 2: 10,000 items that each sleep 100 ms, as I/O-bound calls do. Fanout in memory, on H2
 * and on PostgreSQL, against a fixed pool of 200 platform threads (what a service without virtual
 * threads would use) and against JobRunr on the same two databases, with its defaults and again
 * with its worker count raised to the job's concurrency.
 */
final class SleepingItems implements Bench.Scenario {
  private static final int CONCURRENCY = 10_000;

  @Override
  public int number() {
    return 2;
  }

  @Override
  public String title() {
    return "10,000 items that sleep 100 ms";
  }

  @Override
  public Outcome run(Bench.Options options) throws Exception {
    int n = options.size(10_000, 500);
    int rounds = options.size(5, 1);
    int poolRounds = options.size(3, 1);
    Outcome outcome =
        new Outcome(
            number(),
            title(),
            """
            %,d items whose function sleeps 100 ms and returns its item, from submit to the \
            outcome. Fanout's job raises its cap to %,d (`maxConcurrency`), so the ideal is one \
            sleep, 100 ms; that is its only setting. The fixed pool submits a `supplyAsync` per item \
            to `Executors.newFixedThreadPool(200)` and joins `allOf` (ideal %,d ms). JobRunr \
            enqueues the items as one stream of jobs (`jobScheduler.enqueue(stream, ...)`), first \
            with all its defaults, then with its worker count raised to %,d, and the run ends when \
            its server has marked the last job succeeded. Fanout in memory runs %d rounds after a \
            warm-up round; Fanout on a database %d rounds after a warm-up job on the same engine; \
            the pool %d; JobRunr one measured run after a warm-up of 100 no-op jobs on the same \
            server, since one run takes minutes with its defaults. JobRunr's time includes the wait \
            for its next poll before its first job starts (15 s by default); the measured batch \
            is enqueued just after the warm-up drained, so that wait is near its longest, and the \
            notes below give it for each run.
            """
                .formatted(
                    n,
                    CONCURRENCY,
                    Math.ceilDiv(n, 200) * 100,
                    CONCURRENCY,
                    rounds,
                    rounds,
                    poolRounds));
    Outcome.Metric makespan = outcome.metric("makespan", "ms", false);

    // In memory: Fanout against the fixed pool, alternating.
    List<Double> fanoutMemory = new ArrayList<>();
    List<Double> pool = new ArrayList<>();
    List<Integer> items = IntStream.range(0, n).boxed().toList();
    try (Engine engine = FanOut.builder().build();
        ExecutorService threads = Executors.newFixedThreadPool(200)) {
      inMemory(engine, items);
      for (int round = 0; round < Math.max(rounds, poolRounds); round++) {
        if (round < rounds) {
          long t0 = System.nanoTime();
          inMemory(engine, items);
          fanoutMemory.add((System.nanoTime() - t0) / 1e6);
        }
        if (round < poolRounds && options.baselines()) {
          long t0 = System.nanoTime();
          CompletableFuture<?>[] futures = new CompletableFuture<?>[n];
          for (int i = 0; i < n; i++) {
            futures[i] = CompletableFuture.supplyAsync(SleepingItems::sleep, threads);
          }
          CompletableFuture.allOf(futures).join();
          pool.add((System.nanoTime() - t0) / 1e6);
        }
      }
    }
    makespan.add("in memory", "Fanout, in memory", true, fanoutMemory);
    if (options.baselines()) {
      makespan.add("in memory", "JDK: fixed pool of 200 threads", false, pool);
    }
    outcome.settings(
        "Fanout, in memory",
        "engine",
        "`FanOut.builder().build()`: every default",
        "job",
        "`maxConcurrency(%,d)`".formatted(CONCURRENCY));
    outcome.settings(
        "JDK: fixed pool of 200 threads", "executor", "`Executors.newFixedThreadPool(200)`");
    double memoryMedian = makespan.fanoutOf("in memory").median();
    outcome.target(
        "Fanout in memory at most 150 ms",
        String.format(Locale.ROOT, "%,.0f ms", memoryMedian),
        memoryMedian <= 150);

    for (DurableFanout.Store store : DurableFanout.Store.values()) {
      String group = store.label;
      List<Double> fanout = new ArrayList<>();
      try (DurableFanout durable = DurableFanout.start(store)) {
        durable.timeJob("sleep100", n, CONCURRENCY);
        for (int round = 0; round < rounds; round++) {
          fanout.add(durable.timeJob("sleep100", n, CONCURRENCY) * 1000);
        }
        outcome.settings(
            durable.label(), append(durable.settings(), "job", "`maxConcurrency(10,000)`"));
        makespan.add(group, durable.label(), true, fanout);
      }
      double median = makespan.fanoutOf(group).median();
      outcome.target(
          "Fanout on " + store.label + " at most 1 s",
          String.format(Locale.ROOT, "%,.0f ms", median),
          median <= 1000);
      JobRunrContender.Database database =
          store == DurableFanout.Store.H2
              ? JobRunrContender.Database.H2
              : JobRunrContender.Database.POSTGRES;
      for (int workers : options.baselines() ? new int[] {0, CONCURRENCY} : new int[0]) {
        try (JobRunrContender jobRunr = JobRunrContender.start(database, workers, 0)) {
          jobRunr.run(100, JobRunrContender.Work.NOOP);
          double seconds = jobRunr.run(n, JobRunrContender.Work.SLEEP_100_MS);
          String name =
              "JobRunr, "
                  + store.label
                  + (workers == 0 ? ", defaults" : ", %,d workers".formatted(workers));
          makespan.add(group, name, false, List.of(seconds * 1000));
          outcome.settings(name, jobRunr.settings());
          outcome.note(
              "%s: its first job started %.1f s after the enqueue, at JobRunr's next poll."
                  .formatted(name, jobRunr.lastWaitSeconds()));
        }
      }
    }
    return outcome;
  }

  private static String[] append(String[] settings, String... more) {
    String[] all = java.util.Arrays.copyOf(settings, settings.length + more.length);
    System.arraycopy(more, 0, all, settings.length, more.length);
    return all;
  }

  private static void inMemory(Engine engine, List<Integer> items) {
    JobOutcome<Long> outcome =
        Bench.await(
            engine
                .submit(
                    JobSpec.items(items)
                        .function(
                            (Integer item, TaskContext ctx) -> {
                              Thread.sleep(100);
                              return item;
                            })
                        .maxConcurrency(CONCURRENCY)
                        .reduce(Reducers.count())
                        .build())
                .outcome());
    if (outcome.state() != JobState.SUCCEEDED || outcome.aggregate() != items.size()) {
      throw new IllegalStateException("wrong outcome: " + outcome);
    }
  }

  private static Integer sleep() {
    try {
      Thread.sleep(100);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new IllegalStateException(e);
    }
    return 0;
  }
}
