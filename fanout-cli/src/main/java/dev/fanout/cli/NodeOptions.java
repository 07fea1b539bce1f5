package dev.fanout.cli;

import dev.fanout.server.FanoutServer;
import java.io.PrintWriter;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.CountDownLatch;
import picocli.CommandLine.Option;

/**
 * What {@code fanout serve} and {@code fanout worker} share: the node's identity, cap, lease and
 * poll, the hosts HTTP functions may call, the shutdown grace, and running until SIGTERM or Ctrl-C.
 */
final class NodeOptions {

  @Option(
      names = "--allow-hosts",
      paramLabel = "HOSTS",
      split = ",",
      description =
          "Let HTTP functions call only these hosts: names, IP literals, or *.example.com."
              + " Link-local and cloud metadata addresses are refused in any case.")
  List<String> allowHosts = List.of();

  @Option(
      names = "--grace-seconds",
      paramLabel = "SECONDS",
      defaultValue = "30",
      description =
          "On SIGTERM, how long running calls may finish before they are stopped (their items run"
              + " again later, here or on another node). Default: ${DEFAULT-VALUE}.")
  long graceSeconds;

  @Option(
      names = "--concurrency",
      paramLabel = "N",
      description =
          "Run at most N items at once on this node, over all jobs; each job's maxConcurrency"
              + " holds across the whole cluster on top of it. Default: 10000.")
  Integer concurrency;

  @Option(
      names = "--node-id",
      paramLabel = "ID",
      description =
          "This node's name in `fanout cluster`, its leases and its calls' X-Fanout-Node header;"
              + " unique per running node. Default: host name, process ID and a random suffix.")
  String nodeId;

  @Option(
      names = "--lease-seconds",
      paramLabel = "SECONDS",
      defaultValue = "30",
      description =
          "How long a claimed item stays this node's without a heartbeat: when the node dies, its"
              + " items run again elsewhere after this. Decimals allowed. Default: ${DEFAULT-VALUE}.")
  double leaseSeconds;

  @Option(
      names = "--poll-ms",
      paramLabel = "MILLIS",
      defaultValue = "200",
      description =
          "The fallback poll for new work when no wake-up arrives (PostgreSQL sends one on every"
              + " new job). Default: ${DEFAULT-VALUE}.")
  long pollMillis;

  /**
   * Sets these options on a server's builder.
   *
   * @throws IllegalArgumentException when a value is refused, naming it
   */
  void applyTo(FanoutServer.Builder builder) {
    builder.shutdownGrace(Duration.ofSeconds(graceSeconds));
    if (concurrency != null) {
      builder.concurrency(concurrency);
    }
    if (nodeId != null) {
      builder.nodeId(nodeId);
    }
    if (!(leaseSeconds > 0) || leaseSeconds > 86_400) {
      throw new IllegalArgumentException(
          "--lease-seconds must be above 0 and at most 86400, got " + leaseSeconds);
    }
    builder.leaseDuration(Duration.ofMillis(Math.max(1, Math.round(leaseSeconds * 1000))));
    if (pollMillis < 1) {
      throw new IllegalArgumentException("--poll-ms must be >= 1, got " + pollMillis);
    }
    builder.pollInterval(Duration.ofMillis(pollMillis));
    if (!allowHosts.isEmpty()) {
      builder.allowHosts(allowHosts);
    }
  }

  /**
   * Prints {@code started}, then waits until SIGTERM or Ctrl-C, whose shutdown hook stops the node:
   * it lets running attempts settle within the grace and closes the store.
   */
  static void runUntilStopped(FanoutServer node, PrintWriter out, String started)
      throws InterruptedException {
    CountDownLatch stopped = new CountDownLatch(1);
    Runtime.getRuntime()
        .addShutdownHook(
            new Thread(
                () -> {
                  node.close();
                  stopped.countDown();
                },
                "fanout-shutdown"));
    out.println(started);
    out.flush();
    stopped.await();
  }
}
