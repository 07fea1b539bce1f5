package dev.fanout.spi;

import java.time.Instant;
import java.util.Objects;

/**
 * What a worker reports for one claimed item. The store applies it only when the item is still
 * RUNNING under the same fence; otherwise the report is stale and dropped.
 *
 * <p>A report that settles its item carries the claim's attempt as well. A fence names one claim,
 * and so one attempt, so a store may record the attempt from the report instead of reading the item
 * for it first, as long as the write that records it also checks it.
 */
public sealed interface Completion {

  /**
   * The item's index.
   *
   * @return the 0-based index
   */
  long index();

  /**
   * The fence of the claim this report is for.
   *
   * @return the fence from {@link ClaimedTask#fence()}
   */
  long fence();

  /**
   * The item settled with a result.
   *
   * @param index the item's index
   * @param fence the claim's fence
   * @param attempt the claim's attempt, from {@link ClaimedTask#attempt()}
   * @param value the result as JSON
   * @param durationMillis how long the item took, as the engine measures it
   */
  record Succeeded(long index, long fence, int attempt, String value, long durationMillis)
      implements Completion {
    /** Checks the fields. */
    public Succeeded {
      requirePositive(attempt);
      Objects.requireNonNull(value, "value");
    }
  }

  /**
   * The item settled with a final error.
   *
   * @param index the item's index
   * @param fence the claim's fence
   * @param attempt the claim's attempt, from {@link ClaimedTask#attempt()}
   * @param error the error as JSON
   * @param durationMillis how long the item took, as the engine measures it
   */
  record Failed(long index, long fence, int attempt, String error, long durationMillis)
      implements Completion {
    /** Checks the fields. */
    public Failed {
      requirePositive(attempt);
      Objects.requireNonNull(error, "error");
    }
  }

  /**
   * The attempt failed and the item goes back to PENDING until {@code notBefore}.
   *
   * @param index the item's index
   * @param fence the claim's fence
   * @param error the attempt's error as JSON
   * @param notBefore the earliest time it may be claimed again
   */
  record Retry(long index, long fence, String error, Instant notBefore) implements Completion {
    /** Checks the fields. */
    public Retry {
      Objects.requireNonNull(error, "error");
      Objects.requireNonNull(notBefore, "notBefore");
    }
  }

  private static void requirePositive(int attempt) {
    if (attempt < 1) {
      throw new IllegalArgumentException("attempt must be at least 1, was " + attempt);
    }
  }
}
