package dev.fanout.server.internal.webhook;

import java.time.Duration;
import java.util.Objects;
import java.util.random.RandomGenerator;

/**
 * Exponential backoff with full jitter for retrying failed deliveries: before retry {@code n} wait
 * a uniformly random time between zero and {@code min(max, base * 2^(n-1))}. Full jitter spreads
 * the retries of many deliveries that failed together (a receiver that went down), so they do not
 * come back in waves.
 *
 * <p>Immutable and thread-safe when the random generator is; tests inject a seeded one.
 */
public final class Backoff {
  private final long baseNanos;
  private final long maxNanos;
  private final RandomGenerator random;

  /**
   * Creates a backoff.
   *
   * @param base the ceiling before the first retry; positive
   * @param max the largest ceiling; at least {@code base}
   * @param random the source of jitter
   * @throws IllegalArgumentException naming the option when {@code base} is not positive or {@code
   *     max} is below it
   */
  public Backoff(Duration base, Duration max, RandomGenerator random) {
    Objects.requireNonNull(base, "base");
    Objects.requireNonNull(max, "max");
    this.random = Objects.requireNonNull(random, "random");
    if (base.isNegative() || base.isZero()) {
      throw new IllegalArgumentException("base must be positive, got " + base);
    }
    if (max.compareTo(base) < 0) {
      throw new IllegalArgumentException("max must be at least base (" + base + "), got " + max);
    }
    this.baseNanos = saturatedNanos(base);
    this.maxNanos = saturatedNanos(max);
  }

  /**
   * The ceiling of the wait before a retry, without jitter.
   *
   * @param retry 1 for the first retry, 2 for the second...
   * @return {@code min(max, base * 2^(retry-1))}, never overflowing
   * @throws IllegalArgumentException when {@code retry} is below 1
   */
  public Duration ceiling(int retry) {
    if (retry < 1) {
      throw new IllegalArgumentException("retry must be at least 1, got " + retry);
    }
    int doublings = retry - 1;
    long ceiling =
        doublings >= Long.numberOfLeadingZeros(baseNanos)
            ? maxNanos
            : Math.min(maxNanos, baseNanos << doublings);
    return Duration.ofNanos(ceiling);
  }

  /**
   * The time to wait before a retry: uniform in {@code [0, ceiling(retry)]}.
   *
   * @param retry 1 for the first retry, 2 for the second...
   * @return the delay
   * @throws IllegalArgumentException when {@code retry} is below 1
   */
  public Duration delay(int retry) {
    long ceiling = ceiling(retry).toNanos();
    return Duration.ofNanos(
        ceiling == Long.MAX_VALUE ? random.nextLong(0, ceiling) : random.nextLong(0, ceiling + 1));
  }

  private static long saturatedNanos(Duration d) {
    try {
      return d.toNanos();
    } catch (ArithmeticException e) {
      return Long.MAX_VALUE;
    }
  }

  @Override
  public String toString() {
    return "Backoff[base="
        + Duration.ofNanos(baseNanos)
        + ", max="
        + Duration.ofNanos(maxNanos)
        + "]";
  }
}
