package dev.fanout.spi;

import dev.fanout.JobState;
import java.util.Objects;

/**
 * How a job ends, as the engine decides it while the store holds the job locked.
 *
 * @param state {@link JobState#SUCCEEDED}, {@link JobState#FAILED} or {@link JobState#CANCELLED}
 * @param aggregate the aggregate as JSON, or null
 * @param error why the job failed as a whole, or null
 */
public record Verdict(JobState state, String aggregate, String error) {

  /** Checks that the state is final. */
  public Verdict {
    Objects.requireNonNull(state, "state");
    if (!state.isFinal()) {
      throw new IllegalArgumentException("a verdict needs a final state, got " + state);
    }
  }
}
