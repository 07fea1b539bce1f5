package dev.fanout.jdbc.crash;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.math.BigDecimal;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.SQLException;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Random;
import java.util.stream.Stream;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Kills the process running a durable job with SIGKILL, again and again at random moments while its
 * items are leased, and restarts it each time on the same store; then checks that the job ends as
 * if nothing had happened, and that no call was repeated except those the kills cut off.
 *
 * <p>Where each kill lands: once the job has settled a random number of items more than at the last
 * kill (spread over about the first half of the job, so that every kill has work left to cut and
 * the job cannot end before its kill comes), and a random 0 to 20 ms later, the worker is killed at
 * the first moment one of its calls is running (see {@link WorkerProcess#killMidCall}). The store
 * is then read behind its back: the killed worker must hold live leases on RUNNING items, at least
 * one per call it had in flight, the job must have unsettled items, and the job row's counts must
 * agree with its item rows. A kill that missed fails the test, since it would prove nothing.
 *
 * <p>Subclasses say which store; the random seed is in every failure message, and the system
 * property {@code fanout.crash.seed} replays one (the kill points, not the thread timings).
 */
@Tag("crash")
abstract class SigkillBehaviour {

  static final int ITEMS = 3_000;
  static final int KILLS = 10;
  static final int CONCURRENCY = 64;

  /**
   * The longest a worker runs on past its kill point before the kill looks for a call in flight, so
   * that kills land at random moments rather than right after a progress report.
   */
  private static final int MAX_KILL_DELAY_MILLIS = 20;

  /** Items never chosen as kill points, so work is left after the last kill. */
  private static final int KILL_RESERVE = 1_500;

  @TempDir Path folder;

  /** The store the workers share; for H2, a database in {@code folder}. */
  abstract StoreTarget target(Path folder);

  /** What one kill found in the store. */
  private record Kill(long settled, int callsInFlight, int liveLeases, List<Long> runningIndexes) {}

  @Test
  void a_job_killed_ten_times_mid_flight_records_every_item_once_and_repeats_only_the_cut_calls()
      throws Exception {
    long seed = Long.getLong("fanout.crash.seed", System.nanoTime());
    Random random = new Random(seed);
    String context = "seed " + seed + " (replay with -Dfanout.crash.seed=" + seed + ")";
    StoreTarget target = target(folder);
    Path callLog = folder.resolve("calls.log");
    List<String> common = new ArrayList<>(target.args());
    common.add("calls=" + callLog);

    List<Kill> kills = new ArrayList<>();
    WorkerProcess worker =
        start(
            0,
            Stream.concat(
                    common.stream(),
                    Stream.of("mode=submit", "items=" + ITEMS, "concurrency=" + CONCURRENCY))
                .toList());
    try {
      String jobId = worker.awaitJobId();
      long settled = 0;
      for (int number = 1; number <= KILLS; number++) {
        // Spread the kills over the first part of the job, leaving work for the ones still to
        // come and a reserve after the last: the job must not finish between a kill point and the
        // kill, which takes the delay below, a few processes forked by this JVM and, on a loaded
        // machine, stalls of its own, while the worker may settle 10,000 items a second.
        // (A kill may settle a few hundred items past its point; should they eat into the
        // reserve, the next kills come one item apart.)
        long budget = Math.max(1, (ITEMS - KILL_RESERVE - settled) / (KILLS - number + 1));
        long killPoint = settled + 1 + random.nextLong(budget);
        worker.awaitSettled(killPoint);
        Thread.sleep(random.nextInt(MAX_KILL_DELAY_MILLIS + 1));
        WorkerProcess.Killed killed = worker.killMidCall(random);
        Kill kill =
            inspect(
                target,
                jobId,
                number,
                worker.workerId(),
                killed.frozen(),
                killed.callsInFlight(),
                context);
        kills.add(kill);
        settled = kill.settled();
        worker =
            start(
                number,
                Stream.concat(common.stream(), Stream.of("mode=resume", "job=" + jobId)).toList());
      }
      int exit = worker.awaitExit();
      assertThat(exit).as("%s: the last worker's exit code%s", context, worker.logTail()).isZero();
      checkOutcome(target, jobId, callLog, kills, context);
    } finally {
      worker.close();
    }
  }

  private WorkerProcess start(int number, List<String> args) throws IOException {
    String name = "crash-worker-" + number;
    return WorkerProcess.start(name, name, args, folder);
  }

  /** Reads the store right after a kill and checks that the kill landed mid-flight. */
  private static Kill inspect(
      StoreTarget target,
      String jobId,
      int number,
      String worker,
      Instant frozen,
      int callsInFlight,
      String context)
      throws SQLException {
    StoredJob job;
    try (Connection connection = target.connect()) {
      job = StoredJob.read(connection, jobId);
    }
    String at = context + ", kill " + number + " of " + worker + ": ";
    assertThat(job.countsAgreeWithItems())
        .as(at + "the job row's counts agree with its item rows: %s", job)
        .isTrue();
    assertThat(job.isFinal()).as(at + "the job is still running: %s", job).isFalse();
    assertThat(job.total() - job.settled()).as(at + "unsettled items").isPositive();
    List<Long> held =
        job.runningItems().stream()
            .filter(i -> StoredJob.ownedBy(i, worker))
            .map(StoredJob.RunningItem::index)
            .toList();
    int live =
        (int)
            job.runningItems().stream()
                .filter(i -> StoredJob.ownedBy(i, worker) && i.leaseUntil().isAfter(frozen))
                .count();
    // Each call in flight is an item claimed and not yet recorded, under a lease the heartbeat
    // kept renewing: fewer live leases would mean a lease ran out under a running call. Counted
    // from the freeze, after which the worker renewed nothing, not from when kill() returned.
    assertThat(live)
        .as(
            at
                + "RUNNING items leased to the killed worker past its last freeze at %s (%d calls"
                + " were in flight): %s",
            frozen,
            callsInFlight,
            job.runningItems())
        .isPositive()
        .isGreaterThanOrEqualTo(callsInFlight);
    return new Kill(job.settled(), callsInFlight, live, held);
  }

  private static void checkOutcome(
      StoreTarget target, String jobId, Path callLog, List<Kill> kills, String context)
      throws SQLException, IOException {
    StoredJob job;
    List<StoredJob.Result> results;
    try (Connection connection = target.connect()) {
      job = StoredJob.read(connection, jobId);
      results = StoredJob.results(connection, jobId);
    }
    assertThat(job.state()).as("%s: the job's state: %s", context, job).isEqualTo("SUCCEEDED");
    assertThat(job.countsAgreeWithItems()).as("%s: counts agree: %s", context, job).isTrue();
    assertThat(job.succeeded()).as(context).isEqualTo(ITEMS);
    assertThat(job.retries()).as("%s: retries (the function never throws)", context).isZero();

    assertThat(StoredJob.notRecordedOnceAsTwiceTheIndex(results, ITEMS))
        .as("%s: items not recorded exactly once as 2 * index", context)
        .isEmpty();

    long expectedSum = (long) ITEMS * (ITEMS - 1);
    assertThat(new BigDecimal(job.aggregate()))
        .as("%s: the aggregate, sum of 2 * index", context)
        .isEqualByComparingTo(BigDecimal.valueOf(expectedSum));

    int[] calls = countCalls(callLog, context);
    int[] allowed = new int[ITEMS];
    Arrays.fill(allowed, 1);
    for (Kill kill : kills) {
      for (long index : kill.runningIndexes()) {
        allowed[(int) index]++;
      }
    }
    List<String> overCalled = new ArrayList<>();
    List<Integer> neverCalled = new ArrayList<>();
    int repeatedItems = 0;
    int extraCalls = 0;
    int maxCalls = 0;
    for (int index = 0; index < ITEMS; index++) {
      if (calls[index] == 0) {
        neverCalled.add(index);
      }
      if (calls[index] > allowed[index]) {
        overCalled.add(index + ": " + calls[index] + " calls, " + allowed[index] + " allowed");
      }
      if (calls[index] > 1) {
        repeatedItems++;
        extraCalls += calls[index] - 1;
      }
      maxCalls = Math.max(maxCalls, calls[index]);
    }
    assertThat(neverCalled).as("%s: items the log never saw called", context).isEmpty();
    assertThat(overCalled)
        .as("%s: items called more than once beyond the kills that cut them off", context)
        .isEmpty();

    int cutOff = kills.stream().mapToInt(k -> k.runningIndexes().size()).sum();
    System.out.printf(
        "%s on %s: %d kills; settled at each kill %s; calls in flight at each kill %s;"
            + " live leases at each kill %s;"
            + " %d claims cut off by kills; %d items called more than once, %d extra calls,"
            + " at most %d calls per item%n",
        context,
        target.getClass().getSimpleName(),
        kills.size(),
        kills.stream().map(Kill::settled).toList(),
        kills.stream().map(Kill::callsInFlight).toList(),
        kills.stream().map(Kill::liveLeases).toList(),
        cutOff,
        repeatedItems,
        extraCalls,
        maxCalls);
  }

  /** Counts the calls per index in the call log; every line must be a whole index. */
  private static int[] countCalls(Path callLog, String context) throws IOException {
    String log = Files.readString(callLog, StandardCharsets.US_ASCII);
    assertThat(log).as("%s: the call log ends with a whole line", context).endsWith("\n");
    int[] calls = new int[ITEMS];
    for (String line : log.split("\n")) {
      int index = Integer.parseInt(line);
      assertThat(index).as(context).isBetween(0, ITEMS - 1);
      calls[index]++;
    }
    return calls;
  }
}
