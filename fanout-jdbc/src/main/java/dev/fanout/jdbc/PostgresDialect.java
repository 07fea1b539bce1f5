package dev.fanout.jdbc;

import dev.fanout.spi.ClaimedTask;
import dev.fanout.spi.StoreSignals;
import dev.fanout.spi.StoredResult;
import java.nio.charset.StandardCharsets;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.SQLException;
import java.time.Duration;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;
import javax.sql.DataSource;
import org.postgresql.PGConnection;
import org.postgresql.copy.CopyIn;

/** PostgreSQL 12 or newer: the store a cluster of engines shares. */
final class PostgresDialect implements Dialect {

  /** How many characters of COPY rows {@link #insertItems} gathers before it sends them. */
  private static final int COPY_BUFFER = 64 * 1_024;

  @Override
  public String urlPrefix() {
    return "jdbc:postgresql:";
  }

  @Override
  public String migrationFolder() {
    return "postgresql";
  }

  /**
   * The items are picked in a MATERIALIZED CTE, evaluated exactly once. The shorter {@code UPDATE
   * ... WHERE idx IN (SELECT ... LIMIT n FOR UPDATE SKIP LOCKED)} is not safe: when the planner
   * makes the subquery the inner side of a semi-join it rescans it per outer row, each rescan skips
   * the rows this statement already updated, and the statement claims far more than n.
   *
   * <p>The picked rows are then updated by their {@code ctid}s, a TID scan that reads exactly those
   * rows whatever the statistics say. Joining the CTE left the join to the planner, which, with
   * statistics taken while the job was being written, hashed every item of the table for each claim
   * (one half of the run-to-run swings between 5,000 and 19,000 tasks/s); the primary key by {@code
   * job_id = (scalar)} and {@code idx = ANY(ARRAY(...))} let it read every item of the job by
   * {@code job_id} alone when it took the job for a small one (see {@link #itemsByIndexArraySql}).
   * The rows stay locked from the pick to the update, so no other transaction can move them in
   * between. Nor can one have moved them after this statement's snapshot: every writer of PENDING
   * items holds the job row's lock, which the claim took before the statement began, and the
   * heartbeat touches only RUNNING ones. Were a row updated in that gap all the same, its picked
   * {@code ctid} would name a version the snapshot cannot see, the update would skip it, and it
   * would stay PENDING for the next claim: only the rows the update returns count as claimed.
   */
  @Override
  public List<ClaimedTask> claim(Connection connection, ClaimRequest request) throws SQLException {
    return Dialect.runClaim(connection, CLAIM_SQL, request, request.limit());
  }

  static final String CLAIM_SQL =
      """
        WITH picked AS MATERIALIZED (
          SELECT ctid FROM fanout_item
          WHERE job_id = ? AND state = 'PENDING' AND (not_before IS NULL OR not_before <= ?)
          ORDER BY idx
          LIMIT ?
          FOR UPDATE SKIP LOCKED)
        UPDATE fanout_item i
        SET state = 'RUNNING', owner = ?, lease_until = ?,
            attempts = i.attempts + 1, fence = i.fence + 1
        WHERE i.ctid = ANY (ARRAY(SELECT ctid FROM picked))
        RETURNING i.idx, i.payload, i.attempts, i.fence""";

  /**
   * The heartbeat holds no job lock, so it never waits for an item another transaction holds:
   * waiting there is how it could deadlock with a completion. An item skipped is being settled,
   * reclaimed or cancelled right now, and the next beat renews it if it is still running. The
   * locked rows are updated by {@code ctid}, as the claim updates its own, so that the plan cannot
   * become a join that hashes every item of the table.
   */
  @Override
  public String renewSql() {
    return """
        WITH mine AS MATERIALIZED (
          SELECT ctid FROM fanout_item
          WHERE state = 'RUNNING' AND owner = ?
          FOR UPDATE SKIP LOCKED)
        UPDATE fanout_item i SET lease_until = ?
        WHERE i.ctid = ANY (ARRAY(SELECT ctid FROM mine))""";
  }

  /**
   * NO KEY UPDATE excludes every other writer of the job row just as FOR UPDATE does, but lets the
   * foreign-key check of an acknowledgement insert through instead of making it wait.
   */
  @Override
  public String jobRowLock() {
    return "FOR NO KEY UPDATE";
  }

  @Override
  public String acknowledgeSql() {
    return """
        INSERT INTO fanout_ack (job_id, consumer, seq)
        SELECT v.job_id, v.consumer, v.seq
        FROM (VALUES (CAST(? AS VARCHAR(36)), CAST(? AS TEXT), CAST(? AS BIGINT)))
             AS v (job_id, consumer, seq)
        WHERE EXISTS (SELECT 1 FROM fanout_job j WHERE j.id = v.job_id)
        ON CONFLICT (job_id, consumer) DO UPDATE SET seq = GREATEST(fanout_ack.seq, EXCLUDED.seq)
        """;
  }

