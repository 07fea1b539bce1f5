package dev.fanout;

import java.time.Duration;

/** An attempt ran past its job's per-attempt timeout and was interrupted. Retryable by default. */
public final class AttemptTimeoutException extends RuntimeException {
  private static final long serialVersionUID = 1L;

  /**
   * Creates the exception.
   *
   * @param timeout the timeout that passed
   */
  public AttemptTimeoutException(Duration timeout) {
    super("attempt timed out after " + timeout.toMillis() + " ms");
  }
}
