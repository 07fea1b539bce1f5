package dev.fanout.benchmarks;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.fanout.server.FanoutServer;
import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.io.UncheckedIOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.Statement;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Locale;
import java.util.Set;
import java.util.UUID;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Semaphore;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.stream.Collectors;
import java.util.stream.IntStream;

/**
 * The HTTP service's scenarios (issue 4), against {@link FanoutServer} with its shipped defaults on
 * the embedded H2 store, over real HTTP:
 *
 * <ol>
 *   <li>the acknowledgement time of a 10,000-item {@code POST /v1/jobs}: from sending the request
 *       to reading the {@code 202}, median and p99 of 21 submissions, each job run to its end
 *       before the next (target: median under 150 ms);
 *   <li>10,000 items against an HTTP function in its own process ({@link SlowFunctionServer}, 100
 *       ms a call) with {@code maxConcurrency} 1,000 (ideal 1 s): Fanout's makespan, from sending
 *       the submission to reading a final state from {@code GET /v1/jobs/{id}}, against a plain
 *       {@link HttpClient} loop making the same 10,000 calls at the same concurrency (a semaphore
 *       of 1,000 and a virtual thread per call), measured alternately in the same run (target: at
 *       most 1.25 times the loop).
 * </ol>
 *
 * <p>Run with {@code java -cp fanout-benchmarks/target/benchmarks.jar
 * dev.fanout.benchmarks.HttpScenarios [postgres]}: with {@code postgres} the server uses PostgreSQL
 * on 127.0.0.1:5432, database {@code test}, in a schema of its own that is dropped afterwards, as
 * {@code fanout serve --db} would.
 */
public final class HttpScenarios {
  private static final int ITEMS = 10_000;
  private static final int CONCURRENCY = 1_000;
  private static final int ACK_SUBMISSIONS = 21;
  private static final int MAKESPAN_ROUNDS = 3;
  private static final Set<String> FINAL = Set.of("SUCCEEDED", "FAILED", "CANCELLED");
  private static final ObjectMapper JSON = new ObjectMapper();
  private static final String POSTGRES = "jdbc:postgresql://127.0.0.1:5432/test";

  private HttpScenarios() {}

