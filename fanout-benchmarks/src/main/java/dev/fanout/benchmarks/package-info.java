/**
 * The side-by-side scenario runner ({@link dev.fanout.benchmarks.Bench}, started by {@code
 * ./bench}), which measures Fanout against the raw JDK, a plain HTTP client loop and JobRunr and
 * writes docs/benchmarks.md, and the JMH benchmarks used to profile the engine.
 */
package dev.fanout.benchmarks;
