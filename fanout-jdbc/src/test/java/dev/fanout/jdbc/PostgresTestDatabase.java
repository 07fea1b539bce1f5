package dev.fanout.jdbc;

import static org.junit.jupiter.api.Assertions.fail;
import static org.junit.jupiter.api.Assumptions.abort;

import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.Properties;
import java.util.concurrent.ThreadLocalRandom;

/**
 * A schema of its own, {@code fanout_test_<random>}, in the PostgreSQL test database at
 * 127.0.0.1:5432 (database {@code test}, user {@code postgres}, trust authentication), created when
 * opened and dropped with everything in it when closed. Override the server with the environment
 * variable {@code FANOUT_TEST_POSTGRES_URL}.
 *
 * <p>When the server cannot be reached, tests using it are skipped, except under {@code CI=true}
 * where they fail: CI must never pass by quietly testing nothing.
 */
final class PostgresTestDatabase implements TestDatabase {

  static final String SERVER_URL =
      System.getenv()
          .getOrDefault("FANOUT_TEST_POSTGRES_URL", "jdbc:postgresql://127.0.0.1:5432/test");
  static final String USER = "postgres";

  private final String schema;

  private PostgresTestDatabase(String schema) {
    this.schema = schema;
  }

  /** Creates a fresh schema, or skips (fails under CI) the calling test when the server is down. */
  static PostgresTestDatabase create() {
    String schema = "fanout_test_" + Long.toHexString(ThreadLocalRandom.current().nextLong() >>> 1);
    try (Connection connection = DriverManager.getConnection(SERVER_URL, credentials());
        Statement statement = connection.createStatement()) {
      statement.execute("CREATE SCHEMA " + schema);
    } catch (SQLException e) {
      String message =
          "PostgreSQL at "
              + SERVER_URL
              + " (user "
              + USER
              + ") is not reachable: "
              + e.getMessage().replaceFirst("\\.$", "");
      if ("true".equals(System.getenv("CI"))) {
        fail(message + ". Under CI=true the PostgreSQL tests must run: start the server first.");
      }
      abort(message + ". Skipping the PostgreSQL tests; under CI=true they would fail.");
    }
    return new PostgresTestDatabase(schema);
  }

  private static Properties credentials() {
    Properties properties = new Properties();
    properties.setProperty("user", USER);
    properties.setProperty("connectTimeout", "5");
    return properties;
  }

  /** The schema this database's stores use. */
  String schema() {
    return schema;
  }

  @Override
  public String url() {
    return SERVER_URL + (SERVER_URL.contains("?") ? "&" : "?") + "currentSchema=" + schema;
  }

  @Override
  public JdbcJobStore.Builder builder() {
    return JdbcJobStore.builder(url()).user(USER);
  }

  @Override
  public String spareSchema() {
    return schema + "_spare";
  }

  @Override
  public String blockedSessionsSql() {
    return "SELECT COUNT(*) FROM pg_stat_activity"
        + " WHERE wait_event_type = 'Lock' AND datname = current_database()";
  }

  @Override
  public Connection connect() throws SQLException {
    return DriverManager.getConnection(url(), credentials());
  }

  @Override
  public void close() {
    try (Connection connection = DriverManager.getConnection(SERVER_URL, credentials());
        Statement statement = connection.createStatement()) {
      statement.execute("DROP SCHEMA IF EXISTS " + schema + " CASCADE");
      statement.execute("DROP SCHEMA IF EXISTS " + spareSchema() + " CASCADE");
    } catch (SQLException e) {
      throw new IllegalStateException("cannot drop the test schema " + schema, e);
    }
  }
}
