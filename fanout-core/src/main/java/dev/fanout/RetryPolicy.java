package dev.fanout;

import java.time.Duration;
import java.util.Objects;
import java.util.function.Predicate;

/**
 * How often and how soon a failed attempt is tried again: a number of attempts, exponential backoff
 * with full jitter, and which errors are worth another try.
 *
 * <p>The delay before retry {@code n} (n = 1 for the second attempt) is a uniformly random duration
 * between zero and {@code min(maxBackoff, backoff * 2^(n-1))}. Full jitter spreads retries of many
 * items failing together, so a struggling service is not hit in waves.
 *
 * <p>Built with {@link #builder()}; immutable.
 */
public final class RetryPolicy {

  private static final Predicate<Throwable> EXCEPTIONS = e -> e instanceof Exception;
  private static final RetryPolicy NONE =
      new RetryPolicy(1, Duration.ZERO, Duration.ZERO, EXCEPTIONS);
  private static final RetryPolicy DEFAULT =
      new RetryPolicy(3, Duration.ofMillis(100), Duration.ofSeconds(10), EXCEPTIONS);

  private final int maxAttempts;
  private final Duration backoff;
  private final Duration maxBackoff;
  private final Predicate<Throwable> retryable;

  private RetryPolicy(
      int maxAttempts, Duration backoff, Duration maxBackoff, Predicate<Throwable> retryable) {
    this.maxAttempts = maxAttempts;
    this.backoff = backoff;
    this.maxBackoff = maxBackoff;
    this.retryable = retryable;
  }

  /**
   * No retries: every item gets exactly one attempt.
   *
   * @return the policy
   */
  public static RetryPolicy none() {
    return NONE;
  }

  /**
   * The default: 3 attempts, backoff from 100 ms up to 10 s, retrying any {@link Exception} (an
   * {@link Error} is never retried).
   *
   * @return the policy
   */
  public static RetryPolicy defaults() {
    return DEFAULT;
  }

  /**
   * A builder that starts from {@link #defaults()}.
   *
   * @return a new builder
   */
  public static Builder builder() {
    return new Builder();
  }

  /**
   * The most attempts an item gets, the first included.
   *
   * @return at least 1
   */
  public int maxAttempts() {
    return maxAttempts;
  }

  /**
   * The base delay, doubled for each further retry.
   *
   * @return the base delay
   */
  public Duration backoff() {
    return backoff;
  }

  /**
   * The cap on the delay before any one retry.
   *
   * @return the cap
   */
  public Duration maxBackoff() {
    return maxBackoff;
  }

  /**
   * Tells whether an attempt that failed with {@code error} may be retried, attempts permitting.
   *
   * @param error the attempt's error
   * @return true when the error is worth another attempt
   */
  public boolean isRetryable(Throwable error) {
    if (error instanceof TaskException task && !task.retryable()) {
      // The function said so itself: no predicate overrules it.
      return false;
    }
    return retryable.test(error);
  }

  /** A custom predicate cannot be stored with a durable job. */
  boolean hasCustomRetryIf() {
    return retryable != EXCEPTIONS;
  }

  /**
   * The delay before retry {@code retry}, given a uniform random number.
   *
   * @param retry 1 for the first retry (the second attempt)
   * @param random a number in [0, 1)
   * @return a delay between zero and the capped exponential bound
   */
  public Duration delayBefore(int retry, double random) {
    if (retry < 1) {
      throw new IllegalArgumentException("retry must be >= 1, got " + retry);
    }
    long base = backoff.toNanos();
    long cap = maxBackoff.toNanos();
    int shift = Math.min(retry - 1, 62);
    long bound = base > (cap >> shift) ? cap : Math.min(cap, base << shift);
    return Duration.ofNanos((long) (bound * random));
  }

