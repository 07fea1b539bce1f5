package dev.fanout.benchmarks;

import java.util.ArrayList;
import java.util.List;
import java.util.Locale;

/**
 * Scenario 3: 100,000 durable no-op items, where the store is all the cost: Fanout's tasks per
 * second on PostgreSQL and on H2 against JobRunr's on the same database. It also measures the
 * durable store's acknowledgement (issue 3): how long {@code submit} of 10,000 items takes to store
 * the job and every item.
 */
final class DurableNoOp implements Bench.Scenario {
  @Override
  public int number() {
    return 3;
  }

  @Override
  public String title() {
    return "100,000 durable no-op items";
  }

  @Override
  public Outcome run(Bench.Options options) throws Exception {
    int n = options.size(100_000, 2_000);
    int warmup = options.size(20_000, 500);
    int rounds = options.size(3, 1);
    int acks = options.size(21, 3);
    int ackItems = options.size(10_000, 1_000);
    int jobRunrWarmup = options.size(1_000, 100);
    // Each run waits for JobRunr's next poll, anywhere from 0 to 15 s, so one run is a weak
    // baseline for a ratio near its target; on H2 one run takes minutes and the ratio is far
    // from it.
    int jobRunrPostgresRuns = options.size(3, 1);
    Outcome outcome =
        new Outcome(
            number(),
            title(),
            """
            %,d items whose function returns its item, each one stored, claimed, run and \
            recorded, timed from submit to the outcome (Fanout) or from the first enqueue to the \
            last job marked succeeded (JobRunr, which enqueues them as one stream of jobs). Fanout \
            runs a %,d-item warm-up job, then %d measured ones, on one engine; JobRunr a warm-up of \
            %,d jobs, then %d measured run%s on PostgreSQL and one on H2, where a run takes \
            minutes with its defaults; each run's time includes the wait for its next poll (every \
            15 s by default) before its first job starts, which the notes below give. Both use a database of their own: a fresh H2 \
            file, or a fresh schema in the same PostgreSQL. The acknowledgement (a target of the \
            durable-store issue) is Fanout's `submit` of %,d no-op items, returning once the job \
            and every item are stored: the median of %d submissions, each job run to its end \
            before the next.
            """
                .formatted(
                    n,
                    warmup,
                    rounds,
                    jobRunrWarmup,
                    jobRunrPostgresRuns,
                    jobRunrPostgresRuns == 1 ? "" : "s",
                    ackItems,
                    acks));
    Outcome.Metric rate = outcome.metric("throughput", "tasks/s", true);
    Outcome.Metric ack =
        outcome.metric("acknowledgement of %,d items".formatted(ackItems), "ms", false);
    for (DurableFanout.Store store :
        List.of(DurableFanout.Store.POSTGRES, DurableFanout.Store.H2)) {
      String group = store.label;
      List<Double> rates = new ArrayList<>();
      List<Double> ackMillis = new ArrayList<>();
      try (DurableFanout fanout = DurableFanout.start(store)) {
        fanout.timeJob("noop", warmup, null);
        for (int round = 0; round < rounds; round++) {
          rates.add(n / fanout.timeJob("noop", n, null));
        }
        for (int i = 0; i < acks; i++) {
          ackMillis.add(fanout.acknowledge(ackItems));
        }
        rate.add(group, fanout.label(), true, rates);
        ack.add(group, fanout.label(), true, ackMillis);
        outcome.settings(fanout.label(), fanout.settings());
      }
      JobRunrContender.Database database =
          store == DurableFanout.Store.H2
              ? JobRunrContender.Database.H2
              : JobRunrContender.Database.POSTGRES;
      double fanoutRate = rate.fanoutOf(group).median();
      outcome.target(
          "Fanout on " + store.label + " at least 10,000 tasks/s",
          String.format(Locale.ROOT, "%,.0f tasks/s", fanoutRate),
          fanoutRate >= 10_000);
      if (options.baselines()) {
        try (JobRunrContender jobRunr = JobRunrContender.start(database, 0, 0)) {
          jobRunr.run(jobRunrWarmup, JobRunrContender.Work.NOOP);
          int runs = store == DurableFanout.Store.POSTGRES ? jobRunrPostgresRuns : 1;
          List<Double> jobRunrRates = new ArrayList<>();
          List<String> waits = new ArrayList<>();
          for (int run = 0; run < runs; run++) {
            jobRunrRates.add(n / jobRunr.run(n, JobRunrContender.Work.NOOP));
            waits.add(String.format(Locale.ROOT, "%.1f s", jobRunr.lastWaitSeconds()));
          }
          String name = "JobRunr, " + store.label + ", defaults";
          rate.add(group, name, false, jobRunrRates);
          outcome.settings(name, jobRunr.settings());
          outcome.note(
              "%s: its first job started %s after the enqueue, at JobRunr's next poll."
                  .formatted(name, String.join(", ", waits)));
          double ratio = rate.ratio(rate.figure(name));
          outcome.target(
              "Fanout on " + store.label + " at least 10 × JobRunr",
              String.format(Locale.ROOT, "%.1f ×", ratio),
              ratio >= 10);
        }
      }
      double ackMedian = ack.fanoutOf(group).median();
      outcome.target(
          "acknowledgement on " + store.label + " under 150 ms (median)",
          String.format(Locale.ROOT, "%,.0f ms", ackMedian),
          ackMedian < 150);
    }
    return outcome;
  }
}
