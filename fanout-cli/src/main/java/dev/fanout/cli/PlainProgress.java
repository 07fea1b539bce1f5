package dev.fanout.cli;

import java.io.PrintStream;
import java.time.Duration;
import java.util.Locale;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.function.LongSupplier;

/**
 * Progress for a log or a pipe: one plain line every interval, such as {@code fanout run: 450/1000
 * done (45%), 3 failed, 150.0/s, ETA 0:00:04}, and a last one on {@link #close()}. No carriage
 * returns or escape codes, so a CI log stays readable.
 */
final class PlainProgress implements Progress {
  private final PrintStream out;
  private final String label;
  private final LongSupplier nanoTime;
  private final long startNanos;
  private ScheduledExecutorService timer;

  private long done;
  private long failed;
  private long total = -1;
  // The first count seen: a resumed job's earlier work must not inflate this run's rate.
  private long baseline = -1;
  private boolean closed;
  // The counts the last printed line showed, so close() does not repeat a line the timer printed.
  private String lastCounts;

  /**
   * Creates a display that prints only when asked; {@link #start} adds the timer.
   *
   * @param out where lines go (standard error, so standard output stays the command's result)
   * @param label what each line starts with, e.g. {@code fanout run}
   * @param nanoTime the clock for the rate and the ETA; tests pass their own
   */
  PlainProgress(PrintStream out, String label, LongSupplier nanoTime) {
    this.out = out;
    this.label = label;
    this.nanoTime = nanoTime;
    this.startNanos = nanoTime.getAsLong();
  }

  /**
   * Prints a line every {@code interval} from now on, on a daemon thread.
   *
   * @param interval positive
   * @return this display
   */
  PlainProgress start(Duration interval) {
    timer =
        Executors.newSingleThreadScheduledExecutor(
            r -> {
              Thread t = new Thread(r, "fanout-progress");
              t.setDaemon(true);
              return t;
            });
    long millis = Math.max(1, interval.toMillis());
    timer.scheduleAtFixedRate(this::print, millis, millis, TimeUnit.MILLISECONDS);
    return this;
  }

  @Override
  public synchronized void update(long done, long failed, long total) {
    if (baseline < 0) {
      baseline = done;
    }
    this.done = done;
    this.failed = failed;
    this.total = total;
  }

  @Override
  public void close() {
    synchronized (this) {
      if (closed) {
        return;
      }
      closed = true;
    }
    if (timer != null) {
      timer.shutdownNow();
      try {
        timer.awaitTermination(5, TimeUnit.SECONDS);
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
      }
    }
    String line;
    synchronized (this) {
      if (counts().equals(lastCounts)) {
        return;
      }
      line = line(nanoTime.getAsLong());
    }
    out.println(line);
    out.flush();
  }

  /** Prints the line for now: what the timer does every interval. */
  void print() {
    String line;
    synchronized (this) {
      if (closed) {
        return;
      }
      line = line(nanoTime.getAsLong());
      lastCounts = counts();
    }
    out.println(line);
    out.flush();
  }

  private String counts() {
    return done + "/" + failed + "/" + total;
  }

  /**
   * The line for this moment.
   *
   * @param now the clock's reading
   * @return the line, without a newline
   */
  synchronized String line(long now) {
    StringBuilder s = new StringBuilder(label).append(": ").append(done);
    if (total >= 0) {
      s.append('/').append(total).append(" done");
      if (total > 0) {
        s.append(" (").append(done * 100 / total).append("%)");
      }
    } else {
      s.append(" done");
    }
    s.append(", ").append(failed).append(" failed");
    double elapsed = (now - startNanos) / 1e9;
    long progressed = baseline < 0 ? 0 : done - baseline;
    double rate = elapsed > 0 ? progressed / elapsed : 0;
    s.append(String.format(Locale.ROOT, ", %.1f/s", rate));
    if (total >= 0 && done < total) {
      s.append(", ETA ").append(rate > 0 ? clock((long) Math.ceil((total - done) / rate)) : "?");
    }
    return s.toString();
  }

  /**
   * Seconds as {@code h:mm:ss}, the form the progress bar uses too.
   *
   * @param seconds zero or more
   * @return e.g. {@code 0:01:05}
   */
  static String clock(long seconds) {
    return String.format(
        Locale.ROOT, "%d:%02d:%02d", seconds / 3600, (seconds / 60) % 60, seconds % 60);
  }
}
