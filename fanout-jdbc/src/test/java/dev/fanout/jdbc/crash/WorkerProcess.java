package dev.fanout.jdbc.crash;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;

/**
 * A {@link CrashWorker} running in a JVM of its own, started on the test's class path. Its standard
 * output is read line by line as it comes; its standard error goes to a log file that failure
 * messages quote. Linux only: it freezes and kills the worker with signals.
 */
final class WorkerProcess implements AutoCloseable {

  /** The exit code a JVM reports for a process that SIGKILL ended: 128 + 9. */
  static final int KILLED_BY_SIGKILL = 128 + 9;

  /** How long any one wait on a worker may take before the test gives up on it as hung. */
  private static final Duration HUNG = Duration.ofSeconds(60);

  private static final String END_OF_OUTPUT = "\0end";

  private final String name;
  private final String workerId;
  private final Process process;
  private final Path log;
  private final InFlightGauge inFlight;
  private final BlockingQueue<String> lines = new LinkedBlockingQueue<>();
  private long lastSettled = -1;

  private WorkerProcess(
      String name, String workerId, Process process, Path log, InFlightGauge inFlight) {
    this.name = name;
    this.workerId = workerId;
    this.process = process;
    this.log = log;
    this.inFlight = inFlight;
    Thread.ofVirtual().name(name + "-stdout").start(this::readOutput);
  }

  /**
   * Starts a worker.
   *
   * @param name the process's name, unique in the test: its log and gauge files are named for it
   * @param workerId the engine's worker ID, the owner of its leases in the store
   * @param args its other arguments, without the worker ID and the gauge
   * @param folder where its log and gauge go
   */
  static WorkerProcess start(String name, String workerId, List<String> args, Path folder)
      throws IOException {
    Path java = Path.of(System.getProperty("java.home"), "bin", "java");
    List<String> command = new ArrayList<>();
    command.add(java.toString());
    // Start fast and stay small: ten of these start one after another on two cores.
    command.add("-XX:TieredStopAtLevel=1");
    command.add("-XX:+UseSerialGC");
    command.add("-Xshare:auto");
    command.add("-Xmx256m");
    command.add("-cp");
    command.add(System.getProperty("java.class.path"));
    command.add(CrashWorker.class.getName());
    Path gauge = folder.resolve(name + ".inflight");
    InFlightGauge inFlight = InFlightGauge.map(gauge);
    command.add("worker=" + workerId);
    command.add("inflight=" + gauge);
    command.addAll(args);
    Path log = folder.resolve(name + ".log");
    Process process =
        new ProcessBuilder(command)
            .redirectError(ProcessBuilder.Redirect.to(log.toFile()))
            .redirectInput(ProcessBuilder.Redirect.from(Path.of("/dev/null").toFile()))
            .start();
    return new WorkerProcess(name, workerId, process, log, inFlight);
  }

  String name() {
    return name;
  }

  /** The owner of the worker's leases in the store. */
  String workerId() {
    return workerId;
  }

  private void readOutput() {
    try (BufferedReader reader =
        new BufferedReader(
            new InputStreamReader(process.getInputStream(), StandardCharsets.UTF_8))) {
      for (String line; (line = reader.readLine()) != null; ) {
        lines.add(line);
      }
    } catch (IOException e) {
      // The stream breaks when the process is killed; that ends the output like EOF does.
    } finally {
      lines.add(END_OF_OUTPUT);
    }
  }

  private String nextLine(String waitingFor) throws InterruptedException {
    String line = lines.poll(HUNG.toMillis(), TimeUnit.MILLISECONDS);
    if (line == null) {
      throw new AssertionError(
          name + " printed nothing for " + HUNG + " " + waitingFor + logTail());
    }
    if (line.equals(END_OF_OUTPUT)) {
      lines.add(END_OF_OUTPUT);
      process.waitFor(HUNG.toMillis(), TimeUnit.MILLISECONDS);
      throw new AssertionError(
          name
              + " ended (exit code "
              + (process.isAlive() ? "none yet" : process.exitValue())
              + ") "
              + waitingFor
              + "; last settled count "
              + lastSettled
              + logTail());
    }
    if (line.startsWith("settled ")) {
      lastSettled = Long.parseLong(line.substring("settled ".length()));
    }
    return line;
  }

  /** Waits for the ID of the job a worker in submit mode stored. */
  String awaitJobId() throws InterruptedException {
    while (true) {
      String line = nextLine("before printing its job ID");
      if (line.startsWith("job ")) {
        return line.substring("job ".length());
      }
    }
  }

