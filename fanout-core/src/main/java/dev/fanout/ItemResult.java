package dev.fanout;

import java.time.Duration;
import java.util.Objects;

/**
 * One settled item, as its job's consumer receives it.
 *
 * @param jobId the job the item belongs to
 * @param seq the position of this result in completion order, starting at 1; for a durable job in
 *     {@link ResultOrder#INPUT} order, its position in index order, which is the order of delivery
 * @param index the item's 0-based position in the job's source
 * @param status whether the item succeeded
 * @param value the transformed result when it succeeded, else null
 * @param error why it failed when it failed, else null
 * @param attempts how many attempts ran, at least 1
 * @param duration the time from the first attempt's start to the result, in whole milliseconds of
 *     the engine's clock, as the durable store keeps it
 * @param <T> the job's result type (after the transform)
 */
public record ItemResult<T>(
    JobId jobId,
    long seq,
    long index,
    ItemStatus status,
    T value,
    Throwable error,
    int attempts,
    Duration duration) {

  /** Checks that a result carries a value or an error as its status says. */
  public ItemResult {
    Objects.requireNonNull(jobId, "jobId");
    Objects.requireNonNull(status, "status");
    Objects.requireNonNull(duration, "duration");
    if (status == ItemStatus.FAILED && error == null) {
      throw new IllegalArgumentException("a FAILED result needs an error");
    }
    if (status == ItemStatus.SUCCEEDED && error != null) {
      throw new IllegalArgumentException("a SUCCEEDED result has no error");
    }
  }

  /**
   * Tells whether the item succeeded.
   *
   * @return true when {@link #status()} is {@link ItemStatus#SUCCEEDED}
   */
  public boolean succeeded() {
    return status == ItemStatus.SUCCEEDED;
  }

  /**
   * A stable identity for de-duplicating deliveries: the job ID and the item index.
   *
   * @return {@code "<jobId>:<index>"}
   */
  public String deliveryId() {
    return jobId.value() + ":" + index;
  }
}
