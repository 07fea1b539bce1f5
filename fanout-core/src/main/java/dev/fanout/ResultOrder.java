package dev.fanout;

/** The order in which a job's consumer receives results. */
public enum ResultOrder {
  /** As each item settles: the lowest latency. */
  COMPLETION,
  /**
   * In index order: a result is delivered once every item before it has settled, so a slow item
   * delays the ones after it. An in-memory job holds results back in a bounded buffer and reads no
   * further ahead than the buffer allows; a durable job's store holds them and numbers each once
   * the items before it have settled (items cancelled when the job ends early are passed over).
   */
  INPUT
}
