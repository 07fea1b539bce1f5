package dev.fanout.server.crash;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.LongNode;
import dev.fanout.TaskContext;
import dev.fanout.server.FanoutServer;
import java.nio.file.Path;
import java.time.Duration;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ThreadLocalRandom;

/**
 * A server in a JVM of its own, for the crash tests: {@code ServerMain <data dir>}. It offers
 * {@code slowDouble} (sleeps 5 to 15 ms, returns twice its item), prints its URL as the first line
 * of standard output, and runs until killed.
 */
public final class ServerMain {
  private ServerMain() {}

  /**
   * Starts the server.
   *
   * @param args the data folder
   * @throws InterruptedException never in practice: the process is killed
   */
  public static void main(String[] args) throws InterruptedException {
    FanoutServer server =
        FanoutServer.builder()
            .port(0)
            .dataDir(Path.of(args[0]))
            .pollInterval(Duration.ofMillis(50))
            .leaseDuration(Duration.ofSeconds(1))
            .function(
                "slowDouble",
                (JsonNode item, TaskContext ctx) -> {
                  Thread.sleep(ThreadLocalRandom.current().nextLong(5, 16));
                  return LongNode.valueOf(item.asLong() * 2);
                })
            .build()
            .start();
    Runtime.getRuntime().addShutdownHook(new Thread(server::close, "shutdown"));
    System.out.println(server.url());
    System.out.flush();
    new CountDownLatch(1).await();
  }
}
