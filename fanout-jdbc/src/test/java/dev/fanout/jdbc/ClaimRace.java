package dev.fanout.jdbc;

import dev.fanout.JobId;
import dev.fanout.spi.ClaimedTask;
import dev.fanout.spi.Completion;
import dev.fanout.spi.JobStore;
import dev.fanout.spi.StoredResult;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Random;
import java.util.concurrent.Callable;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.ExecutorCompletionService;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;

/**
 * Workers racing to claim and complete one job's items through several stores, while a watcher
 * counts the job's RUNNING rows and a heartbeat renews the workers' leases. Every worker holds some
 * items across rounds, so the cap is reached again and again; one worker acts as a crashing process
 * whose leases have always run out and are reclaimed under it.
 *
 * <p>The count of items held (claimed and not yet reported) is raised after a claim commits and
 * lowered before a report is sent, so it never exceeds the true RUNNING count: when it passes the
 * cap, the store let the job pass it.
 */
final class ClaimRace {
  private static final Instant NOW = JdbcJobStoreBehaviour.T0;
  private static final Instant LIVE_LEASE = NOW.plusSeconds(3600);

  private final JobId id;
  private final int cap;
  private final List<? extends JobStore> stores;
  private final AtomicInteger held = new AtomicInteger();
  private final AtomicInteger highestHeld = new AtomicInteger();
  private final AtomicLong highestRunning = new AtomicLong();
  private final AtomicInteger retries = new AtomicInteger();
  private final AtomicBoolean stop = new AtomicBoolean();
  private final ConcurrentLinkedQueue<Long> settledSeqs = new ConcurrentLinkedQueue<>();
  private final ConcurrentLinkedQueue<String> violations = new ConcurrentLinkedQueue<>();

  ClaimRace(JobId id, int cap, List<? extends JobStore> stores) {
    this.id = id;
    this.cap = cap;
    this.stores = stores;
  }

  List<? extends JobStore> stores() {
    return stores;
  }

  /** A query of the job's RUNNING rows, read behind the stores' back. */
  @FunctionalInterface
  interface RunningCount {
    long read() throws Exception;
  }

  /**
   * Runs the race to the end: every item settled.
   *
   * @throws AssertionError listing every violation seen
   */
  void run(int workers, RunningCount runningCount) throws Exception {
    long total = stores.get(0).job(id).orElseThrow().total();
    ExecutorService threads = Executors.newFixedThreadPool(workers + 2);
    ExecutorCompletionService<Void> finished = new ExecutorCompletionService<>(threads);
    try {
      for (int w = 0; w < workers; w++) {
        JobStore store = stores.get(w % stores.size());
        String name = "worker-" + w;
        Random random = new Random(w);
        Callable<Void> worker =
            w == workers - 1
                ? () -> crashingWorker(store, name, random, total)
                : () -> worker(store, name, random, total);
        finished.submit(stopOnFailure(worker));
      }
      finished.submit(stopOnFailure(() -> watch(runningCount)));
      finished.submit(stopOnFailure(() -> heartbeat(workers)));
      // The first failure stops everyone, so it is reported at once instead of as a time-out.
      for (int i = 0; i < workers; i++) {
        Future<Void> next = finished.poll(5, TimeUnit.MINUTES);
        if (next == null) {
          throw new AssertionError("the workers did not finish: " + progress(total));
        }
        next.get();
      }
      stop.set(true);
      for (int i = 0; i < 2; i++) {
        Future<Void> watcherOrHeartbeat = finished.poll(1, TimeUnit.MINUTES);
        if (watcherOrHeartbeat == null) {
          throw new AssertionError("the watcher or the heartbeat did not stop");
        }
        watcherOrHeartbeat.get();
      }
    } finally {
      stop.set(true);
      threads.shutdownNow();
      threads.awaitTermination(1, TimeUnit.MINUTES);
    }
    if (!violations.isEmpty()) {
      throw new AssertionError(violations.size() + " violations, first: " + violations.peek());
    }
  }

  private Callable<Void> stopOnFailure(Callable<Void> task) {
    return () -> {
      try {
        return task.call();
      } catch (Exception | Error e) {
        stop.set(true);
        throw e;
      }
    };
  }

  private String progress(long total) {
    return settledSeqs.size() + " of " + total + " settled, " + held.get() + " held";
  }