  /**
   * Autovacuum would analyze the table within a minute or so; until then every claim of the new job
   * pays for the stale estimate. ANALYZE samples a fixed number of rows, so it costs the same on
   * any table size.
   */
  @Override
  public Optional<String> refreshItemStatisticsSql() {
    return Optional.of("ANALYZE fanout_item");
  }

  @Override
  public Map<String, String> driverProperties(Duration connectTimeout) {
    String seconds = Long.toString(Math.max(1, connectTimeout.toSeconds()));
    return Map.of(
        // Without these an unreachable host blocks open() for the driver's own defaults.
        "connectTimeout", seconds, "loginTimeout", seconds, "ApplicationName", "fanout");
  }

  @Override
  public Optional<String> connectionInitSql() {
    return Optional.empty();
  }

  /**
   * One plan for any batch size, where a list of row values is parsed and planned anew. It reads
   * the items by primary key whatever their state, and the caller keeps the RUNNING ones: a {@code
   * state = 'RUNNING'} condition here lets the planner, misled by statistics taken before the job
   * ran, walk every RUNNING item of the job once per reported index.
   *
   * <p>Each index is looked up on its own, in a LATERAL subquery whose {@code LIMIT} keeps the
   * planner from flattening it into a join: the only plan left is one primary-key probe per index.
   * The earlier {@code job_id = ? AND idx = ANY(?)} let the planner weigh the array's probes
   * against reading the job's items by {@code job_id} alone, and with no statistics on the table
   * yet (a job under {@link JdbcJobStore#LARGE_JOB} items triggers no ANALYZE), or with many small
   * jobs beside a large one, it estimated a job at a few rows and read all of them for every batch:
   * on a 6,000-item job capped at 50 this statement took about a millisecond for a batch of a few
   * items, growing with the job, where a probe takes a few microseconds.
   */
  @Override
  public String itemsByIndexArraySql() {
    return """
        SELECT i.idx, i.state, i.fence, i.attempts
        FROM (SELECT CAST(? AS VARCHAR(36)) AS job_id) j
        CROSS JOIN unnest(?::bigint[]) AS w(idx)
        CROSS JOIN LATERAL (
          SELECT idx, state, fence, attempts FROM fanout_item
          WHERE job_id = j.job_id AND idx = w.idx
          LIMIT 1) i""";
  }

  /**
   * One UPDATE for the whole batch, joined to arrays: per-item statements cost about 150 µs each on
   * the server, which made recording results the store's bottleneck.
   *
   * <p>The guard is {@code seq IS NULL} with the fence rather than {@code state = 'RUNNING'}: every
   * move away from RUNNING but a settle bumps the fence, and a settle sets {@code seq}, so the two
   * say the same. The state condition matched the partial indexes on RUNNING items, and with stale
   * statistics the planner chose one of them as the outer side of a nested loop over the arrays:
   * 256 × 512 comparisons, 40 ms a batch instead of 3, the other half of the run-to-run swings.
   *
   * <p>The job ID comes as one more array, a column of the joined rows, so that the only index
   * condition on the items is the whole primary key taken from each row of the arrays: a nested
   * loop that looks each item up. As a parameter (it was a scalar subquery), it let the generic
   * plan PostgreSQL adopts after five executions, made while the item table had no statistics (a
   * job under {@link JdbcJobStore#LARGE_JOB} items triggers no ANALYZE) or while the average job
   * was small, scan every item of the job by {@code job_id} alone and join the arrays to them: 10
   * ms for six items of a 9,000-item job, which halved a node's throughput on 100 ms items at a cap
   * of 50. Adding {@code idx = ANY(array)} to that index condition was worse: the arrays became the
   * inner side, 1,000 × 1,000 comparisons, half a second for a full batch.
   */
  @Override
  public int settle(Connection connection, JobRef job, List<Settle> settles) throws SQLException {
    int n = settles.size();
    Long[] idx = new Long[n];
    Long[] fence = new Long[n];
    Integer[] attempts = new Integer[n];
    String[] state = new String[n];
    Long[] seq = new Long[n];
    String[] result = new String[n];
    String[] error = new String[n];
    Long[] millis = new Long[n];
    for (int i = 0; i < n; i++) {
      StoredResult r = settles.get(i).result();
      idx[i] = r.index();
      fence[i] = settles.get(i).fence();
      attempts[i] = r.attempts();
      state[i] = r.status().name();
      seq[i] = r.seq();
      result[i] = r.value();
      error[i] = r.error();
      millis[i] = r.durationMillis();
    }
    try (PreparedStatement update =
        connection.prepareStatement(
            """
            UPDATE fanout_item i
            SET state = c.state, seq = c.seq, result = c.result, error = c.error,
                duration_millis = c.millis, lease_until = NULL
            FROM unnest(?::bigint[], ?::bigint[], ?::text[], ?::bigint[], ?::text[], ?::text[],
                        ?::bigint[], ?::text[], ?::int[])
                 AS c(idx, fence, state, seq, result, error, millis, job, attempts)
            WHERE i.job_id = c.job AND i.idx = c.idx AND i.fence = c.fence AND i.seq IS NULL
              AND i.attempts = c.attempts""")) {
      update.setArray(1, connection.createArrayOf("bigint", idx));
      update.setArray(2, connection.createArrayOf("bigint", fence));
      update.setArray(3, connection.createArrayOf("text", state));
      update.setArray(4, connection.createArrayOf("bigint", seq));
      update.setArray(5, connection.createArrayOf("text", result));
      update.setArray(6, connection.createArrayOf("text", error));
      update.setArray(7, connection.createArrayOf("bigint", millis));
      String[] jobs = new String[n];
      Arrays.fill(jobs, job.id().value());
      update.setArray(8, connection.createArrayOf("text", jobs));
      update.setArray(9, connection.createArrayOf("integer", attempts));
      return update.executeUpdate();
    }
  }

