package dev.fanout;

/** How one item settled. Cancelled items are counted in the job's status but not delivered. */
public enum ItemStatus {
  /** The function returned and the transform accepted its result. */
  SUCCEEDED,
  /** The last attempt failed, or the transform threw. */
  FAILED
}
