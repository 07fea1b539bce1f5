package dev.fanout;

/**
 * A submission reused an idempotency key that a job submitted with another fingerprint holds, or
 * that a submission still storing its items holds for longer than a repeat waits. Retrying with the
 * same key cannot succeed in the first case; it may in the second.
 */
public final class IdempotencyConflictException extends IllegalStateException {
  private static final long serialVersionUID = 1L;

  /** The job holding the key; transient because a JobId need not be serializable. */
  private final transient JobId holder;

  /**
   * Creates the exception.
   *
   * @param holder the job that holds the key
   * @param message what went wrong, for people
   */
  public IdempotencyConflictException(JobId holder, String message) {
    super(message);
    this.holder = holder;
  }

  /**
   * The job that holds the key.
   *
   * @return its ID
   */
  public JobId holder() {
    return holder;
  }
}
