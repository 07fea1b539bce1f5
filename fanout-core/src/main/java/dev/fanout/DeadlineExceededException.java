package dev.fanout;

import java.time.Duration;

/** A job's whole-job deadline passed before its items settled. */
public final class DeadlineExceededException extends RuntimeException {
  private static final long serialVersionUID = 1L;

  /**
   * Creates the exception.
   *
   * @param deadline the deadline that passed, counted from acceptance
   */
  public DeadlineExceededException(Duration deadline) {
    super("job deadline of " + deadline.toMillis() + " ms passed");
  }
}
