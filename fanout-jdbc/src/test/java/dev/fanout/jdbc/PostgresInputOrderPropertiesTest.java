package dev.fanout.jdbc;

import dev.fanout.spi.InputOrderScenario;
import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import net.jqwik.api.lifecycle.AfterContainer;
import net.jqwik.api.lifecycle.BeforeContainer;

/**
 * {@link InputOrderScenario} on PostgreSQL, in a schema of this class's own: random jobs, each a
 * new job of one store. Skipped when the server is unreachable, except under {@code CI=true}.
 */
class PostgresInputOrderPropertiesTest {
  private static PostgresTestDatabase database;
  private static JdbcJobStore store;

  @BeforeContainer
  static void open() {
    database = PostgresTestDatabase.create();
    store = database.open();
  }

  @AfterContainer
  static void close() {
    if (store != null) {
      store.close();
    }
    if (database != null) {
      database.close();
    }
  }

  @Property(tries = 80)
  void an_input_ordered_job_delivers_exactly_its_settled_items_in_index_order(
      @ForAll(supplier = InputOrderScenario.SmallPlans.class) InputOrderScenario.Plan plan) {
    plan.run(store);
  }
}
