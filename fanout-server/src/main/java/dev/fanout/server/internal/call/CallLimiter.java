package dev.fanout.server.internal.call;

import java.time.Duration;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.locks.Condition;
import java.util.concurrent.locks.ReentrantLock;
import java.util.function.LongSupplier;

/**
 * Shapes one job's calls of its HTTP function in this process: a rate limit and an adaptive
 * in-flight limit. One instance per job per process, shared by all of the job's attempts.
 *
 * <p><b>Rate.</b> With {@code rateLimitPerSecond} r, call starts are spaced at least 1/r apart
 * (evenly spaced permits, no burst): the simplest rule that a callee's own per-second limit will
 * never see exceeded, whatever the job's concurrency.
 *
 * <p><b>Adaptive concurrency (AIMD).</b> When the function answers 429 or 503 it is telling us it
 * is overloaded, so the in-flight limit halves (never below 1); every success then adds one, up to
 * the job's {@code maxConcurrency}. Only the first overload signal from the calls that started
 * before a decrease halves the limit: when 500 calls in flight all see the same overload, the limit
 * halves once, not nine times down to 1 (as TCP reduces its window once per round trip).
 *
 * <p>Waiting for a slot or for the rate blocks the calling (virtual) thread and is interruptible:
 * the engine cancels an attempt by interrupting it. Time comes from an injected ticker and sleeper
 * so tests never sleep.
 */
public final class CallLimiter {

  /** Sleeps for the rate limit; injectable so tests advance a fake ticker instead. */
  @FunctionalInterface
  public interface Sleeper {
    /**
     * Sleeps.
     *
     * @param nanos how long, in nanoseconds, above 0
     * @throws InterruptedException when the thread is interrupted meanwhile
     */
    void sleepNanos(long nanos) throws InterruptedException;
  }

  private final LongSupplier ticker;
  private final Sleeper sleeper;
  private final long intervalNanos;

  private final ReentrantLock lock = new ReentrantLock();
  private final Condition slotFree = lock.newCondition();
  private int maxConcurrency;
  private int limit;
  private int inFlight;
  private long epoch;
  private long nextStartNanos;
  private boolean nextStartSet;

  /**
   * Creates a limiter on the system's monotonic clock.
   *
   * @param maxConcurrency the job's {@code maxConcurrency}, at least 1
   * @param rateLimitPerSecond the most call starts per second, or null for no rate limit
   * @throws IllegalArgumentException when a value is out of range
   */
  public CallLimiter(int maxConcurrency, Double rateLimitPerSecond) {
    this(
        maxConcurrency,
        rateLimitPerSecond,
        System::nanoTime,
        nanos -> Thread.sleep(Duration.ofNanos(nanos)));
  }

  /**
   * Creates a limiter on an injected time source.
   *
   * @param maxConcurrency the job's {@code maxConcurrency}, at least 1
   * @param rateLimitPerSecond the most call starts per second, or null for no rate limit
   * @param ticker a monotonic nanosecond clock
   * @param sleeper how to wait for the next rate slot
   * @throws IllegalArgumentException when a value is out of range
   */
  public CallLimiter(
      int maxConcurrency, Double rateLimitPerSecond, LongSupplier ticker, Sleeper sleeper) {
    checkMax(maxConcurrency);
    if (rateLimitPerSecond != null && !(rateLimitPerSecond > 0 && rateLimitPerSecond <= 1e9)) {
      throw new IllegalArgumentException(
          "rateLimitPerSecond must be above 0, got " + rateLimitPerSecond);
    }
    this.maxConcurrency = maxConcurrency;
    this.limit = maxConcurrency;
    this.intervalNanos =
        rateLimitPerSecond == null ? 0 : Math.max(1, Math.round(1e9 / rateLimitPerSecond));
    this.ticker = ticker;
    this.sleeper = sleeper;
  }

  /**
   * Waits until the job may start another call: a slot under the in-flight limit, then the next
   * rate slot. The caller must close the permit when the call ends, after reporting its outcome.
   *
   * @return the permit, holding one in-flight slot
   * @throws InterruptedException when the thread is interrupted while waiting; no slot is then held
   */
  public Permit acquire() throws InterruptedException {
    long permitEpoch;
    lock.lockInterruptibly();
    try {
      try {
        while (inFlight >= limit) {
          slotFree.await();
        }
      } catch (InterruptedException e) {
        // This waiter may have consumed a signal meant for a free slot: hand it on.
        signalIfFree();
        throw e;
      }
      inFlight++;
      permitEpoch = epoch;
      // Wake the next waiter when a bigger raise freed several slots at once.
      signalIfFree();
    } finally {
      lock.unlock();
    }
    Permit permit = new Permit(permitEpoch);
    if (intervalNanos > 0) {
      long start = reserveStart();
      long wait = start - ticker.getAsLong();
      if (wait > 0) {
        try {
          sleeper.sleepNanos(wait);
        } catch (InterruptedException e) {
          giveBackStart(start);
          permit.close();
          throw e;
        }
      }
    }
    return permit;
  }

