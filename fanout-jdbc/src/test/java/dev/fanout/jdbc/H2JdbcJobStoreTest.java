package dev.fanout.jdbc;

import static org.assertj.core.api.Assertions.assertThat;

import dev.fanout.JobId;
import dev.fanout.JobState;
import dev.fanout.spi.ClaimedTask;
import dev.fanout.spi.Completion;
import dev.fanout.spi.StoredResult;
import dev.fanout.spi.Verdict;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.List;
import org.flywaydb.core.Flyway;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The JDBC store's own behaviour on an embedded H2 file. */
class H2JdbcJobStoreTest extends JdbcJobStoreBehaviour {
  @TempDir Path folder;

  @Override
  TestDatabase createDatabase() {
    return new H2TestDatabase(folder);
  }

  /**
   * Doing without an index of the items' states must not make the statements that look for a job's
   * RUNNING items read all its items: each reads the unsettled items below {@code next_fresh}, a
   * range of the {@code (job_id, seq, idx)} index, and the claim of never-claimed items starts at
   * {@code next_fresh}.
   */
  @Test
  void the_statements_that_look_for_running_items_read_one_index_range() throws SQLException {
    H2Dialect dialect = new H2Dialect();
    try (Connection connection = database.connect()) {
      assertThat(bySeqRange(connection, dialect.renewSql()))
          .contains("JOB_ID = ?3", "SEQ IS NULL", "IDX < (SELECT NEXT_FRESH");
      assertThat(bySeqRange(connection, dialect.reclaimSql()))
          .contains("JOB_ID = ?1", "SEQ IS NULL", "IDX < (SELECT NEXT_FRESH");
      assertThat(bySeqRange(connection, dialect.jobsWithExpiredLeasesSql()))
          .contains("JOB_ID = J.ID", "SEQ IS NULL", "IDX < J.NEXT_FRESH");
      assertThat(bySeqRange(connection, H2Dialect.PICK_FRESH))
          .contains("JOB_ID = ?1", "SEQ IS NULL", "IDX >= ?6");
      assertThat(bySeqRange(connection, H2Dialect.PICK_BELOW))
          .contains("JOB_ID = ?1", "SEQ IS NULL", "IDX < ?6");
      // The fold's pages: a range of the primary key, read in its order, never sorted.
      assertThat(plan(connection, SucceededValues.PAGE_SQL))
          .containsPattern("PRIMARY_KEY_\\w+: JOB_ID = \\?1\\s+AND IDX > \\?2")
          .contains("/* index sorted */");
    }
  }

  /**
   * A batch of fresh reports is written without a query of its items first; one with a stale report
   * among them goes back to its savepoint and is recorded again after that query. H2's statement
   * statistics count the queries.
   */
  @Test
  void fresh_reports_are_recorded_without_reading_their_items_and_a_stale_one_with()
      throws SQLException {
    JobId id = sealedJob(8, 8);
    List<ClaimedTask> claimed = store.claim(id, "w", 8, T0, T0.plusSeconds(60));
    try (Connection connection = database.connect();
        Statement statement = connection.createStatement()) {
      statement.execute("SET QUERY_STATISTICS TRUE");

      List<StoredResult> fresh =
          store.complete(id, List.of(succeeded(claimed.get(0)), failed(claimed.get(1))), T0);
      long afterFresh = holderReads(connection);
      ClaimedTask two = claimed.get(2);
      List<StoredResult> mixed =
          store.complete(
              id,
              List.of(
                  succeeded(claimed.get(3)),
                  new Completion.Succeeded(2, two.fence() - 1, two.attempt(), "2", 1)),
              T0);

      assertThat(fresh).extracting(StoredResult::index).containsExactly(0L, 1L);
      assertThat(afterFresh).isZero();
      assertThat(mixed).extracting(StoredResult::index).containsExactly(3L);
      assertThat(holderReads(connection)).isEqualTo(1);
      statement.execute("SET QUERY_STATISTICS FALSE");
    }
  }

