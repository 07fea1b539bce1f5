package dev.fanout;

import java.util.Objects;
import java.util.regex.Pattern;

/**
 * The identity of one job: a time-ordered UUID (version 7) in its canonical text form, so IDs sort
 * roughly by submission time and can be handed around as plain strings.
 *
 * @param value the canonical text form, lower case
 */
public record JobId(String value) implements Comparable<JobId> {

  private static final Pattern CANONICAL =
      Pattern.compile("[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}");

  /**
   * Checks the text form.
   *
   * @throws IllegalArgumentException when {@code value} is not a canonical lower-case UUID
   */
  public JobId {
    Objects.requireNonNull(value, "value");
    if (!CANONICAL.matcher(value).matches()) {
      throw new IllegalArgumentException(
          "job id must be a lower-case UUID such as 0192f1e4-7b1c-7d3e-9a4f-2b6c8d0e1f23, got '"
              + value
              + "'");
    }
  }

  /**
   * Parses a job ID from its text form.
   *
   * @param value the text form
   * @return the ID
   * @throws IllegalArgumentException when {@code value} is not a canonical lower-case UUID
   */
  public static JobId of(String value) {
    return new JobId(value);
  }

  @Override
  public int compareTo(JobId other) {
    return value.compareTo(other.value);
  }

  @Override
  public String toString() {
    return value;
  }
}
