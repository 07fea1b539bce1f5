package dev.fanout.internal;

import dev.fanout.JobId;
import java.time.Clock;
import java.util.UUID;
import java.util.concurrent.ThreadLocalRandom;

/**
 * Makes time-ordered job IDs (UUID version 7), so a list sorted by ID is sorted by age. Within one
 * millisecond the 12 bits after the timestamp count up (RFC 9562, method 3), so jobs accepted in
 * the same millisecond by this process still sort in the order they came; the timestamp is always
 * the clock's, so it can stand for the job's creation time.
 */
final class JobIds {
  private static long lastMillis = Long.MIN_VALUE;
  private static int counter;

  private JobIds() {}

  static JobId next(Clock clock) {
    return at(clock.millis());
  }

  /**
   * An ID whose timestamp is {@code millis}, as {@link dev.fanout.spi.JobStore#createdAtOf} reads.
   */
  static JobId at(long millis) {
    ThreadLocalRandom random = ThreadLocalRandom.current();
    long high = (millis << 16) | 0x7000L | sequence(millis, random);
    long low = (random.nextLong() & 0x3FFF_FFFF_FFFF_FFFFL) | 0x8000_0000_0000_0000L;
    return JobId.of(new UUID(high, low).toString());
  }

  /**
   * The 12 bits after the timestamp: counting up within a millisecond, from a random start below
   * half the range so that a burst has room. Past the range, or when the clock went back, they are
   * random again: the IDs stay unique by their 62 random bits, only their order within that
   * millisecond is lost.
   */
  private static synchronized long sequence(long millis, ThreadLocalRandom random) {
    if (millis == lastMillis && counter < 0x0FFF) {
      counter++;
    } else if (millis > lastMillis) {
      lastMillis = millis;
      counter = random.nextInt(0x0800);
    } else {
      return random.nextInt(0x1000);
    }
    return counter;
  }
}
