package dev.fanout;

/**
 * Runs jobs: a {@link JobClient} with workers behind it. Built by {@link FanOut#builder()}.
 *
 * <p>Closing the engine cancels the jobs that are not final (their outcomes complete as {@link
 * JobState#CANCELLED}), stops the executor when the engine created it, and refuses further
 * submissions.
 */
public interface Engine extends JobClient, AutoCloseable {

  /** Cancels unfinished jobs and releases the engine's threads. Calling it again does nothing. */
  @Override
  void close();
}
