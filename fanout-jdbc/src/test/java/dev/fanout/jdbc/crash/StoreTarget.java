package dev.fanout.jdbc.crash;

import dev.fanout.jdbc.JdbcJobStore;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.SQLException;
import java.util.List;
import java.util.Map;
import java.util.Properties;

/**
 * Where a crash test's store lives, told the same way to the test and to the worker processes it
 * starts and kills: as {@code key=value} arguments that {@link #fromArgs} reads back.
 */
sealed interface StoreTarget permits StoreTarget.H2, StoreTarget.Postgres {

  /** The arguments that tell a worker process where the store is. */
  List<String> args();

  /** Opens the store the way an application does. */
  JdbcJobStore open();

  /**
   * A plain connection for reading the store's rows behind its back. For H2 the database must not
   * be open in another process: an embedded file has one process at a time.
   */
  Connection connect() throws SQLException;

  /** Reads a target back from the arguments {@link #args()} wrote. */
  static StoreTarget fromArgs(Map<String, String> args) {
    if (args.containsKey("h2")) {
      return new H2(Path.of(args.get("h2")));
    }
    if (args.containsKey("postgresql")) {
      return new Postgres(args.get("postgresql"), args.get("user"), args.get("schema"));
    }
    throw new IllegalArgumentException("no store in the arguments: want h2=... or postgresql=...");
  }

  /** The embedded H2 file database {@code fanout} in a folder, as {@link JdbcJobStore#h2} opens. */
  record H2(Path folder) implements StoreTarget {

    @Override
    public List<String> args() {
      return List.of("h2=" + folder.toAbsolutePath());
    }

    @Override
    public JdbcJobStore open() {
      return JdbcJobStore.h2(folder);
    }

    @Override
    public Connection connect() throws SQLException {
      // IFEXISTS: a typo in the file name must fail the check, not read a new empty database.
      return DriverManager.getConnection(
          "jdbc:h2:file:" + folder.toAbsolutePath().resolve("fanout") + ";IFEXISTS=TRUE");
    }
  }

  /** A schema of its own in a PostgreSQL database. */
  record Postgres(String serverUrl, String user, String schema) implements StoreTarget {

    @Override
    public List<String> args() {
      return List.of("postgresql=" + serverUrl, "user=" + user, "schema=" + schema);
    }

    @Override
    public JdbcJobStore open() {
      return JdbcJobStore.builder(serverUrl).user(user).schema(schema).build();
    }

    @Override
    public Connection connect() throws SQLException {
      Properties properties = new Properties();
      properties.setProperty("user", user);
      properties.setProperty("connectTimeout", "5");
      return DriverManager.getConnection(
          serverUrl + (serverUrl.contains("?") ? "&" : "?") + "currentSchema=" + schema,
          properties);
    }
  }
}
