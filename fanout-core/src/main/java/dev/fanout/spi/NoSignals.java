package dev.fanout.spi;

import dev.fanout.JobId;

/** The signals of a store that carries none: publishing does nothing, subscribers hear nothing. */
final class NoSignals implements StoreSignals {
  static final NoSignals INSTANCE = new NoSignals();

  private NoSignals() {}

  @Override
  public void publish(Kind kind, JobId job) {}

  @Override
  public Subscription subscribe(Listener listener) {
    return () -> {};
  }
}
