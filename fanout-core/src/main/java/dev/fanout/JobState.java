package dev.fanout;

/** Where a job is in its life. A job moves forward only; the last three states are final. */
public enum JobState {
  /** Accepted and stored; no attempt has started yet. */
  ACCEPTED,
  /** At least one attempt has started and the job is not final. */
  RUNNING,
  /** Paused by its owner: running attempts finish, no new ones start. */
  PAUSED,
  /** Every item settled and the failures stayed within the tolerance. */
  SUCCEEDED,
  /** The failures crossed the tolerance, the deadline passed, or the source or reducer failed. */
  FAILED,
  /** Cancelled by its owner or by the engine closing. */
  CANCELLED;

  /**
   * Tells whether nothing more will happen to a job in this state.
   *
   * @return true for {@link #SUCCEEDED}, {@link #FAILED} and {@link #CANCELLED}
   */
  public boolean isFinal() {
    return this == SUCCEEDED || this == FAILED || this == CANCELLED;
  }
}
