package dev.fanout;

import java.time.Duration;
import java.util.Objects;

/** Checks shared by the builders, so every option fails the same way with its own name. */
final class Options {

  private Options() {}

  static void requireUnset(Object current, String option) {
    if (current != null) {
      throw new IllegalStateException(option + " was already set to " + current);
    }
  }

  static Duration requireNonNegative(Duration value, String option) {
    Objects.requireNonNull(value, option);
    if (value.isNegative()) {
      throw new IllegalArgumentException(option + " must not be negative, got " + value);
    }
    return value;
  }

  static Duration requirePositive(Duration value, String option) {
    Objects.requireNonNull(value, option);
    if (value.isNegative() || value.isZero()) {
      throw new IllegalArgumentException(option + " must be positive, got " + value);
    }
    return value;
  }

  static int requirePositive(int value, String option) {
    if (value < 1) {
      throw new IllegalArgumentException(option + " must be >= 1, got " + value);
    }
    return value;
  }
}
