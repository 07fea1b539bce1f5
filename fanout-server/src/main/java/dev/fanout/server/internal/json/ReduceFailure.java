package dev.fanout.server.internal.json;

/**
 * A reducer that cannot fold a value (a string handed to {@code sum}, an array to {@code merge}, a
 * jq reduce expression that failed). The job's aggregate fails with {@link #CODE}; the message
 * names the reducer, the item's index and what was wrong with its value, so the client can find the
 * culprit among a million results.
 */
public final class ReduceFailure extends RuntimeException {
  private static final long serialVersionUID = 1L;

  /** The error code a failed aggregate carries in the API. */
  public static final String CODE = "reduce_error";

  private final long index;

  /**
   * Creates the failure.
   *
   * @param index the 0-based index of the item whose value could not be folded
   * @param message what was wrong, naming the reducer, the index and the value's type
   * @param cause the jq error, or null
   */
  public ReduceFailure(long index, String message, Throwable cause) {
    super(message, cause);
    this.index = index;
  }

  /**
   * The index of the item whose value could not be folded.
   *
   * @return the 0-based item index
   */
  public long index() {
    return index;
  }

  /**
   * The stable error code, always {@value #CODE}.
   *
   * @return {@value #CODE}
   */
  public String code() {
    return CODE;
  }
}
