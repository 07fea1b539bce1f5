package dev.fanout.jdbc;

import java.nio.file.Path;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.SQLException;

/** A fresh H2 file database in a test's temporary folder; the folder goes with the test. */
final class H2TestDatabase implements TestDatabase {
  private final Path folder;

  H2TestDatabase(Path folder) {
    this.folder = folder;
  }

  @Override
  public String url() {
    return JdbcJobStore.h2Url(folder.toAbsolutePath());
  }

  @Override
  public JdbcJobStore open() {
    return JdbcJobStore.h2(folder);
  }

  @Override
  public JdbcJobStore.Builder builder() {
    return JdbcJobStore.builder(url());
  }

  @Override
  public String spareSchema() {
    return "fanout_spare";
  }

  @Override
  public String blockedSessionsSql() {
    return "SELECT COUNT(*) FROM INFORMATION_SCHEMA.SESSIONS WHERE BLOCKER_ID IS NOT NULL";
  }

  @Override
  public Connection connect() throws SQLException {
    return DriverManager.getConnection(url());
  }

  @Override
  public void close() {}
}
