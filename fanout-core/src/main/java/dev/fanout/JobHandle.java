package dev.fanout;

import com.fasterxml.jackson.databind.JsonNode;
import java.util.Optional;
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

  /**
   * The caller's own data the job was submitted with ({@link JobSpec.Builder#metadata}).
   *
   * @return the metadata (do not modify it), or empty when none was given
   */
  default Optional<JsonNode> metadata() {
    return Optional.empty();
  }

  /**
   * Runs the failed items of a finished job again, for jobs whose items are stored (durable jobs).
   * The job goes back to RUNNING; each failed item runs again with fresh attempts, and its new
   * result replaces the failed one under a new sequence number; the aggregate and the final state
   * are decided again when every item has settled. Cancelled items stay cancelled, and a deadline
   * still counts from the original submission.
   *
   * <p>A future that {@link #outcome()} returned before the retry keeps the earlier outcome; call
   * {@code outcome()} again for one that completes when the retried job ends.
   *
   * @return true when failed items were put back to run; false when the job had none
   * @throws IllegalStateException when the job is not final, or was cancelled
   * @throws UnsupportedOperationException for an in-memory job, whose items are not kept
   */
  default boolean retryFailed() {
    throw new UnsupportedOperationException(
        "job " + id() + " runs in memory; only durable jobs keep their items to run again");
  }
}
