package dev.fanout.spi;

import dev.fanout.JobId;
import dev.fanout.JobState;
import dev.fanout.ResultOrder;
import java.time.Instant;
import java.util.AbstractList;
import java.util.ArrayList;
import java.util.BitSet;
import java.util.Collections;
import java.util.Comparator;
import java.util.HashMap;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.NoSuchElementException;
import java.util.Objects;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.locks.ReentrantLock;

/**
 * A {@link JobStore} in this process's memory: the durable engine's semantics (leases, fences,
 * exactly-once recording and fan-in) without durability. For tests, and for running named jobs
 * without a database. One lock guards everything, which is simple and, for one process, fast
 * enough.
 */
public final class InMemoryJobStore implements JobStore {
  private final ReentrantLock lock = new ReentrantLock();
  private final Map<JobId, Job> jobs = new HashMap<>();

  /** Idempotency keys and the jobs holding them: the unique constraint of a database. */
  private final Map<String, JobId> keys = new HashMap<>();

  /** The nodes by ID, in the order they first beat. */
  private final Map<String, NodeRow> nodes = new LinkedHashMap<>();

  private final StoreSignals signals = StoreSignals.local();

  /** Creates an empty store. */
  public InMemoryJobStore() {}

  @Override
  public void createJob(NewJob job) {
    Objects.requireNonNull(job, "job");
    lock.lock();
    try {
      if (jobs.containsKey(job.id())) {
        throw new IllegalStateException("job " + job.id() + " already exists");
      }
      if (job.idempotencyKey() != null) {
        JobId holder = keys.get(job.idempotencyKey());
        if (holder != null) {
          throw new IdempotencyKeyTakenException(
              job.idempotencyKey(), holder, jobs.get(holder).def.fingerprint());
        }
        keys.put(job.idempotencyKey(), job.id());
      }
      jobs.put(job.id(), new Job(job));
    } finally {
      lock.unlock();
    }
  }

  /** Both orders. */
  @Override
  public boolean supportsResultOrder(ResultOrder order) {
    return order != null;
  }

  @Override
  public void addItems(JobId id, long firstIndex, List<String> items) {
    lock.lock();
    try {
      Job job = unsealed(id);
      if (firstIndex != job.tasks.size()) {
        throw new IllegalStateException(
            "job " + id + " expects items from index " + job.tasks.size() + ", got " + firstIndex);
      }
      for (String item : items) {
        Task task = new Task(job.tasks.size(), item);
        job.tasks.add(task);
        job.pendingIndexes.set((int) task.index);
        job.pending++;
      }
    } finally {
      lock.unlock();
    }
  }

  @Override
  public void seal(JobId id, long total) {
    lock.lock();
    try {
      Job job = unsealed(id);
      if (total != job.tasks.size()) {
        throw new IllegalStateException(
            "job " + id + " has " + job.tasks.size() + " items, not " + total);
      }
      job.sealed = true;
    } finally {
      lock.unlock();
    }
  }

  private Job unsealed(JobId id) {
    Job job = jobs.get(id);
    if (job == null) {
      throw new IllegalStateException("no job " + id);
    }
    if (job.sealed) {
      throw new IllegalStateException("job " + id + " is sealed");
    }
    return job;
  }

  @Override
  public Optional<JobRow> job(JobId id) {
    lock.lock();
    try {
      Job job = jobs.get(id);
      return job == null ? Optional.empty() : Optional.of(job.row());
    } finally {
      lock.unlock();
    }
  }

  @Override
  public List<JobRow> listJobs(int limit, JobId before) {
    lock.lock();
    try {
      Comparator<Job> newestFirst =
          Comparator.comparing((Job j) -> j.def.createdAt())
              .thenComparing(j -> j.def.id())
              .reversed();
      // A cursor deleted since the last page still tells, by its ID, where it stood.
      Optional<Instant> since =
          before == null
              ? Optional.empty()
              : Optional.ofNullable(jobs.get(before))
                  .map(j -> j.def.createdAt())
                  .or(() -> JobStore.createdAtOf(before));
      if (before != null && since.isEmpty()) {
        return List.of();
      }
      return jobs.values().stream()
          .filter(j -> since.isEmpty() || sortsAfter(j, since.get(), before))
          .sorted(newestFirst)
          .limit(limit)
          .map(Job::row)
          .toList();
    } finally {
      lock.unlock();
    }
  }

  /** Whether a job comes after the cursor (createdAt, id) in the newest-first order. */
  private static boolean sortsAfter(Job job, Instant createdAt, JobId id) {
    int byTime = job.def.createdAt().compareTo(createdAt);
    return byTime < 0 || (byTime == 0 && job.def.id().compareTo(id) < 0);
  }

