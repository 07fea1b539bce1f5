package dev.fanout.spi;

import dev.fanout.JobState;
import java.util.EnumMap;
import java.util.Map;
import java.util.Objects;

/**
 * How many jobs a store holds in each state, and how many items wait to be claimed: what a metrics
 * scrape reads.
 *
 * @param jobs sealed jobs by state, {@link JobState#PAUSED} counted apart from the state it pauses;
 *     every state has an entry, zero when none
 * @param pendingItems items of sealed jobs that are not final, neither running nor settled
 */
public record JobCounts(Map<JobState, Long> jobs, long pendingItems) {
  /** Fills in the missing states with zero and copies the map. */
  public JobCounts {
    Objects.requireNonNull(jobs, "jobs");
    EnumMap<JobState, Long> all = new EnumMap<>(JobState.class);
    for (JobState state : JobState.values()) {
      all.put(state, jobs.getOrDefault(state, 0L));
    }
    jobs = Map.copyOf(all);
  }
}