  /** How often the store has read reported items' rows since statistics were turned on. */
  private static long holderReads(Connection connection) throws SQLException {
    try (Statement statement = connection.createStatement();
        ResultSet rows =
            statement.executeQuery(
                "SELECT COALESCE(SUM(EXECUTION_COUNT), 0) FROM INFORMATION_SCHEMA.QUERY_STATISTICS"
                    + " WHERE SQL_STATEMENT LIKE 'SELECT idx, state, fence, attempts FROM%'")) {
      rows.next();
      return rows.getLong(1);
    }
  }

  /**
   * The index conditions by which a statement reads {@code fanout_item_by_seq}, as H2's plan shows
   * them, on one line; fails when the plan does not read that index.
   */
  private static String bySeqRange(Connection connection, String sql) throws SQLException {
    String plan = plan(connection, sql);
    String marker = "FANOUT_ITEM_BY_SEQ:";
    int start = plan.indexOf(marker);
    assertThat(start).as("the plan reads fanout_item_by_seq by a range:%n%s", plan).isNotNegative();
    int end = plan.indexOf("*/", start);
    return plan.substring(start + marker.length(), end).replaceAll("\\s+", " ").trim();
  }

  private static String plan(Connection connection, String sql) throws SQLException {
    try (PreparedStatement explain = connection.prepareStatement("EXPLAIN " + sql)) {
      for (int i = 1; i <= explain.getParameterMetaData().getParameterCount(); i++) {
        explain.setObject(i, null);
      }
      StringBuilder plan = new StringBuilder();
      try (ResultSet rows = explain.executeQuery()) {
        while (rows.next()) {
          plan.append(rows.getString(1)).append('\n');
        }
      }
      return plan.toString();
    }
  }

  /**
   * A job ended early keeps most of its items cancelled; they leave the unsettled range, so that
   * when its failed items run again, claims, heartbeats and reclaims read only those.
   */
  @Test
  void cancelled_items_leave_the_range_that_a_retried_job_s_claims_read() throws SQLException {
    JobId id = sealedJob(50, 5);
    List<ClaimedTask> first = store.claim(id, "w1", 5, T0, T0.plusSeconds(60));
    store.complete(
        id,
        first.stream()
            .map(
                t ->
                    (Completion)
                        new Completion.Failed(t.index(), t.fence(), t.attempt(), "\"no\"", 1))
            .toList(),
        T0);
    store.claim(id, "w1", 5, T0, T0.plusSeconds(60));
    store.finish(
        id,
        T0.plusSeconds(1),
        JobState.FAILED,
        null,
        (job, values) -> new Verdict(JobState.FAILED, null, null));
    assertThat(unsettledRange(id)).isZero();
    assertThat(store.results(id, 0, 100))
        .extracting(StoredResult::index)
        .containsExactly(0L, 1L, 2L, 3L, 4L);

    assertThat(store.retryFailed(id)).isPresent();
    assertThat(unsettledRange(id)).isEqualTo(5);
    assertThat(store.claim(id, "w1", 50, T0.plusSeconds(2), T0.plusSeconds(60)))
        .extracting(ClaimedTask::index)
        .containsExactly(0L, 1L, 2L, 3L, 4L);
  }

  private long unsettledRange(JobId id) throws SQLException {
    try (Connection connection = database.connect();
        PreparedStatement count =
            connection.prepareStatement(
                "SELECT COUNT(*) FROM fanout_item WHERE job_id = ? AND seq IS NULL")) {
      count.setString(1, id.value());
      try (ResultSet rows = count.executeQuery()) {
        rows.next();
        return rows.getLong(1);
      }
    }
  }

