package dev.fanout.spi;

/**
 * One succeeded result as a job's fan-in reads it: the item's index and its stored value.
 *
 * @param index the item's 0-based position in the job's input
 * @param value the result as JSON
 */
public record SucceededValue(long index, String value) {}
