package dev.fanout.spi;

import dev.fanout.JobId;
import java.time.Instant;
import java.util.Objects;

/**
 * A job about to be stored. It stays invisible to workers until {@link JobStore#seal sealed}.
 *
 * @param id the job's ID
 * @param spec the job's definition as JSON, opaque to the store
 * @param maxConcurrency the most items of this job RUNNING at once, across every worker
 * @param createdAt when the job was accepted
 * @param deadlineAt when the job must end, or null
 */
public record NewJob(
    JobId id, String spec, int maxConcurrency, Instant createdAt, Instant deadlineAt) {

  /** Checks the fields. */
  public NewJob {
    Objects.requireNonNull(id, "id");
    Objects.requireNonNull(spec, "spec");
    Objects.requireNonNull(createdAt, "createdAt");
    if (maxConcurrency < 1) {
      throw new IllegalArgumentException("maxConcurrency must be >= 1, got " + maxConcurrency);
    }
  }
}
