package dev.fanout.benchmarks;

import dev.fanout.server.FanoutServer;
import java.nio.file.Path;
import java.util.concurrent.CountDownLatch;

/**
 * A node of {@link ClusterScaleOut} (or the server of {@link StreamedSubmission}), run in a JVM of
 * its own: {@code fanout worker} with one more function, {@code sleep100}, which waits 100 ms like
 * an I/O-bound call and returns its item. The built-in {@code identity} serves the no-op scenario.
 *
 * <p>Usage: {@code java -cp benchmarks.jar dev.fanout.benchmarks.ClusterNode <jdbc-url> <node-id>
 * <concurrency> [http]}, where the URL may be {@code h2:DIR} for the embedded store, where a
 * concurrency of 0 keeps the node's default cap, and {@code http} makes it a {@code fanout serve}
 * node that also takes submissions on a free loopback port. It prints {@code ready} (and the URL)
 * once it runs, and stops on SIGTERM.
 */
public final class ClusterNode {

  private ClusterNode() {}

  /**
   * Runs the node until SIGTERM.
   *
   * @param args the JDBC URL (or {@code h2:DIR} for the embedded store in DIR), the node id, the
   *     node's concurrency cap (0 for the default), and {@code http} for a node that serves the
   *     HTTP API too
   * @throws InterruptedException never in practice: the main thread waits for the shutdown hook
   */
  public static void main(String[] args) throws InterruptedException {
    if (args.length < 3 || args.length > 4 || (args.length == 4 && !args[3].equals("http"))) {
      throw new IllegalArgumentException(
          "usage: ClusterNode <jdbc-url> <node-id> <concurrency> [http]");
    }
    boolean http = args.length == 4;
    FanoutServer.Builder builder =
        http ? FanoutServer.builder().port(0) : FanoutServer.builder().workerOnly();
    if (args[0].startsWith("h2:")) {
      builder.dataDir(Path.of(args[0].substring("h2:".length())));
    } else {
      builder.jdbcUrl(args[0]);
    }
    builder
        .nodeId(args[1])
        .function(
            "sleep100",
            (item, ctx) -> {
              Thread.sleep(100);
              return item;
            });
    int concurrency = Integer.parseInt(args[2]);
    if (concurrency > 0) {
      builder.concurrency(concurrency);
    }
    FanoutServer node = builder.build().start();
    CountDownLatch stopped = new CountDownLatch(1);
    Runtime.getRuntime()
        .addShutdownHook(
            new Thread(
                () -> {
                  node.close();
                  stopped.countDown();
                }));
    System.out.println(http ? "ready " + node.url() : "ready");
    System.out.flush();
    stopped.await();
  }
}
