package dev.fanout;

import java.util.List;
import java.util.Objects;

/**
 * What a finished job produced. A partial failure never throws the other results away: the
 * aggregate folds every succeeded item, and the failures are listed beside it.
 *
 * @param status the final status
 * @param aggregate the fold of the succeeded results in input order; null when the job has no
 *     reducer, when the reducer's result for no items is null (min, max), or when the reducer
 *     itself failed
 * @param failures the items that finally failed, in index order
 * @param <A> the aggregate type
 */
public record JobOutcome<A>(JobStatus status, A aggregate, List<ItemFailure> failures) {

  /** Checks the fields and freezes the failure list. */
  public JobOutcome {
    Objects.requireNonNull(status, "status");
    failures = List.copyOf(failures);
    if (!status.state().isFinal()) {
      throw new IllegalArgumentException("an outcome needs a final state, got " + status.state());
    }
  }

  /**
   * The job's final state.
   *
   * @return {@link JobState#SUCCEEDED}, {@link JobState#FAILED} or {@link JobState#CANCELLED}
   */
  public JobState state() {
    return status.state();
  }
}