  @Override
  public List<JobId> activeJobs() {
    lock.lock();
    try {
      return jobs.values().stream()
          .filter(j -> j.sealed && !j.state.isFinal())
          .sorted(Comparator.comparing((Job j) -> j.def.createdAt()).thenComparing(j -> j.def.id()))
          .map(j -> j.def.id())
          .toList();
    } finally {
      lock.unlock();
    }
  }

  @Override
  public List<ClaimedTask> claim(
      JobId id, String owner, int limit, Instant now, Instant leaseUntil) {
    Objects.requireNonNull(owner, "owner");
    lock.lock();
    try {
      Job job = jobs.get(id);
      if (job == null || !job.sealed || job.paused || job.state.isFinal()) {
        return List.of();
      }
      int room = (int) Math.min(limit, job.maxConcurrency - job.running);
      List<ClaimedTask> claimed = new ArrayList<>();
      for (int i = job.pendingIndexes.nextSetBit(0);
          i >= 0 && claimed.size() < room;
          i = job.pendingIndexes.nextSetBit(i + 1)) {
        Task task = job.tasks.get(i);
        if (task.notBefore != null && task.notBefore.isAfter(now)) {
          continue;
        }
        job.pendingIndexes.clear(i);
        task.state = TaskState.RUNNING;
        task.attempts++;
        task.fence++;
        task.owner = owner;
        task.leaseUntil = leaseUntil;
        job.pending--;
        job.running++;
        job.runningTasks.add(task);
        claimed.add(new ClaimedTask(id, task.index, task.item, task.attempts, task.fence));
      }
      if (!claimed.isEmpty() && job.startedAt == null) {
        job.startedAt = now;
        job.state = JobState.RUNNING;
      }
      return claimed;
    } finally {
      lock.unlock();
    }
  }

  @Override
  public int renewLeases(String owner, Instant leaseUntil) {
    lock.lock();
    try {
      int renewed = 0;
      for (Job job : jobs.values()) {
        for (Task task : job.runningTasks) {
          if (owner.equals(task.owner)) {
            task.leaseUntil = leaseUntil;
            renewed++;
          }
        }
      }
      return renewed;
    } finally {
      lock.unlock();
    }
  }

  @Override
  public int reclaimExpired(Instant now) {
    lock.lock();
    try {
      int reclaimed = 0;
      for (Job job : jobs.values()) {
        for (Iterator<Task> it = job.runningTasks.iterator(); it.hasNext(); ) {
          Task task = it.next();
          if (!task.leaseUntil.isAfter(now)) {
            it.remove();
            job.toPending(task);
            reclaimed++;
          }
        }
      }
      return reclaimed;
    } finally {
      lock.unlock();
    }
  }

  @Override
  public List<StoredResult> complete(JobId id, List<Completion> completions, Instant now) {
    lock.lock();
    try {
      Job job = jobs.get(id);
      if (job == null) {
        return List.of();
      }
      List<StoredResult> settled = new ArrayList<>();
      boolean frontierSettled = false;
      for (Completion c : completions) {
        if (c.index() < 0 || c.index() >= job.tasks.size()) {
          continue;
        }
        Task task = job.tasks.get((int) c.index());
        if (task.state != TaskState.RUNNING || task.fence != c.fence()) {
          continue;
        }
        job.runningTasks.remove(task);
        job.running--;
        switch (c) {
          case Completion.Retry r -> {
            task.notBefore = r.notBefore();
            task.error = r.error();
            job.retries++;
            job.toPendingAfterRunning(task);
          }
          case Completion.Succeeded s -> {
            task.state = TaskState.SUCCEEDED;
            task.value = s.value();
            task.error = null;
            task.durationMillis = s.durationMillis();
            job.succeeded++;
            settled.add(job.settle(task));
            frontierSettled |= task.index == job.nextInOrder;
          }
          case Completion.Failed f -> {
            task.state = TaskState.FAILED;
            task.value = null;
            task.error = f.error();
            task.durationMillis = f.durationMillis();
            job.failed++;
            settled.add(job.settle(task));
            frontierSettled |= task.index == job.nextInOrder;
          }
        }
      }
      // Only the first unnumbered item holds the others back, so only its settling frees any.
      if (frontierSettled) {
        job.numberInOrder();
      }
      return settled;
    } finally {
      lock.unlock();
    }
  }

