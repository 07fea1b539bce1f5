package dev.fanout.jdbc.crash;

import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.time.Instant;
import java.time.OffsetDateTime;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;

/**
 * One job as its rows read in the store's tables, behind the store's back: what a test checks the
 * store against after a crash. The rows are read in several statements, so the picture is whole
 * only while nothing writes to the job, as when its only worker has just been killed.
 *
 * @param state the job row's state
 * @param total the job row's item count
 * @param pending the job row's PENDING count
 * @param running the job row's RUNNING count
 * @param succeeded the job row's SUCCEEDED count
 * @param failed the job row's FAILED count
 * @param cancelled the job row's CANCELLED count
 * @param retries the job row's retry count
 * @param aggregate the job row's aggregate as JSON text, or null
 * @param itemsByState how many item rows are in each state, counted from the item rows
 * @param runningItems the RUNNING item rows
 */
record StoredJob(
    String state,
    long total,
    long pending,
    long running,
    long succeeded,
    long failed,
    long cancelled,
    long retries,
    String aggregate,
    Map<String, Long> itemsByState,
    List<RunningItem> runningItems) {

  /** A RUNNING item: who holds it and until when. */
  record RunningItem(long index, String owner, Instant leaseUntil) {}

  /** A settled item's result as stored. */
  record Result(long index, String state, Long seq, String value) {}

  long settled() {
    return succeeded + failed + cancelled;
  }

  boolean isFinal() {
    return state.equals("SUCCEEDED") || state.equals("FAILED") || state.equals("CANCELLED");
  }

  /** Reads a job, or fails when it is not there. */
  static StoredJob read(Connection connection, String jobId) throws SQLException {
    Map<String, Long> itemsByState = new TreeMap<>();
    try (PreparedStatement select =
        connection.prepareStatement(
            "SELECT state, COUNT(*) AS n FROM fanout_item WHERE job_id = ? GROUP BY state")) {
      select.setString(1, jobId);
      try (ResultSet rows = select.executeQuery()) {
        while (rows.next()) {
          itemsByState.put(rows.getString("state"), rows.getLong("n"));
        }
      }
    }
    List<RunningItem> runningItems = new ArrayList<>();
    try (PreparedStatement select =
        connection.prepareStatement(
            "SELECT idx, owner, lease_until FROM fanout_item"
                + " WHERE job_id = ? AND state = 'RUNNING' ORDER BY idx")) {
      select.setString(1, jobId);
      try (ResultSet rows = select.executeQuery()) {
        while (rows.next()) {
          OffsetDateTime lease = rows.getObject("lease_until", OffsetDateTime.class);
          runningItems.add(
              new RunningItem(
                  rows.getLong("idx"),
                  rows.getString("owner"),
                  lease == null ? null : lease.toInstant()));
        }
      }
    }
    try (PreparedStatement select =
        connection.prepareStatement(
            "SELECT state, total, pending, running, succeeded, failed, cancelled, retries,"
                + " aggregate FROM fanout_job WHERE id = ?")) {
      select.setString(1, jobId);
      try (ResultSet row = select.executeQuery()) {
        if (!row.next()) {
          throw new AssertionError("job " + jobId + " is not in the store");
        }
        return new StoredJob(
            row.getString("state"),
            row.getLong("total"),
            row.getLong("pending"),
            row.getLong("running"),
            row.getLong("succeeded"),
            row.getLong("failed"),
            row.getLong("cancelled"),
            row.getLong("retries"),
            row.getString("aggregate"),
            Map.copyOf(itemsByState),
            List.copyOf(runningItems));
      }
    }
  }

  /** Reads every item's result in index order. */
  static List<Result> results(Connection connection, String jobId) throws SQLException {
    try (PreparedStatement select =
        connection.prepareStatement(
            "SELECT idx, state, seq, result FROM fanout_item WHERE job_id = ? ORDER BY idx")) {
      select.setString(1, jobId);
      List<Result> results = new ArrayList<>();
      try (ResultSet rows = select.executeQuery()) {
        while (rows.next()) {
          long seq = rows.getLong("seq");
          results.add(
              new Result(
                  rows.getLong("idx"),
                  rows.getString("state"),
                  rows.wasNull() ? null : seq,
                  rows.getString("result")));
        }
      }
      return results;
    }
  }

  /**
   * Checks that items {@code 0..items-1} are each recorded exactly once: SUCCEEDED with the value
   * {@code 2 * index}, under a sequence number of its own between 1 and {@code items}.
   *
   * @param results every item's result, in index order
   * @return the results that break this, empty when none does
   */
  static List<String> notRecordedOnceAsTwiceTheIndex(List<Result> results, int items) {
    List<String> wrong = new ArrayList<>();
    if (results.size() != items) {
      wrong.add(results.size() + " item rows, not " + items);
    }
    Set<Long> seqs = new HashSet<>();
    for (int index = 0; index < Math.min(items, results.size()); index++) {
      Result r = results.get(index);
      if (r.index() != index
          || !r.state().equals("SUCCEEDED")
          || r.seq() == null
          || r.seq() < 1
          || r.seq() > items
          || !seqs.add(r.seq())
          || !String.valueOf(2L * index).equals(r.value())) {
        wrong.add(r.toString());
      }
    }
    return wrong;
  }

  /** The item rows in a state; zero when there are none. */
  long items(String itemState) {
    return itemsByState.getOrDefault(itemState, 0L);
  }

  /**
   * Tells whether the counts on the job row agree with its item rows: what every transaction of the
   * store must keep true, a killed one included.
   */
  boolean countsAgreeWithItems() {
    return pending == items("PENDING")
        && running == items("RUNNING")
        && succeeded == items("SUCCEEDED")
        && failed == items("FAILED")
        && cancelled == items("CANCELLED")
        && total == itemsByState.values().stream().mapToLong(Long::longValue).sum();
  }

  /**
   * Tells whether an item is leased to an engine with the given worker ID. The engine's lease owner
   * is its worker ID plus a token that changes at every start.
   */
  static boolean ownedBy(RunningItem item, String workerId) {
    return item.owner() != null && item.owner().startsWith(workerId + "#");
  }
}
