package dev.fanout.jdbc;

import static org.assertj.core.api.Assertions.assertThat;

import ch.qos.logback.classic.Level;
import ch.qos.logback.classic.Logger;
import ch.qos.logback.classic.spi.ILoggingEvent;
import ch.qos.logback.core.read.ListAppender;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.time.Duration;
import org.junit.jupiter.api.Test;
import org.slf4j.LoggerFactory;

/** The JDBC store's own behaviour on PostgreSQL, in a schema of its own. */
class PostgresJdbcJobStoreTest extends JdbcJobStoreBehaviour {
  @Override
  TestDatabase createDatabase() {
    return PostgresTestDatabase.create();
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

  /**
   * How many ANALYZE statements of the store wait for a lock now. Asked outside any transaction,
   * since one sees the activity view as it was at its first look.
   */
  private static long waitingAnalyzes(Connection connection) throws SQLException {
    try (PreparedStatement select =
            connection.prepareStatement(
                "SELECT COUNT(*) FROM pg_stat_activity"
                    + " WHERE query LIKE 'ANALYZE fanout_item%' AND wait_event_type = 'Lock'");
        ResultSet rows = select.executeQuery()) {
      rows.next();
      return rows.getLong(1);
    }
  }
}
