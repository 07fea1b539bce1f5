package dev.fanout.internal;

import dev.fanout.AttemptTimeoutException;
import dev.fanout.BatchFunction;
import dev.fanout.DeadlineExceededException;
import dev.fanout.FailureMode;
import dev.fanout.FailurePolicy;
import dev.fanout.ItemFailure;
import dev.fanout.ItemResult;
import dev.fanout.ItemStatus;
import dev.fanout.JobHandle;
import dev.fanout.JobId;
import dev.fanout.JobOutcome;
import dev.fanout.JobSpec;
import dev.fanout.JobState;
import dev.fanout.JobStatus;
import dev.fanout.Reducer;
import dev.fanout.ResultOrder;
import dev.fanout.RetryPolicy;
import dev.fanout.TaskFunction;
import dev.fanout.TransformException;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Collections;
import java.util.Comparator;
import java.util.HashSet;
import java.util.Iterator;
import java.util.List;
import java.util.OptionalLong;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.Future;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.locks.ReentrantLock;
import java.util.function.Consumer;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * One in-memory job from acceptance to outcome.
 *
 * <p>Three roles share it, each run by one thread at a time without a dedicated thread:
 *
 * <ul>
 *   <li>The <em>pump</em> reads the source into a short queue of staged tasks, and starts attempts
 *       for free slots while the job's concurrency cap, the engine's cap and the read-ahead window
 *       allow.
 *   <li>Each <em>attempt</em> runs the function and the transform on a worker thread, then settles
 *       its items under the lock. In the same hold of the lock it takes the next staged task, which
 *       then runs on the same thread: a busy job keeps its slots and threads instead of handing
 *       each slot back to the pump to start a new thread. When nothing is staged and the source is
 *       a collection, it reads the next task itself, so fast items never outrun the pump. While
 *       attempts are fast, a thread takes up to {@link #RUN_AHEAD} tasks per hold and settles them
 *       together (a <em>chain</em> running ahead), since for items of a microsecond the lock passed
 *       between cores once per item cost more than the items.
 *   <li>The <em>drain</em> hands settled items to the consumer and the reducer, in the order each
 *       needs, and completes the outcome. Only the drain touches the consumer and the reducer, so
 *       neither is ever called concurrently.
 * </ul>
 *
 * <p>A source that may block (an iterator or a stream) is read by the pump alone, outside the lock.
 * A collection never blocks, so it is read under the lock by the pump and the settling attempts
 * alike. The pump and the drain use the work-in-progress counter idiom: whoever finds the counter
 * at zero runs the loop, and anyone arriving meanwhile only bumps the counter, so the loop runs
 * once more. A settling attempt bumps the drain's counter in the same hold of the lock in which it
 * records its items, and when the drain was idle takes them for delivery in that hold too: settling
 * an item takes the lock once, or once per chain's batch. Counts and states live under the one
 * lock, held only for bookkeeping and reading a collection, never around user code.
 */
final class JobRun<I, T, A> implements JobHandle<A> {
  private static final Logger log = LoggerFactory.getLogger(JobRun.class);

  /** The read-ahead window never shrinks below this, so small caps still keep the pipe full. */
  private static final long MIN_WINDOW = 1024;

  /** How many windows of settled results may wait for a slow consumer before reading stops. */
  private static final long DELIVERY_BACKLOG = 64;

  /** The most attempts the pump starts, or tasks it reads, per hold of the lock. */
  private static final int PUMP_BATCH = 64;

  /** Tasks the pump keeps staged beyond the free slots, so a finishing attempt finds its next. */
  private static final int STAGE_TARGET = 256;

  /** When the staged tasks fall to this, a settling attempt wakes the pump to read more. */
  private static final int STAGE_LOW = 128;

  /**
   * Settlings one executor task runs back to back (each of one attempt, or of up to {@link
   * #RUN_AHEAD} fast ones) before it hands the rest to a new one, so a busy job does not keep a
   * pooled executor's thread from other work for long.
   */
  private static final int CHAIN_LIMIT = 64;

  /**
   * The most tasks a chain takes in one hold of the lock while its attempts are fast: for items
   * that take a microsecond, the bookkeeping of each, one by one under a lock that two cores pass
   * back and forth, costs more than the items.
   */
  private static final int RUN_AHEAD = 16;

  /**
   * An attempt faster than this lets its chain run the next one it took ahead; a slower one settles
   * at once and gives the rest back. While it runs, a chain with nothing else to do steals the
   * tasks waiting behind it, and a sweep settles the ones finished before it, so a slow or hung
   * item holds up no other.
   */
  private static final long FAST_NANOS = 20_000;

  /**
   * How long a chain may be stuck in one attempt before a sweep settles the attempts it finished
   * before it, and how often the sweeps look while chains run ahead.
   */
  private static final Duration SWEEP_INTERVAL = Duration.ofMillis(10);

  private final LocalEngine engine;
  private final JobId id;
  private final JobSpec<I, T, A> spec;
  private final Instant createdAt;
  private final CompletableFuture<JobOutcome<A>> outcome = new CompletableFuture<>();
  private final TaskFunction<? super I, ?> function;
  private final BatchFunction<I, ?> batchFunction;
  private final Consumer<? super ItemResult<T>> consumer;
  private final Reducer<? super T, A> reducer;
  private final boolean orderedConsumer;
  private final boolean orderedReducer;
  private final FailurePolicy failurePolicy;
  private final RetryPolicy retryPolicy;
  private final Duration attemptTimeout;
  private final Instant jobDeadline;

  // Pump-only state; also the settling attempts' when the source never blocks (then under lock).
  private final AtomicInteger pumpWip = new AtomicInteger();
  private final Iterator<? extends I> source;
  private volatile boolean windowBlocked;

  /** Set while the job is paused or final: chains stop running the attempts they took ahead. */
  private volatile boolean holdAhead;

  private final boolean sourceMayBlock;

  // Drain-only state.
  private final AtomicInteger drainWip = new AtomicInteger();
  private ArrayList<Settled<T>> spare = new ArrayList<>();
  private boolean drainFinish;
  private boolean drainRecheck;
  private final ReorderBuffer<ItemResult<T>> reorder;
  private final List<ItemFailure> failures = new ArrayList<>();
  private long seq;
  private A aggregate;
  private boolean aggregateStarted;
  private boolean reducerFailed;
  private boolean completed;
  private volatile long windowBase;

  // Shared state, guarded by lock.
  private final ReentrantLock lock = new ReentrantLock();
  private JobState state = JobState.ACCEPTED;
  private JobState finalState;
  private String error;
  private boolean paused;
  private int maxConcurrency;
  private int runningTasks;
  private long runningItems;
  private long waitingItems;
  private long pulled;
  private boolean sourceDone;
  private Throwable sourceError;
  private long total;
  private long succeeded;
  private long failed;
  private long cancelled;
  private long retries;
  private long consumerErrors;
  private Instant startedAt;
  private Instant finishedAt;
  private Future<?> deadlineTimer;
  private final ArrayDeque<Task> ready = new ArrayDeque<>();
  private final ArrayDeque<Task> staged = new ArrayDeque<>();
  private boolean pumpRequested;
  private Attempt liveHead;
  private int aheadHeld;
  private final Set<Chain> sweepableChains = new HashSet<>();
  private boolean sweepScheduled;
  private ArrayList<Settled<T>> toDeliver = new ArrayList<>();
  private AutoCloseable sourceCloser;

  JobRun(LocalEngine engine, JobId id, JobSpec<I, T, A> spec) {
    this.engine = engine;
    this.id = id;
    this.spec = spec;
    this.createdAt = engine.clock.instant();
    this.function = spec.function().orElse(null);
    this.batchFunction = spec.batchFunction().orElse(null);
    this.consumer = spec.consumer().orElse(null);
    this.reducer = spec.reducer().orElse(null);
    this.orderedConsumer = consumer != null && spec.resultOrder() == ResultOrder.INPUT;
    this.orderedReducer = reducer != null && !reducer.isCommutative();
    this.reorder = orderedConsumer || orderedReducer ? new ReorderBuffer<>() : null;
    this.failurePolicy = spec.failurePolicy();
    this.retryPolicy = spec.retryPolicy();
    this.attemptTimeout = spec.attemptTimeout().orElse(null);
    this.jobDeadline = spec.deadline().map(createdAt::plus).orElse(null);
    this.maxConcurrency = spec.maxConcurrency();
    this.total = spec.knownTotal().orElse(-1);
    // A collection knows its size and is read from memory; any other source may block.
    this.sourceMayBlock = spec.knownTotal().isEmpty();
    JobSpec.Source<I> opened = spec.openSource();
    this.source = opened.iterator();
    this.sourceCloser = opened.closeable();
  }

  /** Starts reading on the engine's executor, so the caller never waits on the source. */
  void start() {
    spec.deadline()
        .ifPresent(
            d -> {
              Future<?> timer =
                  engine.scheduler.schedule(
                      d, () -> engine.execute(() -> terminate(JobState.FAILED, deadlineError(d))));
              lock.lock();
              try {
                deadlineTimer = timer;
              } finally {
                lock.unlock();
              }
            });
    pumpAsync();
  }

  private static Throwable deadlineError(Duration deadline) {
    return new DeadlineExceededException(deadline);
  }

  // ---------------------------------------------------------------- handle

  @Override
  public JobId id() {
    return id;
  }

  @Override
  public java.util.Optional<com.fasterxml.jackson.databind.JsonNode> metadata() {
    return spec.metadata();
  }

  @Override
  public JobStatus status() {
    lock.lock();
    try {
      return snapshot();
    } finally {
      lock.unlock();
    }
  }

  @Override
  public CompletableFuture<JobOutcome<A>> outcome() {
    // A copy, so a caller completing or cancelling it cannot fake the job's outcome.
    return outcome.copy();
  }

  @Override
  public boolean cancel() {
    return terminate(JobState.CANCELLED, null);
  }

  @Override
  public boolean pause() {
    lock.lock();
    try {
      requireNotFinal("pause");
      if (paused) {
        return false;
      }
      paused = true;
      holdAhead = true;
      state = JobState.PAUSED;
      return true;
    } finally {
      lock.unlock();
    }
  }

  @Override
  public boolean resume() {
    lock.lock();
    try {
      requireNotFinal("resume");
      if (!paused) {
        return false;
      }
      paused = false;
      holdAhead = false;
      state = startedAt == null ? JobState.ACCEPTED : JobState.RUNNING;
    } finally {
      lock.unlock();
    }
    pumpAsync();
    return true;
  }

  @Override
  public void setMaxConcurrency(int maxConcurrency) {
    if (maxConcurrency < 1) {
      throw new IllegalArgumentException("maxConcurrency must be >= 1, got " + maxConcurrency);
    }
    lock.lock();
    try {
      requireNotFinal("setMaxConcurrency");
      this.maxConcurrency = maxConcurrency;
    } finally {
      lock.unlock();
    }
    pumpAsync();
  }

  private void requireNotFinal(String action) {
    if (finalState != null) {
      throw new IllegalStateException("cannot " + action + " job " + id + ": it is " + finalState);
    }
  }

  @Override
  public String toString() {
    return "Job[" + id + spec.name().map(n -> " " + n).orElse("") + "]";
  }

  boolean isFinishedBefore(Instant cutoff) {
    lock.lock();
    try {
      return finishedAt != null && finishedAt.isBefore(cutoff) && outcome.isDone();
    } finally {
      lock.unlock();
    }
  }

  // ---------------------------------------------------------------- pump

  void pumpAsync() {
    engine.execute(this::pump);
  }

  void pump() {
    if (pumpWip.getAndIncrement() != 0) {
      return;
    }
    int missed = 1;
    do {
      try {
        pumpOnce();
      } catch (RuntimeException | Error e) {
        // A bug here must not leave the job hanging without a word.
        log.error("{}: internal error while starting attempts", this, e);
        terminate(JobState.FAILED, e);
      }
      missed = pumpWip.addAndGet(-missed);
    } while (missed != 0);
  }

  private void pumpOnce() {
    for (; ; ) {
      List<Attempt> toLaunch = List.of();
      int toRead = 0;
      boolean readUnderLock = false;
      boolean sourceEnded = false;
      lock.lock();
      try {
        pumpRequested = false;
        if (finalState != null) {
          break;
        }
        if (paused) {
          return;
        }
        int free = maxConcurrency - runningTasks;
        if (free > 0 && ready.isEmpty() && staged.isEmpty() && aheadHeld > 0) {
          // Free slots, and nothing to start but what chains took ahead: after a pause, a raised
          // cap or a wait for the engine's slots, one of them may be stuck in a slow attempt.
          stealIntoStage(Math.min(free, PUMP_BATCH));
        }
        int queued = ready.size() + staged.size();
        // Start a batch per lock hold: one round trip per item was the pump's main cost.
        int want = Math.min(Math.min(free, queued), PUMP_BATCH);
        int granted = want > 0 ? engine.tryAcquire(this, want) : 0;
        if (granted > 0) {
          runningTasks += granted;
          toLaunch = new ArrayList<>(granted);
          for (int i = 0; i < granted; i++) {
            Task task = ready.isEmpty() ? staged.pollFirst() : ready.pollFirst();
            waitingItems -= task.size;
            toLaunch.add(startAttempt(task));
          }
        }
        if (!sourceDone) {
          // Read enough to fill the free slots and keep the stage full, no more: when the engine's
          // cap refused slots, the free ones are not really free.
          int slots = granted < want ? 0 : Math.max(0, maxConcurrency - runningTasks - queued);
          // While nothing runs (the job's start, or after a lull), read only what the free slots
          // take, so a slow source does not hold the first attempts back for a whole stage. Once
          // attempts run, fill the slots and the stage together: a stage kept short makes
          // finishing attempts find it empty and hand their slots back, and the thread churn
          // that follows is what made busy jobs slow.
          int deficit =
              runningTasks == 0 && slots > 0 ? slots : slots + STAGE_TARGET - staged.size();
          if (deficit > 0) {
            long room = room();
            if (room <= 0 && toLaunch.isEmpty()) {
              // Raise the flag, then look again: the drain moves the window first and reads the
              // flag second, so one of us always sees the other (no lost wake-up).
              windowBlocked = true;
              room = room();
              if (room <= 0) {
                return;
              }
              windowBlocked = false;
            }
            long tasks = Math.max(room > 0 ? 1 : 0, room / spec.batchSize());
            toRead = (int) Math.min(Math.min(deficit, PUMP_BATCH), tasks);
            if (toRead > 0 && !sourceMayBlock) {
              sourceEnded = stageLocked(toRead);
              readUnderLock = true;
              toRead = 0;
            }
          }
        }
      } finally {
        lock.unlock();
      }
      for (Attempt a : toLaunch) {
        launch(a);
      }
      if (sourceEnded) {
        closeSource();
        drain();
      }
      if (toRead > 0) {
        readAndStage(toRead);
      } else if (toLaunch.isEmpty() && !readUnderLock) {
        return;
      }
    }
    closeSource();
  }

  /**
   * Under the lock, for a source that never blocks: reads up to {@code count} tasks into the stage.
   *
   * @return whether the source ended (or failed) during this read, so the caller closes it and lets
   *     the drain decide whether the job is done
   */
  private boolean stageLocked(int count) {
    try {
      for (int i = 0; i < count; i++) {
        Task task = readTask(pulled);
        if (task == null) {
          endSource(null);
          return true;
        }
        pulled += task.size;
        staged.addLast(task);
        waitingItems += task.size;
      }
      return false;
    } catch (RuntimeException | Error e) {
      endSource(e);
      return true;
    }
  }

  /** Under the lock: the source has no more items; {@code failure} is why, when it threw. */
  private void endSource(Throwable failure) {
    sourceDone = true;
    sourceError = failure;
    total = pulled;
  }

  /**
   * Reads up to {@code count} tasks from the source, outside the lock since a source may block, and
   * stages them for the pump and the settling attempts to start.
   */
  private void readAndStage(int count) {
    List<Task> tasks = new ArrayList<>(count);
    Throwable failure = null;
    boolean exhausted = false;
    // Only the pump writes pulled for a source that may block, so it may read it here unlocked.
    long next = pulled;
    try {
      while (tasks.size() < count) {
        Task task = readTask(next);
        if (task == null) {
          exhausted = true;
          break;
        }
        tasks.add(task);
        next += task.size;
      }
    } catch (RuntimeException | Error e) {
      failure = e;
      exhausted = true;
    }
    lock.lock();
    try {
      for (Task task : tasks) {
        pulled += task.size;
        if (finalState != null) {
          // Terminated while we read: the item never started, so it counts as cancelled.
          cancelled += total < 0 ? task.size : 0;
        } else {
          staged.addLast(task);
          waitingItems += task.size;
        }
      }
      if (exhausted) {
        endSource(failure);
      }
    } finally {
      lock.unlock();
    }
    if (exhausted) {
      closeSource();
      drain();
    }
  }

  /** Items read but not yet past the point the consumer and reducer need in order. */
  private long readAhead() {
    return reorder != null ? pulled - windowBase : pulled - succeeded - failed;
  }

  /**
   * Under the lock: how many more items may be read. Besides the window, the settled results
   * waiting for the drain count, up to {@link #DELIVERY_BACKLOG} windows of them: a consumer slower
   * than the function must hold the reading back too, or they would pile up without bound when
   * nothing waits for an index. The allowance is wide because a fast job's drain runs thousands of
   * results behind as a matter of course, and throttling on it starves the threads.
   */
  private long room() {
    return Math.min(readWindow() - readAhead(), window() * DELIVERY_BACKLOG - toDeliver.size());
  }

  /** Two tasks per slot: enough to keep every slot busy while the next is read. */
  private long window() {
    return Math.max(MIN_WINDOW, 2L * maxConcurrency * spec.batchSize());
  }

  /**
   * How far reading may run ahead of what has settled, or, for a job that needs its results in
   * order, of the first one not yet delivered. An ordered job keeps the plain {@link #window},
   * which bounds the results its reorder buffer may hold behind a slow item. A job that needs no
   * order holds nothing for it: its reading is bounded by the stage and by the attempts in flight,
   * and chains running ahead hold up to {@link #RUN_AHEAD} tasks each. With two per slot, a
   * thousand chains (the default cap) shared two thousand tasks and settled two at a time, taking
   * the lock for every other item instead of every sixteenth.
   */
  private long readWindow() {
    long perSlot = reorder == null ? RUN_AHEAD + 1 : 2;
    return Math.max(MIN_WINDOW, perSlot * maxConcurrency * spec.batchSize());
  }

  private Task readTask(long index) {
    if (!source.hasNext()) {
      return null;
    }
    if (batchFunction == null) {
      return Task.single(index, source.next());
    }
    int batchSize = spec.batchSize();
    List<I> items = new ArrayList<>(batchSize);
    items.add(source.next());
    while (items.size() < batchSize && source.hasNext()) {
      items.add(source.next());
    }
    return Task.batch(index, items);
  }

  /** Under the lock: counts the task as running and registers its attempt for stopping. */
  private Attempt startAttempt(Task task) {
    runningItems += task.size;
    if (state == JobState.ACCEPTED) {
      state = JobState.RUNNING;
      startedAt = engine.clock.instant();
    }
    task.attempts++;
    Instant deadline =
        attemptTimeout == null
            ? jobDeadline
            : Attempt.deadline(engine.clock.instant(), attemptTimeout, jobDeadline);
    Attempt attempt = new Attempt(id, task, task.attempts, deadline);
    link(attempt);
    return attempt;
  }

  /**
   * Under the lock: takes a task ahead for a chain of fast attempts. It stays counted as pending
   * until the chain settles it, and is registered for stopping like a running one. Only jobs
   * without a per-attempt timeout run ahead, so its deadline is the job's.
   */
  private Attempt reserveAttempt(Task task) {
    task.attempts++;
    Attempt attempt = new Attempt(id, task, task.attempts, jobDeadline);
    attempt.ahead = true;
    aheadHeld++;
    link(attempt);
    return attempt;
  }

  private void link(Attempt attempt) {
    attempt.nextLive = liveHead;
    if (liveHead != null) {
      liveHead.prevLive = attempt;
    }
    liveHead = attempt;
  }

  /** Under the lock: the attempt has settled and can no longer be stopped. */
  private void unlink(Attempt attempt) {
    Attempt prev = attempt.prevLive;
    Attempt next = attempt.nextLive;
    if (prev != null) {
      prev.nextLive = next;
    } else if (liveHead == attempt) {
      liveHead = next;
    }
    if (next != null) {
      next.prevLive = prev;
    }
    attempt.prevLive = null;
    attempt.nextLive = null;
  }

  private void launch(Attempt attempt) {
    Chain chain = new Chain();
    try {
      engine.executor.execute(() -> run(attempt, chain));
    } catch (RejectedExecutionException e) {
      // Settle without taking a next task, which would only be refused again.
      chain.finished.add(new Outcome(attempt, null, e, false, Long.MAX_VALUE));
      settle(chain, false);
    }
  }

  private void closeSource() {
    AutoCloseable closer;
    // Under the lock: with a collection, a settling attempt may be the one that reads its end.
    lock.lock();
    try {
      closer = sourceCloser;
      sourceCloser = null;
    } finally {
      lock.unlock();
    }
    if (closer != null) {
      try {
        closer.close();
      } catch (Exception e) {
        log.warn("{}: closing the source failed", this, e);
      }
    }
  }

  // ---------------------------------------------------------------- attempt

  /**
   * One thread's run of attempts: what it finished and has not settled yet, and the attempts it
   * took ahead. Only the thread running the chain touches it, except that a sweep may take its
   * finished attempts while it is stuck in a slow one.
   */
  private final class Chain {
    /**
     * Touched by the chain's thread between attempts, and by a sweep only while it holds {@link
     * #busySince} at {@link #SWEEPING} during an attempt, so never by both at once.
     */
    ArrayList<Outcome> finished = new ArrayList<>(RUN_AHEAD);

    /** The chain's other list, swapped with {@link #finished} to settle without allocating. */
    ArrayList<Outcome> spare = new ArrayList<>(RUN_AHEAD);

    final ArrayDeque<Attempt> ahead = new ArrayDeque<>(RUN_AHEAD);

    /**
     * {@link System#nanoTime} when its current attempt began; 0 between attempts; {@link #SWEEPING}
     * while a sweep takes its finished attempts. A compare-and-set on the chain's own counter costs
     * a fast item next to nothing, where a lock per item, even one nobody else takes, cost a sixth
     * of the time.
     */
    final AtomicLong busySince = new AtomicLong();

    /** Whether it is among the job's sweepable chains; guarded by the job's lock. */
    boolean sweepable;

    /**
     * {@link System#nanoTime} when the chain's previous attempt ended, or when it set out after a
     * settling: the next attempt begins then. Read once per attempt, at its end, and once per
     * settling: the clock is not free (about 30 ns on a virtual machine's clock source), and three
     * readings per item were a sixth of a fast job's CPU time.
     */
    long mark;

    /**
     * The engine's clock in milliseconds, read when the first task the chain begins after a
     * settling needs a first start, or {@link Long#MIN_VALUE} until then: the first start of every
     * task the chain begins until its next settling. Those begin within {@link #RUN_AHEAD} - 1 fast
     * attempts of the reading, well inside the millisecond a result's duration is counted in, as
     * long as the clock moves with real time (see {@code FanOut.Builder.clock}).
     */
    long setOutMillis = Long.MIN_VALUE;

    /** Called when the chain starts, and after each settling, which may have run for a while. */
    void setOut() {
      mark = System.nanoTime();
      setOutMillis = Long.MIN_VALUE;
    }

    long setOutMillis(Clock clock) {
      if (setOutMillis == Long.MIN_VALUE) {
        setOutMillis = clock.millis();
      }
      return setOutMillis;
    }

    void beginAttempt(long now) {
      // A release store is enough: a sweep's compare-and-set that reads it sees the finished list
      // as the chain left it, and the attempt's end is a compare-and-set of its own.
      busySince.setRelease(now == 0 || now == SWEEPING ? now + 1 : now);
    }

    /** Ends the current attempt, waiting out a sweep that is taking the finished ones. */
    void endAttempt() {
      for (long since = busySince.get(); ; since = busySince.get()) {
        if (since != SWEEPING && busySince.compareAndSet(since, 0)) {
          return;
        }
        Thread.onSpinWait();
      }
    }
  }

  /** The value of {@link Chain#busySince} while a sweep takes that chain's finished attempts. */
  private static final long SWEEPING = Long.MIN_VALUE;

  /** What one attempt came to, and, once transformed, what it settles as. */
  private final class Outcome {
    final Attempt attempt;
    final Object result;
    final Throwable failure;
    final boolean retryAllowed;
    final long nanos;
    Settled<T> one;
    List<Settled<T>> many;
    boolean retryable;

    Outcome(Attempt attempt, Object result, Throwable failure, boolean retryAllowed, long nanos) {
      this.attempt = attempt;
      this.result = result;
      this.failure = failure;
      this.retryAllowed = retryAllowed;
      this.nanos = nanos;
    }
  }

  /**
   * Runs an attempt, then the next ones its settling hands this thread, up to {@link #CHAIN_LIMIT}
   * settlings. While attempts finish within {@link #FAST_NANOS}, the chain runs the ones it took
   * ahead one after the other and settles them together; the first slow one settles at once and
   * gives the rest back.
   */
  private void run(Attempt first, Chain chain) {
    Attempt attempt = first;
    chain.setOut();
    for (int n = 1; attempt != null; ) {
      Outcome outcome = runOnce(attempt, chain);
      if (outcome != null) {
        chain.finished.add(outcome);
      }
      // A failure that may end the job settles at once, so no more items run after it.
      boolean fast =
          outcome == null
              || (outcome.nanos < FAST_NANOS
                  && (outcome.failure == null || failurePolicy.mode() != FailureMode.FAIL_FAST));
      if (!chain.ahead.isEmpty() && fast && !holdAhead) {
        attempt = chain.ahead.pollFirst();
        continue;
      }
      Attempt next = settle(chain, true);
      // The settling ran user code (the transform, the retry predicate, the consumer and reducer,
      // the source's closer), which may have left the flag set; it must not reach the next
      // attempt. (Each attempt clears what its own function left.) A stop aimed at the next
      // attempt before it began does not interrupt: it keeps the attempt from beginning, so
      // clearing the flag loses nothing.
      Thread.interrupted();
      chain.setOut();
      if (next != null && n >= CHAIN_LIMIT) {
        try {
          engine.executor.execute(() -> run(next, chain));
          return;
        } catch (RejectedExecutionException busy) {
          // A busy pool is no reason to fail the item: this thread runs it after all.
          n = 0;
        }
      }
      n++;
      attempt = next;
    }
  }

  /**
   * Runs one attempt; its settling is up to the chain.
   *
   * @return what it came to, or null when another chain stole it before it began
   */
  private Outcome runOnce(Attempt attempt, Chain chain) {
    Task task = attempt.task;
    Future<?> timer =
        attemptTimeout == null ? null : engine.scheduler.schedule(attemptTimeout, attempt::timeOut);
    Object result = null;
    Throwable failure = null;
    boolean retryable = true;
    long began = chain.mark;
    chain.beginAttempt(began);
    if (attempt.begin()) {
      // Only once begun: a stolen attempt's task belongs to the thread that stole it.
      if (task.firstStart < 0) {
        task.firstStart = chain.setOutMillis(engine.clock);
      }
      try {
        result = call(attempt);
      } catch (BatchSizeMismatch e) {
        failure = e;
        retryable = false;
      } catch (Throwable e) {
        failure = e;
      } finally {
        attempt.end();
        // The attempt is done, so no stop targets this thread any more: a flag still set was left
        // by the function, and must reach neither the pump, the consumer nor the next attempt.
        Thread.interrupted();
      }
    } else if (attempt.isStolen()) {
      chain.endAttempt();
      if (timer != null) {
        timer.cancel(false);
      }
      return null;
    } else {
      failure = new IllegalStateException("stopped before it began");
    }
    long ended = System.nanoTime();
    chain.mark = ended;
    long nanos = ended - began;
    chain.endAttempt();
    if (timer != null) {
      timer.cancel(false);
    }
    if (attempt.timedOut) {
      result = null;
      failure = new AttemptTimeoutException(attemptTimeout);
      retryable = true;
    }
    return new Outcome(attempt, result, failure, retryable, nanos);
  }

  @SuppressWarnings("unchecked")
  private Object call(Attempt attempt) throws Exception {
    Task task = attempt.task;
    if (batchFunction == null) {
      return function.apply((I) task.item(), attempt);
    }
    List<?> results = batchFunction.apply(task.<I>items(), attempt);
    if (results == null || results.size() != task.size) {
      throw new BatchSizeMismatch(task.size, results == null ? -1 : results.size());
    }
    return results;
  }

  /** A batch function broke its contract; calling it again would not help. */
  private static final class BatchSizeMismatch extends IllegalStateException {
    private static final long serialVersionUID = 1L;

    BatchSizeMismatch(int expected, int actual) {
      super(
          "batch function returned "
              + (actual < 0 ? "null" : actual + " results")
              + " for "
              + expected
              + " items");
    }
  }

  /**
   * Settles a chain's finished attempts: transforms their results on this thread, then, in one hold
   * of the lock, records them, schedules retries, or crosses the failure tolerance, gives back the
   * attempts the chain took ahead and did not run, and, when {@code mayContinue} and the job still
   * has work and room, takes the next task for this thread, keeping the slot. When the last attempt
   * was fast, it takes up to {@link #RUN_AHEAD} tasks: the first counts as running, the others wait
   * in the chain, still counted as pending, until it runs them.
   *
   * @return the next attempt for this thread to run, or null when the slot was given back
   */
  private Attempt settle(Chain chain, boolean mayContinue) {
    // Between attempts, so no sweep touches the lists.
    ArrayList<Outcome> finished = chain.finished;
    chain.finished = chain.spare;
    chain.spare = null;
    // One reading of the clock for the chain: the attempts it ran together finished within
    // microseconds of each other. Milliseconds, as the durable store keeps them: the system clock
    // reads them at a fraction of the cost of an Instant, which a fast item would notice.
    long now = engine.clock.millis();
    for (Outcome o : finished) {
      prepare(o, now);
    }
    // With nothing finished, every attempt left was stolen, which took no time.
    Outcome last = finished.isEmpty() ? null : finished.get(finished.size() - 1);
    boolean fast =
        mayContinue && attemptTimeout == null && (last == null || last.nanos < FAST_NANOS);
    List<Outcome> retried = List.of();
    List<Attempt> toStop = List.of();
    Attempt next = null;
    boolean wakePump = false;
    boolean sourceEnded = false;
    ArrayList<Settled<T>> toDrain = null;
    boolean drainHere = false;
    boolean startSweeps = false;
    lock.lock();
    try {
      boolean sourceDoneBefore = sourceDone;
      for (Outcome o : finished) {
        List<Attempt> stop = recordLocked(o);
        if (!stop.isEmpty()) {
          toStop = stop;
        }
        if (o.retryable) {
          if (retried.isEmpty()) {
            retried = new ArrayList<>(2);
          }
          retried.add(o);
        }
      }
      // The attempts taken ahead and not run go back to the front, in their order, except those
      // another chain stole, which are its own now.
      for (Attempt a; (a = chain.ahead.pollLast()) != null; ) {
        if (a.isStolen()) {
          continue;
        }
        dropAhead(a);
        if (finalState == null) {
          staged.addFirst(a.task);
        }
      }
      // Keep the slot for the next task unless the job stopped, paused, shrank its cap below its
      // running count, or another job waits for one of the engine's slots.
      if (mayContinue
          && finalState == null
          && !paused
          && runningTasks <= maxConcurrency
          && !engine.hasWaiters()) {
        Task nextTask = nextTaskLocked();
        if (nextTask == null && aheadHeld > 0) {
          // Nothing left to start but what other chains took ahead: one of them may be stuck in a
          // slow attempt, with the rest of its tasks waiting behind it.
          stealIntoStage(1);
          nextTask = staged.pollFirst();
        }
        if (nextTask != null) {
          waitingItems -= nextTask.size;
          next = startAttempt(nextTask);
          // Run ahead only while the work left would keep every chain busy that long: near the end,
          // tasks held behind one slow attempt would idle other chains.
          // Never at a cap of 1: such a job is run one item after the other, and its consumer has
          // seen each result before the next item begins.
          boolean runAhead =
              fast && maxConcurrency > 1 && workLeft() >= (long) runningTasks * RUN_AHEAD;
          for (int i = 1; runAhead && i < RUN_AHEAD; i++) {
            Task ahead = nextTaskLocked();
            if (ahead == null) {
              break;
            }
            chain.ahead.addLast(reserveAttempt(ahead));
          }
        }
      }
      sourceEnded = !sourceDoneBefore && sourceDone;
      // A chain with tasks ahead may finish several before it settles them; should one of those
      // tasks hang, the sweeps settle the finished ones in its stead.
      boolean sweepable = !chain.ahead.isEmpty();
      if (sweepable != chain.sweepable) {
        chain.sweepable = sweepable;
        if (sweepable) {
          sweepableChains.add(chain);
          startSweeps = !sweepScheduled;
          sweepScheduled = true;
        } else {
          sweepableChains.remove(chain);
        }
      }
      if (next == null) {
        runningTasks--;
      }
      // Wake the pump when a slot was given back while work waits (whatever the source says: the
      // stage and the retries may still hold tasks), or when the stage runs low and only the pump
      // can refill it.
      boolean queued = !ready.isEmpty() || !staged.isEmpty();
      if (finalState == null
          && !pumpRequested
          && (next == null
              ? !sourceDone || queued
              : sourceMayBlock && !sourceDone && staged.size() <= STAGE_LOW)) {
        pumpRequested = true;
        wakePump = true;
      }
      // Bump the drain's counter in this hold: when the drain was idle, this thread runs it and
      // takes the items now; when it was not, its runner loops once more and finds them.
      if (drainWip.getAndIncrement() == 0) {
        drainHere = true;
        toDrain = takeForDrain();
      }
    } finally {
      lock.unlock();
    }
    finished.clear();
    chain.spare = finished;
    try {
      if (next == null) {
        engine.release(1);
      }
      if (startSweeps) {
        scheduleSweep();
      }
      if (sourceEnded) {
        closeSource();
      }
      afterRecording(toStop, retried, drainHere, toDrain);
    } finally {
      if (wakePump) {
        if (next == null) {
          pump();
        } else {
          // Not inline: this thread holds a started task, and the pump may block in an iterator
          // or a stream, the only sources that wake it while a task is in hand.
          pumpAsync();
        }
      }
    }
    return next;
  }

  /** After a hold that recorded outcomes: stops, retries and delivers what it decided. */
  private void afterRecording(
      List<Attempt> toStop,
      List<Outcome> retried,
      boolean drainHere,
      ArrayList<Settled<T>> toDrain) {
    if (!toStop.isEmpty()) {
      toStop.forEach(Attempt::stop);
    }
    for (Outcome o : retried) {
      scheduleRetry(o.attempt.task, o.attempt.number, o.failure);
    }
    if (drainHere) {
      drainClaimed(toDrain);
    }
  }

  private void scheduleSweep() {
    try {
      engine.scheduler.schedule(SWEEP_INTERVAL, () -> engine.execute(this::sweepAndReschedule));
    } catch (RuntimeException e) {
      // Without sweeps a chain stuck in a slow attempt keeps its finished ones until it returns;
      // nothing is lost, and the next chain that runs ahead tries again.
      log.warn("{}: could not schedule a sweep", this, e);
      lock.lock();
      try {
        sweepScheduled = false;
      } finally {
        lock.unlock();
      }
    }
  }

  private void sweepAndReschedule() {
    sweep(false);
    boolean again;
    boolean wakePump;
    lock.lock();
    try {
      again = finalState == null && !sweepableChains.isEmpty();
      sweepScheduled = again;
      // Tasks held ahead while slots are free: the pump steals them (see pumpOnce).
      wakePump = finalState == null && !paused && aheadHeld > 0 && runningTasks < maxConcurrency;
    } finally {
      lock.unlock();
    }
    if (again) {
      scheduleSweep();
    }
    if (wakePump) {
      pump();
    }
  }

  /**
   * Settles the attempts that chains running ahead finished and have not settled, because their
   * current attempt has run for longer than {@link #SWEEP_INTERVAL}, or, when {@code all}, because
   * the job is about to end and what finished before that must count.
   */
  private void sweep(boolean all) {
    List<Chain> chains;
    lock.lock();
    try {
      if (sweepableChains.isEmpty()) {
        return;
      }
      chains = new ArrayList<>(sweepableChains);
    } finally {
      lock.unlock();
    }
    long now = System.nanoTime();
    ArrayList<Outcome> taken = new ArrayList<>();
    for (Chain c : chains) {
      long since = c.busySince.get();
      if (since == 0 || since == SWEEPING) {
        // Between attempts, the chain settles what it finished itself.
        continue;
      }
      if ((all || now - since >= SWEEP_INTERVAL.toNanos())
          && c.busySince.compareAndSet(since, SWEEPING)) {
        taken.addAll(c.finished);
        c.finished.clear();
        c.busySince.set(since);
      }
    }
    if (taken.isEmpty()) {
      return;
    }
    long nowMillis = engine.clock.millis();
    for (Outcome o : taken) {
      prepare(o, nowMillis);
    }
    List<Outcome> retried = new ArrayList<>();
    List<Attempt> toStop = List.of();
    ArrayList<Settled<T>> toDrain = null;
    boolean drainHere = false;
    lock.lock();
    try {
      for (Outcome o : taken) {
        List<Attempt> stop = recordLocked(o);
        if (!stop.isEmpty()) {
          toStop = stop;
        }
        if (o.retryable) {
          retried.add(o);
        }
      }
      if (drainWip.getAndIncrement() == 0) {
        drainHere = true;
        toDrain = takeForDrain();
      }
    } finally {
      lock.unlock();
    }
    afterRecording(toStop, retried, drainHere, toDrain);
  }

  /**
   * Outside the lock: transforms an outcome's results, or asks the retry policy about its failure.
   * Both are user code.
   */
  private void prepare(Outcome o, long now) {
    Attempt attempt = o.attempt;
    Task task = attempt.task;
    // An attempt the executor refused never started, and has no start time.
    Duration duration =
        task.firstStart < 0 ? Duration.ZERO : Duration.ofMillis(Math.max(0, now - task.firstStart));
    if (o.failure == null) {
      if (batchFunction == null) {
        o.one = transformOne(task.index, o.result, attempt.number, duration);
      } else {
        o.many = transformBatch(task, o.result, attempt.number, duration);
      }
    } else if (o.retryAllowed && attempt.number < retryPolicy.maxAttempts()) {
      // A predicate that throws means no.
      try {
        o.retryable = retryPolicy.isRetryable(o.failure);
      } catch (RuntimeException | Error e) {
        o.failure.addSuppressed(e);
      }
    }
    if (o.failure != null && !o.retryable) {
      List<Settled<T>> failures = new ArrayList<>(task.size);
      for (int i = 0; i < task.size; i++) {
        failures.add(Settled.failed(task.index + i, o.failure, attempt.number, duration));
      }
      o.many = failures;
    }
  }

  /**
   * Under the lock: records an outcome, or counts its retry, unless the job is already final.
   *
   * @return the live attempts to stop when this outcome crossed a fail-fast tolerance and ended the
   *     job, else an empty list
   */
  private List<Attempt> recordLocked(Outcome o) {
    Attempt attempt = o.attempt;
    Task task = attempt.task;
    unlink(attempt);
    if (finalState != null) {
      o.retryable = false;
      return List.of();
    }
    if (attempt.ahead) {
      aheadHeld--;
      waitingItems -= task.size;
    } else {
      runningItems -= task.size;
    }
    if (o.one != null) {
      record(o.one);
    } else if (o.many != null) {
      o.many.forEach(this::record);
    } else {
      retries += task.size;
      waitingItems += task.size;
    }
    if (failurePolicy.mode() == FailureMode.FAIL_FAST && failurePolicy.isExceeded(failed, total)) {
      return terminateLocked(JobState.FAILED, toleranceMessage());
    }
    return List.of();
  }

  /** Under the lock: steals up to {@code max} tasks that chains took ahead into the stage. */
  private void stealIntoStage(int max) {
    int stolen = 0;
    for (Attempt a = liveHead; a != null && stolen < max; ) {
      Attempt next = a.nextLive;
      if (a.ahead && a.steal()) {
        dropAhead(a);
        staged.addFirst(a.task);
        stolen++;
      }
      a = next;
    }
  }

  /**
   * Under the lock: forgets an attempt taken ahead that will not run, given back or stolen; its
   * task is still counted as pending.
   */
  private void dropAhead(Attempt attempt) {
    unlink(attempt);
    aheadHeld--;
    attempt.task.attempts--;
  }

  /** Under the lock: the tasks not yet started, as far as the job knows them. */
  private long workLeft() {
    long unread = total >= 0 ? total - pulled : 0;
    return unread / spec.batchSize() + staged.size() + ready.size();
  }

  /** Under the lock: the next task to start, read from a collection when nothing is staged. */
  private Task nextTaskLocked() {
    Task task = ready.isEmpty() ? staged.pollFirst() : ready.pollFirst();
    if (task == null && !sourceMayBlock && !sourceDone && room() > 0) {
      // The pump fell behind: read the next task here rather than hand the slot back, which would
      // cost a new thread per item.
      stageLocked(1);
      task = staged.pollFirst();
    }
    return task;
  }

  @SuppressWarnings("unchecked")
  private List<Settled<T>> transformBatch(
      Task task, Object result, int attempts, Duration duration) {
    List<Object> results = (List<Object>) result;
    List<Settled<T>> out = new ArrayList<>(results.size());
    for (int i = 0; i < results.size(); i++) {
      out.add(transformOne(task.index + i, results.get(i), attempts, duration));
    }
    return out;
  }

  private Settled<T> transformOne(long index, Object value, int attempts, Duration duration) {
    try {
      return Settled.succeeded(index, spec.transform().apply(value), attempts, duration);
    } catch (RuntimeException | Error e) {
      return Settled.failed(index, new TransformException(e), attempts, duration);
    }
  }

  /** Under the lock. */
  private void record(Settled<T> item) {
    if (item.status == ItemStatus.SUCCEEDED) {
      succeeded++;
    } else {
      failed++;
    }
    toDeliver.add(item);
  }

  private void scheduleRetry(Task task, int attemptNumber, Throwable failure) {
    Duration delay =
        retryPolicy.delayBefore(attemptNumber, ThreadLocalRandom.current().nextDouble(), failure);
    Runnable due =
        () -> {
          lock.lock();
          try {
            if (finalState != null) {
              return;
            }
            ready.addLast(task);
          } finally {
            lock.unlock();
          }
          pumpAsync();
        };
    if (delay.isZero()) {
      due.run();
      return;
    }
    try {
      engine.scheduler.schedule(delay, () -> engine.execute(due));
    } catch (RuntimeException e) {
      // Retrying at once beats losing the item, which would leave the job unfinished for good.
      log.warn("{}: could not schedule a retry of item {}; retrying now", this, task.index, e);
      due.run();
    }
  }

  // ---------------------------------------------------------------- termination

  /**
   * Moves the job to a final state now: counts every unsettled item as cancelled and stops the
   * running attempts, whose late results are then discarded. The drain completes the outcome once
   * the results settled before this point are delivered.
   */
  boolean terminate(JobState finalState, Throwable cause) {
    // What chains stuck in an attempt finished before it counts: it finished before the end.
    // Results a chain finishes between this sweep and the end are late, like a running attempt's.
    sweep(true);
    List<Attempt> toStop;
    lock.lock();
    try {
      if (this.finalState != null) {
        return false;
      }
      toStop = terminateLocked(finalState, cause == null ? null : cause.getMessage());
    } finally {
      lock.unlock();
    }
    toStop.forEach(Attempt::stop);
    drain();
    pumpAsync();
    return true;
  }

  private List<Attempt> terminateLocked(JobState finalState, String error) {
    this.finalState = finalState;
    this.holdAhead = true;
    this.state = finalState;
    this.error = error;
    this.finishedAt = engine.clock.instant();
    long known = total >= 0 ? total : pulled;
    cancelled += known - succeeded - failed - cancelled;
    runningItems = 0;
    waitingItems = 0;
    ready.clear();
    staged.clear();
    if (deadlineTimer != null) {
      deadlineTimer.cancel(false);
    }
    List<Attempt> live = new ArrayList<>();
    for (Attempt a = liveHead; a != null; a = a.nextLive) {
      live.add(a);
    }
    return live;
  }

  private String toleranceMessage() {
    return failurePolicy.exceededMessage(failed, total);
  }

  /**
   * Under the lock: the job ends on its own once every item read has settled.
   *
   * @return whether the job is final, by this call or before it
   */
  private boolean finishIfDone() {
    if (finalState != null || !sourceDone || succeeded + failed < pulled) {
      return finalState != null;
    }
    if (sourceError != null) {
      terminateLocked(JobState.FAILED, "reading the items failed: " + sourceError);
    } else if (failurePolicy.isExceeded(failed, total)) {
      terminateLocked(JobState.FAILED, toleranceMessage());
    } else {
      terminateLocked(JobState.SUCCEEDED, null);
    }
    return true;
  }

  // ---------------------------------------------------------------- drain

  /** Delivers what has settled and completes a finished job, unless another thread is at it. */
  private void drain() {
    if (drainWip.getAndIncrement() != 0) {
      return;
    }
    ArrayList<Settled<T>> batch;
    lock.lock();
    try {
      batch = takeForDrain();
    } finally {
      lock.unlock();
    }
    drainClaimed(batch);
  }

  /**
   * Under the lock, by the drain's runner: takes the settled items, and decides what follows their
   * delivery. With nothing to deliver, a final job's outcome is completed. With items, the job's
   * end is decided only after they are delivered, since the reducer may still fail the job; a check
   * under the lock follows them when the job is final or every item read has settled. Otherwise,
   * whatever ends the job later bumps the counter, and the drain looks again then.
   */
  private ArrayList<Settled<T>> takeForDrain() {
    ArrayList<Settled<T>> batch = null;
    if (!toDeliver.isEmpty()) {
      batch = toDeliver;
      // The spare list takes its place, so a busy job does not allocate a list per item.
      toDeliver = spare;
      spare = null;
    }
    if (batch == null) {
      drainRecheck = false;
      drainFinish = !completed && finishIfDone();
    } else {
      drainFinish = false;
      drainRecheck =
          !completed && (finalState != null || (sourceDone && succeeded + failed >= pulled));
    }
    return batch;
  }

  /**
   * Runs the drain for the thread whose bump found its counter at zero, starting with what that
   * thread took under the lock ({@code batch} may be null), then loops while other threads bumped
   * the counter meanwhile.
   */
  private void drainClaimed(ArrayList<Settled<T>> batch) {
    int missed = 1;
    for (; ; ) {
      if (batch != null) {
        if (windowBlocked) {
          // Taking the batch made room (see room()). A pump that gave up on a full backlog raised
          // its flag in a hold before this batch's take, so it is woken here.
          windowBlocked = false;
          pumpAsync();
        }
        deliver(batch);
        batch.clear();
        spare = batch;
      }
      if (drainFinish) {
        complete();
      }
      if (!drainRecheck) {
        missed = drainWip.addAndGet(-missed);
        if (missed == 0) {
          return;
        }
      }
      lock.lock();
      try {
        batch = takeForDrain();
      } finally {
        lock.unlock();
      }
    }
  }

  private void deliver(List<Settled<T>> batch) {
    long baseBefore = windowBase;
    for (Settled<T> s : batch) {
      ItemResult<T> result =
          new ItemResult<>(id, ++seq, s.index, s.status, s.value, s.error, s.attempts, s.duration);
      if (s.status == ItemStatus.FAILED) {
        failures.add(new ItemFailure(s.index, s.error, s.attempts));
      }
      if (consumer != null && !orderedConsumer) {
        consume(result);
      }
      if (reducer != null && !orderedReducer) {
        fold(result);
      }
      if (reorder != null) {
        reorder.put(s.index, result);
        for (ItemResult<T> next; (next = reorder.pollNext()) != null; ) {
          deliverInOrder(next);
        }
      }
    }
    if (reorder != null) {
      windowBase = reorder.next();
    }
    if (windowBlocked && windowBase != baseBefore) {
      windowBlocked = false;
      // Not inline: the pump may block in the source, and the drain must stay free to finish.
      pumpAsync();
    }
  }

  private void deliverInOrder(ItemResult<T> result) {
    if (orderedConsumer) {
      consume(result);
    }
    if (orderedReducer) {
      fold(result);
    }
  }

  private void consume(ItemResult<T> result) {
    try {
      consumer.accept(result);
    } catch (RuntimeException | Error e) {
      lock.lock();
      try {
        consumerErrors++;
      } finally {
        lock.unlock();
      }
      log.warn(
          "{}: the consumer threw on item {}; the item's result stands", this, result.index(), e);
    }
  }

  private void fold(ItemResult<T> result) {
    if (reducerFailed || !result.succeeded()) {
      return;
    }
    try {
      if (!aggregateStarted) {
        aggregate = reducer.identity();
        aggregateStarted = true;
      }
      aggregate = reducer.accumulate(aggregate, result.index(), result.value());
    } catch (RuntimeException | Error e) {
      reducerFailed = true;
      aggregate = null;
      terminate(
          JobState.FAILED,
          new IllegalStateException("the reducer failed at item " + result.index() + ": " + e, e));
    }
  }

  private void complete() {
    completed = true;
    if (reorder != null) {
      reorder.drainRemaining(this::deliverInOrder);
    }
    if (reducer != null && !aggregateStarted && !reducerFailed) {
      try {
        aggregate = reducer.identity();
      } catch (RuntimeException e) {
        reducerFailed = true;
        log.warn("{}: the reducer's identity failed", this, e);
      }
    }
    failures.sort(Comparator.comparingLong(ItemFailure::index));
    JobStatus finalStatus = status();
    outcome.complete(
        new JobOutcome<>(
            finalStatus, reducerFailed ? null : aggregate, Collections.unmodifiableList(failures)));
    engine.finished(this);
  }

  // ---------------------------------------------------------------- status

  private JobStatus snapshot() {
    long settledCount = succeeded + failed + cancelled;
    // An attempt taken ahead counts as pending in the books until its chain settles it; while it
    // runs, the status says so. A walk of the live attempts is cheap next to counting on every
    // item, which is what running ahead saves. One finished and not yet settled stays pending
    // until its chain settles it, within microseconds, or a sweep does, within 10 ms.
    long aheadRunning = 0;
    if (finalState == null) {
      for (Attempt a = liveHead; a != null; a = a.nextLive) {
        if (a.ahead && a.isRunning()) {
          aheadRunning += a.task.size;
        }
      }
    }
    long running = runningItems + aheadRunning;
    long pending = total >= 0 ? total - running - settledCount : waitingItems - aheadRunning;
    return new JobStatus(
        id,
        state,
        total >= 0 ? OptionalLong.of(total) : OptionalLong.empty(),
        pending,
        running,
        succeeded,
        failed,
        cancelled,
        retries,
        maxConcurrency,
        createdAt,
        startedAt,
        finishedAt,
        error);
  }

  long consumerErrors() {
    lock.lock();
    try {
      return consumerErrors;
    } finally {
      lock.unlock();
    }
  }

  /** A settled item before the drain gives it its sequence number. */
  private record Settled<T>(
      long index, ItemStatus status, T value, Throwable error, int attempts, Duration duration) {
    static <T> Settled<T> succeeded(long index, T value, int attempts, Duration duration) {
      return new Settled<>(index, ItemStatus.SUCCEEDED, value, null, attempts, duration);
    }

    static <T> Settled<T> failed(long index, Throwable error, int attempts, Duration duration) {
      return new Settled<>(index, ItemStatus.FAILED, null, error, attempts, duration);
    }
  }
}
