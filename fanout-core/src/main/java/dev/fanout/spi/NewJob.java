package dev.fanout.spi;

import dev.fanout.JobId;
import dev.fanout.ResultOrder;
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
 * @param idempotencyKey a key no other job in the store may hold, or null for none
 * @param fingerprint what a repeat under the key must match (the store keeps it and hands it back
 *     in {@link IdempotencyKeyTakenException}); set exactly when the key is
 * @param resultOrder the order in which the store numbers the job's results: {@link
 *     ResultOrder#COMPLETION} as they settle, or {@link ResultOrder#INPUT} in index order (see
 *     {@link JobStore#complete}); only for a store that {@link JobStore#supportsResultOrder
 *     supports} it
 */
public record NewJob(
    JobId id,
    String spec,
    int maxConcurrency,
    Instant createdAt,
    Instant deadlineAt,
    String idempotencyKey,
    String fingerprint,
    ResultOrder resultOrder) {

  /** Checks the fields. */
  public NewJob {
    Objects.requireNonNull(id, "id");
    Objects.requireNonNull(resultOrder, "resultOrder");
    Objects.requireNonNull(spec, "spec");
    Objects.requireNonNull(createdAt, "createdAt");
    if (maxConcurrency < 1) {
      throw new IllegalArgumentException("maxConcurrency must be >= 1, got " + maxConcurrency);
    }
    if ((idempotencyKey == null) != (fingerprint == null)) {
      throw new IllegalArgumentException("an idempotency key needs a fingerprint, and only then");
    }
    if (idempotencyKey != null && (idempotencyKey.isEmpty() || idempotencyKey.length() > 255)) {
      throw new IllegalArgumentException("idempotencyKey must have 1 to 255 characters");
    }
    if (fingerprint != null && (fingerprint.isEmpty() || fingerprint.length() > 128)) {
      throw new IllegalArgumentException("fingerprint must have 1 to 128 characters");
    }
  }

  /**
   * A job whose results are numbered in completion order.
   *
   * @param id the job's ID
   * @param spec the job's definition as JSON, opaque to the store
   * @param maxConcurrency the most items of this job RUNNING at once, across every worker
   * @param createdAt when the job was accepted
   * @param deadlineAt when the job must end, or null
   * @param idempotencyKey a key no other job in the store may hold, or null for none
   * @param fingerprint what a repeat under the key must match; set exactly when the key is
   */
  public NewJob(
      JobId id,
      String spec,
      int maxConcurrency,
      Instant createdAt,
      Instant deadlineAt,
      String idempotencyKey,
      String fingerprint) {
    this(
        id,
        spec,
        maxConcurrency,
        createdAt,
        deadlineAt,
        idempotencyKey,
        fingerprint,
        ResultOrder.COMPLETION);
  }

  /**
   * A job without an idempotency key, whose results are numbered in completion order.
   *
   * @param id the job's ID
   * @param spec the job's definition as JSON, opaque to the store
   * @param maxConcurrency the most items of this job RUNNING at once, across every worker
   * @param createdAt when the job was accepted
   * @param deadlineAt when the job must end, or null
   */
  public NewJob(JobId id, String spec, int maxConcurrency, Instant createdAt, Instant deadlineAt) {
    this(id, spec, maxConcurrency, createdAt, deadlineAt, null, null, ResultOrder.COMPLETION);
  }
}