  @Override
  public Optional<JobRow> finish(
      JobId id, Instant now, JobState forced, String forcedError, Folder folder) {
    if (forced != null && forced != JobState.CANCELLED && forced != JobState.FAILED) {
      throw new IllegalArgumentException("forced must be CANCELLED or FAILED, got " + forced);
    }
    lock.lock();
    try {
      Job job = jobs.get(id);
      if (job == null || job.state.isFinal()) {
        return Optional.empty();
      }
      if (forced == null && (!job.sealed || job.pending > 0 || job.running > 0)) {
        return Optional.empty();
      }
      // Fold first: a folder that throws must leave the job exactly as it was.
      JobRow ending = job.row();
      if (forced != null) {
        ending =
            new JobRow(
                ending.id(),
                ending.sealed(),
                ending.state(),
                ending.spec(),
                ending.total(),
                ending.maxConcurrency(),
                0,
                0,
                ending.succeeded(),
                ending.failed(),
                ending.cancelled() + ending.pending() + ending.running(),
                ending.retries(),
                ending.lastSeq() + job.heldCount(),
                ending.createdAt(),
                ending.startedAt(),
                ending.finishedAt(),
                ending.deadlineAt(),
                ending.aggregate(),
                ending.error());
      }
      Verdict verdict = folder.fold(ending, job.succeededValues());
      if (forced != null) {
        for (Task task : job.tasks) {
          if (task.state == TaskState.PENDING || task.state == TaskState.RUNNING) {
            task.state = TaskState.CANCELLED;
            task.fence++;
            task.owner = null;
          }
        }
        job.cancelled += job.pending + job.running;
        job.pending = 0;
        job.running = 0;
        job.runningTasks.clear();
        job.pendingIndexes.clear();
      }
      // Nothing unsettled is left to hold the held results back: number them all.
      job.numberInOrder();
      job.state = forced != null ? forced : verdict.state();
      job.aggregate = verdict.aggregate();
      job.error = verdict.error() != null ? verdict.error() : forcedError;
      job.finishedAt = now;
      job.paused = false;
      return Optional.of(job.row());
    } finally {
      lock.unlock();
    }
  }

  @Override
  public boolean setPaused(JobId id, boolean paused) {
    lock.lock();
    try {
      Job job = jobs.get(id);
      if (job == null || job.state.isFinal()) {
        return false;
      }
      job.paused = paused;
      job.state =
          paused ? JobState.PAUSED : job.startedAt == null ? JobState.ACCEPTED : JobState.RUNNING;
      return true;
    } finally {
      lock.unlock();
    }
  }

  @Override
  public boolean setMaxConcurrency(JobId id, int maxConcurrency) {
    if (maxConcurrency < 1) {
      throw new IllegalArgumentException("maxConcurrency must be >= 1, got " + maxConcurrency);
    }
    lock.lock();
    try {
      Job job = jobs.get(id);
      if (job == null || job.state.isFinal()) {
        return false;
      }
      job.maxConcurrency = maxConcurrency;
      return true;
    } finally {
      lock.unlock();
    }
  }

  @Override
  public List<StoredResult> results(JobId id, long afterSeq, int limit) {
    lock.lock();
    try {
      Job job = jobs.get(id);
      if (job == null) {
        return List.of();
      }
      int from =
          Collections.binarySearch(job.resultSeqs(), afterSeq + 1, Comparator.naturalOrder());
      if (from < 0) {
        from = -from - 1;
      }
      int to = (int) Math.min(job.results.size(), (long) from + limit);
      return List.copyOf(job.results.subList(from, to));
    } finally {
      lock.unlock();
    }
  }

  @Override
  public long acknowledged(JobId id, String consumer) {
    lock.lock();
    try {
      Job job = jobs.get(id);
      return job == null ? 0 : job.acks.getOrDefault(consumer, 0L);
    } finally {
      lock.unlock();
    }
  }

  @Override
  public void acknowledge(JobId id, String consumer, long seq) {
    lock.lock();
    try {
      Job job = jobs.get(id);
      if (job != null) {
        job.acks.merge(consumer, seq, Math::max);
      }
    } finally {
      lock.unlock();
    }
  }

  @Override
  public boolean leaseDelivery(
      JobId id, String consumer, String holder, Instant now, Instant until) {
    Objects.requireNonNull(holder, "holder");
    lock.lock();
    try {
      Job job = jobs.get(id);
      if (job == null) {
        return false;
      }
      DeliveryLease held = job.deliveries.get(consumer);
      if (held != null && !held.holder.equals(holder) && held.until.isAfter(now)) {
        return false;
      }
      job.deliveries.put(consumer, new DeliveryLease(holder, until));
      return true;
    } finally {
      lock.unlock();
    }
  }

