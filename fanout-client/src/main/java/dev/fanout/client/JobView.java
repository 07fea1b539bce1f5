package dev.fanout.client;

import com.fasterxml.jackson.databind.JsonNode;
import dev.fanout.JobId;
import dev.fanout.JobState;
import dev.fanout.JobStatus;
import java.util.Objects;

/**
 * A job as the server shows it ({@code GET /v1/jobs/{id}}): its status and counts, its aggregate
 * once final, and the metadata it was submitted with.
 *
 * @param status the state and counts
 * @param aggregate the fold of the succeeded results once the job is final, else a JSON null; also
 *     null when it is over 64 KiB, which {@link FanoutClient#aggregate(JobId)} serves; null in a
 *     job list, which leaves aggregates out
 * @param metadata the caller's metadata, or a JSON null
 * @param json the server's object as it came, for printing it unchanged
 */
public record JobView(JobStatus status, JsonNode aggregate, JsonNode metadata, JsonNode json) {

  /** Checks the fields. */
  public JobView {
    Objects.requireNonNull(status, "status");
    Objects.requireNonNull(aggregate, "aggregate");
    Objects.requireNonNull(metadata, "metadata");
    Objects.requireNonNull(json, "json");
  }

  /**
   * The job's ID.
   *
   * @return the ID
   */
  public JobId id() {
    return status.id();
  }

  /**
   * The job's state.
   *
   * @return the state
   */
  public JobState state() {
    return status.state();
  }
}
