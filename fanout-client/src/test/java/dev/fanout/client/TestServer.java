package dev.fanout.client;

import com.fasterxml.jackson.databind.JsonNode;
import dev.fanout.TaskContext;
import dev.fanout.server.FanoutServer;
import java.nio.file.Path;
import java.time.Duration;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.atomic.AtomicBoolean;

/**
 * A real Fanout server for the client's tests: a random loopback port, H2 in a temporary folder,
 * every interval shortened, and a few functions the tests steer.
 */
final class TestServer implements AutoCloseable {
  static final String TOKEN = "client-test-token-0123456789";

  /** Holds every call of {@code gated} until opened. */
  final CountDownLatch gate = new CountDownLatch(1);

  /** While false, {@code flaky} fails every odd number; once true it returns its item. */
  final AtomicBoolean healed = new AtomicBoolean();

  private final Path data;
  private final String token;
  private FanoutServer server;

  TestServer(Path data, String token) {
    this.data = data;
    this.token = token;
    start(0);
  }

  /** Starts a server on the data folder, on {@code port} (0: any free one). */
  void start(int port) {
    FanoutServer.Builder b =
        FanoutServer.builder()
            .port(port)
            .dataDir(data)
            .pollInterval(Duration.ofMillis(20))
            .leaseDuration(Duration.ofSeconds(2))
            .shutdownGrace(Duration.ofSeconds(5))
            .streamSettings(
                new FanoutServer.StreamSettings(
                    Duration.ofMillis(10), Duration.ofMillis(20), Duration.ofMillis(200)))
            .function(
                "gated",
                (JsonNode item, TaskContext ctx) -> {
                  gate.await();
                  return item;
                })
            .function(
                "slow",
                (JsonNode item, TaskContext ctx) -> {
                  Thread.sleep(1);
                  return item;
                })
            .function(
                "flaky",
                (JsonNode item, TaskContext ctx) -> {
                  if (!healed.get() && item.asLong() % 2 == 1) {
                    throw new IllegalStateException("odd " + item.asLong());
                  }
                  return item;
                });
    if (token != null) {
      b.token(token);
    }
    server = b.build().start();
  }

  int port() {
    return server.port();
  }

  String url() {
    return server.url();
  }

  String nodeId() {
    return server.nodeId();
  }

  /** Stops the server, leaving its jobs in the data folder for the next start. */
  void stop() {
    server.close();
  }

  @Override
  public void close() {
    gate.countDown();
    server.close();
  }
}
