package dev.fanout.jdbc.crash;

import java.nio.file.Path;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeEach;

/** Workers killed with SIGKILL over PostgreSQL, in a schema of this class's own. */
class PostgresSigkillTest extends SigkillBehaviour {
  private static PostgresSchema schema;

  /**
   * Creates the class's schema before its first test; skips (under CI, fails) every test when the
   * server is down, so each one shows as skipped.
   */
  @BeforeEach
  void createSchemaOnce() {
    if (schema == null) {
      schema = PostgresSchema.create("fanout_crash_");
    }
  }

  @AfterAll
  static void dropSchema() {
    if (schema != null) {
      schema.close();
      schema = null;
    }
  }

  @Override
  StoreTarget target(Path folder) {
    return schema.target();
  }
}
