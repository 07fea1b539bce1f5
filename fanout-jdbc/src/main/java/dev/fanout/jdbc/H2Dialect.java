package dev.fanout.jdbc;

import dev.fanout.JobId;
import dev.fanout.spi.ClaimedTask;
import dev.fanout.spi.StoredResult;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;

/** Embedded H2 2.x: one file, several connections of one process. */
final class H2Dialect implements Dialect {

  /**
   * H2's default lock timeout is two seconds; a claim waits for the job row while finish() folds a
   * large job's results under its lock, which takes longer. Past this wait the claim fails with a
   * StoreException and the engine retries it.
   */
  static final Duration LOCK_TIMEOUT = Duration.ofSeconds(30);

  @Override
  public String urlPrefix() {
    return "jdbc:h2:";
  }

  @Override
  public String migrationFolder() {
    return "h2";
  }

  /**
   * The most items a job can have: an item's key is its job's number times this plus its index (see
   * the V7 migration).
   */
  static final long ITEMS_PER_JOB = 1L << 32;

  /**
   * Items are keyed by one {@code BIGINT}, {@code k}: the job's {@code num} times {@link
   * #ITEMS_PER_JOB} plus the item's index. H2 keys a table's rows by its primary key only when that
   * is one integer column, and moves every index entry of a row it updates; keyed by {@code
   * (job_id, idx)}, each claim and settle moved three entries (the row's, the key's and {@code
   * fanout_item_by_seq}'s), now two (see the V7 migration).
   */
  @Override
  public String itemBaseSql() {
    return "num * " + ITEMS_PER_JOB;
  }

  @Override
  public String itemAtSql() {
    return "k = ?";
  }

  @Override
  public int bindItemAt(PreparedStatement statement, int parameter, JobRef job, long index)
      throws SQLException {
    statement.setLong(parameter, key(job, index));
    return parameter + 1;
  }

  /**
   * The key of a job's item, or -1, which no item has (job numbers start at 1), for an index
   * outside the job's range: base plus such an index would be another job's item, and a stale or
   * broken report that names it must reach nothing.
   */
  private static long key(JobRef job, long index) {
    return index >= 0 && index < ITEMS_PER_JOB ? job.itemBase() + index : -1;
  }

  @Override
  public String itemsBetweenSql() {
    return "k >= ? AND k < ?";
  }

  /** The bounds are kept within the job's own keys, whatever the caller passes. */
  @Override
  public int bindItemsBetween(
      PreparedStatement statement, int parameter, JobRef job, long from, long to)
      throws SQLException {
    statement.setLong(parameter, job.itemBase() + Math.clamp(from, 0, ITEMS_PER_JOB));
    statement.setLong(parameter + 1, job.itemBase() + Math.clamp(to, 0, ITEMS_PER_JOB));
    return parameter + 2;
  }

  @Override
  public String itemOrderSql() {
    return "k";
  }

  @Override
  public String itemsAmongSql(int count) {
    return "k IN (" + String.join(", ", Collections.nCopies(count, "?")) + ")";
  }

  /**
   * Claims in index order without an index of the items' states (see the V6 migration; H2 moves
   * every index entry of a row it updates, whichever columns change, so each index costs every
   * claim and settle). A job's items from {@code next_fresh} on have never been claimed, so they
   * are all PENDING and due, and the claim takes them from there in index order; the PENDING items
   * below it (retries, reclaims, retried failures) are the job's PENDING count less its items from
   * {@code next_fresh} on, and only when there are any is the range below {@code next_fresh} of the
   * unsettled items ({@code seq IS NULL}) searched first, stepping over the RUNNING ones there. The
   * job row lock, which the caller holds, keeps every other claim of the job out and {@code
   * next_fresh} true.
   */
  @Override
  public List<ClaimedTask> claim(Connection connection, ClaimRequest request) throws SQLException {
    long nextFresh;
    try (PreparedStatement select =
        connection.prepareStatement("SELECT next_fresh FROM fanout_job WHERE id = ?")) {
      select.setString(1, request.job().value());
      try (ResultSet row = select.executeQuery()) {
        if (!row.next()) {
          return List.of();
        }
        nextFresh = row.getLong(1);
      }
    }
    long fresh = request.total() - nextFresh;
    List<ClaimedTask> claimed = new ArrayList<>();
    if (request.pending() > fresh) {
      claimed.addAll(
          Dialect.runClaim(connection, CLAIM_BELOW, request, request.limit(), nextFresh));
    }
    int room = request.limit() - claimed.size();
    if (room > 0 && fresh > 0) {
      List<ClaimedTask> taken = Dialect.runClaim(connection, CLAIM_FRESH, request, room, nextFresh);
      if (!taken.isEmpty()) {
        long last = taken.stream().mapToLong(ClaimedTask::index).max().getAsLong();
        try (PreparedStatement advance =
            connection.prepareStatement("UPDATE fanout_job SET next_fresh = ? WHERE id = ?")) {
          advance.setLong(1, last + 1);
          advance.setString(2, request.job().value());
          advance.executeUpdate();
        }
        claimed.addAll(taken);
      }
    }
    return claimed;
  }

