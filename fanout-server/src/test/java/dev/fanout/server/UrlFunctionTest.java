package dev.fanout.server;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import com.fasterxml.jackson.databind.JsonNode;
import com.sun.net.httpserver.HttpExchange;
import com.sun.net.httpserver.HttpServer;
import java.io.IOException;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.Executors;
import java.util.stream.Collectors;
import java.util.stream.IntStream;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Jobs whose function is a URL, end to end: the server calls a real HTTP function on loopback for
 * every item, retries what is worth retrying, applies the jq transform, and reports failures with
 * their code and HTTP status.
 */
class UrlFunctionTest {
  @TempDir Path data;

  private HttpServer function;
  private FanoutServer server;
  private Http http;
  private final Map<String, Integer> attemptsByKey = new ConcurrentHashMap<>();
  private final Set<String> apiKeysSeen = ConcurrentHashMap.newKeySet();
  private final Set<String> jobHeaders = ConcurrentHashMap.newKeySet();
  private final Set<String> nodeHeaders = ConcurrentHashMap.newKeySet();

  @BeforeEach
  void start() throws IOException {
    function = HttpServer.create(new InetSocketAddress("127.0.0.1", 0), 0);
    function.setExecutor(Executors.newVirtualThreadPerTaskExecutor());
    function.createContext("/double", this::serveDouble);
    function.createContext("/slow", this::serveSlow);
    function.start();
    server =
        FanoutServer.builder()
            .port(0)
            .dataDir(data)
            .nodeId("url-test-node")
            .pollInterval(Duration.ofMillis(20))
            .build()
            .start();
    http = new Http(server.url(), null);
  }

  @AfterEach
  void stop() {
    server.close();
    function.stop(0);
  }

  /** Doubles its number; item 3 is refused for good, item 5 is unavailable on its first try. */
  private void serveDouble(HttpExchange exchange) throws IOException {
    String body = new String(exchange.getRequestBody().readAllBytes(), StandardCharsets.UTF_8);
    String key = exchange.getRequestHeaders().getFirst("Idempotency-Key");
    int attempt = attemptsByKey.merge(key, 1, Integer::sum);
    apiKeysSeen.add(String.valueOf(exchange.getRequestHeaders().getFirst("X-Api-Key")));
    jobHeaders.add(String.valueOf(exchange.getRequestHeaders().getFirst("X-Fanout-Job")));
    nodeHeaders.add(String.valueOf(exchange.getRequestHeaders().getFirst("X-Fanout-Node")));
    int n = Integer.parseInt(body.strip());
    if (n == 3) {
      respond(exchange, 400, "{\"error\": \"three is not allowed\"}");
    } else if (n == 5 && attempt == 1) {
      exchange.getResponseHeaders().add("Retry-After", "0");
      respond(exchange, 503, "busy");
    } else {
      respond(exchange, 200, "{\"n\": " + (2 * n) + "}");
    }
  }

  private final java.util.concurrent.atomic.AtomicInteger inFlight =
      new java.util.concurrent.atomic.AtomicInteger();
  private final java.util.concurrent.atomic.AtomicInteger peak =
      new java.util.concurrent.atomic.AtomicInteger();

  /** Answers after 100 ms, counting the calls in flight at once. */
  private void serveSlow(HttpExchange exchange) throws IOException {
    exchange.getRequestBody().readAllBytes();
    peak.accumulateAndGet(inFlight.incrementAndGet(), Math::max);
    try {
      Thread.sleep(100);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    } finally {
      inFlight.decrementAndGet();
    }
    respond(exchange, 200, "1");
  }

  private static void respond(HttpExchange exchange, int status, String body) throws IOException {
    byte[] bytes = body.getBytes(StandardCharsets.UTF_8);
    exchange.getResponseHeaders().add("Content-Type", "application/json");
    exchange.sendResponseHeaders(status, bytes.length);
    try (OutputStream out = exchange.getResponseBody()) {
      out.write(bytes);
    }
  }

  private String url() {
    return "http://127.0.0.1:" + function.getAddress().getPort() + "/double";
  }

  private JsonNode awaitFinal(String id) {
    await()
        .atMost(Duration.ofSeconds(30))
        .until(
            () ->
                Set.of("SUCCEEDED", "FAILED", "CANCELLED")
                    .contains(http.get("/v1/jobs/" + id).json().get("status").asText()));
    return http.get("/v1/jobs/" + id).json();
  }

  @Test
  void every_item_is_posted_to_the_url_and_shaped_by_the_transform() {
    String items =
        IntStream.range(0, 10).mapToObj(Integer::toString).collect(Collectors.joining(","));
    String id =
        http.submit(
            "{\"function\": {\"url\": \""
                + url()
                + "\", \"headers\": {\"X-Api-Key\": \"s3cret-key\"}},"
                + " \"items\": ["
                + items
                + "], \"transform\": \".n\", \"reduce\": \"sum\","
                + " \"retry\": {\"maxAttempts\": 3, \"backoffMs\": 1, \"maxBackoffMs\": 5}}");

    JsonNode job = awaitFinal(id);
    assertThat(job.get("status").asText()).isEqualTo("FAILED");
    assertThat(job.get("succeeded").asInt()).isEqualTo(9);
    assertThat(job.get("failed").asInt()).isEqualTo(1);
    assertThat(job.get("aggregate").asInt()).isEqualTo(2 * (45 - 3));
    assertThat(http.get("/v1/jobs/" + id).body()).doesNotContain("s3cret-key");

    List<JsonNode> results = http.allResults(id);
    assertThat(results).hasSize(10);
    JsonNode refused = results.stream().filter(r -> r.get("index").asInt() == 3).findFirst().get();
    assertThat(refused.get("status").asText()).isEqualTo("FAILED");
    assertThat(refused.get("attempts").asInt()).isEqualTo(1);
    assertThat(refused.get("error").get("code").asText()).isEqualTo("http_error");
    assertThat(refused.get("error").get("httpStatus").asInt()).isEqualTo(400);
    JsonNode retried = results.stream().filter(r -> r.get("index").asInt() == 5).findFirst().get();
    assertThat(retried.get("status").asText()).isEqualTo("SUCCEEDED");
    assertThat(retried.get("attempts").asInt()).isEqualTo(2);
    assertThat(retried.get("value").asInt()).isEqualTo(10);

    assertThat(apiKeysSeen).containsExactly("s3cret-key");
    assertThat(jobHeaders).containsExactly(id);
    assertThat(nodeHeaders).containsExactly("url-test-node");
    assertThat(attemptsByKey.keySet())
        .containsExactlyInAnyOrderElementsOf(
            IntStream.range(0, 10).mapToObj(i -> id + ":" + i).toList());
  }

