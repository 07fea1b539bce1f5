package dev.fanout.jdbc;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

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
import java.util.ArrayList;
import java.util.List;
import org.flywaydb.core.Flyway;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

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
      // The fold's pages: a range of the items' key, read in its order, never sorted.
      assertThat(plan(connection, SucceededValues.pageSql(dialect)))
          .containsPattern("PRIMARY_KEY_\\w+: K >= \\?1\\s+AND K < \\?2")
          .contains("/* index sorted */");
    }
  }

  /**
   * Items are keyed by one number (the V7 migration): every statement that finds items by index
   * looks their keys up, or reads a range of them, in the rows' own key, and none reads the job's
   * items one by one.
   */
  @Test
  void the_statements_that_find_items_by_index_look_up_the_rows_key() throws SQLException {
    H2Dialect dialect = new H2Dialect();
    try (Connection connection = database.connect()) {
      assertThat(rowKeyCondition(connection, JdbcJobStore.retrySql(dialect))).isEqualTo("K = ?3");
      assertThat(
              rowKeyCondition(
                  connection,
                  "SELECT idx, state, fence, attempts FROM fanout_item WHERE "
                      + dialect.itemsAmongSql(3)))
          .isEqualTo("K IN(?1, ?2, ?3)");
      assertThat(
              rowKeyCondition(
                  connection, "DELETE FROM fanout_item WHERE " + dialect.itemsBetweenSql()))
          .isEqualTo("K >= ?1 AND K < ?2");
      assertThat(rowKeyCondition(connection, JdbcJobStore.orderPageSql(dialect)))
          .isEqualTo("K >= ?1 AND K < ?2");
      assertThat(rowKeyCondition(connection, JdbcJobStore.orderNumberSql(dialect)))
          .isEqualTo("K >= ?2 AND K < ?3");
      assertThat(rowKeyCondition(connection, H2Dialect.settleSql(2))).isEqualTo("K = C.K");
      // H2 shows a FINAL TABLE's plan without the plan of the statement inside.
      for (String claim : List.of(H2Dialect.CLAIM_FRESH, H2Dialect.CLAIM_BELOW)) {
        String merge = claim.substring(claim.indexOf("MERGE INTO"), claim.lastIndexOf(')'));
        assertThat(rowKeyCondition(connection, merge)).isEqualTo("K = PICKED.K");
      }
      assertThat(rowKeyCondition(connection, dialect.renewSql())).isEqualTo("K = MINE.K");
      assertThat(rowKeyCondition(connection, dialect.reclaimSql())).isEqualTo("K = EXPIRED.K");
    }
  }

  /**
   * The condition by which a statement reads {@code fanout_item}'s rows by their key, as H2's plan
   * shows it, on one line; fails when the plan reads them some other way.
   */
  private static String rowKeyCondition(Connection connection, String sql) throws SQLException {
    String plan = plan(connection, sql);
    java.util.regex.Matcher key =
        java.util.regex.Pattern.compile("PUBLIC\\.PRIMARY_KEY_\\w+: ([^*]*)\\*/").matcher(plan);
    assertThat(key.find()).as("the plan reads fanout_item by its key:%n%s", plan).isTrue();
    return key.group(1).replaceAll("\\s+", " ").trim();
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
    Path old = folder.resolve("old");
    String url = storeMigratedTo(old, "5");
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

  /**
   * A store file from before items were keyed by one number (V6), holding two jobs part way
   * through. The migration numbers the jobs and keys their items; both go on from where they were,
   * a third job created after it gets a number of its own, and each job's fold reads its own items.
   * Interrupted, a start was killed after the migration's steps before its copy had run (H2 commits
   * each DDL statement): the next start runs the migration again, whole.
   */
  @ParameterizedTest(name = "interrupted before: {0}")
  @ValueSource(booleans = {false, true})
  void jobs_stored_before_items_were_keyed_go_on_after_the_migration(boolean interrupted)
      throws Exception {
    Path old = folder.resolve("v6");
    String url = storeMigratedTo(old, "6");
    List<String> ids =
        List.of("0190a1b2-0000-7000-8000-00000000000a", "0190a1b2-0000-7000-8000-00000000000b");
    try (Connection connection = DriverManager.getConnection(url);
        Statement sql = connection.createStatement()) {
      for (String id : ids) {
        sql.execute(
            """
            INSERT INTO fanout_job (id, sealed, state, paused, spec, total, max_concurrency,
                pending, running, succeeded, failed, cancelled, retries, last_seq, created_at,
                started_at, next_fresh)
            VALUES ('%s', TRUE, 'RUNNING', FALSE, '{}', 3, 10, 1, 1, 1, 0, 0, 0, 1,
                TIMESTAMP WITH TIME ZONE '2026-01-01 00:00:00Z',
                TIMESTAMP WITH TIME ZONE '2026-01-01 00:00:00Z', 2)"""
                .formatted(id));
        sql.execute(
            """
            INSERT INTO fanout_item (job_id, idx, state, payload, attempts, fence, seq, result,
                owner, lease_until)
            VALUES ('%1$s', 0, 'SUCCEEDED', '"%1$s-0"', 1, 1, 1, '"%1$s-0"', NULL, NULL),
                   ('%1$s', 1, 'RUNNING', '"%1$s-1"', 1, 1, NULL, NULL, 'w0',
                    TIMESTAMP WITH TIME ZONE '2026-01-01 00:00:30Z'),
                   ('%1$s', 2, 'PENDING', '"%1$s-2"', 0, 0, NULL, NULL, NULL, NULL)"""
                .formatted(id));
      }
      if (interrupted) {
        for (String step : v7StepsBeforeTheCopy()) {
          sql.execute(step);
        }
      }
    }

    store = JdbcJobStore.h2(old);
    sealedJob(1, 1); // a job created after the migration
    try (Connection connection = DriverManager.getConnection(url);
        Statement sql = connection.createStatement();
        ResultSet rows =
            sql.executeQuery(
                "SELECT i.k, j.num, i.idx FROM fanout_item i JOIN fanout_job j ON j.id = i.job_id")) {
      java.util.Set<Long> numbers = new java.util.HashSet<>();
      int read = 0;
      while (rows.next()) {
        read++;
        numbers.add(rows.getLong("num"));
        assertThat(rows.getLong("k"))
            .isEqualTo(rows.getLong("num") * H2Dialect.ITEMS_PER_JOB + rows.getLong("idx"));
      }
      assertThat(read).isEqualTo(7);
      assertThat(numbers).hasSize(3);
    }
    try (Connection connection = DriverManager.getConnection(url);
        Statement sql = connection.createStatement();
        ResultSet rows =
            sql.executeQuery(
                """
                SELECT CONSTRAINT_NAME FROM INFORMATION_SCHEMA.TABLE_CONSTRAINTS
                WHERE TABLE_NAME LIKE 'FANOUT_ITEM%' ORDER BY CONSTRAINT_NAME""")) {
      List<String> constraints = new ArrayList<>();
      while (rows.next()) {
        constraints.add(rows.getString(1));
      }
      // The copy's table is gone under its own name, and the constraints carry their old names.
      assertThat(constraints).containsExactly("FANOUT_ITEM_PK", "FANOUT_ITEM_STATE_CK");
    }
    // Each job's item 1 was RUNNING under a lease that ended at 00:00:30.
    assertThat(store.reclaimExpired(T0.plusSeconds(30))).isEqualTo(2);
    for (String value : ids) {
      JobId job = JobId.of(value);
      ClaimedTask reclaimed = store.claim(job, "w1", 1, T0, T0.plusSeconds(60)).getFirst();
      assertThat(reclaimed.index()).isEqualTo(1);
      ClaimedTask fresh = store.claim(job, "w1", 1, T0, T0.plusSeconds(60)).getFirst();
      assertThat(fresh.index()).isEqualTo(2);
      assertThat(store.claim(job, "w1", 10, T0, T0.plusSeconds(60))).isEmpty();
      assertThat(
              store.complete(
                  job,
                  List.of(
                      new Completion.Succeeded(
                          1, reclaimed.fence(), reclaimed.attempt(), reclaimed.item(), 1),
                      new Completion.Succeeded(2, fresh.fence(), fresh.attempt(), fresh.item(), 1)),
                  T0.plusSeconds(31)))
          .extracting(StoredResult::seq)
          .containsExactly(2L, 3L);
      List<String> folded = new ArrayList<>();
      store
          .finish(
              job,
              T0.plusSeconds(32),
              null,
              null,
              (row, succeeded) -> {
                succeeded.forEachRemaining(v -> folded.add(v.value()));
                return new Verdict(JobState.SUCCEEDED, null, null);
              })
          .orElseThrow();
      assertThat(folded)
          .containsExactly(
              "\"%1$s-0\"".formatted(value),
              "\"%1$s-1\"".formatted(value),
              "\"%1$s-2\"".formatted(value));
    }
  }

  /**
   * The V7 migration's note on finishing a killed run by hand ends with a start that runs it again
   * on the finished table: that start copies the items once more and keeps each one, and its job.
   */
  @Test
  void the_v7_migration_run_again_on_a_finished_table_keeps_every_item() throws SQLException {
    JobId id = sealedJob(3, 3);
    List<ClaimedTask> claimed = store.claim(id, "w1", 3, T0, T0.plusSeconds(60));
    store.complete(id, List.of(succeeded(claimed.get(1))), T0);
    store.close();
    store = null;
    String url = JdbcJobStore.h2Url(folder.toAbsolutePath());
    try (Connection connection = DriverManager.getConnection(url);
        Statement sql = connection.createStatement()) {
      assertThat(
              sql.executeUpdate(
                  "DELETE FROM \"%s\" WHERE \"version\" = '7'"
                      .formatted(SchemaMigrator.HISTORY_TABLE)))
          .isOne();
    }

    store = JdbcJobStore.h2(folder.toAbsolutePath());
    assertThat(store.results(id, 0, 10)).extracting(StoredResult::index).containsExactly(1L);
    assertThat(
            store.complete(id, List.of(succeeded(claimed.get(0)), succeeded(claimed.get(2))), T0))
        .extracting(StoredResult::seq)
        .containsExactly(2L, 3L);
    try (Connection connection = DriverManager.getConnection(url);
        Statement sql = connection.createStatement();
        ResultSet rows =
            sql.executeQuery(
                "SELECT COUNT(*) FROM fanout_item i JOIN fanout_job j ON j.id = i.job_id"
                    + " WHERE i.k = j.num * "
                    + H2Dialect.ITEMS_PER_JOB
                    + " + i.idx")) {
      rows.next();
      assertThat(rows.getLong(1)).isEqualTo(3);
    }
  }

  /**
   * Closes the test's store and creates an H2 store file in {@code folder} with the migrations up
   * to {@code version} only, as an older release left it.
   *
   * @return the file's JDBC URL
   */
  private String storeMigratedTo(Path folder, String version) {
    store.close();
    store = null;
    String url = JdbcJobStore.h2Url(folder);
    Flyway.configure()
        .dataSource(url, "", "")
        .locations("classpath:db/migration/h2")
        .table(SchemaMigrator.HISTORY_TABLE)
        .target(version)
        .load()
        .migrate();
    return url;
  }

  /** The statements of the V7 migration before its copy of the items, comments left out. */
  private static List<String> v7StepsBeforeTheCopy() throws java.io.IOException {
    String script;
    try (java.io.InputStream in =
        H2JdbcJobStoreTest.class.getResourceAsStream(
            "/db/migration/h2/V7__items_keyed_by_one_number.sql")) {
      script = new String(in.readAllBytes(), java.nio.charset.StandardCharsets.UTF_8);
    }
    String code =
        script
            .lines()
            .filter(line -> !line.stripLeading().startsWith("--"))
            .collect(java.util.stream.Collectors.joining("\n"));
    List<String> steps = new ArrayList<>();
    for (String step : code.split(";")) {
      if (step.strip().startsWith("INSERT INTO fanout_item_keyed")) {
        return steps;
      }
      steps.add(step.strip());
    }
    throw new AssertionError("V7 has no copy of the items");
  }

  /** An item's key holds its index in 32 bits: the dialect refuses an item past that, by name. */
  @Test
  void a_job_on_h2_holds_at_most_two_to_the_32_items() throws SQLException {
    JobId id = sealedJob(1, 1);
    H2Dialect dialect = new H2Dialect();
    Dialect.JobRef job = new Dialect.JobRef(id, 5 * H2Dialect.ITEMS_PER_JOB);
    try (Connection connection = database.connect()) {
      dialect.insertItems(connection, job, H2Dialect.ITEMS_PER_JOB - 1, List.of("\"last\""), 64);
      assertThatThrownBy(
              () ->
                  dialect.insertItems(
                      connection, job, H2Dialect.ITEMS_PER_JOB - 1, List.of("1", "2"), 64))
          .isInstanceOf(IllegalArgumentException.class)
          .hasMessage(
              "job %s cannot have 4,294,967,297 items: an H2 store holds at most 4,294,967,296 per"
                  + " job",
              id);
    }
  }
}