  /** Then no item from {@code next_fresh} on is PENDING any more, so none is left there. */
  @Override
  public void cancelUnsettled(Connection connection, JobId id) throws SQLException {
    Dialect.super.cancelUnsettled(connection, id);
    try (PreparedStatement none =
        connection.prepareStatement("UPDATE fanout_job SET next_fresh = total WHERE id = ?")) {
      none.setString(1, id.value());
      none.executeUpdate();
    }
  }

  /**
   * As the default does, and the cancelled items leave the unsettled range: their seq becomes
   * {@code Long.MIN_VALUE + idx}, below every placeholder and every seq a reader asks for. Left in
   * that range, they would stay in the way of every claim, heartbeat and reclaim should the job run
   * again ({@code retryFailed}): a large job ended early leaves most of its items cancelled.
   */
  @Override
  public String cancelItemsSql() {
    return """
        UPDATE fanout_item
        SET state = 'CANCELLED', fence = fence + 1, lease_until = NULL,
            seq = idx + CAST(-9223372036854775808 AS BIGINT)
        WHERE job_id = ? AND state IN ('PENDING', 'RUNNING')""";
  }

  /**
   * The items a claim takes, lowest index first, among a job's unsettled items; {@code %s} is the
   * range of indexes. Ordering by every column of the index (the first two are fixed by the WHERE)
   * lets H2 read the index in order instead of sorting, and USE INDEX keeps the optimizer from
   * picking another index and sorting anyway: that made one run in ten of a 100,000-item job four
   * times slower. No SKIP LOCKED is needed: the job row lock already keeps every other claim of
   * this job out.
   */
  private static final String PICK =
      """
      SELECT k FROM fanout_item USE INDEX (fanout_item_by_seq)
      WHERE job_id = ?1 AND seq IS NULL AND %s AND state = 'PENDING'
        AND (not_before IS NULL OR not_before <= ?2)
      ORDER BY job_id, seq, idx
      FETCH FIRST ?3 ROWS ONLY""";

  /** The PENDING items below {@code next_fresh}, among the RUNNING ones there. */
  static final String PICK_BELOW = PICK.formatted("idx < ?6");

  /**
   * The never-claimed items: the state and due-time conditions always hold there, and stay as a
   * guard.
   */
  static final String PICK_FRESH = PICK.formatted("idx >= ?6");

  static final String CLAIM_BELOW = claimPicked(PICK_BELOW);
  static final String CLAIM_FRESH = claimPicked(PICK_FRESH);

  /**
   * H2 returns the rows a statement changed through FINAL TABLE. The items are picked in MERGE's
   * USING source, which H2 reads once; an {@code UPDATE ... WHERE idx IN (SELECT ... FETCH FIRST
   * n)} would run its subquery again for every candidate row. Parameters as {@link
   * Dialect#runClaim}, then 6 {@code next_fresh}.
   */
  private static String claimPicked(String pick) {
    return """
        SELECT idx, payload, attempts, fence FROM FINAL TABLE (
          MERGE INTO fanout_item i
          USING (%s) picked
          ON i.k = picked.k
          WHEN MATCHED THEN UPDATE
            SET state = 'RUNNING', owner = ?4, lease_until = ?5,
                attempts = i.attempts + 1, fence = i.fence + 1)"""
        .formatted(pick);
  }

