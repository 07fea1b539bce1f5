package dev.fanout.client;

/**
 * The server answered a request with an error: {@code {"error": {"code", "message"}}} and a status
 * outside 2xx. The code is the stable one documented in the API (such as {@code job_not_found} or
 * {@code unauthorized}); the message is the server's, meant for people.
 *
 * <p>An answer that is not the API's error object (a proxy's HTML page, say) gets the code {@value
 * #UNEXPECTED_RESPONSE} and the start of its body as the message.
 */
public final class FanoutApiException extends FanoutClientException {
  private static final long serialVersionUID = 1L;

  /** The code of an error answer that is not the API's error object. */
  public static final String UNEXPECTED_RESPONSE = "unexpected_response";

  private final int status;
  private final String code;
  private final String serverMessage;

  /**
   * Creates the exception.
   *
   * @param method the request's method, for the message
   * @param path the request's path, for the message
   * @param status the HTTP status
   * @param code the API's error code
   * @param serverMessage the server's message
   */
  public FanoutApiException(
      String method, String path, int status, String code, String serverMessage) {
    super(method + " " + path + " answered " + status + " " + code + ": " + serverMessage, null);
    this.status = status;
    this.code = code;
    this.serverMessage = serverMessage;
  }

  /**
   * The HTTP status.
   *
   * @return such as 404
   */
  public int status() {
    return status;
  }

  /**
   * The API's stable error code.
   *
   * @return such as {@code job_not_found}, or {@value #UNEXPECTED_RESPONSE}
   */
  public String code() {
    return code;
  }

  /**
   * The server's own message, without the request this exception's message adds.
   *
   * @return the message
   */
  public String serverMessage() {
    return serverMessage;
  }

  /**
   * Tells whether the server refused the token: a missing, malformed or wrong one.
   *
   * @return true for a 401
   */
  public boolean isUnauthorized() {
    return status == 401;
  }
}
