package dev.fanout.server.internal.webhook;

import java.util.OptionalInt;

/**
 * A webhook delivery the receiver did not accept: it answered with a status other than 2xx, or
 * could not be reached in time. The message says which, naming the URL without its query (which may
 * carry a token); the caller retries with {@link Backoff} and keeps the delivery pending.
 */
public final class DeliveryFailedException extends Exception {
  private static final long serialVersionUID = 1L;

  /** The status answered, or -1 when no answer came. */
  private final int status;

  /**
   * Creates the exception.
   *
   * @param message what happened, naming the redacted URL
   * @param status the HTTP status answered, or -1 when none came
   * @param cause the I/O error, or null
   */
  public DeliveryFailedException(String message, int status, Throwable cause) {
    super(message, cause);
    this.status = status;
  }

  /**
   * The status the receiver answered, empty when the request failed before an answer (connection
   * refused, timeout). A receiver answering 410 Gone, for example, may warrant giving up.
   *
   * @return the status, if any
   */
  public OptionalInt status() {
    return status < 0 ? OptionalInt.empty() : OptionalInt.of(status);
  }
}
