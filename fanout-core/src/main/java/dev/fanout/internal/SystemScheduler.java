package dev.fanout.internal;

import dev.fanout.Scheduler;
import java.time.Duration;
import java.util.concurrent.Future;
import java.util.concurrent.ScheduledThreadPoolExecutor;
import java.util.concurrent.TimeUnit;

/** The shared timer behind {@link Scheduler#system()}: one daemon thread, created on first use. */
public final class SystemScheduler implements Scheduler {

  /** The one instance. */
  public static final SystemScheduler INSTANCE = new SystemScheduler();

  private final ScheduledThreadPoolExecutor timer;

  private SystemScheduler() {
    timer =
        new ScheduledThreadPoolExecutor(
            1,
            r -> {
              Thread t = new Thread(r, "fanout-timer");
              t.setDaemon(true);
              return t;
            });
    // Cancelled timeouts are the common case; without this they pile up until their delay ends.
    timer.setRemoveOnCancelPolicy(true);
  }

  @Override
  public Future<?> schedule(Duration delay, Runnable action) {
    return timer.schedule(action, delay.toNanos(), TimeUnit.NANOSECONDS);
  }

  @Override
  public String toString() {
    return "Scheduler.system()";
  }
}
