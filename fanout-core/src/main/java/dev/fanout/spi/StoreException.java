package dev.fanout.spi;

/**
 * The store could not do what was asked: the database is unreachable, a connection broke, or the
 * schema does not fit. The engine retries transient failures with backoff.
 */
public class StoreException extends RuntimeException {
  private static final long serialVersionUID = 1L;

  /**
   * Creates the exception.
   *
   * @param message what failed, in words a user can act on
   * @param cause the underlying error
   */
  public StoreException(String message, Throwable cause) {
    super(message, cause);
  }

  /**
   * Creates the exception.
   *
   * @param message what failed, in words a user can act on
   */
  public StoreException(String message) {
    super(message);
  }
}
