package dev.fanout.server.internal;

import java.util.Objects;

/**
 * A request the API refuses, with the HTTP status to answer and a stable error code that clients
 * may branch on. The message is for people: it names the field or value at fault.
 */
public final class ApiException extends RuntimeException {
  private static final long serialVersionUID = 1L;

  private final int status;
  private final String code;

  /**
   * Creates the exception.
   *
   * @param status the HTTP status to answer, 400 to 599
   * @param code the stable, documented error code, in snake case
   * @param message what is wrong, naming the field or value
   */
  public ApiException(int status, String code, String message) {
    super(message, null, false, false);
    this.status = status;
    this.code = Objects.requireNonNull(code, "code");
  }

  /**
   * A 400: the request is malformed (broken JSON, a wrong type).
   *
   * @param code the error code
   * @param message what is wrong
   * @return the exception
   */
  public static ApiException badRequest(String code, String message) {
    return new ApiException(400, code, message);
  }

  /**
   * A 422: the request is well formed but asks for something invalid.
   *
   * @param code the error code
   * @param message what is wrong
   * @return the exception
   */
  public static ApiException invalid(String code, String message) {
    return new ApiException(422, code, message);
  }

  /**
   * The HTTP status to answer.
   *
   * @return the status
   */
  public int status() {
    return status;
  }

  /**
   * The stable error code.
   *
   * @return the code
   */
  public String code() {
    return code;
  }
}