  /**
   * Waits until the worker reports at least {@code target} settled items.
   *
   * @return the settled count it reported
   * @throws AssertionError when the worker ends or hangs first
   */
  long awaitSettled(long target) throws InterruptedException {
    String waitingFor = "before " + target + " items settled";
    while (true) {
      String line = nextLine(waitingFor);
      if (line.startsWith("final ")) {
        throw new AssertionError(name + " saw the job end (" + line + ") " + waitingFor);
      }
      if (lastSettled >= target) {
        return lastSettled;
      }
    }
  }

  /**
   * Kills the worker with SIGKILL at the first moment from now at which one of its calls is in
   * flight: it freezes the worker with SIGSTOP, reads the {@link InFlightGauge}, and kills the
   * frozen worker when a call is running; otherwise it lets the worker go on (SIGCONT) for a random
   * few milliseconds and looks again. The worker dies in exactly the state the gauge was read in.
   *
   * @return how many calls were in flight when it was killed, and when it was frozen for good
   * @throws AssertionError when the worker does not die of SIGKILL, or no call was ever in flight
   */
  Killed killMidCall(Random random) throws IOException, InterruptedException {
    for (int look = 0; look < 1_000; look++) {
      if (!process.isAlive()) {
        throw new AssertionError(
            name
                + " exited with "
                + process.exitValue()
                + " before it could be killed"
                + logTail());
      }
      Instant frozen = Instant.now();
      signal("STOP");
      awaitStopped();
      int calls = inFlight.read();
      if (calls > 0) {
        int exit = kill();
        if (exit != KILLED_BY_SIGKILL) {
          throw new AssertionError(name + " exited with " + exit + ", not of SIGKILL" + logTail());
        }
        return new Killed(calls, frozen);
      }
      signal("CONT");
      Thread.sleep(1 + random.nextInt(5));
    }
    throw new AssertionError(name + " never had a call in flight when looked at" + logTail());
  }

  /**
   * What {@link #killMidCall} found.
   *
   * @param callsInFlight the calls running when the worker was frozen
   * @param frozen just before the last freeze was sent: no earlier than the worker's last renewal
   */
  record Killed(int callsInFlight, Instant frozen) {}

  /**
   * Kills the worker with SIGKILL ({@link Process#destroyForcibly()} on Linux) and waits for it to
   * be gone.
   *
   * @return its exit code
   */
  private int kill() throws InterruptedException {
    process.destroyForcibly();
    if (!process.waitFor(HUNG.toMillis(), TimeUnit.MILLISECONDS)) {
      throw new AssertionError(name + " outlived SIGKILL by " + HUNG);
    }
    return process.exitValue();
  }

  private void signal(String signal) throws IOException, InterruptedException {
    Process kill = new ProcessBuilder("kill", "-" + signal, Long.toString(process.pid())).start();
    if (kill.waitFor() != 0) {
      throw new AssertionError(
          "kill -"
              + signal
              + " "
              + name
              + " failed: "
              + new String(kill.getErrorStream().readAllBytes(), StandardCharsets.UTF_8)
              + logTail());
    }
  }

  /** Waits until every thread of the worker is stopped, so nothing it does is still under way. */
  private void awaitStopped() throws IOException, InterruptedException {
    Path tasks = Path.of("/proc", Long.toString(process.pid()), "task");
    for (int look = 0; look < 5_000; look++) {
      boolean allStopped = true;
      try (Stream<Path> threads = Files.list(tasks)) {
        for (Path thread : threads.toList()) {
          String stat;
          try {
            stat = Files.readString(thread.resolve("stat"), StandardCharsets.US_ASCII);
          } catch (NoSuchFileException e) {
            continue; // the thread ended
          }
          // "tid (name) S ...": the name may hold anything, the state follows its last ')'.
          char state = stat.charAt(stat.lastIndexOf(')') + 2);
          allStopped &= state == 'T' || state == 't';
        }
      }
      if (allStopped) {
        return;
      }
      Thread.sleep(1);
    }
    throw new AssertionError(name + " did not stop on SIGSTOP" + logTail());
  }

  /** Waits for the worker to exit on its own, and returns its exit code. */
  int awaitExit() throws InterruptedException {
    if (!process.waitFor(HUNG.toMillis(), TimeUnit.MILLISECONDS)) {
      throw new AssertionError(name + " did not exit within " + HUNG + logTail());
    }
    return process.exitValue();
  }

  /** The end of the worker's standard error, for failure messages. */
  String logTail() {
    try {
      List<String> all = Files.readAllLines(log, StandardCharsets.UTF_8);
      List<String> tail = all.subList(Math.max(0, all.size() - 40), all.size());
      return tail.isEmpty() ? "" : "\n--- " + log + " (end) ---\n" + String.join("\n", tail);
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
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
