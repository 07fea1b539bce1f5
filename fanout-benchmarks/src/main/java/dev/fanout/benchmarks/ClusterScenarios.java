package dev.fanout.benchmarks;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.SQLException;
import java.sql.Statement;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Set;
import java.util.UUID;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Collectors;
import java.util.stream.IntStream;

/**
 * The cluster scenarios of issue 6: worker nodes as child JVMs ({@link ClusterNode}) on one
 * PostgreSQL schema, each job timed from {@code submit} to its outcome.
 *
 * <ol>
 *   <li>I/O-bound scale-out: 1, 2 and 4 nodes, each capped at 50 concurrent items, run items that
 *       sleep 100 ms ({@code sleep100}); 6,000 items per node ({@code -DitemsPerNode}), so every
 *       run lasts about 12 s at the ideal 500 items a second per node, after an untimed job of
 *       2,000 items per node ({@code -DwarmupPerNode}). Reported: items per second per node count,
 *       and 4 nodes against 1 (target at least 3.5).
 *   <li>Durable no-op throughput: 100,000 {@code identity} items on 2 nodes with the default node
 *       cap.
 * </ol>
 *
 * <p>This JVM runs no engine: it submits over HTTP to the first node, which also serves the API as
 * {@code fanout serve} would, and reads the job until it is final. Each node count starts fresh
 * nodes and runs a warm-up job before the timed one. Run with {@code java -cp
 * fanout-benchmarks/target/benchmarks.jar dev.fanout.benchmarks.ClusterScenarios [scale] [noop]}
 * (both by default); PostgreSQL is 127.0.0.1:5432, database {@code test}, in a schema of its own
 * that is dropped afterwards.
 */
public final class ClusterScenarios {
  private static final String POSTGRES = "jdbc:postgresql://127.0.0.1:5432/test";
  private static final int NODE_CONCURRENCY = 50;

  /** Per node in the timed job: 12 s at the ideal rate, so a start or an end is a small part. */
  private static final int ITEMS_PER_NODE = Integer.getInteger("itemsPerNode", 6_000);

  /**
   * Per node in the untimed job before it: 4 s, long enough for the JIT to compile the hot paths of
   * every node (on 2 vCPUs, four nodes still compiling slowed the timed job by a tenth).
   */
  private static final int WARMUP_PER_NODE = Integer.getInteger("warmupPerNode", 2_000);

  private static final int NOOP_ITEMS = 100_000;
  private static final Pattern READY = Pattern.compile("ready (\\S+)");
  private static final Set<String> FINAL = Set.of("SUCCEEDED", "FAILED", "CANCELLED");
  private static final HttpClient HTTP = HttpClient.newHttpClient();
  private static final ObjectMapper JSON = new ObjectMapper();

  private ClusterScenarios() {}

  /**
   * Runs the scenarios named in {@code args} (both by default) and prints a table.
   *
   * @param args {@code scale}, {@code noop}, or both
   * @throws Exception when PostgreSQL or a node cannot start, or a job does not succeed
   */
  public static void main(String[] args) throws Exception {
    List<String> scenarios = args.length == 0 ? List.of("scale", "noop") : List.of(args);
    String schema = "fanout_bench_" + UUID.randomUUID().toString().substring(0, 8);
    try (Connection c = DriverManager.getConnection(POSTGRES, "postgres", "");
        Statement s = c.createStatement()) {
      s.execute("CREATE SCHEMA " + schema);
    }
    String url = POSTGRES + "?user=postgres&currentSchema=" + schema;
    Path logs = Files.createTempDirectory("fanout-bench-cluster");
    List<String> rows = new ArrayList<>();
    try {
      for (String scenario : scenarios) {
        switch (scenario) {
          case "scale" -> rows.addAll(scaleOut(url, logs));
          case "noop" -> rows.add(noop(url, logs));
          default ->
              throw new IllegalArgumentException(
                  "unknown scenario '" + scenario + "': scale or noop");
        }
      }
    } finally {
      dropSchema(schema);
    }
    System.out.println();
    System.out.println("| scenario | result | target |");
    System.out.println("| --- | --- | --- |");
    rows.forEach(System.out::println);
    System.out.println("node logs: " + logs);
  }

  private static List<String> scaleOut(String url, Path logs) throws Exception {
    List<String> rows = new ArrayList<>();
    double one = 0;
    double four = 0;
    for (int nodes : new int[] {1, 2, 4}) {
      Cluster started = startNodes(url, logs, "scale" + nodes, nodes, NODE_CONCURRENCY);
      try {
        timeJob(started, "sleep100", nodes * WARMUP_PER_NODE);
        int items = nodes * ITEMS_PER_NODE;
        double seconds = timeJob(started, "sleep100", items);
        double perSecond = items / seconds;
        if (nodes == 1) {
          one = perSecond;
        } else if (nodes == 4) {
          four = perSecond;
        }
        System.out.printf(
            Locale.ROOT,
            "%d node(s): %,d items in %.2f s, %,.0f items/s%n",
            nodes,
            items,
            seconds,
            perSecond);
        rows.add(
            row(
                "%d node(s) x 50, %,d items of 100 ms".formatted(nodes, items),
                "%,.0f items/s (ideal %,d)".formatted(perSecond, nodes * NODE_CONCURRENCY * 10),
                ""));
      } finally {
        stop(started.processes());
      }
    }
    rows.add(row("4 nodes against 1", "%.2f x".formatted(four / one), ">= 3.5 x"));
    return rows;
  }

