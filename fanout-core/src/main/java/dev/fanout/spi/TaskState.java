package dev.fanout.spi;

/** Where one stored item is. */
public enum TaskState {
  /** Waiting to be claimed, possibly not before a retry time. */
  PENDING,
  /** Claimed by a worker whose lease has not been reclaimed. */
  RUNNING,
  /** Settled with a result. */
  SUCCEEDED,
  /** Settled with a final error. */
  FAILED,
  /** Will never run: its job was cancelled or ended early. */
  CANCELLED;

  /**
   * Tells whether the item has settled.
   *
   * @return true for {@link #SUCCEEDED}, {@link #FAILED} and {@link #CANCELLED}
   */
  public boolean isSettled() {
    return this == SUCCEEDED || this == FAILED || this == CANCELLED;
  }
}
