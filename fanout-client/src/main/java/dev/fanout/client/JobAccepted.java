package dev.fanout.client;

import dev.fanout.JobId;
import java.net.URI;
import java.util.Objects;

/**
 * The server's answer to a submission: the job and all of its items are stored.
 *
 * @param id the new job's ID (or, for a repeated submission with the same {@code Idempotency-Key}
 *     and body, the first job's)
 * @param total how many items the job has
 * @param location the job's address, resolved against the server's base URI
 */
public record JobAccepted(JobId id, long total, URI location) {

  /** Checks the fields. */
  public JobAccepted {
    Objects.requireNonNull(id, "id");
    Objects.requireNonNull(location, "location");
  }
}
