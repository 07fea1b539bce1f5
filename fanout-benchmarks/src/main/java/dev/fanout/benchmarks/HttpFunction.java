package dev.fanout.benchmarks;

import dev.fanout.server.FanoutServer;
import java.io.IOException;
import java.lang.management.ManagementFactory;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Semaphore;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * Scenario 4: 10,000 calls of an HTTP function, at most 1,000 at once, with two latencies: 20 ms
 * (this runner's issue, where the calls' own cost dominates) and 100 ms (the HTTP service's issue,
 * ideal 1 s, where waiting dominates). Fanout is {@code fanout serve} with its defaults (embedded
 * H2), given the job over HTTP; the baseline is a plain {@link HttpClient} loop making the same
 * calls at the same concurrency. The function runs in a process of its own ({@link
 * SlowFunctionServer}, one per latency), so its thousand connections and threads share no JVM with
 * either contender; both contenders run in the runner's JVM, whose CPU time is read around each
 * run.
 */
final class HttpFunction implements Bench.Scenario {
  private static final int CONCURRENCY = 1_000;

  /** The latencies measured, each with the target its issue sets. */
  private static final List<Latency> LATENCIES =
      List.of(new Latency(20, "", true), new Latency(100, " (the HTTP service's issue)", false));

  /**
   * One latency of the function.
   *
   * @param millis how long each call takes
   * @param source which issue sets this latency's targets, for the target's name
   * @param cpuTarget whether the CPU time per item has a target too
   */
  private record Latency(int millis, String source, boolean cpuTarget) {
    String group() {
      return millis + " ms";
    }
  }

  @Override
  public int number() {
    return 4;
  }

  @Override
  public String title() {
    return "10,000 calls of a 20 ms (and a 100 ms) HTTP function";
  }

  @Override
  public Outcome run(Bench.Options options) throws Exception {
    int n = options.size(10_000, 1_000);
    int rounds = options.size(5, 1);
    int warmups = options.size(8, 1);
    Outcome outcome =
        new Outcome(
            number(),
            title(),
            """
            %,d items, each a `POST` of the item to a function that answers it after %d ms, at \
            most %,d at once (ideal: %,d ms); then the same with %d ms (ideal: %,d ms), the \
            HTTP service's own benchmark. Fanout: `FanoutServer` with its defaults (what `fanout \
            serve` runs: embedded H2 in a temporary directory) in the runner's JVM, given \
            `{"function": {"url": ...}, "maxConcurrency": %,d, "reduce": "count"}` over HTTP and \
            waited for with `GET /v1/jobs/{id}?waitMs=30000`, which the server answers once the \
            job is final (until this read, it polled every 5 ms); its time runs from sending the \
            submission to reading the final state, so it includes storing the items and recording every result. The \
            baseline: the same calls through one HTTP/1.1 `HttpClient`, a virtual thread per call \
            and a semaphore of %,d, from the first call to the last answer, storing nothing. The \
            function is a JDK `HttpServer` in a JVM of its own, a virtual thread per exchange. Per \
            latency, %d warm-ups of each (one left the server's JIT compiler busy through the \
            rounds; a long-running server's has long settled), then %d rounds taking turns. CPU \
            time is the runner JVM's (`getProcessCpuTime`) over a run, divided by the items: for \
            Fanout it includes the HTTP API, the engine and H2.
            """
                .formatted(
                    n,
                    LATENCIES.get(0).millis(),
                    CONCURRENCY,
                    ideal(n, LATENCIES.get(0).millis()),
                    LATENCIES.get(1).millis(),
                    ideal(n, LATENCIES.get(1).millis()),
                    CONCURRENCY,
                    CONCURRENCY,
                    warmups,
                    rounds));
    Outcome.Metric makespan = outcome.metric("makespan", "ms", false);
    Outcome.Metric cpu = outcome.metric("CPU time per item", "ms", false);
    Path data = Files.createTempDirectory("fanout-bench-http");
    // One client for every round of the baseline, warmed up like Fanout's own, which the server
    // keeps for all its jobs: neither side pays for opening its connections inside a round.
    try (FanoutServer server = FanoutServer.builder().port(0).dataDir(data).build().start();
        HttpClient client =
            HttpClient.newBuilder()
                .version(HttpClient.Version.HTTP_1_1)
                .executor(Executors.newVirtualThreadPerTaskExecutor())
                .build()) {
      for (Latency latency : LATENCIES) {
        measure(options, warmups, server, client, latency, n, rounds, outcome, makespan, cpu);
      }
    } finally {
      Bench.deleteTree(data);
    }
    outcome.settings(
        "Fanout, `fanout serve` on H2",
        "server",
        "`FanoutServer.builder().port(0).dataDir(tmp)`: every default; one server for both"
            + " latencies",
        "job",
        "`maxConcurrency` %,d; the function's timeout, retries and rate at their defaults"
            .formatted(CONCURRENCY));
    outcome.settings(
        "JDK: HttpClient loop",
        "client",
        "`HttpClient.newBuilder().version(HTTP_1_1).executor(virtual threads)`, one for all"
            + " rounds, warmed up first",
        "concurrency",
        "a `Semaphore(%,d)`, a virtual thread per call".formatted(CONCURRENCY));
    return outcome;
  }

  private static int ideal(int n, int latencyMs) {
    return (int) Math.ceil((double) n / CONCURRENCY) * latencyMs;
  }