  /**
   * The delay before retry {@code retry} after {@code error}: the backoff of {@link
   * #delayBefore(int, double)}, or the error's {@link TaskException#retryAfter()} when that is
   * longer (at most {@link TaskException#MAX_RETRY_AFTER}).
   *
   * @param retry 1 for the first retry (the second attempt)
   * @param random a number in [0, 1)
   * @param error the failed attempt's error
   * @return the delay
   */
  public Duration delayBefore(int retry, double random, Throwable error) {
    Duration backoff = delayBefore(retry, random);
    if (error instanceof TaskException task && task.retryAfter().isPresent()) {
      Duration asked = task.retryAfter().get();
      if (asked.compareTo(TaskException.MAX_RETRY_AFTER) > 0) {
        asked = TaskException.MAX_RETRY_AFTER;
      }
      return asked.compareTo(backoff) > 0 ? asked : backoff;
    }
    return backoff;
  }

  @Override
  public String toString() {
    return "RetryPolicy[maxAttempts="
        + maxAttempts
        + ", backoff="
        + backoff
        + ", maxBackoff="
        + maxBackoff
        + "]";
  }

  /** Builds a {@link RetryPolicy}. Each option may be set once. */
  public static final class Builder {
    private Integer maxAttempts;
    private Duration backoff;
    private Duration maxBackoff;
    private Predicate<Throwable> retryable;

    private Builder() {}

    /**
     * Sets the most attempts an item gets, the first included.
     *
     * @param maxAttempts at least 1
     * @return this builder
     * @throws IllegalArgumentException when below 1
     * @throws IllegalStateException when already set
     */
    public Builder maxAttempts(int maxAttempts) {
      Options.requireUnset(this.maxAttempts, "maxAttempts");
      if (maxAttempts < 1) {
        throw new IllegalArgumentException("maxAttempts must be >= 1, got " + maxAttempts);
      }
      this.maxAttempts = maxAttempts;
      return this;
    }

    /**
     * Sets the base delay before the first retry, doubled for each further one.
     *
     * @param backoff zero or positive
     * @return this builder
     * @throws IllegalArgumentException when negative
     * @throws IllegalStateException when already set
     */
    public Builder backoff(Duration backoff) {
      Options.requireUnset(this.backoff, "backoff");
      this.backoff = Options.requireNonNegative(backoff, "backoff");
      return this;
    }

    /**
     * Sets the cap on the delay before any one retry.
     *
     * @param maxBackoff zero or positive, and not below the base backoff
     * @return this builder
     * @throws IllegalArgumentException when negative
     * @throws IllegalStateException when already set
     */
    public Builder maxBackoff(Duration maxBackoff) {
      Options.requireUnset(this.maxBackoff, "maxBackoff");
      this.maxBackoff = Options.requireNonNegative(maxBackoff, "maxBackoff");
      return this;
    }

    /**
     * Sets which errors are worth another attempt (by default any {@link Exception}).
     *
     * @param retryable returns true for a retryable error
     * @return this builder
     * @throws IllegalStateException when already set
     */
    public Builder retryIf(Predicate<? super Throwable> retryable) {
      Options.requireUnset(this.retryable, "retryIf");
      Objects.requireNonNull(retryable, "retryIf");
      this.retryable = retryable::test;
      return this;
    }

    /**
     * Builds the policy.
     *
     * @return the policy
     * @throws IllegalArgumentException when {@code maxBackoff} is below {@code backoff}
     */
    public RetryPolicy build() {
      Duration base = backoff != null ? backoff : DEFAULT.backoff;
      Duration cap =
          maxBackoff != null
              ? maxBackoff
              : base.compareTo(DEFAULT.maxBackoff) > 0 ? base : DEFAULT.maxBackoff;
      if (cap.compareTo(base) < 0) {
        throw new IllegalArgumentException(
            "maxBackoff (" + cap + ") must not be below backoff (" + base + ")");
      }
      return new RetryPolicy(
          maxAttempts != null ? maxAttempts : DEFAULT.maxAttempts,
          base,
          cap,
          retryable != null ? retryable : EXCEPTIONS);
    }
  }
}
