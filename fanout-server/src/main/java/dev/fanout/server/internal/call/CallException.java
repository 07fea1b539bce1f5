package dev.fanout.server.internal.call;

import dev.fanout.TaskException;
import java.time.Duration;
import java.util.Map;

/**
 * One failed call of an HTTP function, classified so the engine's retry policy and the API's error
 * object ({@code {"code", "message", "httpStatus"}}) can use it without parsing messages.
 *
 * <p>Codes: {@code connect_error}, {@code timeout}, {@code io_error} (the connection broke during
 * the exchange) and {@code http_error} with a 408, 429 or 5xx status are retryable; {@code
 * http_error} with another status, {@code response_too_large}, {@code bad_batch_response} (a 2xx
 * answer to a batch that is not a JSON array of one result per item) and {@code call_error} (the
 * request could not be made at all) are not. The message never contains header values, since
 * configured headers usually carry credentials and messages are stored and served to clients.
 */
public final class CallException extends TaskException {
  private static final long serialVersionUID = 1L;

  /** Could not connect (refused, unreachable, unresolvable, or a connect timeout). Retryable. */
  public static final String CONNECT_ERROR = "connect_error";

  /** No complete answer within the call's timeout. Retryable. */
  public static final String TIMEOUT = "timeout";

  /** The function answered with a status other than 2xx; see {@link #httpStatus()}. */
  public static final String HTTP_ERROR = "http_error";

  /** The answer's body was larger than the configured limit. Not retryable. */
  public static final String RESPONSE_TOO_LARGE = "response_too_large";

  /** A batch was answered with something other than an array of one result per item. */
  public static final String BAD_BATCH_RESPONSE = "bad_batch_response";

  /** The connection broke while the exchange was under way. Retryable. */
  public static final String IO_ERROR = "io_error";

  /** The request could not be built or sent for a reason a retry will not fix. */
  public static final String CALL_ERROR = "call_error";

  private final Integer httpStatus;

  /**
   * Creates the exception.
   *
   * @param code the stable error code, one of the constants of this class
   * @param httpStatus the status the function answered, or null when there was no answer
   * @param retryable whether another attempt may succeed
   * @param retryAfter the delay the function asked for with {@code Retry-After}, or null
   * @param message what happened, without header values
   * @param cause the underlying failure, or null
   */
  public CallException(
      String code,
      Integer httpStatus,
      boolean retryable,
      Duration retryAfter,
      String message,
      Throwable cause) {
    super(
        code,
        message,
        retryable,
        retryAfter,
        httpStatus == null ? null : Map.of("httpStatus", httpStatus),
        cause);
    this.httpStatus = httpStatus;
  }

  /**
   * The HTTP status the function answered.
   *
   * @return the status, or null when no answer arrived (connect error, timeout)
   */
  public Integer httpStatus() {
    return httpStatus;
  }

  /**
   * The same failure for another attempt: a failed batch call fails each of its items with a copy,
   * so no exception object is shared between the threads that record them.
   *
   * @return a new exception with this one's code, status, verdict, delay and message, caused by
   *     this one's cause
   */
  CallException copy() {
    CallException copy =
        new CallException(
            code(), httpStatus, retryable(), retryAfter().orElse(null), getMessage(), getCause());
    copy.setStackTrace(getStackTrace());
    return copy;
  }
}