  /**
   * A store file from before claims kept {@code next_fresh}, holding a job part way through: an
   * item settled, one running, one waiting for its retry, two never claimed. The migration gives
   * the job its {@code next_fresh}, and the job goes on with every item claimed once, in order.
   */
  @Test
  void a_job_stored_before_next_fresh_goes_on_after_the_migration() throws SQLException {
    store.close();
    store = null;
    Path old = folder.resolve("old");
    String url = JdbcJobStore.h2Url(old);
    Flyway.configure()
        .dataSource(url, "", "")
        .locations("classpath:db/migration/h2")
        .table(SchemaMigrator.HISTORY_TABLE)
        .target("5")
        .load()
        .migrate();
    String id = "0190a1b2-0000-7000-8000-000000000001";
    try (Connection connection = DriverManager.getConnection(url);
        Statement sql = connection.createStatement()) {
      sql.execute(
          """
          INSERT INTO fanout_job (id, sealed, state, paused, spec, total, max_concurrency,
              pending, running, succeeded, failed, cancelled, retries, last_seq, created_at,
              started_at)
          VALUES ('%s', TRUE, 'RUNNING', FALSE, '{}', 5, 10, 3, 1, 1, 0, 0, 1, 1,
              TIMESTAMP WITH TIME ZONE '2026-01-01 00:00:00Z',
              TIMESTAMP WITH TIME ZONE '2026-01-01 00:00:00Z')"""
              .formatted(id));
      sql.execute(
          """
          INSERT INTO fanout_item (job_id, idx, state, payload, attempts, fence, seq, result,
              owner, lease_until, not_before)
          VALUES ('%1$s', 0, 'SUCCEEDED', '0', 1, 1, 1, '0', NULL, NULL, NULL),
                 ('%1$s', 1, 'RUNNING', '1', 1, 1, NULL, NULL, 'w0',
                  TIMESTAMP WITH TIME ZONE '2026-01-01 00:00:30Z', NULL),
                 ('%1$s', 2, 'PENDING', '2', 1, 2, NULL, NULL, NULL, NULL,
                  TIMESTAMP WITH TIME ZONE '2026-01-01 00:00:05Z'),
                 ('%1$s', 3, 'PENDING', '3', 0, 0, NULL, NULL, NULL, NULL, NULL),
                 ('%1$s', 4, 'PENDING', '4', 0, 0, NULL, NULL, NULL, NULL, NULL)"""
              .formatted(id));
    }

    store = JdbcJobStore.h2(old);
    JobId job = JobId.of(id);
    try (Connection connection = DriverManager.getConnection(url);
        Statement sql = connection.createStatement();
        ResultSet row = sql.executeQuery("SELECT next_fresh FROM fanout_job")) {
      row.next();
      assertThat(row.getLong(1)).isEqualTo(3);
    }
    assertThat(store.claim(job, "w1", 10, T0, T0.plusSeconds(60)))
        .extracting(ClaimedTask::index)
        .containsExactly(3L, 4L);
    List<ClaimedTask> retried = store.claim(job, "w1", 10, T0.plusSeconds(5), T0.plusSeconds(60));
    assertThat(retried).extracting(ClaimedTask::index).containsExactly(2L);
    assertThat(retried.getFirst().attempt()).isEqualTo(2);
    assertThat(store.reclaimExpired(T0.plusSeconds(30))).isOne();
    List<ClaimedTask> reclaimed =
        store.claim(job, "w1", 10, T0.plusSeconds(30), T0.plusSeconds(90));
    assertThat(reclaimed).extracting(ClaimedTask::index).containsExactly(1L);
    assertThat(store.claim(job, "w1", 10, T0.plusSeconds(30), T0.plusSeconds(90))).isEmpty();
    assertThat(
            store.complete(
                job,
                List.of(
                    new Completion.Succeeded(
                        1, reclaimed.getFirst().fence(), reclaimed.getFirst().attempt(), "1", 1)),
                T0.plusSeconds(31)))
        .hasSize(1);
  }
}
