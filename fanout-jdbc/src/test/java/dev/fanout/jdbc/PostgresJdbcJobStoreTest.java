package dev.fanout.jdbc;

import static org.assertj.core.api.Assertions.assertThat;

import ch.qos.logback.classic.Level;
import ch.qos.logback.classic.Logger;
import ch.qos.logback.classic.spi.ILoggingEvent;
import ch.qos.logback.core.read.ListAppender;
import dev.fanout.JobId;
import dev.fanout.spi.ClaimedTask;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;
import org.slf4j.LoggerFactory;

/** The JDBC store's own behaviour on PostgreSQL, in a schema of its own. */
class PostgresJdbcJobStoreTest extends JdbcJobStoreBehaviour {
  @Override
  TestDatabase createDatabase() {
    return PostgresTestDatabase.create();
  }

  /**
   * A cluster's nodes often start together on a new database: each one's Flyway finds the schema
   * without its history table, and all but the first once failed, having decided to baseline a
   * schema another node was already migrating.
   */
  @Test
  void nodes_opening_a_fresh_schema_at_once_all_open_it() throws Exception {
    int nodes = 6;
    ExecutorService pool = Executors.newFixedThreadPool(nodes);
    try {
      for (int round = 0; round < 4; round++) {
        try (PostgresTestDatabase fresh = PostgresTestDatabase.create()) {
          CountDownLatch go = new CountDownLatch(1);
          List<Future<JdbcJobStore>> opening = new ArrayList<>();
          for (int n = 0; n < nodes; n++) {
            opening.add(
                pool.submit(
                    () -> {
                      go.await();
                      return fresh.builder().build();
                    }));
          }
          go.countDown();
          for (Future<JdbcJobStore> store : opening) {
            store.get(60, TimeUnit.SECONDS).close();
          }
        }
      }
    } finally {
      pool.shutdownNow();
    }
  }

  @Test
  void closing_the_store_during_its_statistics_refresh_cancels_it_quietly() throws Exception {
    ListAppender<ILoggingEvent> logged = new ListAppender<>();
    logged.start();
    Logger root = (Logger) LoggerFactory.getLogger(org.slf4j.Logger.ROOT_LOGGER_NAME);
    root.addAppender(logged);
    // Holding this lock keeps the refresh (ANALYZE) of the large job waiting in the database, so
    // that close() surely finds it in flight.
    try (Connection blocker = database.connect();
        Connection observer = database.connect()) {
      blocker.setAutoCommit(false);
      try (Statement lock = blocker.createStatement()) {
        lock.execute("LOCK TABLE fanout_item IN SHARE UPDATE EXCLUSIVE MODE");
      }
      sealedJob((int) JdbcJobStore.LARGE_JOB, 10);
      long deadline = System.nanoTime() + Duration.ofSeconds(10).toNanos();
      while (waitingAnalyzes(observer) == 0 && System.nanoTime() < deadline) {
        Thread.sleep(10);
      }
      assertThat(waitingAnalyzes(observer)).as("ANALYZE waiting for the lock").isEqualTo(1);

      store.close();
      store = null;

      assertThat(waitingAnalyzes(observer)).isZero();
      blocker.rollback();
    } finally {
      root.detachAppender(logged);
    }
    assertThat(logged.list)
        .filteredOn(e -> e.getLevel().isGreaterOrEqual(Level.WARN))
        .extracting(ILoggingEvent::getFormattedMessage)
        .isEmpty();
  }

  @Test
  void the_fold_reads_its_pages_by_the_primary_key_whatever_the_statistics_say()
      throws SQLException {
    // Statistics taken while every item was PENDING, as the refresh after sealing takes them:
    // they tell the planner that no item has succeeded.
    JobId id = sealedJob(3_000, 3_000);
    execute("ANALYZE fanout_item");
    claimAndSucceed(id, 3_000);

    try (Connection connection = database.connect()) {
      String page =
          plan(
              connection,
              SucceededValues.pageSql(new PostgresDialect()),
              explain -> {
                explain.setString(1, id.value());
                explain.setLong(2, 1_500);
                explain.setLong(3, Long.MAX_VALUE);
              });
      assertThat(page).contains("Index Scan using fanout_item_pk").doesNotContain("Sort");
    }
  }

