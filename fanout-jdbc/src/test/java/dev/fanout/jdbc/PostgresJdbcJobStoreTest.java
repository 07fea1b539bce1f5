package dev.fanout.jdbc;

/** The JDBC store's own behaviour on PostgreSQL, in a schema of its own. */
class PostgresJdbcJobStoreTest extends JdbcJobStoreBehaviour {
  @Override
  TestDatabase createDatabase() {
    return PostgresTestDatabase.create();
  }
}
