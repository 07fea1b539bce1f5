package dev.fanout.examples;

import java.time.Duration;

/**
 * Paces the bytes every copy of one backup writes to at most a rate, shared by all of them: each
 * chunk books the next free slot of time its size takes at that rate, and waits for its slot.
 */
final class Throttle {

  private final long bytesPerSecond;
  private long nextFreeNanos = System.nanoTime();

  /**
   * @param bytesPerSecond the rate, or 0 for none
   */
  Throttle(long bytesPerSecond) {
    if (bytesPerSecond < 0) {
      throw new IllegalArgumentException("bytesPerSecond must not be negative: " + bytesPerSecond);
    }
    this.bytesPerSecond = bytesPerSecond;
  }

  /** The chunk to copy at a time: small enough under a rate that it is paced smoothly. */
  int chunkSize() {
    int full = 64 * 1024;
    return bytesPerSecond == 0 ? full : Math.clamp(bytesPerSecond / 16, 1024, full);
  }

  /** Waits until {@code bytes} more may be written. */
  void acquire(int bytes) throws InterruptedException {
    if (bytesPerSecond == 0) {
      return;
    }
    long wait;
    synchronized (this) {
      long now = System.nanoTime();
      long start = Math.max(now, nextFreeNanos);
      nextFreeNanos = start + bytes * 1_000_000_000L / bytesPerSecond;
      wait = start - now;
    }
    if (wait > 0) {
      Thread.sleep(Duration.ofNanos(wait));
    }
  }
}
