package dev.fanout;

/** What a job does once its failures cross the tolerance of its {@link FailurePolicy}. */
public enum FailureMode {
  /** Cancel every item not yet settled and finish FAILED at once. */
  FAIL_FAST,
  /** Run every item anyway and report every failure; the job still ends FAILED. */
  ALL_SETTLED
}
