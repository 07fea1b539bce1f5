package dev.fanout.spi;

import dev.fanout.JobId;
import dev.fanout.JobState;
import java.time.Instant;

/**
 * A stored job as the store reads it: its definition, state and exact counts at read time.
 *
 * <p>For a sealed job, {@code pending + running + succeeded + failed + cancelled == total}.
 *
 * @param id the job's ID
 * @param sealed false while its items are still being written; such a job is invisible to claims
 * @param state its state; {@link JobState#ACCEPTED} until its first claim, {@link JobState#PAUSED}
 *     while paused
 * @param spec its definition as JSON
 * @param total how many items it has (so far, while not sealed)
 * @param maxConcurrency the cluster-wide cap on its RUNNING items
 * @param pending items PENDING
 * @param running items RUNNING
 * @param succeeded items SUCCEEDED
 * @param failed items FAILED
 * @param cancelled items CANCELLED
 * @param retries how many retries were scheduled in all
 * @param lastSeq the highest result sequence number given out, 0 for none
 * @param createdAt when it was accepted
 * @param startedAt when its first item was claimed, or null
 * @param finishedAt when it became final, or null
 * @param deadlineAt when it must end, or null
 * @param aggregate the aggregate as JSON once final, or null
 * @param error why the job as a whole failed, or null
 */
public record JobRow(
    JobId id,
    boolean sealed,
    JobState state,
    String spec,
    long total,
    int maxConcurrency,
    long pending,
    long running,
    long succeeded,
    long failed,
    long cancelled,
    long retries,
    long lastSeq,
    Instant createdAt,
    Instant startedAt,
    Instant finishedAt,
    Instant deadlineAt,
    String aggregate,
    String error) {}
