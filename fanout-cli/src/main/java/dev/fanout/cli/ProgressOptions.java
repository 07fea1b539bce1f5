package dev.fanout.cli;

import java.io.Console;
import java.io.IOException;
import java.io.PrintStream;
import java.lang.reflect.InvocationTargetException;
import java.lang.reflect.Method;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import picocli.CommandLine.Option;

/**
 * {@code --progress auto|bar|plain|none}, {@code --no-progress} and {@code --progress-interval-ms}
 * for every command that waits for a job. Add it with {@code @Mixin ProgressOptions progress;} and
 * call {@link #open}. Progress always goes to standard error: standard output is the command's
 * result.
 */
final class ProgressOptions {
  /** How progress is shown. */
  enum Mode {
    /** A live bar when standard error is a terminal, plain lines anywhere else. */
    AUTO,
    /** A live bar, even where it does not look like a terminal. */
    BAR,
    /** A plain line every interval. */
    PLAIN,
    /** Nothing. */
    NONE
  }

  @Option(
      names = "--progress",
      paramLabel = "MODE",
      defaultValue = "auto",
      description =
          "How to show progress on standard error: auto (a live bar when it is a terminal, else a"
              + " plain line every interval), bar, plain or none. Default: auto.")
  Mode mode = Mode.AUTO;

  @Option(names = "--no-progress", description = "Show no progress; the same as --progress none.")
  boolean noProgress;

  @Option(
      names = "--progress-interval-ms",
      paramLabel = "MS",
      defaultValue = "5000",
      description = "How often a plain progress line is printed. Default: ${DEFAULT-VALUE}.")
  long intervalMs = 5000;

  /**
   * Starts the display this command line asks for.
   *
   * @param err standard error
   * @param label what the display is titled, e.g. {@code fanout run}
   * @param alreadyDone items settled before this display started (a resumed job)
   * @param stdoutBusy true when results stream to standard output: a bar redrawn beside them would
   *     garble both on one terminal, so {@code auto} prints plain lines then
   * @return the display; close it when the job is final
   * @throws CliException a usage error for an interval below 1 ms
   */
  Progress open(PrintStream err, String label, long alreadyDone, boolean stdoutBusy) {
    if (intervalMs < 1) {
      throw CliException.usage("--progress-interval-ms must be at least 1, got " + intervalMs);
    }
    Mode chosen = noProgress ? Mode.NONE : mode;
    if (chosen == Mode.AUTO) {
      chosen = interactive() && !stdoutBusy ? Mode.BAR : Mode.PLAIN;
    }
    return switch (chosen) {
      case NONE -> Progress.NONE;
      case BAR -> new BarProgress(err, label, alreadyDone);
      default ->
          new PlainProgress(err, label, System::nanoTime).start(Duration.ofMillis(intervalMs));
    };
  }

  /**
   * Tells whether standard error, where progress goes, is a terminal. Where {@code /proc/self/fd/2}
   * tells (Linux), it decides; elsewhere the {@link Console} does, which needs standard input and
   * output to be a terminal as well.
   *
   * @return true for a terminal
   */
  static boolean interactive() {
    try {
      String target = Files.readSymbolicLink(Path.of("/proc/self/fd/2")).toString();
      return target.startsWith("/dev/pts/") || target.startsWith("/dev/tty");
    } catch (IOException | UnsupportedOperationException | SecurityException e) {
      return consoleIsTerminal();
    }
  }

  /**
   * Before Java 22 {@link System#console()} is null unless the process runs in a terminal; from
   * Java 22 on it may return a console for a redirected process too, and {@code
   * Console.isTerminal()} tells (looked up reflectively, since the code targets Java 21).
   */
  private static boolean consoleIsTerminal() {
    Console console = System.console();
    if (console == null) {
      return false;
    }
    try {
      Method isTerminal = Console.class.getMethod("isTerminal");
      return (boolean) isTerminal.invoke(console);
    } catch (NoSuchMethodException e) {
      return true; // Java 21: a console exists only for a terminal
    } catch (IllegalAccessException | InvocationTargetException e) {
      return false;
    }
  }
}
