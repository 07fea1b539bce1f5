package dev.fanout.cli;

import java.io.PrintStream;
import java.time.Duration;
import me.tongfei.progressbar.ConsoleProgressBarConsumer;
import me.tongfei.progressbar.ProgressBar;
import me.tongfei.progressbar.ProgressBarBuilder;
import me.tongfei.progressbar.ProgressBarStyle;

/**
 * Progress on a terminal: a live bar redrawn in place, with done/total, the percentage, elapsed
 * time and ETA, the rate, and the failed count. Drawn by the progressbar library ({@code
 * me.tongfei:progressbar}), which measures the terminal and redraws on its own thread.
 */
final class BarProgress implements Progress {
  /** How often the bar is redrawn; the library's default of one second looks stuck. */
  private static final int REDRAW_MILLIS = 200;

  private final ProgressBar bar;
  private long lastTotal = -1;
  private long lastFailed = -1;
  private boolean closed;

  /**
   * Starts drawing.
   *
   * @param out the terminal stream (standard error)
   * @param label the bar's title, e.g. {@code fanout run}
   * @param alreadyDone items that had settled before this display started (a resumed job), so the
   *     rate and ETA count only what happens from now on
   */
  BarProgress(PrintStream out, String label, long alreadyDone) {
    this.bar =
        new ProgressBarBuilder()
            .setTaskName(label)
            .setInitialMax(-1)
            .setStyle(ProgressBarStyle.COLORFUL_UNICODE_BLOCK)
            .setConsumer(new ConsoleProgressBarConsumer(out))
            .setUpdateIntervalMillis(REDRAW_MILLIS)
            .showSpeed()
            .setUnit(" items", 1)
            .startsFrom(Math.max(0, alreadyDone), Duration.ZERO)
            .build();
  }

  @Override
  public synchronized void update(long done, long failed, long total) {
    if (closed) {
      return;
    }
    if (total != lastTotal) {
      bar.maxHint(total < 0 ? -1 : total);
      lastTotal = total;
    }
    bar.stepTo(done);
    if (failed != lastFailed) {
      bar.setExtraMessage(failed + " failed");
      lastFailed = failed;
    }
  }

  @Override
  public synchronized void close() {
    if (!closed) {
      closed = true;
      bar.close();
    }
  }
}
