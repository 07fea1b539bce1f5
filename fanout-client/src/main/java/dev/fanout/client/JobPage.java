package dev.fanout.client;

import dev.fanout.JobId;
import java.util.List;
import java.util.Objects;
import java.util.Optional;

/**
 * One page of the job list ({@code GET /v1/jobs}), newest first.
 *
 * @param jobs the jobs, without their aggregates
 * @param next the ID to pass as {@code after} for the next page, or empty on the last page
 */
public record JobPage(List<JobView> jobs, Optional<JobId> next) {

  /** Checks the fields and freezes the list. */
  public JobPage {
    jobs = List.copyOf(jobs);
    Objects.requireNonNull(next, "next");
  }
}
