package dev.fanout.benchmarks;

import com.sun.net.httpserver.HttpExchange;
import com.sun.net.httpserver.HttpServer;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;

/**
 * The HTTP function of {@link HttpFunction}, run as a process of its own so that its thousand
 * connections and its threads do not share a JVM with the contenders being measured: every {@code
 * POST} waits the latency given as its argument (in milliseconds), then answers its request body as
 * JSON. A virtual thread per exchange, so a thousand sleeping calls cost a thousand parked virtual
 * threads. Prints its port on the first line and stops when stdin closes.
 */
public final class SlowFunctionServer {
  /** How long every call takes, from the first argument. */
  private static long latencyMs;

  private SlowFunctionServer() {}

  /**
   * Serves on 127.0.0.1 and a free port until stdin closes.
   *
   * @param args the latency of every call in milliseconds
   * @throws IOException when it cannot bind
   */
  public static void main(String[] args) throws IOException {
    if (args.length != 1) {
      throw new IllegalArgumentException("usage: SlowFunctionServer <latency-ms>");
    }
    latencyMs = Long.parseLong(args[0]);
    // The listen backlog is the machine's limit (4,096), so a burst of connects is never refused.
    HttpServer server =
        HttpServer.create(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0), 4096);
    ExecutorService executor = Executors.newVirtualThreadPerTaskExecutor();
    server.setExecutor(executor);
    server.createContext("/", SlowFunctionServer::handle);
    server.start();
    System.out.println(server.getAddress().getPort());
    System.out.flush();
    while (System.in.read() != -1) {
      // wait for the parent to close stdin (or to die)
    }
    server.stop(0);
    executor.shutdownNow();
  }

  private static void handle(HttpExchange exchange) throws IOException {
    try (exchange) {
      byte[] body;
      try (InputStream in = exchange.getRequestBody()) {
        body = in.readAllBytes();
      }
      try {
        Thread.sleep(latencyMs);
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
        exchange.sendResponseHeaders(503, -1);
        return;
      }
      if (body.length == 0) {
        body = "null".getBytes(StandardCharsets.UTF_8);
      }
      exchange.getResponseHeaders().set("Content-Type", "application/json");
      exchange.sendResponseHeaders(200, body.length);
      try (OutputStream out = exchange.getResponseBody()) {
        out.write(body);
      }
    }
  }
}
