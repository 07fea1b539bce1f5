package dev.fanout.benchmarks;

import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Scenario 6, issue 6's cluster: worker nodes as child JVMs ({@link ClusterNode}) on one PostgreSQL
 * schema. 1, 2 and 4 nodes, each capped at 50 concurrent items, run items that sleep 100 ms, and
 * throughput should grow close to linearly; then two nodes run durable no-op items. The runner's
 * JVM runs no engine: it submits over HTTP to the first node, which also serves the API as {@code
 * fanout serve} would, and reads the job until it is final.
 */
final class ClusterScaleOut implements Bench.Scenario {
  private static final int NODE_CONCURRENCY = 50;
  private static final Pattern READY = Pattern.compile("ready (\\S+)");

  @Override
  public int number() {
    return 6;
  }

  @Override
  public String title() {
    return "A cluster on one PostgreSQL: 1, 2 and 4 nodes";
  }

  @Override
  public Outcome run(Bench.Options options) throws Exception {
    int perNode = options.size(6_000, 300);
    int warmupPerNode = options.size(2_000, 100);
    int noop = options.size(100_000, 2_000);
    int rounds = options.size(3, 1);
    Path logs = Files.createTempDirectory("fanout-bench-cluster");
    String schema = Bench.createSchema("fanout_bench");
    String url = Bench.schemaUrl(schema);
    Outcome outcome =
        new Outcome(
            number(),
            title(),
            """
            Each node is a JVM of its own (`ClusterNode`): a `FanoutServer` on one shared PostgreSQL \
            schema with one more function, `sleep100` (sleeps 100 ms, returns its item), and \
            otherwise the shipped defaults (lease 30 s, poll 200 ms, claim batch 256). The first \
            node also serves the HTTP API, as `fanout serve`; the others are `fanout worker`s; \
            every node runs items. Scale-out: each node count starts fresh nodes, each capped at \
            %d concurrent items (`--concurrency`), runs an untimed job of %,d items per node, then \
            %d timed job%s of %,d items per node (ideal: 500 items/s per node); the job's \
            `maxConcurrency` is its default (1,000), above every total. No-op: two nodes at their \
            default cap run %d job%s of %,d `identity` items after a warm-up job. A job's time \
            runs from sending the submission to reading the final state (read every 20 ms). All \
            nodes share this machine's cores with PostgreSQL and the runner, so 4 nodes measure \
            CPU sharing as much as the cluster.
            """
                .formatted(
                    NODE_CONCURRENCY,
                    warmupPerNode,
                    rounds,
                    rounds == 1 ? "" : "s",
                    perNode,
                    rounds,
                    rounds == 1 ? "" : "s",
                    noop));
    Outcome.Metric scale = outcome.metric("I/O-bound throughput", "items/s", true);
    Outcome.Metric noops = outcome.metric("durable no-op throughput", "tasks/s", true);
    try {
      for (int nodes : new int[] {1, 2, 4}) {
        Cluster started = startNodes(url, logs, "scale" + nodes, nodes, NODE_CONCURRENCY);
        try {
          timeJob(started, "sleep100", nodes * warmupPerNode);
          int items = nodes * perNode;
          List<Double> rates = new ArrayList<>();
          for (int round = 0; round < rounds; round++) {
            rates.add(items / timeJob(started, "sleep100", items));
          }
          scale.add(
              "scale",
              "%d node%s × %d".formatted(nodes, nodes == 1 ? "" : "s", NODE_CONCURRENCY),
              true,
              rates);
        } finally {
          stop(started.processes());
        }
      }
      Cluster started = startNodes(url, logs, "noop", 2, 0);
      try {
        timeJob(started, "identity", noop / 5);
        List<Double> rates = new ArrayList<>();
        for (int round = 0; round < rounds; round++) {
          rates.add(noop / timeJob(started, "identity", noop));
        }
        noops.add("noop", "2 nodes", true, rates);
      } finally {
        stop(started.processes());
      }
    } finally {
      Bench.dropSchema(schema);
    }
    // By the medians: one slow round on a shared machine must not decide the target.
    double ratio = scale.figures.get(2).median() / scale.figures.get(0).median();
    outcome.target(
        "4 nodes at least 3.5 × 1 node (medians)",
        String.format(Locale.ROOT, "%.2f ×", ratio),
        ratio >= 3.5);
    outcome.settings(
        "every node",
        "server",
        "`FanoutServer.builder().jdbcUrl(url).nodeId(id)`, `.workerOnly()` but for the first",
        "node cap",
        "`concurrency(%d)` for scale-out, the default (10,000) for no-op"
            .formatted(NODE_CONCURRENCY));
    outcome.note("Node logs: `" + logs + "` (kept for a look after the run).");
    return outcome;
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
      stop(nodes);
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
    String body =
        "{\"function\": {\"name\": \""
            + function
            + "\"}, \"items\": "
            + HttpJobs.items(n)
            + ", \"reduce\": \"count\"}";
    return HttpJobs.timeJob(cluster.url(), body, n, 20);
  }
}
