package dev.fanout.client;

import java.time.Duration;
import java.util.Objects;

/**
 * Checks shared by the client's builders, so every option fails the same way with its own name.
 * Values are never put in the message: one of them is the token.
 */
final class Options {

  private Options() {}

  static void requireUnset(Object current, String option) {
    if (current != null) {
      throw new IllegalStateException(option + " was already set");
    }
  }

  static int requirePositive(int value, String option) {
    if (value < 1) {
      throw new IllegalArgumentException(option + " must be >= 1, got " + value);
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
}
