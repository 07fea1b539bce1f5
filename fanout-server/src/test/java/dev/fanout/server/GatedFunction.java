package dev.fanout.server;

import com.sun.net.httpserver.HttpExchange;
import com.sun.net.httpserver.HttpServer;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.io.UncheckedIOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * An HTTP function on loopback that answers an item only when the test opens its gate, so a test
 * decides the order in which items complete: opening later items first makes their latency
 * inversely related to their index, without a clock. Each item's body is its index; the answer is
 * the index squared.
 *
 * <p>An item named in {@code unavailableFirst} answers its first call at once with 503 and {@code
 * Retry-After: 1} (retried), one in {@code refusedFirst} with 400 (not retried); their later calls
 * wait for a gate of their own, {@link #openRetry}, so a test can hold the second call as well.
 */
final class GatedFunction implements AutoCloseable {
  private final HttpServer server;
  private final Set<Integer> unavailableFirst;
  private final Set<Integer> refusedFirst;
  private final Map<String, CountDownLatch> gates = new ConcurrentHashMap<>();
  private final Map<Integer, AtomicInteger> calls = new ConcurrentHashMap<>();

  /** The items answered 200, in the order the answers were sent. */
  final List<Integer> answered = new CopyOnWriteArrayList<>();

  private GatedFunction(HttpServer server, Set<Integer> unavailableFirst, Set<Integer> refused) {
    this.server = server;
    this.unavailableFirst = unavailableFirst;
    this.refusedFirst = refused;
  }

  static GatedFunction start(Set<Integer> unavailableFirst, Set<Integer> refusedFirst) {
    try {
      HttpServer server =
          HttpServer.create(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0), 64);
      GatedFunction function = new GatedFunction(server, unavailableFirst, refusedFirst);
      server.createContext("/fn", function::handle);
      server.setExecutor(Executors.newVirtualThreadPerTaskExecutor());
      server.start();
      return function;
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  String url() {
    return "http://127.0.0.1:" + server.getAddress().getPort() + "/fn";
  }

  /** Lets the item's calls through (for an item that fails first, only its first call). */
  void open(int... items) {
    for (int item : items) {
      gate(item + ":1").countDown();
    }
  }

  /** Lets the calls after the first through, for an item that fails its first call. */
  void openRetry(int item) {
    gate(item + ":2").countDown();
  }

  private CountDownLatch gate(String key) {
    return gates.computeIfAbsent(key, k -> new CountDownLatch(1));
  }

  private void handle(HttpExchange exchange) throws IOException {
    int item;
    try (InputStream in = exchange.getRequestBody()) {
      item = Integer.parseInt(new String(in.readAllBytes(), StandardCharsets.UTF_8).strip());
    }
    int call = calls.computeIfAbsent(item, k -> new AtomicInteger()).incrementAndGet();
    boolean failsFirst = unavailableFirst.contains(item) || refusedFirst.contains(item);
    if (failsFirst && call == 1) {
      if (unavailableFirst.contains(item)) {
        exchange.getResponseHeaders().add("Retry-After", "1");
      }
      exchange.sendResponseHeaders(unavailableFirst.contains(item) ? 503 : 400, -1);
      exchange.close();
      return;
    }
    try {
      // Bounded, so a test that fails midway leaves no call hanging for ever.
      if (!gate(item + ":" + (failsFirst ? 2 : 1)).await(60, TimeUnit.SECONDS)) {
        exchange.sendResponseHeaders(503, -1);
        exchange.close();
        return;
      }
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      exchange.close();
      return;
    }
    byte[] body = Long.toString((long) item * item).getBytes(StandardCharsets.UTF_8);
    exchange.getResponseHeaders().add("Content-Type", "application/json");
    exchange.sendResponseHeaders(200, body.length);
    try (OutputStream out = exchange.getResponseBody()) {
      out.write(body);
    }
    answered.add(item);
  }

  @Override
  public void close() {
    gates.values().forEach(CountDownLatch::countDown);
    server.stop(0);
  }
}
