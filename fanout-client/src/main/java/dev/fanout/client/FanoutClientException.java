package dev.fanout.client;

/**
 * A call to a Fanout server did not succeed. There are two kinds, so a caller can tell "the server
 * said no" from "no server answered": {@link FanoutApiException} (the server answered with an
 * error) and {@link FanoutUnreachableException} (no answer: refused connection, unknown host,
 * timeout, broken connection).
 */
public abstract sealed class FanoutClientException extends RuntimeException
    permits FanoutApiException, FanoutUnreachableException {
  private static final long serialVersionUID = 1L;

  FanoutClientException(String message, Throwable cause) {
    super(message, cause);
  }
}
