package dev.fanout.internal;

import dev.fanout.JobId;
import dev.fanout.TaskContext;
import java.lang.invoke.MethodHandles;
import java.lang.invoke.VarHandle;
import java.time.Duration;
import java.time.Instant;
import java.util.Optional;

/**
 * One run of a task's function, and the context it sees. Its state makes interrupting safe on a
 * pooled executor: a stop only interrupts the thread while the attempt still runs on it, and the
 * attempt clears the flag before the thread goes back to the pool.
 */
final class Attempt implements TaskContext {
  private static final VarHandle STATE;

  static {
    try {
      STATE = MethodHandles.lookup().findVarHandle(Attempt.class, "state", int.class);
    } catch (ReflectiveOperationException e) {
      throw new ExceptionInInitializerError(e);
    }
  }

  private static final int NEW = 0;
  private static final int RUNNING = 1;
  private static final int INTERRUPTING = 2;
  private static final int STOPPED = 3;
  private static final int DONE = 4;

  /** Taken ahead by one chain, then given to another before it began: it never runs. */
  private static final int STOLEN = 5;

  final Task task;
  private final long index;
  final int number;
  private final JobId jobId;
  private final Instant deadline;
  private volatile Thread thread;
  private volatile int state;
  volatile boolean timedOut;

  // Links in the running job's list of live attempts, guarded by that job's lock: a linked list
  // rather than a hash set, since hashing a fresh object per attempt cost more than the attempt.
  Attempt prevLive;
  Attempt nextLive;

  /**
   * Whether the in-memory job took it ahead for a chain of fast attempts, so that it counts as
   * pending, not running, until settled; guarded by that job's lock.
   */
  boolean ahead;

  Attempt(JobId jobId, Task task, int number, Instant deadline) {
    this(jobId, task, task.index, number, deadline);
  }

  /** An attempt of the durable engine, which keeps no in-memory task. */
  Attempt(JobId jobId, long index, int number, Instant deadline) {
    this(jobId, null, index, number, deadline);
  }

  private Attempt(JobId jobId, Task task, long index, int number, Instant deadline) {
    this.jobId = jobId;
    this.task = task;
    this.index = index;
    this.number = number;
    this.deadline = deadline;
  }

  /**
   * The deadline an attempt sees: the earlier of its own timeout and its job's deadline.
   *
   * @param start when the attempt starts
   * @param timeout the per-attempt timeout, or null
   * @param jobDeadline the job's deadline, or null
   * @return the deadline, or null when neither is set
   */
  static Instant deadline(Instant start, Duration timeout, Instant jobDeadline) {
    if (timeout == null) {
      return jobDeadline;
    }
    Instant own = start.plus(timeout);
    return jobDeadline == null || own.isBefore(jobDeadline) ? own : jobDeadline;
  }

  /** Whether it has begun and not yet ended. */
  boolean isRunning() {
    int current = state;
    return current == RUNNING || current == INTERRUPTING;
  }

  /**
   * Takes an attempt taken ahead away from its chain, which has not begun it: the chain will skip
   * it, and the caller runs its task in a new attempt.
   *
   * @return false when it has begun or was stopped meanwhile
   */
  boolean steal() {
    return cas(NEW, STOLEN);
  }

  /** Whether {@link #steal} took it: then {@link #begin} refused it, and nothing of it remains. */
  boolean isStolen() {
    return state == STOLEN;
  }

  /** Marks the attempt as running on this thread; false when it was stopped before it began. */
  boolean begin() {
    thread = Thread.currentThread();
    return cas(NEW, RUNNING);
  }

  /** Marks the attempt as done, and clears an interrupt a stop may have sent. */
  void end() {
    if (!cas(RUNNING, DONE)) {
      while (state == INTERRUPTING) {
        Thread.onSpinWait();
      }
      Thread.interrupted();
    }
    thread = null;
  }

  /** Stops the attempt: interrupts it when running, keeps it from beginning when not yet begun. */
  void stop() {
    stop(false);
  }

  /**
   * Stops the attempt because its timeout passed. Only a stop that actually cuts the attempt short
   * marks it timed out: one that returned just before keeps its result.
   */
  void timeOut() {
    stop(true);
  }

  private void stop(boolean timeout) {
    for (; ; ) {
      int current = state;
      if (current == NEW) {
        if (cas(NEW, STOPPED)) {
          timedOut = timeout;
          return;
        }
      } else if (current == RUNNING) {
        if (cas(RUNNING, INTERRUPTING)) {
          timedOut = timeout;
          Thread t = thread;
          if (t != null) {
            t.interrupt();
          }
          state = STOPPED;
          return;
        }
      } else {
        return;
      }
    }
  }

  @Override
  public JobId jobId() {
    return jobId;
  }

  @Override
  public long index() {
    return index;
  }

  @Override
  public int attempt() {
    return number;
  }

  @Override
  public Optional<Instant> deadline() {
    return Optional.ofNullable(deadline);
  }

  @Override
  public boolean isCancelled() {
    int current = state;
    return current == INTERRUPTING || current == STOPPED;
  }

  private boolean cas(int expected, int next) {
    return STATE.compareAndSet(this, expected, next);
  }

  @Override
  public String toString() {
    return "Attempt[" + jobId + ", index " + index + ", #" + number + "]";
  }
}
