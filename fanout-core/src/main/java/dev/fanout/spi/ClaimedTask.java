package dev.fanout.spi;

import dev.fanout.JobId;

/**
 * An item a worker has claimed: it holds a lease on it until it completes it or the lease is
 * reclaimed. The fence proves the claim is still the current one when the worker completes.
 *
 * @param jobId the job
 * @param index the item's 0-based index
 * @param item the item as JSON
 * @param attempt which attempt this claim is, starting at 1
 * @param fence a number that changes whenever the item changes hands
 */
public record ClaimedTask(JobId jobId, long index, String item, int attempt, long fence) {}
