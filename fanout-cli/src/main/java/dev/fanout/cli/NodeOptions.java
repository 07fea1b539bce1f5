package dev.fanout.cli;

import dev.fanout.server.FanoutServer;
import java.io.PrintWriter;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.CountDownLatch;
import picocli.CommandLine.Option;

/**
 * What {@code fanout serve} and {@code fanout worker} share: the hosts HTTP functions may call, the
 * shutdown grace, and running until SIGTERM or Ctrl-C.
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

  /**
   * Sets these options on a server's builder.
   *
   * @throws IllegalArgumentException when a value is refused, naming it
   */
  void applyTo(FanoutServer.Builder builder) {
    builder.shutdownGrace(Duration.ofSeconds(graceSeconds));
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
