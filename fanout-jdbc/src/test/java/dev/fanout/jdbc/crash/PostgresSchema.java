package dev.fanout.jdbc.crash;

import static org.junit.jupiter.api.Assertions.fail;
import static org.junit.jupiter.api.Assumptions.abort;

import java.net.InetSocketAddress;
import java.net.URI;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.Properties;
import java.util.concurrent.ThreadLocalRandom;

/**
 * A schema of its own for one test class in the PostgreSQL test database at 127.0.0.1:5432
 * (database {@code test}, user {@code postgres}, trust authentication; the environment variable
 * {@code FANOUT_TEST_POSTGRES_URL} overrides the server), created by {@link #create} and dropped
 * with everything in it by {@link #close}.
 *
 * <p>When the server cannot be reached the calling tests are skipped, except under {@code CI=true}
 * where they fail: CI must never pass by quietly testing nothing.
 */
final class PostgresSchema implements AutoCloseable {

  static final String SERVER_URL =
      System.getenv()
          .getOrDefault("FANOUT_TEST_POSTGRES_URL", "jdbc:postgresql://127.0.0.1:5432/test");
  static final String USER = "postgres";

  private final String name;

  private PostgresSchema(String name) {
    this.name = name;
  }

  /**
   * Creates a fresh schema whose name starts with {@code prefix}, or skips (under CI, fails) the
   * calling tests when the server is down.
   */
  static PostgresSchema create(String prefix) {
    String name = prefix + Long.toHexString(ThreadLocalRandom.current().nextLong() >>> 1);
    try (Connection connection = DriverManager.getConnection(SERVER_URL, credentials());
        Statement statement = connection.createStatement()) {
      statement.execute("CREATE SCHEMA " + name);
    } catch (SQLException e) {
      String message =
          "PostgreSQL at " + SERVER_URL + " (user " + USER + ") is not reachable: " + e;
      if ("true".equals(System.getenv("CI"))) {
        fail(message + ". Under CI=true the PostgreSQL crash tests must run: start the server.");
      }
      abort(message + ". Skipping the PostgreSQL crash tests; under CI=true they would fail.");
    }
    return new PostgresSchema(name);
  }

  String name() {
    return name;
  }

  /** The store in this schema, as worker processes reach it. */
  StoreTarget.Postgres target() {
    return new StoreTarget.Postgres(SERVER_URL, USER, name);
  }

  /** The server's host and port, for a proxy to forward to. */
  static InetSocketAddress serverAddress() {
    URI uri = URI.create(SERVER_URL.substring("jdbc:".length()));
    return new InetSocketAddress(uri.getHost(), uri.getPort() == -1 ? 5432 : uri.getPort());
  }

  /** The server URL with another host and port, the database and parameters unchanged. */
  static String serverUrlVia(InetSocketAddress address) {
    URI uri = URI.create(SERVER_URL.substring("jdbc:".length()));
    String rest = SERVER_URL.substring(SERVER_URL.indexOf('/', "jdbc:postgresql://".length()));
    return "jdbc:"
        + uri.getScheme()
        + "://"
        + address.getHostString()
        + ":"
        + address.getPort()
        + rest;
  }

  /** The server's other sessions on the test database, for the message of a hung test. */
  static String activity() {
    StringBuilder out = new StringBuilder("sessions on the server:");
    try (Connection connection = DriverManager.getConnection(SERVER_URL, credentials());
        Statement statement = connection.createStatement();
        ResultSet rows =
            statement.executeQuery(
                "SELECT pid, application_name, client_port, state, wait_event_type, wait_event,"
                    + " now() - xact_start AS in_transaction, left(query, 160) AS query"
                    + " FROM pg_stat_activity"
                    + " WHERE datname = current_database() AND pid <> pg_backend_pid()")) {
      while (rows.next()) {
        out.append("\n  pid ")
            .append(rows.getInt("pid"))
            .append(" ")
            .append(rows.getString("application_name"))
            .append(" port ")
            .append(rows.getInt("client_port"))
            .append(" ")
            .append(rows.getString("state"))
            .append(" waiting ")
            .append(rows.getString("wait_event_type"))
            .append("/")
            .append(rows.getString("wait_event"))
            .append(" in transaction ")
            .append(rows.getString("in_transaction"))
            .append(": ")
            .append(rows.getString("query"));
      }
    } catch (SQLException e) {
      out.append(" cannot read them: ").append(e);
    }
    return out.toString();
  }

  private static Properties credentials() {
    Properties properties = new Properties();
    properties.setProperty("user", USER);
    properties.setProperty("connectTimeout", "5");
    return properties;
  }

  @Override
  public void close() {
    try (Connection connection = DriverManager.getConnection(SERVER_URL, credentials());
        Statement statement = connection.createStatement()) {
      statement.execute("DROP SCHEMA IF EXISTS " + name + " CASCADE");
    } catch (SQLException e) {
      throw new IllegalStateException("cannot drop the test schema " + name, e);
    }
  }
}
