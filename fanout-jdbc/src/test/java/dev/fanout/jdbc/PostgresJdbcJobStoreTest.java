package dev.fanout.jdbc;

import static org.assertj.core.api.Assertions.assertThat;

import ch.qos.logback.classic.Level;
import ch.qos.logback.classic.Logger;
import ch.qos.logback.classic.spi.ILoggingEvent;
import ch.qos.logback.core.read.ListAppender;
import dev.fanout.JobId;
import dev.fanout.spi.ClaimedTask;
import dev.fanout.spi.Completion;
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
    List<ClaimedTask> claimed = store.claim(id, "w1", 3_000, T0, T0.plusSeconds(60));
    store.complete(
        id,
        claimed.stream()
            .map(
                t ->
                    (Completion)
                        new Completion.Succeeded(t.index(), t.fence(), t.attempt(), t.item(), 1))
            .toList(),
        T0);

    try (Connection connection = database.connect();
        PreparedStatement explain =
            connection.prepareStatement(
                "EXPLAIN " + SucceededValues.pageSql(new PostgresDialect()))) {
      explain.setString(1, id.value());
      explain.setLong(2, 1_500);
      explain.setLong(3, Long.MAX_VALUE);
      StringBuilder plan = new StringBuilder();
      try (ResultSet rows = explain.executeQuery()) {
        while (rows.next()) {
          plan.append(rows.getString(1)).append('\n');
        }
      }
      assertThat(plan.toString())
          .contains("Index Scan using fanout_item_pk")
          .doesNotContain("Sort");
    }
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
