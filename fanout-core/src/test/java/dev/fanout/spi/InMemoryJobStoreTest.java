package dev.fanout.spi;

/** The store contract, kept by the in-memory store. */
class InMemoryJobStoreTest extends JobStoreContract {
  @Override
  protected JobStore newStore() {
    return new InMemoryJobStore();
  }
}
