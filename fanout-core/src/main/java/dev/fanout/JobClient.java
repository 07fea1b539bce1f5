package dev.fanout;

import java.util.List;
import java.util.Optional;

/**
 * Submits and manages jobs without running any work itself. Code that only submits and queries (an
 * HTTP API, a command-line client) depends on this, not on {@link Engine}.
 */
public interface JobClient {

  /**
   * Submits a job and returns with its handle before any item has run. An in-memory job's source is
   * read later, on the engine's threads, so a slow or blocking source never delays the caller. A
   * durable job is acknowledged only once it and all of its items are stored, so this reads its
   * whole source first; that source must end.
   *
   * @param spec the job
   * @param <A> the aggregate type
   * @return the handle, whose ID is valid at once
   * @throws IllegalStateException when the engine is closed, or the spec's one-shot source was
   *     already submitted
   */
  <A> JobHandle<A> submit(JobSpec<?, ?, A> spec);

  /**
   * The handle of a job, for callers that did not submit it.
   *
   * @param id the job
   * @return the handle, or empty when no such job is known
   */
  Optional<JobHandle<?>> job(JobId id);

  /**
   * The status of a job.
   *
   * @param id the job
   * @return the status, or empty when no such job is known
   */
  default Optional<JobStatus> status(JobId id) {
    return job(id).map(JobHandle::status);
  }

  /**
   * The known jobs, newest first.
   *
   * @return a snapshot of their statuses
   */
  List<JobStatus> list();

  /**
   * Cancels a job; see {@link JobHandle#cancel()}.
   *
   * @param id the job
   * @return true when this call cancelled it; false when it was already final
   * @throws NoSuchJobException when no such job is known
   */
  default boolean cancel(JobId id) {
    return require(id).cancel();
  }

  /**
   * Pauses a job; see {@link JobHandle#pause()}.
   *
   * @param id the job
   * @return true when this call paused it
   * @throws NoSuchJobException when no such job is known
   * @throws IllegalStateException when the job is final
   */
  default boolean pause(JobId id) {
    return require(id).pause();
  }

  /**
   * Resumes a job; see {@link JobHandle#resume()}.
   *
   * @param id the job
   * @return true when this call resumed it
   * @throws NoSuchJobException when no such job is known
   * @throws IllegalStateException when the job is final
   */
  default boolean resume(JobId id) {
    return require(id).resume();
  }

  /**
   * Changes a job's concurrency cap; see {@link JobHandle#setMaxConcurrency(int)}.
   *
   * @param id the job
   * @param maxConcurrency at least 1
   * @throws NoSuchJobException when no such job is known
   * @throws IllegalArgumentException when below 1
   * @throws IllegalStateException when the job is final
   */
  default void setMaxConcurrency(JobId id, int maxConcurrency) {
    require(id).setMaxConcurrency(maxConcurrency);
  }

  private JobHandle<?> require(JobId id) {
    return job(id).orElseThrow(() -> new NoSuchJobException(id));
  }
}