  private static String noop(String url, Path logs) throws Exception {
    Cluster started = startNodes(url, logs, "noop", 2, 0);
    try {
      timeJob(started, "identity", 20_000);
      double seconds = timeJob(started, "identity", NOOP_ITEMS);
      System.out.printf(Locale.ROOT, "2 nodes: 100k no-op in %.2f s%n", seconds);
      return row(
          "2 nodes, %,d no-op items".formatted(NOOP_ITEMS),
          "%,.0f tasks/s".formatted(NOOP_ITEMS / seconds),
          "");
    } finally {
      stop(started.processes());
    }
  }

  /** The nodes of one round, and the URL of the first, which serves HTTP. */
  private record Cluster(List<Process> processes, String url) {}

  /** Starts {@code count} nodes, the first with HTTP, and waits until each prints {@code ready}. */
  private static Cluster startNodes(String url, Path logs, String round, int count, int concurrency)
      throws Exception {
    List<Process> nodes = new ArrayList<>();
    List<Path> outs = new ArrayList<>();
    String java = Path.of(System.getProperty("java.home"), "bin", "java").toString();
    for (int i = 0; i < count; i++) {
      String id = round + "-node" + i;
      Path out = logs.resolve(id + ".out");
      List<String> command =
          new ArrayList<>(
              List.of(
                  java,
                  "-cp",
                  System.getProperty("java.class.path"),
                  ClusterNode.class.getName(),
                  url,
                  id,
                  Integer.toString(concurrency)));
      if (i == 0) {
        command.add("http");
      }
      nodes.add(
          new ProcessBuilder(command)
              .redirectOutput(out.toFile())
              .redirectError(logs.resolve(id + ".err").toFile())
              .start());
      outs.add(out);
    }
    Instant deadline = Instant.now().plusSeconds(60);
    for (int i = 0; i < count; i++) {
      while (!Files.readString(outs.get(i), StandardCharsets.UTF_8).contains("ready")) {
        if (!nodes.get(i).isAlive() || Instant.now().isAfter(deadline)) {
          stop(nodes);
          throw new IllegalStateException("node " + outs.get(i) + " did not start; see its .err");
        }
        Thread.sleep(20);
      }
    }
    Matcher m = READY.matcher(Files.readString(outs.get(0), StandardCharsets.UTF_8));
    if (!m.find()) {
      throw new IllegalStateException("the first node printed no URL: " + outs.get(0));
    }
    return new Cluster(nodes, m.group(1));
  }

  private static void stop(List<Process> nodes) throws InterruptedException {
    nodes.forEach(Process::destroy);
    for (Process p : nodes) {
      if (!p.waitFor(60, TimeUnit.SECONDS)) {
        p.destroyForcibly();
      }
    }
  }

  /**
   * Submits {@code n} items of {@code function} to the cluster's HTTP node and returns the seconds
   * from sending the submission to reading its final state.
   */
  private static double timeJob(Cluster cluster, String function, int n) throws Exception {
    String items =
        IntStream.range(0, n).mapToObj(Integer::toString).collect(Collectors.joining(","));
    String body =
        "{\"function\": {\"name\": \""
            + function
            + "\"}, \"items\": ["
            + items
            + "], \"reduce\": \"count\"}";
    long t0 = System.nanoTime();
    HttpResponse<String> accepted =
        HTTP.send(
            HttpRequest.newBuilder(URI.create(cluster.url() + "/v1/jobs"))
                .header("Content-Type", "application/json")
                .POST(HttpRequest.BodyPublishers.ofString(body))
                .build(),
            HttpResponse.BodyHandlers.ofString());
    if (accepted.statusCode() != 202) {
      throw new IllegalStateException("submission refused: " + accepted.body());
    }
    String id = JSON.readTree(accepted.body()).get("id").asText();
    JsonNode job;
    while (true) {
      job =
          JSON.readTree(
              HTTP.send(
                      HttpRequest.newBuilder(URI.create(cluster.url() + "/v1/jobs/" + id)).build(),
                      HttpResponse.BodyHandlers.ofString())
                  .body());
      if (FINAL.contains(job.get("status").asText())) {
        break;
      }
      Thread.sleep(20);
    }
    double seconds = (System.nanoTime() - t0) / 1e9;
    if (!job.get("status").asText().equals("SUCCEEDED") || job.get("aggregate").asLong() != n) {
      throw new IllegalStateException("benchmark job ended: " + job);
    }
    return seconds;
  }

  private static String row(String scenario, String result, String target) {
    return "| " + scenario + " | " + result + " | " + target + " |";
  }

  private static void dropSchema(String schema) {
    try (Connection c = DriverManager.getConnection(POSTGRES, "postgres", "");
        Statement s = c.createStatement()) {
      s.execute("DROP SCHEMA IF EXISTS " + schema + " CASCADE");
    } catch (SQLException e) {
      System.err.println("could not drop schema " + schema + ": " + e.getMessage());
    }
  }
}
