package dev.fanout.cli;

import static org.junit.jupiter.api.Assertions.fail;
import static org.junit.jupiter.api.Assumptions.abort;

import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.concurrent.ThreadLocalRandom;

/**
 * A PostgreSQL schema of one test's own, created on the test server and dropped afterwards; a test
 * whose server is down is skipped, or fails under {@code CI=true}, where it must run.
 */
final class TestSchema implements AutoCloseable {
  /** The test server's JDBC URL, without a schema. */
  static final String POSTGRES =
      System.getenv()
          .getOrDefault("FANOUT_TEST_POSTGRES_URL", "jdbc:postgresql://127.0.0.1:5432/test");

  private final String name;

  private TestSchema(String name) {
    this.name = name;
  }

  /** Creates a schema named {@code prefix} and a random suffix. */
  static TestSchema create(String prefix) {
    String name = prefix + Long.toHexString(ThreadLocalRandom.current().nextLong() >>> 1);
    try (Connection c = DriverManager.getConnection(POSTGRES, "postgres", "");
        Statement s = c.createStatement()) {
      s.execute("CREATE SCHEMA " + name);
    } catch (SQLException e) {
      String message = "PostgreSQL at " + POSTGRES + " is not reachable: " + e.getMessage();
      if ("true".equals(System.getenv("CI"))) {
        fail(message + "; under CI=true this test must run");
      }
      abort(message);
    }
    return new TestSchema(name);
  }

  /** The schema's JDBC URL, with the user, at {@code base} (the server's URL or a proxy's). */
  String url(String base) {
    return base + (base.contains("?") ? "&" : "?") + "user=postgres&currentSchema=" + name;
  }

  /** The schema's JDBC URL on the test server. */
  String url() {
    return url(POSTGRES);
  }

  @Override
  public void close() throws SQLException {
    try (Connection c = DriverManager.getConnection(POSTGRES, "postgres", "");
        Statement s = c.createStatement()) {
      s.execute("DROP SCHEMA IF EXISTS " + name + " CASCADE");
    }
  }
}
