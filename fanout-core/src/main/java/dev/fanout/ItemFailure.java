package dev.fanout;

import java.util.Objects;

/**
 * An item that finally failed, as reported in a job's outcome.
 *
 * @param index the item's 0-based position in the job's source
 * @param error the error of the last attempt (or of the transform)
 * @param attempts how many attempts ran
 */
public record ItemFailure(long index, Throwable error, int attempts) {

  /** Checks the fields. */
  public ItemFailure {
    Objects.requireNonNull(error, "error");
  }
}