  /** Books the next rate slot and returns its start, on the ticker's clock. */
  private long reserveStart() {
    lock.lock();
    try {
      long now = ticker.getAsLong();
      long start = nextStartSet && nextStartNanos - now > 0 ? nextStartNanos : now;
      nextStartNanos = start + intervalNanos;
      nextStartSet = true;
      return start;
    } finally {
      lock.unlock();
    }
  }

  /**
   * Unbooks a slot whose waiter was stopped before it: when it is still the last one booked, the
   * next caller takes it. Otherwise it stays a gap, which only spaces the calls further.
   */
  private void giveBackStart(long start) {
    lock.lock();
    try {
      if (nextStartNanos == start + intervalNanos) {
        nextStartNanos = start;
      }
    } finally {
      lock.unlock();
    }
  }

  /**
   * Changes the job's {@code maxConcurrency} while it runs. Raising it raises the current limit too
   * unless the limit is backing off after an overload; lowering it caps the limit at once (calls
   * already in flight finish).
   *
   * @param maxConcurrency the new ceiling, at least 1
   * @throws IllegalArgumentException when it is below 1
   */
  public void setMaxConcurrency(int maxConcurrency) {
    checkMax(maxConcurrency);
    lock.lock();
    try {
      boolean atCeiling = limit >= this.maxConcurrency;
      this.maxConcurrency = maxConcurrency;
      limit = atCeiling ? maxConcurrency : Math.min(limit, maxConcurrency);
      signalIfFree();
    } finally {
      lock.unlock();
    }
  }

  /**
   * The job's ceiling.
   *
   * @return the {@code maxConcurrency} the limit grows back to
   */
  public int maxConcurrency() {
    lock.lock();
    try {
      return maxConcurrency;
    } finally {
      lock.unlock();
    }
  }

  /**
   * The current in-flight limit, between 1 and {@link #maxConcurrency()}.
   *
   * @return the limit
   */
  public int limit() {
    lock.lock();
    try {
      return limit;
    } finally {
      lock.unlock();
    }
  }

  /**
   * The calls holding a permit now.
   *
   * @return the count
   */
  public int inFlight() {
    lock.lock();
    try {
      return inFlight;
    } finally {
      lock.unlock();
    }
  }

  private void release(long permitEpoch, Outcome outcome) {
    lock.lock();
    try {
      inFlight--;
      switch (outcome) {
        case SUCCESS -> limit = Math.min(maxConcurrency, limit + 1);
        case OVERLOADED -> {
          if (permitEpoch == epoch) {
            limit = Math.max(1, limit / 2);
            epoch++;
          }
        }
        case NEUTRAL -> {}
      }
      signalIfFree();
    } finally {
      lock.unlock();
    }
  }

  // Called with the lock held. Each woken waiter signals the next while room remains, so one signal
  // per change is enough and a release never wakes a herd.
  private void signalIfFree() {
    if (inFlight < limit) {
      slotFree.signal();
    }
  }

  private static void checkMax(int maxConcurrency) {
    if (maxConcurrency < 1) {
      throw new IllegalArgumentException(
          "maxConcurrency must be at least 1, got " + maxConcurrency);
    }
  }

  private enum Outcome {
    SUCCESS,
    OVERLOADED,
    NEUTRAL
  }

  /**
   * One in-flight slot. Report how the call went with {@link #succeeded()} or {@link
   * #overloaded()}, or just {@link #close()} it for an outcome that says nothing about load (a
   * timeout, a 404); the first of these releases the slot and the rest do nothing.
   */
  public final class Permit implements AutoCloseable {
    private final long permitEpoch;
    private final AtomicBoolean released = new AtomicBoolean();

    private Permit(long permitEpoch) {
      this.permitEpoch = permitEpoch;
    }

    /** The call succeeded: releases the slot and lets the limit grow by one. */
    public void succeeded() {
      finish(Outcome.SUCCESS);
    }

    /** The function answered 429 or 503: releases the slot and halves the limit. */
    public void overloaded() {
      finish(Outcome.OVERLOADED);
    }

    /** Releases the slot without changing the limit, unless already released. */
    @Override
    public void close() {
      finish(Outcome.NEUTRAL);
    }

    private void finish(Outcome outcome) {
      if (released.compareAndSet(false, true)) {
        release(permitEpoch, outcome);
      }
    }
  }
}