  /**
   * The heartbeat holds no job lock, so it never waits for an item another transaction holds:
   * waiting there deadlocks it with a completion that updates the same items in another order. The
   * items are picked, skipping locked ones, in MERGE's USING source, which H2 reads once. An item
   * skipped is being settled, reclaimed or cancelled right now, and the next beat renews it if it
   * is still running.
   *
   * <p>H2 has no index of RUNNING items by owner or lease (an index that held the state would move
   * an entry for every claim), so the statement runs job by job, and finds a job's RUNNING items
   * among its unsettled ones below {@code next_fresh}, a range of the {@code (job_id, seq, idx)}
   * index: the job's running items and its few PENDING ones there. (A join with the jobs would do
   * it in one statement, but H2's FOR UPDATE locks the joined job rows too, and the heartbeat must
   * take no job lock.)
   */
  @Override
  public String renewSql() {
    return """
        MERGE INTO fanout_item i
        USING (%s AND owner = ?1 FOR UPDATE SKIP LOCKED) mine
        ON i.k = mine.k
        WHEN MATCHED THEN UPDATE SET lease_until = ?2"""
        .formatted(runningOf("?3"));
  }

  @Override
  public boolean renewsJobByJob() {
    return true;
  }

  /**
   * Job by job, as {@link #renewSql()} finds RUNNING items: only sealed jobs that are not final
   * have any, and the join lets H2 look each one's up among its unsettled items below {@code
   * next_fresh} in the {@code (job_id, seq, idx)} index. (With {@code job_id IN (SELECT ...)}
   * instead, H2 seeks by the job alone and reads every item of it.) It locks nothing.
   */
  @Override
  public String jobsWithExpiredLeasesSql() {
    return """
        SELECT DISTINCT j.id AS job_id
        FROM fanout_job j JOIN fanout_item i USE INDEX (fanout_item_by_seq)
          ON i.job_id = j.id AND i.seq IS NULL AND i.idx < j.next_fresh
        WHERE j.sealed AND j.state IN ('ACCEPTED', 'RUNNING')
          AND i.state = 'RUNNING' AND i.lease_until <= ?
        ORDER BY job_id""";
  }

  /**
   * Among the job's unsettled items below {@code next_fresh}, as {@link #renewSql()} looks. The
   * items are picked in MERGE's USING source because only a query takes USE INDEX: a plain UPDATE
   * went by the primary key and read every item below {@code next_fresh}, settled ones included.
   * The ON clause checks the lease again: a heartbeat may renew an item the source read as expired,
   * and after waiting for the heartbeat's row lock H2 checks only the ON clause.
   */
  @Override
  public String reclaimSql() {
    return """
        MERGE INTO fanout_item i
        USING (%s AND lease_until <= ?2) expired
        ON i.k = expired.k
          AND i.state = 'RUNNING' AND i.lease_until <= ?2
        WHEN MATCHED THEN UPDATE
          SET state = 'PENDING', fence = i.fence + 1, owner = NULL, lease_until = NULL"""
        .formatted(runningOf("?1"));
  }

  /**
   * A job's RUNNING items, found among its unsettled items below {@code next_fresh}: a range of the
   * {@code (job_id, seq, idx)} index that holds them and the job's few PENDING items there.
   *
   * @param job the parameter that holds the job's ID
   */
  private static String runningOf(String job) {
    return """
        SELECT k FROM fanout_item USE INDEX (fanout_item_by_seq)
        WHERE job_id = %1$s AND seq IS NULL
          AND idx < (SELECT next_fresh FROM fanout_job WHERE id = %1$s)
          AND state = 'RUNNING'"""
        .formatted(job);
  }

  @Override
  public String jobRowLock() {
    return "FOR UPDATE";
  }

  @Override
  public String acknowledgeSql() {
    return """
        MERGE INTO fanout_ack a
        USING (SELECT CAST(? AS VARCHAR(36)) AS job_id, CAST(? AS VARCHAR) AS consumer,
                      CAST(? AS BIGINT) AS seq) v
        ON a.job_id = v.job_id AND a.consumer = v.consumer
        WHEN MATCHED AND a.seq < v.seq THEN UPDATE SET seq = v.seq
        WHEN NOT MATCHED AND EXISTS (SELECT 1 FROM fanout_job j WHERE j.id = v.job_id)
          THEN INSERT (job_id, consumer, seq) VALUES (v.job_id, v.consumer, v.seq)
        """;
  }

  /** H2 picks the claim's index from the query's shape, not from statistics. */
  @Override
  public Optional<String> refreshItemStatisticsSql() {
    return Optional.empty();
  }

  /**
   * Rows per multi-row INSERT or MERGE: few statement texts for H2 to parse and cache, few runs.
   */
  static final int ROWS_PER_STATEMENT = 64;

