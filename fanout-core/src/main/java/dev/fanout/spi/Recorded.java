package dev.fanout.spi;

import java.util.List;
import java.util.Objects;

/**
 * What one {@link JobStore#completeAndClaim} call did.
 *
 * @param settled the items it settled, with their sequence numbers, in sequence order
 * @param claimed the items it claimed, in index order
 * @param drained true when, as the call committed, the job had no PENDING and no RUNNING items
 *     left: it is ready to be finished
 */
public record Recorded(List<StoredResult> settled, List<ClaimedTask> claimed, boolean drained) {

  /**
   * Copies the lists, so a caller never sees a store's working list change.
   *
   * @param settled the settled items
   * @param claimed the claimed items
   * @param drained whether the job had nothing left to run
   */
  public Recorded {
    settled = List.copyOf(Objects.requireNonNull(settled, "settled"));
    claimed = List.copyOf(Objects.requireNonNull(claimed, "claimed"));
  }
}
