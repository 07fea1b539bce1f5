package dev.fanout;

import dev.fanout.internal.SystemScheduler;
import java.time.Duration;
import java.util.concurrent.Future;

/**
 * Runs an action after a delay: retry backoffs, attempt timeouts and job deadlines.
 *
 * <p>The engine only ever schedules short actions that hand work to its executor, so one thread is
 * plenty. Tests inject a scheduler driven by a fake clock, so timeouts fire when the test advances
 * time rather than after a real sleep.
 */
@FunctionalInterface
public interface Scheduler {

  /**
   * Runs {@code action} once, after {@code delay}.
   *
   * @param delay zero or positive
   * @param action a short action
   * @return a future whose {@code cancel} stops the action if it has not run
   */
  Future<?> schedule(Duration delay, Runnable action);

  /**
   * The shared scheduler on the system clock: one daemon platform thread, {@code fanout-timer}.
   *
   * @return the scheduler
   */
  static Scheduler system() {
    return SystemScheduler.INSTANCE;
  }
}
