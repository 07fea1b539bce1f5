package dev.fanout;

import java.time.Duration;

/**
 * Hears what the engine does with durable jobs' items, for metrics: set one with {@link
 * FanOut.Builder#listener(EngineListener)}.
 *
 * <p>The engine calls these methods on its own threads (the attempt's worker, the writer), on the
 * hot path, so an implementation must be quick and must not block: bump a counter, record a timer.
 * A listener that throws is logged and ignored; it never fails an item or stops the engine. Every
 * method does nothing by default, so an implementation overrides only what it needs.
 *
 * <p>Only durable jobs (those that name their function) are reported; in-memory jobs are not.
 */
public interface EngineListener {

  /**
   * An attempt of an item started running on this engine. Paired with exactly one {@link
   * #onAttemptEnded(JobId)}, so their difference is the attempts in flight.
   *
   * @param job the item's job
   */
  default void onAttemptStarted(JobId job) {}

  /**
   * An attempt that {@link #onAttemptStarted(JobId) started} returned, whatever its outcome.
   *
   * @param job the item's job
   */
  default void onAttemptEnded(JobId job) {}

  /**
   * An item settled and its result was recorded, once per item (a repeated call after a crash is
   * recorded once, and reported once, by the engine that recorded it).
   *
   * @param job the item's job
   * @param status whether it succeeded or failed for good
   * @param attempts how many attempts ran
   * @param duration how long its last attempt took, as the engine measured it (millisecond
   *     resolution)
   */
  default void onTaskSettled(JobId job, ItemStatus status, int attempts, Duration duration) {}

  /**
   * An attempt failed and its item was put back to be tried again after a backoff. Reported when
   * the engine records the retry, so a report dropped as stale (its lease had passed to another
   * engine meanwhile) may still count here: close to exact, not exact.
   *
   * @param job the item's job
   */
  default void onRetry(JobId job) {}
}
