package dev.fanout.cli;

import java.io.IOException;
import java.io.PrintStream;
import java.time.Duration;
import me.tongfei.progressbar.ConsoleProgressBarConsumer;
import me.tongfei.progressbar.ProgressBar;
import me.tongfei.progressbar.ProgressBarBuilder;
import me.tongfei.progressbar.ProgressBarStyle;
import org.jline.terminal.Terminal;
import org.jline.terminal.TerminalBuilder;

/**
 * Progress on a terminal: a live bar redrawn in place, with done/total, the percentage, elapsed
 * time and ETA, the rate, and the failed count. Drawn by the progressbar library ({@code
 * me.tongfei:progressbar}), which redraws on its own thread.
 *
 * <p>The terminal's width comes from a JLine terminal opened here without native signal handling.
 * The library would open its own, with JLine's defaults, which set SIGINT to the system default
 * while it is open: Ctrl-C would then end the JVM without running its shutdown hooks, so {@code
 * fanout run --data} could not stop its commands and report that it can be resumed.
 */
final class BarProgress implements Progress {
  /** How often the bar is redrawn; the library's default of one second looks stuck. */
  private static final int REDRAW_MILLIS = 200;

  /** The width when the terminal cannot tell. */
  private static final int DEFAULT_WIDTH = 80;

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
            .setConsumer(new Consumer(out, openTerminal()))
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
      bar.setExtraMessage(" " + failed + " failed"); // the library adds no space before it
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

  private static Terminal openTerminal() {
    try {
      return TerminalBuilder.builder()
          .system(true)
          .systemOutput(TerminalBuilder.SystemOutput.SysErr)
          .nativeSignals(false)
          .dumb(true) // no terminal (a forced --progress bar): a dumb one, without a warning
          .build();
    } catch (IOException | RuntimeException e) {
      return null;
    }
  }

  /** Writes the bar, as wide as the terminal is now. */
  private static final class Consumer extends ConsoleProgressBarConsumer {
    private final Terminal terminal;

    Consumer(PrintStream out, Terminal terminal) {
      super(out);
      this.terminal = terminal;
    }

    @Override
    public int getMaxRenderedLength() {
      int width = terminal == null ? 0 : terminal.getWidth();
      return (width > 0 ? width : DEFAULT_WIDTH) - 1;
    }

    @Override
    public void close() {
      super.close();
      if (terminal != null) {
        try {
          terminal.close();
        } catch (IOException e) {
          // Nothing was changed on the terminal that closing would restore.
        }
      }
    }
  }
}