  /** Runs both contenders against a function of one latency, in its own process. */
  private static void measure(
      Bench.Options options,
      int warmups,
      FanoutServer server,
      HttpClient client,
      Latency latency,
      int n,
      int rounds,
      Outcome outcome,
      Outcome.Metric makespan,
      Outcome.Metric cpu)
      throws Exception {
    com.sun.management.OperatingSystemMXBean os =
        (com.sun.management.OperatingSystemMXBean) ManagementFactory.getOperatingSystemMXBean();
    List<Double> fanoutMillis = new ArrayList<>();
    List<Double> plainMillis = new ArrayList<>();
    List<Double> fanoutCpu = new ArrayList<>();
    List<Double> plainCpu = new ArrayList<>();
    Process stub =
        Bench.startJava(
            // The JDK server closes connections beyond 200 idle ones, racing the client about to
            // reuse them; a stub for a thousand connections keeps them all.
            List.of("-Dsun.net.httpserver.maxIdleConnections=100000"),
            SlowFunctionServer.class,
            Integer.toString(latency.millis()));
    try {
      String function =
          "http://127.0.0.1:" + HttpJobs.firstLine(stub, "the stub function server") + "/score";
      String job =
          """
          {"function": {"url": "%s"}, "items": %s, "maxConcurrency": %d, "reduce": "count"}"""
              .formatted(function, HttpJobs.items(n), CONCURRENCY);
      // Warm-up: connection pools, H2's caches and above all the JIT. The server runs far more
      // code than the loop (Jetty, Jackson, H2, the engine): after one warm-up job its compiler
      // threads still took a third of the JVM's CPU, and Fanout's CPU per item fell by a third
      // between one warm-up and eight.
      for (int i = 0; i < warmups; i++) {
        HttpJobs.timeJob(server.url(), job, n);
        if (options.baselines()) {
          plainLoop(client, function, n);
        }
      }
      for (int round = 0; round < rounds; round++) {
        long cpu0 = os.getProcessCpuTime();
        fanoutMillis.add(HttpJobs.timeJob(server.url(), job, n) * 1000);
        fanoutCpu.add((os.getProcessCpuTime() - cpu0) / 1e6 / n);
        if (options.baselines()) {
          cpu0 = os.getProcessCpuTime();
          plainMillis.add(plainLoop(client, function, n));
          plainCpu.add((os.getProcessCpuTime() - cpu0) / 1e6 / n);
        }
      }
    } finally {
      stub.getOutputStream().close();
      if (!stub.waitFor(10, TimeUnit.SECONDS)) {
        stub.destroyForcibly();
      }
    }
    String group = latency.group();
    String fanout = "Fanout, `fanout serve` on H2, " + group;
    String plain = "JDK: HttpClient loop, " + group;
    makespan.add(group, fanout, true, fanoutMillis);
    cpu.add(group, fanout, true, fanoutCpu);
    if (!options.baselines()) {
      return;
    }
    makespan.add(group, plain, false, plainMillis);
    cpu.add(group, plain, false, plainCpu);
    double ratio = makespan.ratio(makespan.figure(plain));
    outcome.target(
        "%s function%s: makespan at most 1.25 × the plain loop".formatted(group, latency.source()),
        String.format(Locale.ROOT, "%.2f ×", ratio),
        ratio <= 1.25);
    if (latency.cpuTarget()) {
      double cpuRatio = cpu.ratio(cpu.figure(plain));
      outcome.target(
          "%s function: CPU time per item at most 1.25 × the plain loop".formatted(group),
          String.format(Locale.ROOT, "%.2f ×", cpuRatio),
          cpuRatio <= 1.25);
    }
  }

  /**
   * The baseline: the same POSTs to the same function, at most {@link #CONCURRENCY} at once, each
   * on a virtual thread, through one HTTP/1.1 client (as Fanout's HTTP functions use); milliseconds
   * from the first call to the last answer. The same client every round, as Fanout's server keeps
   * one for all its jobs.
   */
  private static double plainLoop(HttpClient client, String url, int n)
      throws InterruptedException {
    Semaphore slots = new Semaphore(CONCURRENCY);
    CountDownLatch done = new CountDownLatch(n);
    AtomicInteger failures = new AtomicInteger();
    long t0 = System.nanoTime();
    try (ExecutorService threads = Executors.newVirtualThreadPerTaskExecutor()) {
      for (int i = 0; i < n; i++) {
        slots.acquire();
        String item = Integer.toString(i);
        threads.execute(
            () -> {
              try {
                HttpResponse<String> r =
                    client.send(
                        HttpRequest.newBuilder(URI.create(url))
                            .header("Content-Type", "application/json")
                            .timeout(Duration.ofSeconds(30))
                            .POST(HttpRequest.BodyPublishers.ofString(item))
                            .build(),
                        HttpResponse.BodyHandlers.ofString());
                if (r.statusCode() != 200 || !r.body().equals(item)) {
                  failures.incrementAndGet();
                }
              } catch (IOException | InterruptedException e) {
                failures.incrementAndGet();
              } finally {
                slots.release();
                done.countDown();
              }
            });
      }
      done.await();
    }
    double millis = (System.nanoTime() - t0) / 1e6;
    if (failures.get() > 0) {
      throw new IllegalStateException(failures.get() + " baseline calls failed");
    }
    return millis;
  }
}