  /**
   * A job under {@link JdbcJobStore#LARGE_JOB} items leaves the table without statistics, and the
   * planner then takes a job for a few rows. The statements that find a batch of items must still
   * probe those items, not read the whole job by {@code job_id}: once per batch, that made a
   * 6,000-item job capped at 50 cost PostgreSQL about a millisecond per item. The heartbeat, which
   * updates the RUNNING items it locked, must not join them to the whole table either. Planned both
   * ways the driver may run them: with the parameters' values, and generic, as after five
   * executions.
   */
  @ParameterizedTest
  @ValueSource(strings = {"force_custom_plan", "force_generic_plan"})
  void a_batch_of_items_is_found_by_its_keys_whatever_the_statistics_say(String planCacheMode)
      throws SQLException {
    JobId id = sealedJob(6_000, 6_000);
    claimAndSucceed(id, 2_000);
    List<Long> running =
        store.claim(id, "w1", 50, T0, T0.plusSeconds(60)).stream().map(ClaimedTask::index).toList();
    assertThat(running).hasSize(50).startsWith(2_000L);

    try (Connection connection = database.connect()) {
      try (Statement mode = connection.createStatement()) {
        mode.execute("SET plan_cache_mode = " + planCacheMode);
      }
      Long[] reported = running.toArray(Long[]::new);
      String holders =
          plan(
              connection,
              new PostgresDialect().itemsByIndexArraySql(),
              explain -> {
                explain.setString(1, id.value());
                explain.setArray(2, connection.createArrayOf("bigint", reported));
              });
      assertThat(holders)
          .contains("Index Scan using fanout_item_pk")
          .doesNotContain("Bitmap", "Seq Scan", "Hash");
      String claim =
          plan(
              connection,
              PostgresDialect.CLAIM_SQL,
              explain -> {
                explain.setString(1, id.value());
                Timestamps.bind(explain, 2, T0);
                explain.setInt(3, 50);
                explain.setString(4, "w1");
                Timestamps.bind(explain, 5, T0.plusSeconds(60));
              });
      assertThat(claim)
          .contains("Index Scan using fanout_item_pending", "Tid Scan on fanout_item i")
          .doesNotContain("Bitmap", "Seq Scan", "Hash");
      String renew =
          plan(
              connection,
              new PostgresDialect().renewSql(),
              explain -> {
                explain.setString(1, "w1");
                Timestamps.bind(explain, 2, T0.plusSeconds(90));
              });
      assertThat(renew)
          .contains("Index Scan using fanout_item_owner", "Tid Scan on fanout_item i")
          .doesNotContain("Bitmap", "Seq Scan", "Hash");
    }
  }

  /** Claims up to {@code n} of the job's items and records them all succeeded. */
  private void claimAndSucceed(JobId id, int n) {
    store.complete(
        id,
        store.claim(id, "w1", n, T0, T0.plusSeconds(60)).stream()
            .map(JdbcJobStoreBehaviour::succeeded)
            .toList(),
        T0);
  }

  /** A statement's plan, as EXPLAIN prints it, with the parameters {@code bind} sets. */
  private static String plan(Connection connection, String sql, SqlBinder bind)
      throws SQLException {
    try (PreparedStatement explain = connection.prepareStatement("EXPLAIN " + sql)) {
      bind.bind(explain);
      StringBuilder plan = new StringBuilder();
      try (ResultSet rows = explain.executeQuery()) {
        while (rows.next()) {
          plan.append(rows.getString(1)).append('\n');
        }
      }
      return plan.toString();
    }
  }

  /** Sets a statement's parameters. */
  private interface SqlBinder {
    void bind(PreparedStatement statement) throws SQLException;
  }

  /**
   * How many ANALYZE statements of the store wait for a lock now. Asked outside any transaction,
   * since one sees the activity view as it was at its first look.
   */
  private static long waitingAnalyzes(Connection connection) throws SQLException {
    try (PreparedStatement select =
            connection.prepareStatement(
                "SELECT COUNT(*) FROM pg_stat_activity"
                    + " WHERE datname = current_database() AND query LIKE 'ANALYZE fanout_item%'"
                    + " AND wait_event_type = 'Lock'");
        ResultSet rows = select.executeQuery()) {
      rows.next();
      return rows.getLong(1);
    }
  }
}
