package dev.fanout.client;

import dev.fanout.JobId;
import dev.fanout.JobState;
import java.util.Objects;
import java.util.OptionalLong;

/**
 * What a job's event stream ({@code GET /v1/jobs/{id}/events}) carries: a {@link Result} per
 * settled item, {@link Progress} now and then while the counts change, and one {@link Done} with
 * the final job, after every result.
 */
public sealed interface JobEvent {

  /**
   * One settled item.
   *
   * @param result the result, whose {@code seq} is the event's ID
   */
  record Result(JobResult result) implements JobEvent {

    /** Checks the field. */
    public Result {
      Objects.requireNonNull(result, "result");
    }
  }

  /**
   * The job's counts, sent at most a few times a second while they change.
   *
   * @param id the job
   * @param state where it is
   * @param total its items, empty while unknown
   * @param pending items waiting to run
   * @param running items running now
   * @param succeeded items that succeeded
   * @param failed items that failed
   * @param cancelled items that will not run
   * @param retries attempts that were retries
   */
  record Progress(
      JobId id,
      JobState state,
      OptionalLong total,
      long pending,
      long running,
      long succeeded,
      long failed,
      long cancelled,
      long retries)
      implements JobEvent {

    /** Checks the fields. */
    public Progress {
      Objects.requireNonNull(id, "id");
      Objects.requireNonNull(state, "state");
      Objects.requireNonNull(total, "total");
    }

    /**
     * How many items have settled.
     *
     * @return {@code succeeded + failed + cancelled}
     */
    public long settled() {
      return succeeded + failed + cancelled;
    }
  }

  /**
   * The job is final and every result before this event was sent.
   *
   * @param job the final job, with its aggregate
   */
  record Done(JobView job) implements JobEvent {

    /** Checks the field. */
    public Done {
      Objects.requireNonNull(job, "job");
    }
  }
}
