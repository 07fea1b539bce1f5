package dev.fanout.jdbc.crash;

import dev.fanout.JobId;
import dev.fanout.JobState;
import dev.fanout.spi.ClaimedTask;
import dev.fanout.spi.Completion;
import dev.fanout.spi.JobRow;
import dev.fanout.spi.JobStore;
import dev.fanout.spi.NewJob;
import dev.fanout.spi.StoreException;
import dev.fanout.spi.StoredResult;
import java.time.Instant;
import java.util.HashSet;
import java.util.List;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicReference;

/**
 * A store that passes every call to another one, and can be armed with one fault that strikes once:
 * a call that takes effect and then fails as if the connection broke before its reply arrived (the
 * caller cannot tell it from a call that failed before committing), or a call that fails outright.
 * It also keeps the indexes of the items it answered reports (completions) for, and of those it
 * settled: an item answered and never settled here had only stale reports, dropped by the fences.
 * (Indexes, not jobs: use one job per store when reading them.)
 */
final class FaultyStore implements JobStore {

  /** The faults it can inject. */
  enum Fault {
    /** The next claim that claims something commits, and its reply is lost. */
    CLAIM_REPLY_LOST,
    /** The next completion after which every item of its job has settled commits, reply lost. */
    LAST_COMPLETION_REPLY_LOST,
    /** The next finish that would end its job fails before it runs. */
    FINISH_FAILS
  }

  private final JobStore store;
  private final AtomicReference<Fault> armed = new AtomicReference<>();
  private final AtomicReference<String> struck = new AtomicReference<>();
  private final Set<Long> answered = ConcurrentHashMap.newKeySet();
  private final Set<Long> settled = ConcurrentHashMap.newKeySet();

  FaultyStore(JobStore store) {
    this.store = store;
  }

  /** Arms a fault; it strikes once. */
  void arm(Fault fault) {
    armed.set(fault);
  }

  /** What the fault did when it struck, or null when it has not struck. */
  String struck() {
    return struck.get();
  }

  /** The items reported in calls of {@link #complete} that returned. */
  Set<Long> answered() {
    return Set.copyOf(answered);
  }

  /** The items reported but never settled here: every report of theirs was stale. */
  Set<Long> dropped() {
    Set<Long> dropped = new HashSet<>(answered);
    dropped.removeAll(settled);
    return dropped;
  }

  private boolean strike(Fault fault, String what) {
    if (armed.compareAndSet(fault, null)) {
      struck.set(what);
      return true;
    }
    return false;
  }

  @Override
  public List<ClaimedTask> claim(
      JobId id, String owner, int limit, Instant now, Instant leaseUntil) {
    List<ClaimedTask> claimed = store.claim(id, owner, limit, now, leaseUntil);
    if (!claimed.isEmpty()
        && strike(
            Fault.CLAIM_REPLY_LOST,
            "claimed items "
                + claimed.stream().map(ClaimedTask::index).toList()
                + " for "
                + owner
                + ", then lost the reply")) {
      throw new StoreException("cannot claim items of job " + id + ": the reply was lost");
    }
    return claimed;
  }

  @Override
  public List<StoredResult> complete(JobId id, List<Completion> completions, Instant now) {
    List<StoredResult> results = store.complete(id, completions, now);
    for (Completion completion : completions) {
      answered.add(completion.index());
    }
    for (StoredResult result : results) {
      settled.add(result.index());
    }
    if (!results.isEmpty() && armed.get() == Fault.LAST_COMPLETION_REPLY_LOST) {
      JobRow job = store.job(id).orElseThrow();
      if (job.pending() == 0
          && job.running() == 0
          && strike(
              Fault.LAST_COMPLETION_REPLY_LOST,
              "recorded the last " + results.size() + " results, then lost the reply")) {
        throw new StoreException("cannot record results of job " + id + ": the reply was lost");
      }
    }
    return results;
  }

  @Override
  public Optional<JobRow> finish(
      JobId id, Instant now, JobState forced, String forcedError, Folder folder) {
    if (armed.get() == Fault.FINISH_FAILS) {
      JobRow job = store.job(id).orElseThrow();
      if (job.pending() == 0
          && job.running() == 0
          && !job.state().isFinal()
          && strike(Fault.FINISH_FAILS, "failed the finish of a job whose items had all settled")) {
        throw new StoreException("cannot finish job " + id + ": the connection broke");
      }
    }
    return store.finish(id, now, forced, forcedError, folder);
  }

  // Everything else passes straight through.

  @Override
  public void createJob(NewJob job) {
    store.createJob(job);
  }

  @Override
  public int itemBatchSize() {
    return store.itemBatchSize();
  }

  @Override
  public void addItems(JobId id, long firstIndex, List<String> items) {
    store.addItems(id, firstIndex, items);
  }

  @Override
  public void seal(JobId id, long total) {
    store.seal(id, total);
  }

  @Override
  public Optional<JobRow> job(JobId id) {
    return store.job(id);
  }

  @Override
  public List<JobRow> listJobs(int limit, JobId before) {
    return store.listJobs(limit, before);
  }

  @Override
  public List<JobId> activeJobs() {
    return store.activeJobs();
  }

  @Override
  public int renewLeases(String owner, Instant leaseUntil) {
    return store.renewLeases(owner, leaseUntil);
  }

  @Override
  public int reclaimExpired(Instant now) {
    return store.reclaimExpired(now);
  }

  @Override
  public boolean setPaused(JobId id, boolean paused) {
    return store.setPaused(id, paused);
  }

  @Override
  public boolean setMaxConcurrency(JobId id, int maxConcurrency) {
    return store.setMaxConcurrency(id, maxConcurrency);
  }

  @Override
  public List<StoredResult> results(JobId id, long afterSeq, int limit) {
    return store.results(id, afterSeq, limit);
  }

  @Override
  public List<StoredResult> failures(JobId id, long afterSeq, int limit) {
    return store.failures(id, afterSeq, limit);
  }

  @Override
  public long acknowledged(JobId id, String consumer) {
    return store.acknowledged(id, consumer);
  }

  @Override
  public void acknowledge(JobId id, String consumer, long seq) {
    store.acknowledge(id, consumer, seq);
  }

  @Override
  public boolean deleteJob(JobId id) {
    return store.deleteJob(id);
  }

  @Override
  public int purge(Instant cutoff, int limit) {
    return store.purge(cutoff, limit);
  }

  @Override
  public int purge(Instant finishedBefore, Instant unsealedBefore, int limit) {
    return store.purge(finishedBefore, unsealedBefore, limit);
  }

  @Override
  public void close() {
    store.close();
  }
}
