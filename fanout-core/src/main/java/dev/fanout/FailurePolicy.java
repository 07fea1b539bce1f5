package dev.fanout;

import java.util.Objects;

/**
 * How many failed items a job tolerates, and what happens when it has more.
 *
 * <p>The tolerance decides the final state: a job ends {@link JobState#FAILED} when its finally
 * failed items exceed it, else {@link JobState#SUCCEEDED}. The {@link FailureMode} decides whether
 * the rest is cancelled the moment the tolerance is crossed. With a percentage and a source whose
 * size is not known yet, the crossing is judged once the source is exhausted.
 *
 * <p>Instances are immutable; the {@code tolerating} methods return a new policy.
 */
public final class FailurePolicy {

  private static final FailurePolicy ALL_SETTLED =
      new FailurePolicy(FailureMode.ALL_SETTLED, 0, Double.NaN);
  private static final FailurePolicy FAIL_FAST =
      new FailurePolicy(FailureMode.FAIL_FAST, 0, Double.NaN);

  private final FailureMode mode;
  private final long toleratedCount;
  private final double toleratedPercent;

  private FailurePolicy(FailureMode mode, long toleratedCount, double toleratedPercent) {
    this.mode = mode;
    this.toleratedCount = toleratedCount;
    this.toleratedPercent = toleratedPercent;
  }

  /**
   * Runs every item and reports every failure; tolerates none. The default.
   *
   * @return the policy
   */
  public static FailurePolicy allSettled() {
    return ALL_SETTLED;
  }

  /**
   * Cancels the rest at the first failure beyond the tolerance; tolerates none.
   *
   * @return the policy
   */
  public static FailurePolicy failFast() {
    return FAIL_FAST;
  }

  /**
   * A policy with the given mode that tolerates no failure.
   *
   * @param mode the mode
   * @return the policy
   */
  public static FailurePolicy of(FailureMode mode) {
    return Objects.requireNonNull(mode, "mode") == FailureMode.FAIL_FAST ? FAIL_FAST : ALL_SETTLED;
  }

  /**
   * This policy, tolerating up to {@code count} failed items.
   *
   * @param count how many failed items still let the job succeed
   * @return a new policy
   * @throws IllegalArgumentException when {@code count} is negative
   */
  public FailurePolicy toleratingFailures(long count) {
    if (count < 0) {
      throw new IllegalArgumentException("toleratedFailureCount must be >= 0, got " + count);
    }
    return new FailurePolicy(mode, count, Double.NaN);
  }

  /**
   * This policy, tolerating failed items up to {@code percent} of the total.
   *
   * @param percent from 0 to 100
   * @return a new policy
   * @throws IllegalArgumentException when {@code percent} is outside 0..100 or not a number
   */
  public FailurePolicy toleratingPercent(double percent) {
    if (!(percent >= 0 && percent <= 100)) {
      throw new IllegalArgumentException(
          "toleratedFailurePercent must be between 0 and 100, got " + percent);
    }
    return new FailurePolicy(mode, 0, percent);
  }

  /**
   * The mode.
   *
   * @return what happens when the tolerance is crossed
   */
  public FailureMode mode() {
    return mode;
  }

  /**
   * The tolerated number of failed items, when the tolerance is a count.
   *
   * @return the count (0 by default)
   */
  public long toleratedCount() {
    return toleratedCount;
  }

  /**
   * The tolerated percentage, when the tolerance is a percentage.
   *
   * @return the percentage, or NaN when the tolerance is a count
   */
  public double toleratedPercent() {
    return toleratedPercent;
  }

  /**
   * Tells whether {@code failed} failures exceed the tolerance.
   *
   * @param failed finally failed items so far
   * @param total the job's total, or -1 while unknown
   * @return true when the tolerance is crossed; false while a percentage cannot be judged yet
   */
  public boolean isExceeded(long failed, long total) {
    if (Double.isNaN(toleratedPercent)) {
      return failed > toleratedCount;
    }
    if (total < 0) {
      return false;
    }
    return failed * 100.0 > toleratedPercent * total;
  }

  /**
   * Says why a job with {@code failed} failures crossed this tolerance, for its status.
   *
   * @param failed finally failed items
   * @param total the job's total, or -1 while unknown
   * @return a sentence naming the failures and the tolerance
   */
  public String exceededMessage(long failed, long total) {
    String tolerance =
        Double.isNaN(toleratedPercent)
            ? toleratedCount + " failures"
            : toleratedPercent + "% of " + total + " items";
    return failed + " items failed, more than the tolerated " + tolerance;
  }

  @Override
  public boolean equals(Object o) {
    return o instanceof FailurePolicy p
        && mode == p.mode
        && toleratedCount == p.toleratedCount
        && Double.compare(toleratedPercent, p.toleratedPercent) == 0;
  }

  @Override
  public int hashCode() {
    return Objects.hash(mode, toleratedCount, toleratedPercent);
  }

  @Override
  public String toString() {
    String tolerance =
        Double.isNaN(toleratedPercent) ? toleratedCount + " failures" : toleratedPercent + "%";
    return "FailurePolicy[" + mode + ", tolerating " + tolerance + "]";
  }
}
