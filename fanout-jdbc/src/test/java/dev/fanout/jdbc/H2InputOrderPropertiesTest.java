package dev.fanout.jdbc;

import dev.fanout.spi.InputOrderScenario;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Comparator;
import java.util.stream.Stream;
import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import net.jqwik.api.lifecycle.AfterContainer;
import net.jqwik.api.lifecycle.BeforeContainer;

/**
 * {@link InputOrderScenario} on an embedded H2 file: random jobs, each a new job of one store.
 * Fewer and smaller tries than on the in-memory store, since every step is a transaction.
 */
class H2InputOrderPropertiesTest {
  private static Path folder;
  private static JdbcJobStore store;

  @BeforeContainer
  static void open() throws IOException {
    folder = Files.createTempDirectory("fanout-h2-order-");
    store = JdbcJobStore.h2(folder);
  }

  @AfterContainer
  static void close() throws IOException {
    if (store != null) {
      store.close();
    }
    try (Stream<Path> files = Files.walk(folder)) {
      for (Path p : files.sorted(Comparator.reverseOrder()).toList()) {
        Files.delete(p);
      }
    }
  }

  @Property(tries = 100)
  void an_input_ordered_job_delivers_exactly_its_settled_items_in_index_order(
      @ForAll(supplier = InputOrderScenario.SmallPlans.class) InputOrderScenario.Plan plan) {
    plan.run(store);
  }
}
