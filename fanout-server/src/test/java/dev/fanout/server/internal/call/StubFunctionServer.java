package dev.fanout.server.internal.call;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import com.sun.net.httpserver.HttpExchange;
import com.sun.net.httpserver.HttpServer;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.io.PrintStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.URI;
import java.net.URLDecoder;
import java.nio.charset.StandardCharsets;
import java.util.Arrays;
import java.util.HashMap;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * A function server for tests, steered by query parameters, on 127.0.0.1 and a free port.
 *
 * <ul>
 *   <li>{@code delayMs=N}: wait N ms before answering;
 *   <li>{@code failFirst=N} (with {@code failStatus=S}, default 503): answer S to the first N calls
 *       of each {@code Idempotency-Key}, then as usual;
 *   <li>{@code status=S}: answer status S;
 *   <li>{@code retryAfter=V}: send {@code Retry-After: V};
 *   <li>{@code respond=TEXT} (with {@code type=T}, default text/plain): answer exactly TEXT;
 *   <li>{@code bigBytes=N} (with {@code chunked=1} to omit Content-Length): answer N bytes;
 *   <li>{@code echo=1}: answer {@code {"method", "headers", "body"}}, the request as received (for
 *       a batch: an array of that echo followed by nulls, as long as the batch);
 *   <li>otherwise: answer the request's body, as JSON.
 * </ul>
 *
 * <p>{@code GET /stats} answers {@code {"calls", "keys", "maxPerKey", "peakInFlight"}} and {@code
 * GET /calls?key=K} the number of calls with that key. {@link #main} runs it as its own process
 * (print the port on the first line, stop when stdin closes), for tests holding thousands of
 * connections.
 */
public final class StubFunctionServer implements AutoCloseable {
  private static final ObjectMapper MAPPER = new ObjectMapper();

  private final HttpServer server;
  private final ExecutorService executor = Executors.newVirtualThreadPerTaskExecutor();
  private final Map<String, AtomicInteger> callsByKey = new ConcurrentHashMap<>();
  private final AtomicInteger calls = new AtomicInteger();
  private final AtomicInteger inFlight = new AtomicInteger();
  private final AtomicInteger peakInFlight = new AtomicInteger();

  private StubFunctionServer() throws IOException {
    server = HttpServer.create(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0), 4096);
    server.setExecutor(executor);
    server.createContext("/", this::handle);
    server.start();
  }

  /**
   * Starts a stub in this JVM.
   *
   * @return the running stub
   * @throws IOException when it cannot bind
   */
  public static StubFunctionServer start() throws IOException {
    return new StubFunctionServer();
  }

  /**
   * Runs the stub as a process: prints the port, then serves until stdin closes.
   *
   * @param args ignored
   * @throws IOException when it cannot bind
   */
  public static void main(String[] args) throws IOException {
    try (StubFunctionServer stub = start()) {
      PrintStream out = System.out;
      out.println(stub.port());
      out.flush();
      InputStream in = System.in;
      while (in.read() >= 0) {
        // Wait for the parent to close stdin (or die).
      }
    }
  }

  /**
   * The port it listens on.
   *
   * @return the port
   */
  public int port() {
    return server.getAddress().getPort();
  }

  /**
   * A URL on this stub.
   *
   * @param pathAndQuery such as {@code /f?status=503}
   * @return the URL
   */
  public URI uri(String pathAndQuery) {
    return URI.create("http://127.0.0.1:" + port() + pathAndQuery);
  }

  /**
   * The calls received with one {@code Idempotency-Key}.
   *
   * @param key the key
   * @return the count
   */
  public int calls(String key) {
    AtomicInteger count = callsByKey.get(key);
    return count == null ? 0 : count.get();
  }

  @Override
  public void close() {
    server.stop(0);
    executor.shutdownNow();
  }

  private void handle(HttpExchange exchange) throws IOException {
    try (exchange) {
      if (exchange.getRequestMethod().equals("GET")) {
        answerStats(exchange);
        return;
      }
      int now = inFlight.incrementAndGet();
      peakInFlight.accumulateAndGet(now, Math::max);
      try {
        answerCall(exchange);
      } finally {
        inFlight.decrementAndGet();
      }
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
  }

  private void answerStats(HttpExchange exchange) throws IOException {
    Map<String, String> query = query(exchange.getRequestURI());
    ObjectNode json = MAPPER.createObjectNode();
    if (exchange.getRequestURI().getPath().equals("/calls")) {
      json.put("calls", calls(query.getOrDefault("key", "")));
    } else {
      json.put("calls", calls.get());
      json.put("keys", callsByKey.size());
      json.put(
          "maxPerKey", callsByKey.values().stream().mapToInt(AtomicInteger::get).max().orElse(0));
      json.put("peakInFlight", peakInFlight.get());
    }
    send(exchange, 200, "application/json", MAPPER.writeValueAsBytes(json), false);
  }

  private void answerCall(HttpExchange exchange) throws IOException, InterruptedException {
    byte[] body = exchange.getRequestBody().readAllBytes();
    String key = exchange.getRequestHeaders().getFirst("Idempotency-Key");
    int seen =
        key == null
            ? 1
            : callsByKey.computeIfAbsent(key, k -> new AtomicInteger()).incrementAndGet();
    calls.incrementAndGet();
    Map<String, String> q = query(exchange.getRequestURI());
    if (q.containsKey("delayMs")) {
      Thread.sleep(Long.parseLong(q.get("delayMs")));
    }
    if (q.containsKey("retryAfter")) {
      exchange.getResponseHeaders().set("Retry-After", q.get("retryAfter"));
    }
    if (q.containsKey("setCookie")) {
      exchange.getResponseHeaders().set("Set-Cookie", q.get("setCookie"));
    }
    int status = Integer.parseInt(q.getOrDefault("status", "200"));
    if (q.containsKey("failFirst") && seen <= Integer.parseInt(q.get("failFirst"))) {
      status = Integer.parseInt(q.getOrDefault("failStatus", "503"));
    }
    boolean chunked = "1".equals(q.get("chunked"));
    if (q.containsKey("respond")) {
      send(
          exchange,
          status,
          q.getOrDefault("type", "text/plain"),
          q.get("respond").getBytes(StandardCharsets.UTF_8),
          chunked);
    } else if (q.containsKey("bigBytes")) {
      int n = Integer.parseInt(q.get("bigBytes"));
      byte[] big = new byte[n];
      Arrays.fill(big, (byte) ' ');
      if (n >= 2) {
        big[0] = '"';
        big[n - 1] = '"';
      }
      send(exchange, status, "application/json", big, chunked);
    } else if ("1".equals(q.get("echo"))) {
      ObjectNode json = MAPPER.createObjectNode();
      json.put("method", exchange.getRequestMethod());
      ObjectNode headers = json.putObject("headers");
      exchange
          .getRequestHeaders()
          .forEach(
              (name, values) ->
                  headers.put(name.toLowerCase(Locale.ROOT), String.join(",", values)));
      JsonNode request = body.length == 0 ? MAPPER.nullNode() : MAPPER.readTree(body);
      json.set("body", request);
      JsonNode answer = json;
      if (request.isArray()) {
        // A batch: the echo first, then nulls, so the answer has the batch's length.
        ArrayNode array = MAPPER.createArrayNode().add(json);
        for (int i = 1; i < request.size(); i++) {
          array.addNull();
        }
        answer = array;
      }
      send(exchange, status, "application/json", MAPPER.writeValueAsBytes(answer), chunked);
    } else {
      send(exchange, status, "application/json", body, chunked);
    }
  }

  private static void send(
      HttpExchange exchange, int status, String type, byte[] body, boolean chunked)
      throws IOException {
    exchange.getResponseHeaders().set("Content-Type", type);
    if (body.length == 0 || status == 204 || status == 304) {
      exchange.sendResponseHeaders(status, -1);
      return;
    }
    exchange.sendResponseHeaders(status, chunked ? 0 : body.length);
    try (OutputStream out = exchange.getResponseBody()) {
      // In slices, so a chunked answer really streams.
      for (int offset = 0; offset < body.length; offset += 8192) {
        out.write(body, offset, Math.min(8192, body.length - offset));
      }
    }
  }

  private static Map<String, String> query(URI uri) {
    Map<String, String> query = new HashMap<>();
    String raw = uri.getRawQuery();
    if (raw == null) {
      return query;
    }
    for (String pair : raw.split("&")) {
      int eq = pair.indexOf('=');
      String name = eq < 0 ? pair : pair.substring(0, eq);
      String value = eq < 0 ? "" : pair.substring(eq + 1);
      query.put(
          URLDecoder.decode(name, StandardCharsets.UTF_8),
          URLDecoder.decode(value, StandardCharsets.UTF_8));
    }
    return query;
  }
}