  @Override
  public void releaseDelivery(JobId id, String consumer, String holder) {
    lock.lock();
    try {
      Job job = jobs.get(id);
      if (job != null) {
        job.deliveries.computeIfPresent(consumer, (c, l) -> l.holder.equals(holder) ? null : l);
      }
    } finally {
      lock.unlock();
    }
  }

  @Override
  public void heartbeat(NodeRow node) {
    lock.lock();
    try {
      NodeRow running =
          new NodeRow(
              node.id(),
              node.host(),
              node.version(),
              node.startedAt(),
              node.lastSeen(),
              node.concurrency(),
              node.running(),
              false);
      NodeRow known = nodes.get(node.id());
      // A stopped row takes only the beat of a later start: a late beat must not revive it.
      if (known == null || !known.stopped() || known.startedAt().isBefore(node.startedAt())) {
        nodes.put(node.id(), running);
      }
    } finally {
      lock.unlock();
    }
  }

  @Override
  public void leave(String nodeId, Instant at) {
    lock.lock();
    try {
      nodes.computeIfPresent(
          nodeId,
          (k, n) ->
              new NodeRow(
                  n.id(), n.host(), n.version(), n.startedAt(), at, n.concurrency(), 0, true));
    } finally {
      lock.unlock();
    }
  }

  @Override
  public List<NodeRow> nodes() {
    lock.lock();
    try {
      List<NodeRow> all = new ArrayList<>(nodes.values());
      all.sort(Comparator.comparing(NodeRow::startedAt).thenComparing(NodeRow::id));
      return all;
    } finally {
      lock.unlock();
    }
  }

  @Override
  public int forgetNodes(Instant lastSeenBefore) {
    lock.lock();
    try {
      int before = nodes.size();
      nodes.values().removeIf(n -> n.lastSeen().isBefore(lastSeenBefore));
      return before - nodes.size();
    } finally {
      lock.unlock();
    }
  }

  /** Signals within this process: no other process shares this store. */
  @Override
  public StoreSignals signals() {
    return signals;
  }

  @Override
  public boolean deleteJob(JobId id) {
    lock.lock();
    try {
      return remove(id);
    } finally {
      lock.unlock();
    }
  }

  @Override
  public int purge(Instant cutoff, int limit) {
    return purge(cutoff, cutoff, limit);
  }

  @Override
  public int purge(Instant finishedBefore, Instant unsealedBefore, int limit) {
    lock.lock();
    try {
      List<JobId> doomed =
          jobs.values().stream()
              .filter(
                  j ->
                      j.finishedAt != null && j.finishedAt.isBefore(finishedBefore)
                          || !j.sealed && j.def.createdAt().isBefore(unsealedBefore))
              .limit(limit)
              .map(j -> j.def.id())
              .toList();
      doomed.forEach(this::remove);
      return doomed.size();
    } finally {
      lock.unlock();
    }
  }

  /** Removes a job and frees its idempotency key; the caller holds the lock. */
  private boolean remove(JobId id) {
    Job job = jobs.remove(id);
    if (job == null) {
      return false;
    }
    if (job.def.idempotencyKey() != null) {
      keys.remove(job.def.idempotencyKey(), id);
    }
    return true;
  }

  @Override
  public Optional<JobRow> retryFailed(JobId id) {
    lock.lock();
    try {
      Job job = jobs.get(id);
      if (job == null
          || (job.state != JobState.SUCCEEDED && job.state != JobState.FAILED)
          || job.failed == 0) {
        return Optional.empty();
      }
      for (Task task : job.tasks) {
        if (task.state == TaskState.FAILED) {
          if (job.inputOrder) {
            // The new round is numbered from its lowest index on; the results before it stand.
            job.nextInOrder = Math.min(job.nextInOrder, (int) task.index);
          }
          task.attempts = 0;
          task.notBefore = null;
          task.value = null;
          task.error = null;
          task.durationMillis = 0;
          job.toPendingAfterRunning(task);
        }
      }
      // The failed results no longer count: each item's next result takes a new seq.
      job.results.removeIf(r -> r.status() == TaskState.FAILED);
      job.failed = 0;
      job.state = JobState.RUNNING;
      job.paused = false;
      job.finishedAt = null;
      job.aggregate = null;
      job.error = null;
      return Optional.of(job.row());
    } finally {
      lock.unlock();
    }
  }

  @Override
  public void close() {}

