package dev.fanout;

/**
 * A job's transform threw on an item's result. The item fails without a retry, since running the
 * function again would give the transform the same input.
 */
public final class TransformException extends RuntimeException {
  private static final long serialVersionUID = 1L;

  /**
   * Creates the exception. A {@link TaskException} cause speaks for itself, so its message is kept
   * as it is; any other is named with its class, as its message alone may not say what went wrong.
   *
   * @param cause what the transform threw
   */
  public TransformException(Throwable cause) {
    super(
        "transform failed: " + (cause instanceof TaskException ? cause.getMessage() : cause),
        cause);
  }
}
