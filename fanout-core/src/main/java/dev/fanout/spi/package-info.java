/**
 * The service-provider interface between Fanout's durable engine and the store that keeps its jobs:
 * {@link dev.fanout.spi.JobStore}. Implement it to keep jobs somewhere new; every implementation
 * must pass the contract test suite ({@code JobStoreContract} in the core test jar).
 *
 * <p>The store holds JSON text and never interprets it; the engine encodes and decodes. All times
 * come from the engine's clock, passed in as arguments, so a store never reads a clock of its own.
 */
package dev.fanout.spi;