  /**
   * Runs both scenarios and prints what they measured.
   *
   * @param args empty for the embedded H2 store, or {@code postgres}
   * @throws Exception when the stub or the server cannot start, or a job does not succeed
   */
  public static void main(String[] args) throws Exception {
    boolean postgres = args.length > 0 && args[0].equals("postgres");
    if (args.length > 0 && !postgres) {
      throw new IllegalArgumentException("unknown store '" + args[0] + "': postgres or nothing");
    }
    String schema = "fanout_bench_" + UUID.randomUUID().toString().substring(0, 8);
    Path data = Files.createTempDirectory("fanout-bench-http");
    FanoutServer.Builder builder = FanoutServer.builder().port(0).dataDir(data);
    if (postgres) {
      try (Connection c = DriverManager.getConnection(POSTGRES, "postgres", "");
          Statement st = c.createStatement()) {
        st.execute("CREATE SCHEMA " + schema);
      }
      builder.jdbcUrl(POSTGRES + "?user=postgres&currentSchema=" + schema);
    }
    Process stub = startStub();
    try (FanoutServer server = builder.build().start()) {
      int stubPort = readPort(stub);
      String functionUrl = "http://127.0.0.1:" + stubPort + "/score";
      HttpClient client = HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1).build();
      String base = server.url();
      String items =
          IntStream.range(0, ITEMS)
              .mapToObj(Integer::toString)
              .collect(Collectors.joining(",", "[", "]"));

      // Warm-up: JIT, the connection pools, H2's caches; one of each, not measured.
      for (int i = 0; i < 3; i++) {
        runJob(client, base, "{\"function\": {\"name\": \"identity\"}, \"items\": " + items + "}");
      }
      String urlJob =
          "{\"function\": {\"url\": \""
              + functionUrl
              + "\"}, \"items\": "
              + items
              + ", \"maxConcurrency\": "
              + CONCURRENCY
              + ", \"reduce\": \"count\"}";
      runJob(client, base, urlJob);
      plainLoop(functionUrl);

      List<Double> acks = new ArrayList<>();
      for (int i = 0; i < ACK_SUBMISSIONS; i++) {
        long t0 = System.nanoTime();
        String id =
            submit(
                client, base, "{\"function\": {\"name\": \"identity\"}, \"items\": " + items + "}");
        acks.add((System.nanoTime() - t0) / 1e6);
        awaitFinal(client, base, id, 0);
      }
      Collections.sort(acks);
      System.out.printf(
          Locale.ROOT,
          "ack of 10,000 items over HTTP: median %.0f ms, p99 %.0f ms (min %.0f; 21 submissions)%n",
          acks.get(ACK_SUBMISSIONS / 2),
          acks.get(ACK_SUBMISSIONS - 1),
          acks.get(0));

      List<Double> fanout = new ArrayList<>();
      List<Double> plain = new ArrayList<>();
      for (int round = 0; round < MAKESPAN_ROUNDS; round++) {
        fanout.add(runJob(client, base, urlJob));
        String phases = lastPhases;
        plain.add(plainLoop(functionUrl));
        System.out.printf(
            Locale.ROOT,
            "round %d: Fanout %.0f ms, plain HttpClient loop %.0f ms, ratio %.2f%n  Fanout: %s%n",
            round + 1,
            fanout.get(round),
            plain.get(round),
            fanout.get(round) / plain.get(round),
            phases);
      }
      double f = median(fanout);
      double p = median(plain);
      System.out.printf(
          Locale.ROOT,
          "10,000 calls of 100 ms at concurrency 1,000: Fanout median %.0f ms, plain loop median"
              + " %.0f ms, ratio %.2f (target <= 1.25)%n",
          f,
          p,
          f / p);
    } finally {
      stub.getOutputStream().close();
      if (!stub.waitFor(10, java.util.concurrent.TimeUnit.SECONDS)) {
        stub.destroyForcibly();
      }
      deleteTree(data);
      if (postgres) {
        try (Connection c = DriverManager.getConnection(POSTGRES, "postgres", "");
            Statement st = c.createStatement()) {
          st.execute("DROP SCHEMA IF EXISTS " + schema + " CASCADE");
        }
      }
    }
  }

  private static Process startStub() throws IOException {
    List<String> command =
        List.of(
            Path.of(System.getProperty("java.home"), "bin", "java").toString(),
            // The JDK server closes connections beyond 200 idle ones, racing the client about to
            // reuse them; a stub for a thousand connections keeps them all.
            "-Dsun.net.httpserver.maxIdleConnections=100000",
            "-cp",
            System.getProperty("java.class.path"),
            SlowFunctionServer.class.getName());
    return new ProcessBuilder(command).redirectError(ProcessBuilder.Redirect.INHERIT).start();
  }

  private static int readPort(Process stub) throws IOException {
    BufferedReader out =
        new BufferedReader(new InputStreamReader(stub.getInputStream(), StandardCharsets.UTF_8));
    String line = out.readLine();
    if (line == null) {
      throw new IOException("the stub function server did not start");
    }
    return Integer.parseInt(line.strip());
  }

  /** Submits a job, waits for its final state, and returns the milliseconds in between. */
  private static double runJob(HttpClient client, String base, String body) throws Exception {
    long sent = System.currentTimeMillis();
    long t0 = System.nanoTime();
    String id = submit(client, base, body);
    long acked = System.currentTimeMillis();
    JsonNode job = awaitFinal(client, base, id, ITEMS);
    double millis = (System.nanoTime() - t0) / 1e6;
    long seen = System.currentTimeMillis();
    if (!job.get("status").asText().equals("SUCCEEDED") || job.get("succeeded").asLong() != ITEMS) {
      throw new IllegalStateException("benchmark job did not succeed: " + job);
    }
    lastPhases =
        String.format(
            Locale.ROOT,
            "acknowledged after %d ms, first claim %d ms later, items ran %d ms, final state seen"
                + " %d ms after it was reached",
            acked - sent,
            millisOf(job, "startedAt") - acked,
            millisOf(job, "finishedAt") - millisOf(job, "startedAt"),
            seen - millisOf(job, "finishedAt"));
    return millis;
  }

  /** Where a job's time went, by its own timestamps: the last {@link #runJob}'s. */
  private static String lastPhases = "";

  private static long millisOf(JsonNode job, String field) {
    return java.time.Instant.parse(job.get(field).asText()).toEpochMilli();
  }

  private static String submit(HttpClient client, String base, String body) throws Exception {
    HttpResponse<String> r =
        client.send(
            HttpRequest.newBuilder(URI.create(base + "/v1/jobs"))
                .header("Content-Type", "application/json")
                .POST(HttpRequest.BodyPublishers.ofString(body))
                .build(),
            HttpResponse.BodyHandlers.ofString());
    if (r.statusCode() != 202) {
      throw new IllegalStateException("submit answered " + r.statusCode() + ": " + r.body());
    }
    return JSON.readTree(r.body()).get("id").asText();
  }

  /**
   * Polls the job every 5 ms until it is final, as a client would; the poll adds at most 5 ms and
   * one GET to a makespan of about a second.
   */
  private static JsonNode awaitFinal(HttpClient client, String base, String id, long expected)
      throws Exception {
    HttpRequest get = HttpRequest.newBuilder(URI.create(base + "/v1/jobs/" + id)).build();
    for (; ; ) {
      JsonNode job = JSON.readTree(client.send(get, HttpResponse.BodyHandlers.ofString()).body());
      if (FINAL.contains(job.get("status").asText())) {
        if (expected > 0 && job.get("succeeded").asLong() != expected) {
          throw new IllegalStateException("benchmark job did not succeed: " + job);
        }
        return job;
      }
      Thread.sleep(5);
    }
  }

  /**
   * The baseline: the same 10,000 POSTs to the same function, at most 1,000 at once, each on a
   * virtual thread, through one HTTP/1.1 client (as Fanout's HTTP functions use); milliseconds from
   * the first call to the last answer. A fresh client each time, as Fanout's job gets.
   */
  private static double plainLoop(String url) throws InterruptedException {
    HttpClient client =
        HttpClient.newBuilder()
            .version(HttpClient.Version.HTTP_1_1)
            .executor(Executors.newVirtualThreadPerTaskExecutor())
            .build();
    Semaphore slots = new Semaphore(CONCURRENCY);
    CountDownLatch done = new CountDownLatch(ITEMS);
    AtomicInteger failures = new AtomicInteger();
    long t0 = System.nanoTime();
    try (ExecutorService threads = Executors.newVirtualThreadPerTaskExecutor()) {
      for (int i = 0; i < ITEMS; i++) {
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

  private static double median(List<Double> values) {
    List<Double> sorted = new ArrayList<>(values);
    Collections.sort(sorted);
    return sorted.get(sorted.size() / 2);
  }

  private static void deleteTree(Path dir) throws IOException {
    try (var paths = Files.walk(dir)) {
      paths
          .sorted(Collections.reverseOrder())
          .forEach(
              p -> {
                try {
                  Files.delete(p);
                } catch (IOException e) {
                  throw new UncheckedIOException(e);
                }
              });
    }
  }
}
