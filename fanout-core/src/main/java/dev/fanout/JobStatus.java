package dev.fanout;

import java.time.Instant;
import java.util.Objects;
import java.util.OptionalLong;

/**
 * A consistent snapshot of one job's state and counts.
 *
 * <p>The counts add up: when the total is known, {@code pending + running + succeeded + failed +
 * cancelled == total}. While a streamed source is still being read the total is empty and {@code
 * pending} counts only the items already read that wait for a retry.
 *
 * @param id the job
 * @param state where the job is
 * @param total how many items the job has, empty until the source is exhausted
 * @param pending items accepted but neither running nor settled
 * @param running items whose attempt is running now
 * @param succeeded items that settled successfully
 * @param failed items that finally failed
 * @param cancelled items that will never run because the job was cancelled or stopped early
 * @param retries attempts that were retries of an earlier failed attempt
 * @param maxConcurrency the job's current concurrency cap
 * @param createdAt when the job was accepted
 * @param startedAt when its first attempt started, or null
 * @param finishedAt when it reached a final state, or null
 * @param error why the job failed as a whole (deadline, source, reducer), or null
 */
public record JobStatus(
    JobId id,
    JobState state,
    OptionalLong total,
    long pending,
    long running,
    long succeeded,
    long failed,
    long cancelled,
    long retries,
    int maxConcurrency,
    Instant createdAt,
    Instant startedAt,
    Instant finishedAt,
    String error) {

  /** Checks the required fields. */
  public JobStatus {
    Objects.requireNonNull(id, "id");
    Objects.requireNonNull(state, "state");
    Objects.requireNonNull(total, "total");
    Objects.requireNonNull(createdAt, "createdAt");
  }

  /**
   * How many items have settled, whatever their status.
   *
   * @return {@code succeeded + failed + cancelled}
   */
  public long settled() {
    return succeeded + failed + cancelled;
  }
}
