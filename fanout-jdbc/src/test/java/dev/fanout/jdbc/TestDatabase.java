package dev.fanout.jdbc;

import java.sql.Connection;
import java.sql.SQLException;

/** A database a test opens stores on, and reads behind the store's back to check what it wrote. */
interface TestDatabase extends AutoCloseable {

  /** The JDBC URL a store opens, without credentials. */
  String url();

  /** Opens a store on this database. */
  default JdbcJobStore open() {
    return builder().build();
  }

  /** A builder for a store on this database, with its credentials, for tests that set options. */
  JdbcJobStore.Builder builder();

  /**
   * A schema name of this database's own that a test may create with {@link
   * JdbcJobStore.Builder#schema}; it goes when the database is closed.
   */
  String spareSchema();

  /**
   * A query for how many of this database's sessions wait for a lock another holds, as one number:
   * for tests that must see a statement blocked before they let it go on.
   */
  String blockedSessionsSql();

  /** A plain connection for checks, in auto-commit mode. */
  Connection connect() throws SQLException;

  /** Drops what the test created. */
  @Override
  void close();
}
