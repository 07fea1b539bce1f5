package dev.fanout.server;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.sun.net.httpserver.HttpExchange;
import com.sun.net.httpserver.HttpServer;
import java.io.IOException;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.Executors;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Collectors;
import java.util.stream.IntStream;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Jobs with {@code batchSize} above 1, end to end: the server gathers the items it runs at once
 * into POSTs of JSON arrays to a real function on loopback, splits each answer back to its items,
 * and fails, retries and transforms them one by one.
 */
class BatchFunctionTest {
  private static final ObjectMapper MAPPER = new ObjectMapper();
  private static final Pattern SHORT =
      Pattern.compile(
          "POST http://127\\.0\\.0\\.1:\\d+/short with a batch of (\\d+) items? answered 200 with an"
              + " array of (\\d+); expected a JSON array of (\\d+) results?, one per item in the"
              + " order sent");

  @TempDir Path data;

  private HttpServer function;
  private FanoutServer server;
  private Http http;
  private final ConcurrentLinkedQueue<Request> requests = new ConcurrentLinkedQueue<>();
  private final AtomicInteger calls = new AtomicInteger();

  /** One request the function received. */
  private record Request(
      int number,
      long atNanos,
      JsonNode body,
      String job,
      String index,
      String attempt,
      String key,
      String size) {

    List<Long> indexes() {
      return expand(index);
    }
  }

  @BeforeEach
  void start() throws IOException {
    function = HttpServer.create(new InetSocketAddress("127.0.0.1", 0), 0);
    function.setExecutor(Executors.newVirtualThreadPerTaskExecutor());
    // Doubles each number of the batch, as {"n": 2x}.
    function.createContext("/double", e -> serve(e, (body, n) -> respond(e, 200, doubled(body))));
    // One result short.
    function.createContext(
        "/short",
        e ->
            serve(
                e,
                (body, n) -> {
                  ArrayNode answer = doubled(body);
                  answer.remove(answer.size() - 1);
                  respond(e, 200, answer);
                }));
    // An object, not an array.
    function.createContext(
        "/object", e -> serve(e, (body, n) -> respond(e, 200, MAPPER.readTree("{\"n\": 1}"))));
    // The first request fails with a 500, later ones are doubled.
    function.createContext(
        "/flaky",
        e ->
            serve(
                e,
                (body, n) -> {
                  if (n == 1) {
                    respond(e, 500, MAPPER.readTree("\"try again\""));
                  } else {
                    respond(e, 200, doubled(body));
                  }
                }));
    // The first request is told to come back in a second, later ones are doubled.
    function.createContext(
        "/busy",
        e ->
            serve(
                e,
                (body, n) -> {
                  if (n == 1) {
                    e.getResponseHeaders().add("Retry-After", "1");
                    respond(e, 429, MAPPER.readTree("\"slow down\""));
                  } else {
                    respond(e, 200, doubled(body));
                  }
                }));
    // Refuses for good.
    function.createContext(
        "/refuse", e -> serve(e, (body, n) -> respond(e, 400, MAPPER.readTree("\"no\""))));
    function.start();
    server =
        FanoutServer.builder()
            .port(0)
            .dataDir(data)
            .pollInterval(Duration.ofMillis(20))
            // Long enough that batches go out full or when the job's whole cap waits, not early.
            .batchLinger(Duration.ofMillis(500))
            .build()
            .start();
    http = new Http(server.url(), null);
  }

  @AfterEach
  void stop() {
    server.close();
    function.stop(0);
  }

  @FunctionalInterface
  private interface Handler {
    void handle(JsonNode body, int number) throws IOException;
  }

  private void serve(HttpExchange exchange, Handler handler) throws IOException {
    long now = System.nanoTime();
    int number = calls.incrementAndGet();
    JsonNode body = MAPPER.readTree(exchange.getRequestBody().readAllBytes());
    var h = exchange.getRequestHeaders();
    requests.add(
        new Request(
            number,
            now,
            body,
            h.getFirst("X-Fanout-Job"),
            h.getFirst("X-Fanout-Index"),
            h.getFirst("X-Fanout-Attempt"),
            h.getFirst("Idempotency-Key"),
            h.getFirst("X-Fanout-Batch-Size")));
    handler.handle(body, number);
  }

  private static ArrayNode doubled(JsonNode body) {
    ArrayNode answer = MAPPER.createArrayNode();
    body.forEach(n -> answer.addObject().put("n", 2 * n.asInt()));
    return answer;
  }

