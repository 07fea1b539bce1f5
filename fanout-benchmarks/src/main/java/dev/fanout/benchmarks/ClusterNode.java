package dev.fanout.benchmarks;

import dev.fanout.server.FanoutServer;
import java.util.concurrent.CountDownLatch;

/**
 * One worker node of {@link ClusterScenarios}, run in a JVM of its own: {@code fanout worker} with
 * one more function, {@code sleep100}, which waits 100 ms like an I/O-bound call and returns its
 * item. The built-in {@code identity} serves the no-op scenario.
 *
 * <p>Usage: {@code java -cp benchmarks.jar dev.fanout.benchmarks.ClusterNode <jdbc-url> <node-id>
 * <concurrency>}, where a concurrency of 0 keeps the node's default cap. It prints {@code ready}
 * once it runs, and stops on SIGTERM.
 */
public final class ClusterNode {

  private ClusterNode() {}

  /**
   * Runs the node until SIGTERM.
   *
   * @param args the JDBC URL, the node id and the node's concurrency cap (0 for the default)
   * @throws InterruptedException never in practice: the main thread waits for the shutdown hook
   */
  public static void main(String[] args) throws InterruptedException {
    if (args.length != 3) {
      throw new IllegalArgumentException("usage: ClusterNode <jdbc-url> <node-id> <concurrency>");
    }
    FanoutServer.Builder builder =
        FanoutServer.builder()
            .workerOnly()
            .jdbcUrl(args[0])
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
    System.out.println("ready");
    System.out.flush();
    stopped.await();
  }
}
