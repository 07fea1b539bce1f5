package dev.fanout.spi;

import dev.fanout.JobId;

/**
 * A settled item as stored, with its place in the job's completion order.
 *
 * @param jobId the job
 * @param seq its sequence number: 1 for the job's first numbered item, increasing in the order
 *     consumers receive results (completion order, or index order for an input-ordered job; see
 *     {@link JobStore}); gaps are allowed
 * @param index the item's 0-based index
 * @param status {@link TaskState#SUCCEEDED} or {@link TaskState#FAILED}
 * @param value the result as JSON when it succeeded, else null
 * @param error the error as JSON when it failed, else null
 * @param attempts how many attempts ran
 * @param durationMillis how long it took, as the engine measured it
 */
public record StoredResult(
    JobId jobId,
    long seq,
    long index,
    TaskState status,
    String value,
    String error,
    int attempts,
    long durationMillis) {}
