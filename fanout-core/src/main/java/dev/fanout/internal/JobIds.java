package dev.fanout.internal;

import dev.fanout.JobId;
import java.time.Clock;
import java.util.UUID;
import java.util.concurrent.ThreadLocalRandom;

/** Makes time-ordered job IDs (UUID version 7), so a list sorted by ID is sorted by age. */
final class JobIds {
  private JobIds() {}

  static JobId next(Clock clock) {
    return at(clock.millis());
  }

  /**
   * An ID whose timestamp is {@code millis}, as {@link dev.fanout.spi.JobStore#createdAtOf} reads.
   */
  static JobId at(long millis) {
    ThreadLocalRandom random = ThreadLocalRandom.current();
    long high = (millis << 16) | 0x7000L | (random.nextLong() & 0x0FFFL);
    long low = (random.nextLong() & 0x3FFF_FFFF_FFFF_FFFFL) | 0x8000_0000_0000_0000L;
    return JobId.of(new UUID(high, low).toString());
  }
}
