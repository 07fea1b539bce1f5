package dev.fanout.jdbc;

import java.time.Duration;
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
   * lets H2 read the index in order instead of sorting all PENDING items. No SKIP LOCKED is needed:
   * the job row lock already keeps every other claim of this job out. Numbered parameters keep the
   * parameter order the interface documents.
   */
  @Override
  public String claimSql() {
    return """
        SELECT idx, payload, attempts, fence FROM FINAL TABLE (
          MERGE INTO fanout_item i
          USING (SELECT job_id, idx FROM fanout_item
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
   */
  @Override
  public String renewSql() {
    return """
        MERGE INTO fanout_item i
        USING (SELECT job_id, idx FROM fanout_item
               WHERE state = 'RUNNING' AND owner = ?1
               FOR UPDATE SKIP LOCKED) mine
        ON i.job_id = mine.job_id AND i.idx = mine.idx
        WHEN MATCHED THEN UPDATE SET lease_until = ?2""";
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

  @Override
  public Map<String, String> driverProperties(Duration connectTimeout) {
    return Map.of();
  }

  @Override
  public Optional<String> connectionInitSql() {
    return Optional.of("SET LOCK_TIMEOUT " + LOCK_TIMEOUT.toMillis());
  }
}
