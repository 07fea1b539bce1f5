package dev.fanout.client;

/**
 * No answer came from the server: the connection was refused or broke, the host is unknown, or the
 * connect or request timeout passed. The request may or may not have reached the server; a
 * submission can be repeated safely with an {@link SubmitRequest.Builder#idempotencyKey
 * Idempotency-Key}.
 */
public final class FanoutUnreachableException extends FanoutClientException {
  private static final long serialVersionUID = 1L;

  /**
   * Creates the exception.
   *
   * @param message what was tried, and what happened
   * @param cause the I/O error
   */
  public FanoutUnreachableException(String message, Throwable cause) {
    super(message, cause);
  }
}
