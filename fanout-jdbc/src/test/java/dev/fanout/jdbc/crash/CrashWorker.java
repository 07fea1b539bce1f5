package dev.fanout.jdbc.crash;

import dev.fanout.Engine;
import dev.fanout.FanOut;
import dev.fanout.JobHandle;
import dev.fanout.JobId;
import dev.fanout.JobSpec;
import dev.fanout.JobState;
import dev.fanout.JobStatus;
import dev.fanout.TaskContext;
import dev.fanout.jdbc.JdbcJobStore;
import dev.fanout.spi.StoreException;
import java.io.FileOutputStream;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ThreadLocalRandom;
import java.util.stream.IntStream;

/**
 * The process a crash test starts and kills: one engine on the store, working on one job until the
 * job is final or the process is killed.
 *
 * <p>Arguments are {@code key=value}: {@code mode} ({@code submit} or {@code resume}), the store
 * (see {@link StoreTarget}), {@code calls} (the call log), {@code inflight} (the {@link
 * InFlightGauge}'s file), {@code worker} (the engine's worker ID, so the test knows which leases
 * were this process's), {@code job} (resume only), {@code items} and {@code concurrency} (submit
 * only).
 *
 * <p>The function {@code work} appends its item's index to the call log first, in one write to a
 * file opened for appending, so the log holds every call that began, even one killed a moment
 * later. It then sleeps 1 to 10 ms and returns twice the index. The in-flight gauge counts it from
 * before the log line until it returns.
 *
 * <p>Prints {@code job <id>} once the job is stored (submit), then {@code settled <n>} every 50 ms,
 * and {@code final <state>} before it exits 0.
 */
final class CrashWorker {

  /**
   * Short, so the next worker reclaims a killed one's items soon; but two seconds rather than one:
   * the tests call a repeat that no kill explains a failure, and a worker renews every third of a
   * lease, which a loaded machine (or the test freezing it while it looks for a call) can delay.
   */
  private static final Duration LEASE = Duration.ofSeconds(2);

  private static final Duration POLL = Duration.ofMillis(20);
  private static final long PROGRESS_EVERY_MILLIS = 10;

  private CrashWorker() {}

  public static void main(String[] argv) throws Exception {
    Map<String, String> args = parse(argv);
    StoreTarget target = StoreTarget.fromArgs(args);
    String mode = required(args, "mode");
    InFlightGauge inFlight = InFlightGauge.map(Path.of(required(args, "inflight")));
    try (OutputStream calls = new FileOutputStream(required(args, "calls"), true);
        JdbcJobStore store = target.open();
        Engine engine =
            FanOut.builder()
                .store(store)
                .workerId(required(args, "worker"))
                .leaseDuration(LEASE)
                .pollInterval(POLL)
                .build()) {
      engine.register(
          "work",
          Integer.class,
          (Integer index, TaskContext context) -> {
            inFlight.enter();
            try {
              // One write(2) on an O_APPEND descriptor: lines from concurrent calls never mix,
              // and the kernel keeps the line when the process is killed right after.
              calls.write((index + "\n").getBytes(StandardCharsets.US_ASCII));
              Thread.sleep(1 + ThreadLocalRandom.current().nextInt(10));
              return index * 2L;
            } finally {
              inFlight.exit();
            }
          });
      engine.start();
      JobHandle<?> job =
          switch (mode) {
            case "submit" -> submit(engine, args);
            case "resume" ->
                engine
                    .job(JobId.of(required(args, "job")))
                    .orElseThrow(() -> new IllegalStateException("no job " + args.get("job")));
            default -> throw new IllegalArgumentException("mode must be submit or resume: " + mode);
          };
      JobState state = awaitFinal(job);
      System.out.println("final " + state);
      System.out.flush();
    }
    // Nothing of the engine's may keep the process alive: the test waits for the exit.
    System.exit(0);
  }

  private static JobHandle<?> submit(Engine engine, Map<String, String> args) {
    int items = Integer.parseInt(required(args, "items"));
    int concurrency = Integer.parseInt(required(args, "concurrency"));
    List<Integer> indexes = IntStream.range(0, items).boxed().toList();
    JobHandle<?> job =
        engine.submit(
            JobSpec.items(indexes)
                .function("work")
                .reduce("sum")
                .maxConcurrency(concurrency)
                .build());
    System.out.println("job " + job.id());
    System.out.flush();
    return job;
  }

  private static JobState awaitFinal(JobHandle<?> job) throws InterruptedException {
    while (true) {
      try {
        JobStatus status = job.status();
        System.out.println("settled " + status.settled());
        System.out.flush();
        if (status.state().isFinal()) {
          return status.state();
        }
      } catch (StoreException e) {
        System.err.println("reading the job's status failed; trying again: " + e);
      }
      Thread.sleep(PROGRESS_EVERY_MILLIS);
    }
  }

  private static Map<String, String> parse(String[] argv) {
    Map<String, String> args = new HashMap<>();
    for (String arg : argv) {
      int eq = arg.indexOf('=');
      if (eq <= 0) {
        throw new IllegalArgumentException("arguments are key=value, got '" + arg + "'");
      }
      args.put(arg.substring(0, eq), arg.substring(eq + 1));
    }
    return args;
  }

  private static String required(Map<String, String> args, String key) {
    String value = args.get(key);
    if (value == null) {
      throw new IllegalArgumentException("missing argument " + key + "=...");
    }
    return value;
  }
}