  /**
   * Ten times the default: each batch costs a transaction that locks the job row, counts and
   * commits. Storing 100,000 items took about 450 ms in batches of 1,000, 295 ms in batches of
   * 5,000 and 265 ms in batches of 20,000. H2 keeps the default, since it grew slower with larger
   * transactions (750 ms at 1,000, 1,250 ms at 10,000).
   */
  @Override
  public int itemBatchSize() {
    return 10_000;
  }

  /**
   * {@code COPY ... FROM STDIN} instead of batched INSERTs, inside the caller's transaction like
   * any other statement: the server parses no statement per row. Measured on 100,000 items, with
   * the per-row foreign-key check already gone (migration V5), it took a sixth less time than the
   * rewritten multi-row INSERTs.
   */
  @Override
  public void insertItems(
      Connection connection, JobRef job, long firstIndex, List<String> items, int chunk)
      throws SQLException {
    CopyIn copy =
        connection
            .unwrap(PGConnection.class)
            .getCopyAPI()
            .copyIn("COPY fanout_item (job_id, idx, state, payload, attempts, fence) FROM STDIN");
    try {
      StringBuilder rows = new StringBuilder(COPY_BUFFER + 1_024);
      long index = firstIndex;
      for (String item : items) {
        rows.append(job.id().value()).append('\t').append(index++).append("\tPENDING\t");
        appendCopyText(rows, Objects.requireNonNull(item, "item"));
        rows.append("\t0\t0\n");
        if (rows.length() >= COPY_BUFFER) {
          writeCopy(copy, rows);
        }
      }
      writeCopy(copy, rows);
      long stored = copy.endCopy();
      if (stored != items.size()) {
        throw new SQLException(
            "stored " + stored + " of " + items.size() + " new items of job " + job.id());
      }
    } catch (SQLException | RuntimeException e) {
      // Ends the COPY, so that the caller's rollback, not this failure, decides the connection's
      // state; the rows sent so far go with the rollback.
      if (copy.isActive()) {
        try {
          copy.cancelCopy();
        } catch (SQLException cancelFailure) {
          e.addSuppressed(cancelFailure);
        }
      }
      throw e;
    }
  }

  private static void writeCopy(CopyIn copy, StringBuilder rows) throws SQLException {
    byte[] bytes = rows.toString().getBytes(StandardCharsets.UTF_8);
    copy.writeToCopy(bytes, 0, bytes.length);
    rows.setLength(0);
  }

  /**
   * Appends a value in COPY's text format, where a backslash starts an escape and a tab, newline or
   * carriage return would end the field or the row.
   */
  private static void appendCopyText(StringBuilder out, String value) {
    for (int i = 0; i < value.length(); i++) {
      char c = value.charAt(i);
      switch (c) {
        case '\\' -> out.append("\\\\");
        case '\t' -> out.append("\\t");
        case '\n' -> out.append("\\n");
        case '\r' -> out.append("\\r");
        default -> out.append(c);
      }
    }
  }

  /** LISTEN/NOTIFY: every process sharing the database hears every node's signals. */
  @Override
  public StoreSignals signals(DataSource pool, String redactedUrl) {
    return PostgresSignals.start(pool, redactedUrl);
  }
}
