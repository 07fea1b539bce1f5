package dev.fanout.server.internal.api;

import dev.fanout.JobId;
import dev.fanout.spi.StoreSignals;
import java.time.Duration;
import java.util.Objects;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.locks.LockSupport;

/**
 * Wakes the threads that wait for a job's results (event streams) when the store signals that the
 * job recorded results or became final, on this node or any other sharing the store. One
 * subscription serves the whole server; a waiter still wakes by itself after its timeout, since a
 * signal is only a hint and may be lost.
 *
 * <p>A waiter {@linkplain #register registers} before it first reads the store and waits through
 * its {@link Waiter}: a signal that arrives while it reads or writes is kept in the waiter and ends
 * its next wait at once, so no wake-up falls between a read and the wait that follows it.
 */
public final class JobWakeups implements AutoCloseable {
  private final ConcurrentHashMap<JobId, Set<Waiter>> waiting = new ConcurrentHashMap<>();
  private final StoreSignals.Subscription subscription;
  private volatile boolean closed;

  /**
   * Subscribes to a store's signals.
   *
   * @param signals the store's signals
   */
  public JobWakeups(StoreSignals signals) {
    this.subscription = signals.subscribe(this::signalled);
  }

  private void signalled(StoreSignals.Kind kind, JobId job) {
    if (kind != StoreSignals.Kind.RESULTS) {
      return;
    }
    if (job == null) {
      // The store may have missed signals: every waiter looks again.
      waiting.values().forEach(set -> set.forEach(Waiter::wake));
      return;
    }
    Set<Waiter> set = waiting.get(job);
    if (set != null) {
      set.forEach(Waiter::wake);
    }
  }

  /**
   * Registers the calling thread as waiting for a job's results, until the waiter is closed.
   *
   * @param job the job
   * @return the waiter, for the calling thread only
   */
  public Waiter register(JobId job) {
    Objects.requireNonNull(job, "job");
    Waiter w = new Waiter(job, Thread.currentThread());
    // Added inside compute, atomically with a closing waiter's removal of an emptied set.
    waiting.compute(
        job,
        (j, set) -> {
          Set<Waiter> s = set != null ? set : ConcurrentHashMap.newKeySet();
          s.add(w);
          return s;
        });
    if (closed) {
      // Registered after close: nothing will signal it, so it must not wait for a signal.
      w.wake();
    }
    return w;
  }

  /** Ends the subscription and wakes every waiter, so that streams notice the server stopping. */
  @Override
  public void close() {
    closed = true;
    subscription.close();
    waiting.values().forEach(set -> set.forEach(Waiter::wake));
  }

  /** One thread's wait for one job's results. */
  public final class Waiter implements AutoCloseable {
    private final JobId job;
    private final Thread thread;
    // Set before the unpark and read before each park, so a wake-up is kept until the wait that
    // follows it; a park permit alone could be used up by any blocking call the thread makes.
    private final AtomicBoolean woken = new AtomicBoolean();

    private Waiter(JobId job, Thread thread) {
      this.job = job;
      this.thread = thread;
    }

    private void wake() {
      woken.set(true);
      LockSupport.unpark(thread);
    }

    /**
     * Waits until a signal for the job arrived since the last wait, the timeout passes, or the
     * thread is interrupted; returns at once when a signal arrived meanwhile.
     *
     * @param timeout the longest wait
     * @return true when woken by a signal (or by {@link JobWakeups#close()}), false otherwise
     */
    public boolean await(Duration timeout) {
      long deadline = System.nanoTime() + timeout.toNanos();
      while (!woken.getAndSet(false)) {
        long left = deadline - System.nanoTime();
        if (left <= 0 || Thread.currentThread().isInterrupted()) {
          return false;
        }
        LockSupport.parkNanos(this, left);
      }
      return true;
    }

    /** Stops waiting for the job. */
    @Override
    public void close() {
      waiting.computeIfPresent(
          job,
          (j, set) -> {
            set.remove(this);
            return set.isEmpty() ? null : set;
          });
    }
  }
}
