package dev.fanout.jdbc;

import java.nio.file.Path;
import org.junit.jupiter.api.io.TempDir;

/** The JDBC store's own behaviour on an embedded H2 file. */
class H2JdbcJobStoreTest extends JdbcJobStoreBehaviour {
  @TempDir Path folder;

  @Override
  TestDatabase createDatabase() {
    return new H2TestDatabase(folder);
  }
}