  @Test
  void a_rate_limited_jobs_items_wait_their_turn_and_the_timeout_counts_only_the_call() {
    // Ten calls at ten a second start over about a second, far past each call's 300 ms: waiting
    // for the rate is not the call, so no item may time out (and none is retried).
    String items = "[0, 1, 2, 4, 6, 7, 8, 9, 10, 11]";
    String own =
        http.submit(
            "{\"function\": {\"url\": \""
                + url()
                + "\", \"rateLimitPerSecond\": 10, \"timeoutMs\": 300}, \"items\": "
                + items
                + ", \"retry\": {\"maxAttempts\": 1}}");
    String top =
        http.submit(
            "{\"function\": {\"url\": \""
                + url()
                + "\", \"rateLimitPerSecond\": 10}, \"timeoutMs\": 300, \"items\": "
                + items
                + ", \"retry\": {\"maxAttempts\": 1}}");

    for (String id : List.of(own, top)) {
      JsonNode job = awaitFinal(id);
      assertThat(job.get("status").asText()).as(job.toString()).isEqualTo("SUCCEEDED");
      assertThat(job.get("succeeded").asInt()).isEqualTo(10);
      assertThat(job.get("retries").asInt()).isZero();
    }
  }

  @Test
  void the_jobs_timeout_bounds_each_call_of_a_function_without_its_own() {
    String slow = "http://127.0.0.1:" + function.getAddress().getPort() + "/slow";
    String id =
        http.submit(
            "{\"function\": {\"url\": \""
                + slow
                + "\"}, \"timeoutMs\": 20, \"items\": [1, 2],"
                + " \"retry\": {\"maxAttempts\": 1}}");

    JsonNode job = awaitFinal(id);
    assertThat(job.get("failed").asInt()).as(job.toString()).isEqualTo(2);
    assertThat(http.allResults(id))
        .allSatisfy(r -> assertThat(r.get("error").get("code").asText()).isEqualTo("timeout"));
    // A job-wide timeout longer than any call may take (up to 30 days, for named functions) is
    // accepted: each call is then bounded by the longest, an hour.
    String patient =
        http.submit(
            "{\"function\": {\"url\": \"" + slow + "\"}, \"timeoutMs\": 7200000, \"items\": [1]}");
    assertThat(awaitFinal(patient).get("status").asText()).isEqualTo("SUCCEEDED");
  }

  @Test
  void raising_a_running_jobs_cap_lets_more_of_its_calls_run_at_once() {
    String slow = "http://127.0.0.1:" + function.getAddress().getPort() + "/slow";
    String items =
        IntStream.range(0, 40).mapToObj(Integer::toString).collect(Collectors.joining(","));
    String id =
        http.submit(
            "{\"function\": {\"url\": \""
                + slow
                + "\"}, \"items\": ["
                + items
                + "], \"maxConcurrency\": 1}");
    await().until(() -> http.get("/v1/jobs/" + id).json().get("succeeded").asInt() >= 2);
    assertThat(peak.get()).isEqualTo(1);

    assertThat(http.patch("/v1/jobs/" + id, "{\"maxConcurrency\": 5}").status()).isEqualTo(200);

    // The job's HTTP calls follow the new cap, not only its claims.
    await().atMost(Duration.ofSeconds(30)).until(() -> peak.get() >= 2);
    assertThat(awaitFinal(id).get("succeeded").asInt()).isEqualTo(40);
    assertThat(peak.get()).isLessThanOrEqualTo(5);
  }

  @Test
  void a_transform_that_does_not_yield_one_value_fails_its_item_with_transform_error() {
    String id =
        http.submit(
            "{\"function\": {\"url\": \""
                + url()
                + "\"}, \"items\": [1, 2], \"transform\": \".n, .n\","
                + " \"failurePolicy\": {\"toleratedFailurePercent\": 100}}");

    JsonNode job = awaitFinal(id);
    assertThat(job.get("status").asText()).isEqualTo("SUCCEEDED");
    assertThat(job.get("failed").asInt()).isEqualTo(2);
    assertThat(http.allResults(id))
        .allSatisfy(
            r -> {
              assertThat(r.get("error").get("code").asText()).isEqualTo("transform_error");
              // What the expression did, for people: no Java class names.
              assertThat(r.get("error").get("message").asText())
                  .startsWith("transform failed: ")
                  .contains("\".n, .n\" yielded 2 values")
                  .doesNotContain("dev.fanout", "Exception", "Failure");
              assertThat(r.get("attempts").asInt()).isEqualTo(1);
            });
  }
}
