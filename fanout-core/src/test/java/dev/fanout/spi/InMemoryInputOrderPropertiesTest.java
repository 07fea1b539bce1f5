package dev.fanout.spi;

import net.jqwik.api.ForAll;
import net.jqwik.api.Property;

/** {@link InputOrderScenario} on the in-memory store: many random jobs, one store. */
class InMemoryInputOrderPropertiesTest {
  private final JobStore store = new InMemoryJobStore();

  @Property(tries = 400)
  void an_input_ordered_job_delivers_exactly_its_settled_items_in_index_order(
      @ForAll(supplier = InputOrderScenario.LargePlans.class) InputOrderScenario.Plan plan) {
    plan.run(store);
  }
}
