package dev.fanout;

/**
 * A job's transform threw on an item's result. The item fails without a retry, since running the
 * function again would give the transform the same input.
 */
public final class TransformException extends RuntimeException {
  private static final long serialVersionUID = 1L;

  /**
   * Creates the exception.
   *
   * @param cause what the transform threw
   */
  public TransformException(Throwable cause) {
    super("transform failed: " + cause, cause);
  }
}
