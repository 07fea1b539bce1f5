package dev.fanout;

import java.time.Duration;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;

/**
 * A failure a function reports on purpose: a stable code a program can branch on, whether another
 * attempt could help, how long to wait before it, and details that are kept with the item's result
 * (for a durable job, stored as JSON beside the code and the message).
 *
 * <p>Any other exception is treated by the {@link RetryPolicy} alone. A {@code TaskException} that
 * is not retryable fails its item at once, whatever the policy; one with a {@link #retryAfter()}
 * waits at least that long (at most {@link #MAX_RETRY_AFTER}) before the next attempt.
 *
 * <pre>{@code
 * if (response.statusCode() == 429) {
 *   throw new TaskException("rate_limited", "the service answered 429", true,
 *       Duration.ofSeconds(5), Map.of("httpStatus", 429));
 * }
 * }</pre>
 */
public class TaskException extends RuntimeException {
  private static final long serialVersionUID = 1L;

  /** The longest wait a {@link #retryAfter()} can impose, so one answer cannot park an item. */
  public static final Duration MAX_RETRY_AFTER = Duration.ofHours(1);

  private final String code;
  private final boolean retryable;
  private final Duration retryAfter;
  private final transient Map<String, Object> details;

  /**
   * Creates the exception.
   *
   * @param code a stable code in snake case, such as {@code http_error}
   * @param message what happened, for people
   * @param retryable whether another attempt could succeed
   * @param retryAfter the least wait before the next attempt, or null for the policy's backoff
   * @param details values kept with the result, such as {@code httpStatus}: strings, numbers,
   *     booleans or null
   * @param cause the underlying error, or null
   * @throws IllegalArgumentException when the code is blank, {@code retryAfter} is negative, or a
   *     detail is of another type
   */
  public TaskException(
      String code,
      String message,
      boolean retryable,
      Duration retryAfter,
      Map<String, ?> details,
      Throwable cause) {
    super(message, cause);
    Objects.requireNonNull(code, "code");
    if (code.isBlank()) {
      throw new IllegalArgumentException("code must not be blank");
    }
    if (retryAfter != null && retryAfter.isNegative()) {
      throw new IllegalArgumentException("retryAfter must not be negative, got " + retryAfter);
    }
    this.code = code;
    this.retryable = retryable;
    this.retryAfter = retryAfter;
    if (details == null) {
      this.details = Map.of();
    } else {
      Map<String, Object> copy = new LinkedHashMap<>();
      details.forEach(
          (k, v) -> {
            Objects.requireNonNull(k, "a detail's key");
            if (v != null
                && !(v instanceof String || v instanceof Number || v instanceof Boolean)) {
              throw new IllegalArgumentException(
                  "detail '"
                      + k
                      + "' must be a string, number, boolean or null, got "
                      + v.getClass());
            }
            copy.put(k, v);
          });
      this.details = Collections.unmodifiableMap(copy);
    }
  }

  /**
   * A failure that another attempt cannot fix.
   *
   * @param code the stable code
   * @param message what happened
   */
  public TaskException(String code, String message) {
    this(code, message, false, null, null, null);
  }

  /**
   * The stable code.
   *
   * @return the code
   */
  public String code() {
    return code;
  }

  /**
   * Whether another attempt could succeed.
   *
   * @return true when retryable
   */
  public boolean retryable() {
    return retryable;
  }

  /**
   * The least wait before the next attempt, such as an HTTP {@code Retry-After}.
   *
   * @return the wait, or empty for the retry policy's backoff
   */
  public Optional<Duration> retryAfter() {
    return Optional.ofNullable(retryAfter);
  }

  /**
   * The details kept with the item's result.
   *
   * @return an unmodifiable map, empty when there are none
   */
  public Map<String, Object> details() {
    // Empty after deserialization: the details are not serialized with the exception.
    return details == null ? Map.of() : details;
  }
}
