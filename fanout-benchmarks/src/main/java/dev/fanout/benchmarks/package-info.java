/**
 * JMH benchmarks of the engine against the raw JDK. Build {@code target/benchmarks.jar} and run it;
 * docs/benchmarks.md gives the commands and the latest numbers.
 */
package dev.fanout.benchmarks;
