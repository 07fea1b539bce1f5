package dev.fanout.examples;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;

/**
 * {@link BackupExample#main} in a JVM of its own, started on the test's class path exactly as a
 * user starts it, so that it can be frozen and killed. Its standard output is collected line by
 * line; its standard error goes to a log file that failure messages quote. Linux only.
 */
final class BackupProcess implements AutoCloseable {

  /** The exit code a JVM reports for a process that SIGKILL ended: 128 + 9. */
  static final int KILLED_BY_SIGKILL = 128 + 9;

  /** How long any one wait may take before the test gives up on the process as hung. */
  private static final Duration HUNG = Duration.ofSeconds(60);

  private static final String END = "\0end";

  private final String name;
  private final Process process;
  private final Path log;
  private final BlockingQueue<String> unread = new LinkedBlockingQueue<>();
  private final List<String> lines = new ArrayList<>();

  private BackupProcess(String name, Process process, Path log) {
    this.name = name;
    this.process = process;
    this.log = log;
    Thread.ofVirtual().name(name + "-stdout").start(this::readOutput);
  }

  /**
   * Starts a backup.
   *
   * @param name unique in the test; its log is named for it
   * @param logs where the log goes
   * @param args the backup's arguments
   */
  static BackupProcess start(String name, Path logs, Object... args) throws IOException {
    return start(name, logs, BackupExample.class, args);
  }

  /** Starts a backup through another main class, such as one that holds a copy midway. */
  static BackupProcess start(String name, Path logs, Class<?> main, Object... args)
      throws IOException {
    List<String> command = new ArrayList<>();
    command.add(Path.of(System.getProperty("java.home"), "bin", "java").toString());
    command.add("-XX:TieredStopAtLevel=1");
    command.add("-XX:+UseSerialGC");
    command.add("-Xmx256m");
    command.add("-cp");
    command.add(System.getProperty("java.class.path"));
    command.add(main.getName());
    for (Object arg : args) {
      command.add(arg.toString());
    }
    Path log = logs.resolve(name + ".log");
    Process process =
        new ProcessBuilder(command)
            .redirectError(ProcessBuilder.Redirect.to(log.toFile()))
            .redirectInput(ProcessBuilder.Redirect.from(Path.of("/dev/null").toFile()))
            .start();
    return new BackupProcess(name, process, log);
  }

  private void readOutput() {
    try (BufferedReader reader =
        new BufferedReader(
            new InputStreamReader(process.getInputStream(), StandardCharsets.UTF_8))) {
      for (String line; (line = reader.readLine()) != null; ) {
        unread.add(line);
      }
    } catch (IOException e) {
      // The pipe breaks when the process is killed; that ends the output as EOF does.
    } finally {
      unread.add(END);
    }
  }

  /** Waits for a line starting with {@code prefix}, and returns it. */
  String awaitLine(String prefix) throws InterruptedException {
    while (true) {
      String line = unread.poll(HUNG.toMillis(), TimeUnit.MILLISECONDS);
      if (line == null) {
        throw new AssertionError(name + " printed no '" + prefix + "' line in " + HUNG + tail());
      }
      if (line.equals(END)) {
        unread.add(END);
        throw new AssertionError(name + " ended before printing '" + prefix + "'" + tail());
      }
      lines.add(line);
      if (line.startsWith(prefix)) {
        return line;
      }
    }
  }

  /** The first line printed so far that starts with {@code prefix}, without waiting. */
  Optional<String> printed(String prefix) {
    for (String line; (line = unread.poll()) != null; ) {
      if (line.equals(END)) {
        unread.add(END);
        break;
      }
      lines.add(line);
    }
    return lines.stream().filter(l -> l.startsWith(prefix)).findFirst();
  }

  /** Waits for the process to exit on its own; returns its exit code. */
  int awaitExit() throws InterruptedException {
    if (!process.waitFor(HUNG.toMillis(), TimeUnit.MILLISECONDS)) {
      throw new AssertionError(name + " did not exit within " + HUNG + tail());
    }
    return process.exitValue();
  }

  /** Everything it printed to standard output, once it has exited. */
  String output() throws InterruptedException {
    awaitExit();
    for (String line; !(line = unread.take()).equals(END); ) {
      lines.add(line);
    }
    unread.add(END);
    return String.join("\n", lines) + "\n";
  }

  /** What it printed to standard error. */
  String errors() {
    try {
      return Files.readString(log, StandardCharsets.UTF_8);
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  boolean isAlive() {
    return process.isAlive();
  }

  /** Freezes every thread with SIGSTOP, and returns once none runs. */
  void freeze() throws IOException, InterruptedException {
    signal("STOP");
    Path tasks = Path.of("/proc", Long.toString(process.pid()), "task");
    for (int look = 0; look < 5_000; look++) {
      try {
        if (allStopped(tasks)) {
          return;
        }
      } catch (NoSuchFileException gone) {
        throw new AssertionError(name + " ended before it could be frozen" + tail());
      }
      Thread.sleep(1);
    }
    throw new AssertionError(name + " did not stop on SIGSTOP" + tail());
  }

  void thaw() throws IOException, InterruptedException {
    signal("CONT");
  }

  /** Kills it with SIGKILL and waits for it to be gone; returns its exit code. */
  int kill() throws InterruptedException {
    process.destroyForcibly();
    return awaitExit();
  }

  private static boolean allStopped(Path tasks) throws IOException {
    try (Stream<Path> threads = Files.list(tasks)) {
      for (Path thread : threads.toList()) {
        String stat;
        try {
          stat = Files.readString(thread.resolve("stat"), StandardCharsets.US_ASCII);
        } catch (NoSuchFileException e) {
          continue; // the thread ended
        }
        // "tid (name) S ...": the name may hold anything; the state follows its last ')'.
        char state = stat.charAt(stat.lastIndexOf(')') + 2);
        if (state != 'T' && state != 't') {
          return false;
        }
      }
    }
    return true;
  }

  private void signal(String signal) throws IOException, InterruptedException {
    Process kill = new ProcessBuilder("kill", "-" + signal, Long.toString(process.pid())).start();
    if (kill.waitFor() != 0) {
      throw new AssertionError("kill -" + signal + " " + name + " failed" + tail());
    }
  }

  /** The end of its standard error, for failure messages. */
  String tail() {
    List<String> all = errors().lines().toList();
    List<String> end = all.subList(Math.max(0, all.size() - 40), all.size());
    return end.isEmpty() ? "" : "\n--- " + log + " (end) ---\n" + String.join("\n", end);
  }

  @Override
  public void close() {
    if (process.isAlive()) {
      process.destroyForcibly();
      try {
        process.waitFor(HUNG.toMillis(), TimeUnit.MILLISECONDS);
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
      }
    }
  }
}
