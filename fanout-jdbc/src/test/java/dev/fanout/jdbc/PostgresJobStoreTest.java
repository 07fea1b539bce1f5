package dev.fanout.jdbc;

import dev.fanout.spi.JobStore;
import dev.fanout.spi.JobStoreContract;
import java.sql.Connection;
import java.sql.SQLException;
import java.sql.Statement;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;

/**
 * The store contract on PostgreSQL, in a schema of this class's own that is created before its
 * tests and dropped after them; each test starts from emptied tables. Skipped when the server is
 * unreachable, except under {@code CI=true}, where that fails.
 */
class PostgresJobStoreTest extends JobStoreContract {
  private static PostgresTestDatabase database;

  @BeforeAll
  static void createSchema() {
    database = PostgresTestDatabase.create();
  }

  @AfterAll
  static void dropSchema() {
    if (database != null) {
      database.close();
    }
  }

  @Override
  protected JobStore newStore() {
    JdbcJobStore store = database.open();
    try (Connection connection = database.connect();
        Statement statement = connection.createStatement()) {
      statement.execute("TRUNCATE fanout_ack, fanout_item, fanout_job, fanout_node");
    } catch (SQLException e) {
      store.close();
      throw new IllegalStateException("cannot empty the store's tables", e);
    }
    return store;
  }
}