  private Void worker(JobStore store, String name, Random random, long total) {
    List<ClaimedTask> mine = new ArrayList<>();
    while (settledSeqs.size() < total && !stop.get()) {
      List<ClaimedTask> claimed = store.claim(id, name, 1 + random.nextInt(20), NOW, LIVE_LEASE);
      int heldNow = held.addAndGet(claimed.size());
      highestHeld.accumulateAndGet(heldNow, Math::max);
      if (heldNow > cap) {
        violations.add(name + " saw " + heldNow + " items held with a cap of " + cap);
      }
      mine.addAll(claimed);
      if (mine.isEmpty()) {
        Thread.yield();
        continue;
      }
      // Report a random part of what is held; all of it when the claim came back empty, so that
      // the workers as a whole always make progress.
      Collections.shuffle(mine, random);
      int count = claimed.isEmpty() ? mine.size() : random.nextInt(mine.size() + 1);
      List<ClaimedTask> reported = new ArrayList<>(mine.subList(0, count));
      mine.subList(0, count).clear();
      List<Completion> reports = new ArrayList<>();
      List<ClaimedTask> stillHeld = new ArrayList<>();
      int expectedSettled = 0;
      int sentRetries = 0;
      for (ClaimedTask task : reported) {
        if (random.nextInt(10) == 0) {
          // A report from an older claim of the same item: must be dropped. Half the time the
          // item is reported again in the same batch; else it stays held for a later one, so
          // that the batch's other items are written before the stale report is found out.
          reports.add(staleReport(task, random));
          if (random.nextBoolean()) {
            stillHeld.add(task);
            continue;
          }
        }
        if (task.attempt() == 1 && random.nextInt(8) == 0) {
          reports.add(new Completion.Retry(task.index(), task.fence(), "\"again\"", NOW));
          sentRetries++;
        } else {
          reports.add(
              new Completion.Succeeded(task.index(), task.fence(), task.attempt(), task.item(), 1));
          expectedSettled++;
        }
      }
      held.addAndGet(stillHeld.size() - reported.size());
      mine.addAll(stillHeld);
      List<StoredResult> settled = store.complete(id, reports, NOW);
      retries.addAndGet(sentRetries);
      if (settled.size() != expectedSettled) {
        violations.add(name + " settled " + settled.size() + " of " + expectedSettled + " reports");
      }
      settled.forEach(result -> settledSeqs.add(result.seq()));
    }
    return null;
  }

  /** A report for the task's item under the fence of the claim before: any of the three kinds. */
  private static Completion staleReport(ClaimedTask task, Random random) {
    long oldFence = task.fence() - 1;
    return switch (random.nextInt(3)) {
      case 0 -> new Completion.Failed(task.index(), oldFence, task.attempt(), "\"stale\"", 0);
      case 1 -> new Completion.Succeeded(task.index(), oldFence, task.attempt(), "\"stale\"", 0);
      default -> new Completion.Retry(task.index(), oldFence, "\"stale\"", NOW);
    };
  }

  /**
   * Claims with leases that have already run out, as a process that died would leave them, and
   * reclaims them itself; its reports then arrive late, after others may have taken the items.
   */
  private Void crashingWorker(JobStore store, String name, Random random, long total) {
    List<ClaimedTask> previous = List.of();
    while (settledSeqs.size() < total && !stop.get()) {
      List<ClaimedTask> claimed = store.claim(id, name, 1 + random.nextInt(5), NOW, NOW);
      store.reclaimExpired(NOW);
      List<Completion> late = new ArrayList<>();
      for (ClaimedTask task : previous) {
        late.add(
            new Completion.Succeeded(task.index(), task.fence(), task.attempt(), task.item(), 1));
      }
      store.complete(id, late, NOW).forEach(result -> settledSeqs.add(result.seq()));
      previous = claimed;
      Thread.yield();
    }
    return null;
  }

  private Void watch(RunningCount runningCount) throws Exception {
    while (!stop.get()) {
      long running = runningCount.read();
      highestRunning.accumulateAndGet(running, Math::max);
      if (running > cap) {
        violations.add("the watcher saw " + running + " RUNNING rows with a cap of " + cap);
      }
      long counted = stores.get(0).job(id).orElseThrow().running();
      if (counted > cap) {
        violations.add("the job row counted " + counted + " RUNNING with a cap of " + cap);
      }
    }
    return null;
  }

  /**
   * Renews every worker's leases over and over, as their heartbeats would, so that renewals race
   * claims and completions of the same rows; a deadlock between them fails the race.
   */
  private Void heartbeat(int workers) {
    while (!stop.get()) {
      for (int w = 0; w < workers && !stop.get(); w++) {
        stores.get(w % stores.size()).renewLeases("worker-" + w, LIVE_LEASE);
      }
    }
    return null;
  }

  long highestRunningSeen() {
    return highestRunning.get();
  }

  int highestHeldSeen() {
    return highestHeld.get();
  }

  int retries() {
    return retries.get();
  }

  List<Long> settledSeqs() {
    return List.copyOf(settledSeqs);
  }
}
