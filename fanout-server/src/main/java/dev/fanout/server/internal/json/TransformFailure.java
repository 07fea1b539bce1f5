package dev.fanout.server.internal.json;

import dev.fanout.TaskException;
import java.util.Map;

/**
 * A jq transform that could not turn one result into exactly one value. The item it ran on fails
 * with {@link #CODE}, and the message is what the client reads in the result's {@code error}, so it
 * says what the expression did (how many values it yielded, or the jq error).
 */
public final class TransformFailure extends TaskException {
  private static final long serialVersionUID = 1L;

  /** The error code an item failed by its transform carries in the API. */
  public static final String CODE = "transform_error";

  /**
   * Creates the failure.
   *
   * @param message what the expression did, for the client
   * @param cause the jq error, or null
   */
  public TransformFailure(String message, Throwable cause) {
    // Not retryable: the function would give the transform the same input again.
    super(CODE, message, false, null, Map.of(), cause);
  }
}