  private static void respond(HttpExchange exchange, int status, JsonNode body) throws IOException {
    byte[] bytes = MAPPER.writeValueAsBytes(body);
    exchange.getResponseHeaders().add("Content-Type", "application/json");
    exchange.sendResponseHeaders(status, bytes.length);
    try (OutputStream out = exchange.getResponseBody()) {
      out.write(bytes);
    }
  }

  /** Reads an {@code X-Fanout-Index} value: indexes and first-last runs, comma-separated. */
  private static List<Long> expand(String header) {
    List<Long> indexes = new ArrayList<>();
    for (String part : header.split(",")) {
      int dash = part.indexOf('-');
      if (dash < 0) {
        indexes.add(Long.parseLong(part));
      } else {
        long first = Long.parseLong(part.substring(0, dash));
        long last = Long.parseLong(part.substring(dash + 1));
        assertThat(last).as("a run in " + header).isGreaterThan(first);
        for (long i = first; i <= last; i++) {
          indexes.add(i);
        }
      }
    }
    return indexes;
  }

  private String url(String path) {
    return "http://127.0.0.1:" + function.getAddress().getPort() + path;
  }

  private static String numbers(int count) {
    return IntStream.range(0, count).mapToObj(Integer::toString).collect(Collectors.joining(","));
  }

  /** Submits items 0 to count - 1, retried quickly (up to 3 attempts), plus the given fields. */
  private String submit(String path, int count, int batchSize, int maxConcurrency, String more) {
    return http.submit(
        "{\"function\": {\"url\": \""
            + url(path)
            + "\"}, \"items\": ["
            + numbers(count)
            + "], \"batchSize\": "
            + batchSize
            + ", \"maxConcurrency\": "
            + maxConcurrency
            + ", \"retry\": {\"maxAttempts\": 3, \"backoffMs\": 1, \"maxBackoffMs\": 5}"
            + more
            + "}");
  }

  private Request first() {
    return requests.stream().filter(r -> r.number() == 1).findFirst().orElseThrow();
  }

  private Map<Integer, JsonNode> resultsByIndex(String id) {
    return http.allResults(id).stream()
        .collect(Collectors.toMap(r -> r.get("index").asInt(), r -> r));
  }

  @Test
  void items_go_in_batches_that_cover_each_item_once_and_the_transform_shapes_each_result() {
    String id = submit("/double", 100, 10, 10, ", \"transform\": \".n\", \"reduce\": \"sum\"");

    JsonNode job = http.awaitFinal(id);

    assertThat(job.get("status").asText()).isEqualTo("SUCCEEDED");
    assertThat(job.get("succeeded").asInt()).isEqualTo(100);
    assertThat(job.get("aggregate").asInt()).isEqualTo(2 * 4950);
    Map<Integer, JsonNode> results = resultsByIndex(id);
    assertThat(results).hasSize(100);
    results.forEach(
        (index, r) -> {
          assertThat(r.get("value").asInt()).as("item " + index).isEqualTo(2 * index);
          assertThat(r.get("attempts").asInt()).isEqualTo(1);
        });

    List<Long> sent = new ArrayList<>();
    for (Request r : requests) {
      assertThat(r.body().isArray()).isTrue();
      assertThat(r.body().size()).isBetween(1, 10);
      List<Long> indexes = r.indexes();
      // The items are numbered like their indexes, so the body shows the order it was sent in.
      assertThat(indexes).isSorted().hasSize(r.body().size());
      for (int i = 0; i < indexes.size(); i++) {
        assertThat(r.body().get(i).asLong()).isEqualTo(indexes.get(i));
      }
      assertThat(r.job()).isEqualTo(id);
      assertThat(r.key()).isEqualTo(id + ":" + r.index());
      assertThat(r.size()).isEqualTo(Integer.toString(r.body().size()));
      assertThat(r.attempt()).isEqualTo("1");
      sent.addAll(indexes);
    }
    assertThat(sent)
        .as("every item sent exactly once")
        .containsExactlyInAnyOrderElementsOf(LongList.range(100));
    // Ten items run at once, and each batch waits for all ten (its linger is long).
    assertThat(requests).as("batches, not one call per item").hasSizeLessThanOrEqualTo(20);
  }