  private static final class Task {
    final long index;
    final String item;
    TaskState state = TaskState.PENDING;
    int attempts;
    long fence;

    /** Settled in an input-ordered job, waiting for the items before it to be numbered. */
    boolean held;

    Instant notBefore;
    String owner;
    Instant leaseUntil;
    String value;
    String error;
    long durationMillis;

    Task(long index, String item) {
      this.index = index;
      this.item = item;
    }
  }

  private static final class Job {
    final NewJob def;
    final List<Task> tasks = new ArrayList<>();
    final BitSet pendingIndexes = new BitSet();
    final Set<Task> runningTasks = new LinkedHashSet<>();
    final List<StoredResult> results = new ArrayList<>();
    final Map<String, Long> acks = new HashMap<>();
    final Map<String, DeliveryLease> deliveries = new HashMap<>();
    final boolean inputOrder;

    /**
     * In an input-ordered job, the index of the first item not yet numbered nor cancelled: every
     * item below it has its result in {@link #results}. Past the end in a completion-ordered job,
     * so no settle ever stops there.
     */
    int nextInOrder;

    boolean sealed;
    JobState state = JobState.ACCEPTED;
    boolean paused;
    int maxConcurrency;
    long pending;
    long running;
    long succeeded;
    long failed;
    long cancelled;
    long retries;
    long lastSeq;
    Instant startedAt;
    Instant finishedAt;
    String aggregate;
    String error;

    Job(NewJob def) {
      this.def = def;
      this.maxConcurrency = def.maxConcurrency();
      this.inputOrder = def.resultOrder() == ResultOrder.INPUT;
      this.nextInOrder = inputOrder ? 0 : Integer.MAX_VALUE;
    }

    /** A RUNNING task whose lease ran out: back to PENDING under a new fence. */
    void toPending(Task task) {
      running--;
      toPendingAfterRunning(task);
    }

    void toPendingAfterRunning(Task task) {
      task.state = TaskState.PENDING;
      task.fence++;
      task.owner = null;
      task.leaseUntil = null;
      pendingIndexes.set((int) task.index);
      pending++;
    }

    StoredResult settle(Task task) {
      task.owner = null;
      task.leaseUntil = null;
      if (inputOrder) {
        task.held = true;
        return result(task, 0);
      }
      StoredResult result = result(task, ++lastSeq);
      results.add(result);
      return result;
    }

    private StoredResult result(Task task, long seq) {
      return new StoredResult(
          def.id(),
          seq,
          task.index,
          task.state,
          task.value,
          task.error,
          task.attempts,
          task.durationMillis);
    }

    /**
     * Numbers the held items from {@link #nextInOrder} on, in index order, up to the first item
     * that has not settled. Items that are numbered already (in an earlier round of retries) or
     * cancelled are passed over.
     */
    void numberInOrder() {
      while (nextInOrder < tasks.size()) {
        Task task = tasks.get(nextInOrder);
        if (task.state == TaskState.PENDING || task.state == TaskState.RUNNING) {
          return;
        }
        if (task.held) {
          task.held = false;
          results.add(result(task, ++lastSeq));
        }
        nextInOrder++;
      }
    }

    /** How many held items finishing the job would number now. */
    long heldCount() {
      return inputOrder ? tasks.stream().filter(t -> t.held).count() : 0;
    }

    List<Long> resultSeqs() {
      return new AbstractList<>() {
        @Override
        public Long get(int i) {
          return results.get(i).seq();
        }

        @Override
        public int size() {
          return results.size();
        }
      };
    }

    Iterator<SucceededValue> succeededValues() {
      return new Iterator<>() {
        int next = advance(0);

        private int advance(int from) {
          int i = from;
          while (i < tasks.size() && tasks.get(i).state != TaskState.SUCCEEDED) {
            i++;
          }
          return i;
        }

        @Override
        public boolean hasNext() {
          return next < tasks.size();
        }

        @Override
        public SucceededValue next() {
          if (!hasNext()) {
            throw new NoSuchElementException();
          }
          SucceededValue value = new SucceededValue(next, tasks.get(next).value);
          next = advance(next + 1);
          return value;
        }
      };
    }

    JobRow row() {
      return new JobRow(
          def.id(),
          sealed,
          state,
          def.spec(),
          tasks.size(),
          maxConcurrency,
          pending,
          running,
          succeeded,
          failed,
          cancelled,
          retries,
          lastSeq,
          def.createdAt(),
          startedAt,
          finishedAt,
          def.deadlineAt(),
          aggregate,
          error);
    }
  }

  private record DeliveryLease(String holder, Instant until) {}
}