  /**
   * An INSERT per {@value #ROWS_PER_STATEMENT} items, with the items as a VALUES list: H2 runs each
   * entry of a JDBC batch as a statement of its own, with its set-up and undo bookkeeping, where a
   * multi-row INSERT pays them once per chunk.
   */
  @Override
  public void insertItems(
      Connection connection, JobRef job, long firstIndex, List<String> items, int chunk)
      throws SQLException {
    if (firstIndex + items.size() > ITEMS_PER_JOB) {
      throw new IllegalArgumentException(
          String.format(
              Locale.ROOT,
              "job %s cannot have %,d items: an H2 store holds at most %,d per job",
              job.id(),
              firstIndex + items.size(),
              ITEMS_PER_JOB));
    }
    long index = firstIndex;
    for (int from = 0; from < items.size(); from += ROWS_PER_STATEMENT) {
      List<String> part = items.subList(from, Math.min(items.size(), from + ROWS_PER_STATEMENT));
      try (PreparedStatement insert =
          connection.prepareStatement(
              "INSERT INTO fanout_item (k, job_id, idx, state, payload, attempts, fence) VALUES "
                  + String.join(
                      ", ", Collections.nCopies(part.size(), "(?, ?, ?, 'PENDING', ?, 0, 0)")))) {
        int parameter = 1;
        for (String item : part) {
          insert.setLong(parameter++, job.itemBase() + index);
          insert.setString(parameter++, job.id().value());
          insert.setLong(parameter++, index++);
          insert.setString(parameter++, Objects.requireNonNull(item, "item"));
        }
        insert.executeUpdate();
      }
    }
  }

  @Override
  public boolean recordsBeforeReading() {
    return true;
  }

  /**
   * A MERGE per {@value #ROWS_PER_STATEMENT} items, with the items as a VALUES list: one
   * statement's set up, plan and undo bookkeeping for many items, where the JDBC batch of per-item
   * UPDATEs paid them per item. The guard is PostgreSQL's (the fence, no sequence number yet, the
   * attempt the result records) and the state: the store may write a batch before it reads the
   * items, and the row is found by its primary key either way.
   */
  @Override
  public int settle(Connection connection, JobRef job, List<Settle> settles) throws SQLException {
    int applied = 0;
    for (int from = 0; from < settles.size(); from += ROWS_PER_STATEMENT) {
      List<Settle> chunk =
          settles.subList(from, Math.min(settles.size(), from + ROWS_PER_STATEMENT));
      try (PreparedStatement merge = connection.prepareStatement(settleSql(chunk.size()))) {
        int parameter = 1;
        for (Settle s : chunk) {
          StoredResult r = s.result();
          merge.setLong(parameter++, key(job, r.index()));
          merge.setLong(parameter++, s.fence());
          merge.setInt(parameter++, r.attempts());
          merge.setString(parameter++, r.status().name());
          merge.setLong(parameter++, r.seq());
          merge.setString(parameter++, r.value());
          merge.setString(parameter++, r.error());
          merge.setLong(parameter++, r.durationMillis());
        }
        applied += merge.executeUpdate();
      }
    }
    return applied;
  }

  /** The settle of {@code rows} items: parameters per row as {@link #settle} binds them. */
  static String settleSql(int rows) {
    String values =
        String.join(
            ", ",
            Collections.nCopies(
                rows,
                "(CAST(? AS BIGINT), CAST(? AS BIGINT), CAST(? AS INTEGER),"
                    + " CAST(? AS VARCHAR(16)), CAST(? AS BIGINT), CAST(? AS VARCHAR),"
                    + " CAST(? AS VARCHAR), CAST(? AS BIGINT))"));
    return "MERGE INTO fanout_item i USING (VALUES "
        + values
        + ") AS c(k, fence, attempts, state, seq, result, error, millis)"
        + " ON i.k = c.k AND i.fence = c.fence AND i.seq IS NULL"
        + " AND i.attempts = c.attempts AND i.state = 'RUNNING'"
        + " WHEN MATCHED THEN UPDATE SET state = c.state, seq = c.seq,"
        + " result = c.result, error = c.error, duration_millis = c.millis,"
        + " lease_until = NULL";
  }

  @Override
  public Map<String, String> driverProperties(Duration connectTimeout) {
    return Map.of();
  }

  @Override
  public Optional<String> connectionInitSql() {
    return Optional.of("SET LOCK_TIMEOUT " + LOCK_TIMEOUT.toMillis());
  }
}