  @Test
  void a_batch_answered_with_the_wrong_length_fails_its_items_with_bad_batch_response() {
    String id = submit("/short", 6, 3, 3, "");

    JsonNode job = http.awaitFinal(id);

    assertThat(job.get("status").asText()).isEqualTo("FAILED");
    assertThat(job.get("failed").asInt()).isEqualTo(6);
    assertThat(http.allResults(id))
        .allSatisfy(
            r -> {
              assertThat(r.get("status").asText()).isEqualTo("FAILED");
              assertThat(r.get("attempts").asInt()).as("not retried").isEqualTo(1);
              JsonNode error = r.get("error");
              assertThat(error.get("code").asText()).isEqualTo("bad_batch_response");
              assertThat(error.get("httpStatus").asInt()).isEqualTo(200);
              Matcher m = SHORT.matcher(error.get("message").asText());
              assertThat(m.matches()).as(error.get("message").asText()).isTrue();
              int items = Integer.parseInt(m.group(1));
              assertThat(m.group(2)).isEqualTo(Integer.toString(items - 1));
              assertThat(m.group(3)).isEqualTo(m.group(1));
            });
  }

  @Test
  void a_batch_answered_with_something_other_than_an_array_fails_its_items() {
    String id = submit("/object", 4, 2, 4, "");

    JsonNode job = http.awaitFinal(id);

    assertThat(job.get("failed").asInt()).isEqualTo(4);
    assertThat(http.allResults(id))
        .allSatisfy(
            r -> {
              assertThat(r.get("error").get("code").asText()).isEqualTo("bad_batch_response");
              assertThat(r.get("error").get("message").asText())
                  .contains("with an object; expected a JSON array of 2 results");
            });
  }

  @Test
  void a_batch_that_failed_with_a_500_is_retried_item_by_item_and_all_succeed() {
    String id = submit("/flaky", 20, 10, 10, ", \"transform\": \".n\", \"reduce\": \"sum\"");

    JsonNode job = http.awaitFinal(id);

    assertThat(job.get("status").asText()).isEqualTo("SUCCEEDED");
    assertThat(job.get("aggregate").asInt()).isEqualTo(2 * 190);
    List<Long> failedFirst = first().indexes();
    assertThat(job.get("retries").asInt()).isEqualTo(failedFirst.size());
    resultsByIndex(id)
        .forEach(
            (index, r) ->
                assertThat(r.get("attempts").asInt())
                    .as("item " + index)
                    .isEqualTo(failedFirst.contains((long) index) ? 2 : 1));
  }

  @Test
  void a_429_with_retry_after_holds_the_batchs_items_back_at_least_that_long() {
    String id = submit("/busy", 4, 4, 4, "");

    JsonNode job = http.awaitFinal(id);

    assertThat(job.get("status").asText()).isEqualTo("SUCCEEDED");
    Request first = first();
    assertThat(first.indexes()).containsExactly(0L, 1L, 2L, 3L);
    for (Request later : requests) {
      if (later == first) {
        continue;
      }
      // A lower bound only: the server must not call again before the Retry-After passed.
      assertThat(Duration.ofNanos(later.atNanos() - first.atNanos()))
          .isGreaterThanOrEqualTo(Duration.ofSeconds(1));
      assertThat(later.attempt()).isEqualTo("2");
    }
    assertThat(resultsByIndex(id).values())
        .allSatisfy(r -> assertThat(r.get("attempts").asInt()).isEqualTo(2));
  }

  @Test
  void a_4xx_fails_every_item_of_the_batch_at_once() {
    String id = submit("/refuse", 3, 3, 3, "");

    JsonNode job = http.awaitFinal(id);

    assertThat(job.get("failed").asInt()).isEqualTo(3);
    assertThat(calls.get()).isEqualTo(1);
    assertThat(http.allResults(id))
        .allSatisfy(
            r -> {
              assertThat(r.get("error").get("code").asText()).isEqualTo("http_error");
              assertThat(r.get("error").get("httpStatus").asInt()).isEqualTo(400);
              assertThat(r.get("attempts").asInt()).isEqualTo(1);
            });
  }

  @Test
  void a_batch_size_of_one_posts_each_item_alone() {
    String id = submit("/double", 3, 1, 3, "");

    http.awaitFinal(id);

    assertThat(requests).hasSize(3);
    assertThat(requests).allSatisfy(r -> assertThat(r.body().isNumber()).isTrue());
    assertThat(requests).allSatisfy(r -> assertThat(r.size()).isNull());
  }

  /** Expected index lists. */
  private static final class LongList {
    static List<Long> range(int count) {
      return IntStream.range(0, count).mapToObj(i -> (long) i).toList();
    }
  }
}
