package dev.fanout.jdbc;

import dev.fanout.JobId;
import dev.fanout.spi.StoredResult;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.SQLException;
import java.time.Duration;
import java.util.Collections;
import java.util.List;
import java.util.Map;
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
   * H2 returns the rows a statement changed through FINAL TABLE. The items are picked in MERGE's
   * USING source, which H2 reads once; an {@code UPDATE ... WHERE idx IN (SELECT ... FETCH FIRST
   * n)} would run its subquery again for every candidate row, which holds the job lock for seconds
   * on a large job. Ordering by every column of the index (the first two are fixed by the WHERE)
   * lets H2 read the index in order instead of sorting all PENDING items, and USE INDEX keeps the
   * optimizer, whose statistics change as the job runs, from picking another index and sorting
   * anyway: that made one run in ten of a 100,000-item job four times slower. No SKIP LOCKED is
   * needed: the job row lock already keeps every other claim of this job out. Numbered parameters
   * keep the parameter order the interface documents.
   */
  @Override
  public String claimSql() {
    return """
        SELECT idx, payload, attempts, fence FROM FINAL TABLE (
          MERGE INTO fanout_item i
          USING (SELECT job_id, idx FROM fanout_item USE INDEX (fanout_item_by_state)
                 WHERE job_id = ?1 AND state = 'PENDING'
                   AND (not_before IS NULL OR not_before <= ?2)
                 ORDER BY job_id, state, idx
                 FETCH FIRST ?3 ROWS ONLY) picked
          ON i.job_id = picked.job_id AND i.idx = picked.idx
          WHEN MATCHED THEN UPDATE
            SET state = 'RUNNING', owner = ?4, lease_until = ?5,
                attempts = i.attempts + 1, fence = i.fence + 1)""";
  }

  /**
   * The heartbeat holds no job lock, so it never waits for an item another transaction holds:
   * waiting there deadlocks it with a completion that updates the same items in another order. The
   * items are picked, skipping locked ones, in MERGE's USING source, which H2 reads once. An item
   * skipped is being settled, reclaimed or cancelled right now, and the next beat renews it if it
   * is still running.
   *
   * <p>H2 has no index of RUNNING items by owner or lease (see the V2 migration: each cost every
   * item two index moves in claim and two in settle), so the statement runs job by job, and finds a
   * job's RUNNING items as a range of the {@code (job_id, state, idx)} index: at most the job's
   * concurrency cap of rows. (A join with the jobs would do it in one statement, but H2's FOR
   * UPDATE locks the joined job rows too, and the heartbeat must take no job lock.)
   */
  @Override
  public String renewSql() {
    return """
        MERGE INTO fanout_item i
        USING (SELECT job_id, idx FROM fanout_item
               WHERE job_id = ?3 AND state = 'RUNNING' AND owner = ?1
               FOR UPDATE SKIP LOCKED) mine
        ON i.job_id = mine.job_id AND i.idx = mine.idx
        WHEN MATCHED THEN UPDATE SET lease_until = ?2""";
  }

  @Override
  public boolean renewsJobByJob() {
    return true;
  }

  /**
   * Job by job, as {@link #renewSql()} finds RUNNING items: only sealed jobs that are not final
   * have any, and the join lets H2 look each one's RUNNING items up in the {@code (job_id, state,
   * idx)} index. (With {@code job_id IN (SELECT ...)} instead, H2 seeks by the job alone and reads
   * every item of it.) It locks nothing.
   */
  @Override
  public String jobsWithExpiredLeasesSql() {
    return """
        SELECT DISTINCT j.id AS job_id
        FROM fanout_job j JOIN fanout_item i ON i.job_id = j.id AND i.state = 'RUNNING'
        WHERE j.sealed AND j.state IN ('ACCEPTED', 'RUNNING') AND i.lease_until <= ?
        ORDER BY job_id""";
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

  /** Rows per settling MERGE: few statement texts for H2 to parse and cache, few executions. */
  static final int SETTLE_ROWS = 64;

  /**
   * A MERGE per {@value #SETTLE_ROWS} items, with the items as a VALUES list: one statement's set
   * up, plan and undo bookkeeping for many items, where the JDBC batch of per-item UPDATEs paid
   * them per item. The guard is the one PostgreSQL's settle uses: the fence, and no sequence number
   * yet.
   */
  @Override
  public int settle(Connection connection, JobId id, List<Settle> settles) throws SQLException {
    int applied = 0;
    for (int from = 0; from < settles.size(); from += SETTLE_ROWS) {
      List<Settle> chunk = settles.subList(from, Math.min(settles.size(), from + SETTLE_ROWS));
      String rows =
          String.join(
              ", ",
              Collections.nCopies(
                  chunk.size(),
                  "(CAST(? AS BIGINT), CAST(? AS BIGINT), CAST(? AS VARCHAR(16)),"
                      + " CAST(? AS BIGINT), CAST(? AS VARCHAR), CAST(? AS VARCHAR),"
                      + " CAST(? AS BIGINT))"));
      try (PreparedStatement merge =
          connection.prepareStatement(
              "MERGE INTO fanout_item i USING (VALUES "
                  + rows
                  + ") AS c(idx, fence, state, seq, result, error, millis)"
                  + " ON i.job_id = ? AND i.idx = c.idx AND i.fence = c.fence AND i.seq IS NULL"
                  + " WHEN MATCHED THEN UPDATE SET state = c.state, seq = c.seq,"
                  + " result = c.result, error = c.error, duration_millis = c.millis,"
                  + " lease_until = NULL")) {
        int parameter = 1;
        for (Settle s : chunk) {
          StoredResult r = s.result();
          merge.setLong(parameter++, r.index());
          merge.setLong(parameter++, s.fence());
          merge.setString(parameter++, r.status().name());
          merge.setLong(parameter++, r.seq());
          merge.setString(parameter++, r.value());
          merge.setString(parameter++, r.error());
          merge.setLong(parameter++, r.durationMillis());
        }
        merge.setString(parameter, id.value());
        applied += merge.executeUpdate();
      }
    }
    return applied;
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
