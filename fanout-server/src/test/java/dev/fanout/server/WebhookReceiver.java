package dev.fanout.server;

import com.fasterxml.jackson.databind.JsonNode;
import com.sun.net.httpserver.HttpExchange;
import com.sun.net.httpserver.HttpServer;
import dev.fanout.server.internal.webhook.WebhookSigner;
import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.time.Duration;
import java.time.Instant;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.Executors;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * A webhook receiver on loopback, as a user would write one: it verifies each delivery's signature,
 * refuses the first {@code failures} deliveries with a 500, and records every delivery it received.
 */
final class WebhookReceiver implements AutoCloseable {
  /** One POST received. */
  record Delivery(String id, JsonNode body, boolean signed, int answered) {
    boolean accepted() {
      return answered == 204;
    }
  }

  private final HttpServer server;
  private final String secret;
  private final AtomicInteger failuresLeft;
  final List<Delivery> received = new CopyOnWriteArrayList<>();

  private WebhookReceiver(HttpServer server, String secret, int failures) {
    this.server = server;
    this.secret = secret;
    this.failuresLeft = new AtomicInteger(failures);
  }

  /** Starts a receiver on a port of the system's choice. */
  static WebhookReceiver start(String secret, int failures) {
    return start(0, secret, failures);
  }

  /** Starts a receiver on a given port, such as one a job was given while nobody listened. */
  static WebhookReceiver start(int port, String secret, int failures) {
    try {
      HttpServer server =
          HttpServer.create(new InetSocketAddress(InetAddress.getLoopbackAddress(), port), 64);
      WebhookReceiver receiver = new WebhookReceiver(server, secret, failures);
      server.createContext("/hook", receiver::handle);
      server.setExecutor(Executors.newVirtualThreadPerTaskExecutor());
      server.start();
      return receiver;
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  private void handle(HttpExchange exchange) throws IOException {
    byte[] body;
    try (InputStream in = exchange.getRequestBody()) {
      body = in.readAllBytes();
    }
    boolean signed =
        WebhookSigner.verify(
            exchange.getRequestHeaders().getFirst("X-Fanout-Signature"),
            body,
            secret,
            Instant.now(),
            Duration.ofMinutes(5));
    int status = !signed ? 401 : failuresLeft.getAndDecrement() > 0 ? 500 : 204;
    received.add(
        new Delivery(
            exchange.getRequestHeaders().getFirst("X-Fanout-Delivery"),
            Http.JSON.readTree(body),
            signed,
            status));
    exchange.sendResponseHeaders(status, -1);
    exchange.close();
  }

  int port() {
    return server.getAddress().getPort();
  }

  String url() {
    return "http://127.0.0.1:" + port() + "/hook";
  }

  /** The accepted deliveries, the first of each delivery id, in arrival order. */
  Map<String, Delivery> accepted() {
    Map<String, Delivery> byId = new LinkedHashMap<>();
    for (Delivery d : received) {
      if (d.accepted()) {
        byId.putIfAbsent(d.id(), d);
      }
    }
    return byId;
  }

  boolean gotDone(String job) {
    return accepted().keySet().stream().anyMatch(k -> k.startsWith(job + ":done:"));
  }

  @Override
  public void close() {
    server.stop(0);
  }
}
