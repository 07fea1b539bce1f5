package dev.fanout.internal;

import dev.fanout.JobClient;
import dev.fanout.JobHandle;
import dev.fanout.JobId;
import dev.fanout.JobSpec;
import dev.fanout.JobState;
import dev.fanout.JobStatus;
import dev.fanout.Scheduler;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.Comparator;
import java.util.List;
import java.util.Objects;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.Executor;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;

/**
 * Runs the jobs that carry their function: they live in memory and run on the engine's executor.
 */
final class LocalEngine implements JobClient, AutoCloseable {
  private static final long PURGE_INTERVAL_MILLIS = 1_000;

  final Executor executor;
  final Clock clock;
  final Scheduler scheduler;
  private final int maxConcurrency;
  private final AtomicInteger running = new AtomicInteger();
  private final ConcurrentLinkedQueue<JobRun<?, ?, ?>> starved = new ConcurrentLinkedQueue<>();
  private final Set<JobRun<?, ?, ?>> starvedSet = ConcurrentHashMap.newKeySet();
  private final Duration retention;
  private final ConcurrentHashMap<JobId, JobRun<?, ?, ?>> jobs = new ConcurrentHashMap<>();
  private final AtomicLong lastPurge = new AtomicLong();
  private volatile boolean closed;

  LocalEngine(
      Executor executor, int maxConcurrency, Clock clock, Scheduler scheduler, Duration retention) {
    this.executor = executor;
    this.maxConcurrency = maxConcurrency;
    this.clock = Objects.requireNonNull(clock, "clock");
    this.scheduler = Objects.requireNonNull(scheduler, "scheduler");
    this.retention = Objects.requireNonNull(retention, "retention");
  }

  @Override
  public <A> JobHandle<A> submit(JobSpec<?, ?, A> spec) {
    Objects.requireNonNull(spec, "spec");
    if (closed) {
      throw new IllegalStateException("the engine is closed; build a new one to submit jobs");
    }
    purgeFinished();
    JobRun<?, ?, A> run = new JobRun<>(this, JobIds.next(clock), spec);
    jobs.put(run.id(), run);
    run.start();
    if (closed) {
      // close() ran while we registered: it may not have seen this job.
      run.terminate(JobState.CANCELLED, null);
    }
    return run;
  }

  @Override
  public Optional<JobHandle<?>> job(JobId id) {
    return Optional.ofNullable(jobs.get(Objects.requireNonNull(id, "id")));
  }

  @Override
  public List<JobStatus> list() {
    return jobs.values().stream()
        .map(JobRun::status)
        .sorted(Comparator.comparing(JobStatus::createdAt).thenComparing(JobStatus::id).reversed())
        .toList();
  }

  /** Cancels the jobs that are not final and refuses new ones. */
  @Override
  public void close() {
    if (closed) {
      return;
    }
    closed = true;
    jobs.values().forEach(run -> run.terminate(JobState.CANCELLED, null));
  }

  /**
   * Runs engine work (pumps, timers' follow-ups) on the executor, or on this thread when the
   * executor refuses it: after close, or a bounded executor that is full. Dropping the work instead
   * would strand a job that nothing else will wake.
   */
  void execute(Runnable work) {
    try {
      executor.execute(work);
    } catch (RejectedExecutionException e) {
      work.run();
    }
  }

  /**
   * Takes up to {@code wanted} engine-wide slots for attempts of {@code job}. When none is free,
   * the job queues up and is pumped again when a slot frees, in the order jobs ran out.
   *
   * @return how many slots were taken, 0 to {@code wanted}
   */
  int tryAcquire(JobRun<?, ?, ?> job, int wanted) {
    if (maxConcurrency == Integer.MAX_VALUE || wanted == 0) {
      return wanted;
    }
    for (int n = running.get(); n < maxConcurrency; n = running.get()) {
      int take = Math.min(wanted, maxConcurrency - n);
      if (running.compareAndSet(n, n + take)) {
        return take;
      }
    }
    if (starvedSet.add(job)) {
      starved.add(job);
    }
    // A slot may have freed between the failed take and the queueing; nobody would wake us then.
    if (running.get() < maxConcurrency) {
      wakeAll();
    }
    return 0;
  }

  /** Whether some job waits for an engine-wide slot, so a finishing attempt should give its up. */
  boolean hasWaiters() {
    return maxConcurrency != Integer.MAX_VALUE && !starved.isEmpty();
  }

  void release(int slots) {
    if (maxConcurrency == Integer.MAX_VALUE || slots == 0) {
      return;
    }
    running.addAndGet(-slots);
    wakeAll();
  }

  /**
   * Pumps every job waiting for a slot. Waking only the first would lose the wake-up when that job
   * is paused or at its own cap: its pump returns without taking the slot. A woken job that finds
   * no slot queues itself again.
   */
  private void wakeAll() {
    for (JobRun<?, ?, ?> job; (job = starved.poll()) != null; ) {
      starvedSet.remove(job);
      job.pumpAsync();
    }
  }

  void finished(JobRun<?, ?, ?> run) {
    if (starvedSet.remove(run)) {
      starved.remove(run);
    }
  }

  private void purgeFinished() {
    long now = clock.millis();
    long last = lastPurge.get();
    if (now - last < PURGE_INTERVAL_MILLIS || !lastPurge.compareAndSet(last, now)) {
      return;
    }
    Instant cutoff = clock.instant().minus(retention);
    jobs.values().removeIf(run -> run.isFinishedBefore(cutoff));
  }
}
