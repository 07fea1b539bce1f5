package dev.fanout.internal;

import dev.fanout.EngineListener;
import dev.fanout.ItemStatus;
import dev.fanout.JobId;
import java.time.Duration;
import java.util.concurrent.atomic.AtomicLong;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Calls a user's {@link EngineListener} so that it cannot break the engine: whatever it throws is
 * logged (the first time, then every 10,000th time, so a broken listener cannot flood the log from
 * the hot path) and swallowed.
 */
final class SafeListener implements EngineListener {
  private static final Logger log = LoggerFactory.getLogger(SafeListener.class);

  /** The listener that hears nothing, so the engine never checks for null. */
  static final EngineListener NONE = new EngineListener() {};

  private final EngineListener delegate;
  private final AtomicLong failures = new AtomicLong();

  private SafeListener(EngineListener delegate) {
    this.delegate = delegate;
  }

  /** Wraps a listener, or gives {@link #NONE} for null. */
  static EngineListener of(EngineListener listener) {
    return listener == null || listener == NONE ? NONE : new SafeListener(listener);
  }

  @Override
  public void onAttemptStarted(JobId job) {
    try {
      delegate.onAttemptStarted(job);
    } catch (RuntimeException | Error e) {
      failed("onAttemptStarted", e);
    }
  }

  @Override
  public void onAttemptEnded(JobId job) {
    try {
      delegate.onAttemptEnded(job);
    } catch (RuntimeException | Error e) {
      failed("onAttemptEnded", e);
    }
  }

  @Override
  public void onTaskSettled(JobId job, ItemStatus status, int attempts, Duration duration) {
    try {
      delegate.onTaskSettled(job, status, attempts, duration);
    } catch (RuntimeException | Error e) {
      failed("onTaskSettled", e);
    }
  }

  @Override
  public void onRetry(JobId job) {
    try {
      delegate.onRetry(job);
    } catch (RuntimeException | Error e) {
      failed("onRetry", e);
    }
  }

  private void failed(String method, Throwable e) {
    if (e instanceof VirtualMachineError fatal) {
      throw fatal; // out of memory is not the listener's to swallow
    }
    long n = failures.incrementAndGet();
    if (n == 1 || n % 10_000 == 0) {
      log.warn("the engine listener's {} threw (failure {}); ignored", method, n, e);
    }
  }
}
