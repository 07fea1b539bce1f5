package dev.fanout;

/** The order in which a job's consumer receives results. */
public enum ResultOrder {
  /** As each item settles: the lowest latency. */
  COMPLETION,
  /**
   * In index order, held back in a bounded buffer until the items before them have settled. A slow
   * item delays the ones after it, and the engine reads no further ahead than the buffer allows.
   */
  INPUT
}
