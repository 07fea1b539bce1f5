package dev.fanout;

import java.time.Instant;
import java.util.Optional;

/** What a running attempt may know about itself. One context per attempt. */
public interface TaskContext {

  /**
   * The job this attempt belongs to.
   *
   * @return the job's ID
   */
  JobId jobId();

  /**
   * The index of the attempt's item; with batching, the index of the batch's first item.
   *
   * @return a 0-based index into the job's source
   */
  long index();

  /**
   * Which attempt this is.
   *
   * @return 1 for the first attempt, 2 for the first retry, and so on
   */
  int attempt();

  /**
   * When this attempt will be interrupted: the earlier of its timeout and the job's deadline.
   *
   * @return the deadline, or empty when neither is set
   */
  Optional<Instant> deadline();

  /**
   * Tells whether the attempt's result is no longer wanted (job cancelled, deadline or timeout
   * passed). The attempt's thread is interrupted as well; this flag suits code that cannot observe
   * interrupts.
   *
   * @return true when the attempt should stop
   */
  boolean isCancelled();
}
