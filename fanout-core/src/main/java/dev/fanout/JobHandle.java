package dev.fanout;

import java.util.concurrent.CompletableFuture;

/**
 * A submitted job, as its submitter holds it: its ID, its live status, its outcome, and the few
 * settings that may change while it runs.
 *
 * @param <A> the aggregate type
 */
public interface JobHandle<A> {

  /**
   * The job's ID.
   *
   * @return the ID, available at once
   */
  JobId id();

  /**
   * A consistent snapshot of the job's state and counts.
   *
   * @return the status now
   */
  JobStatus status();

  /**
   * Completes once the job is final, with the aggregate of the succeeded items and every failure.
   * It completes normally for FAILED and CANCELLED jobs too; it never completes exceptionally
   * because items failed.
   *
   * @return the outcome future; completing it from outside has no effect on the job
   */
  CompletableFuture<JobOutcome<A>> outcome();

  /**
   * Cancels the job: items that have not started never start, running attempts are interrupted and
   * their late results discarded, results already settled are kept, and the outcome completes as
   * {@link JobState#CANCELLED}.
   *
   * @return true when this call cancelled the job; false when it was already final
   */
  boolean cancel();

  /**
   * Pauses the job: running attempts finish, no new ones start.
   *
   * @return true when this call paused it; false when it was already paused
   * @throws IllegalStateException when the job is final
   */
  boolean pause();

  /**
   * Resumes a paused job.
   *
   * @return true when this call resumed it; false when it was not paused
   * @throws IllegalStateException when the job is final
   */
  boolean resume();

  /**
   * Changes how many calls of the function may run at once. Lowering it stops new starts until
   * enough running attempts finish; running attempts are never interrupted for it.
   *
   * @param maxConcurrency at least 1
   * @throws IllegalArgumentException when below 1
   * @throws IllegalStateException when the job is final
   */
  void setMaxConcurrency(int maxConcurrency);
}
