package dev.fanout.server;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import com.fasterxml.jackson.databind.JsonNode;
import dev.fanout.TaskContext;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.stream.Collectors;
import java.util.stream.IntStream;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The parts of the v1 API that live in the store: job metadata, idempotent submissions, and
 * retrying failed items, over real HTTP against a real H2 file that outlives a server.
 */
class StoredFeaturesTest {
  @TempDir Path data;

  /** Calls per item of the "flaky" function: odd items fail on their first call only. */
  private final Map<Integer, AtomicInteger> calls = new ConcurrentHashMap<>();

  private final CountDownLatch gate = new CountDownLatch(1);
  private FanoutServer server;
  private Http http;

  @BeforeEach
  void start() {
    server = newServer();
    http = new Http(server.url(), null);
  }

  @AfterEach
  void stop() {
    gate.countDown();
    server.close();
  }

  private FanoutServer newServer() {
    return FanoutServer.builder()
        .port(0)
        .dataDir(data)
        .pollInterval(Duration.ofMillis(20))
        .leaseDuration(Duration.ofSeconds(5))
        .streamSettings(
            new FanoutServer.StreamSettings(
                Duration.ofMillis(10), Duration.ofMillis(20), Duration.ofMillis(200)))
        .function(
            "flaky",
            (JsonNode item, TaskContext ctx) -> {
              int n = item.asInt();
              int call = calls.computeIfAbsent(n, k -> new AtomicInteger()).incrementAndGet();
              if (n % 2 == 1 && call == 1) {
                throw new IllegalStateException("item " + n + " fails on its first call");
              }
              return n * 10;
            })
        .function(
            "gated",
            (JsonNode item, TaskContext ctx) -> {
              gate.await();
              return item;
            })
        .build()
        .start();
  }

  private void restart() {
    server.close();
    server = newServer();
    http = new Http(server.url(), null);
  }

  private Http.Response submit(String key, String body) {
    HttpRequest.Builder r =
        http.request("/v1/jobs")
            .header("Content-Type", "application/json")
            .POST(HttpRequest.BodyPublishers.ofString(body));
    if (key != null) {
      r.header("Idempotency-Key", key);
    }
    return http.send(r);
  }

  private static String job(String reduce, int items) {
    return "{\"function\": {\"name\": \"identity\"}, \"items\": "
        + IntStream.range(0, items)
            .mapToObj(Integer::toString)
            .collect(Collectors.joining(",", "[", "]"))
        + ", \"reduce\": \""
        + reduce
        + "\"}";
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

  // ------------------------------------------------------------------ metadata

  @Test
  void metadata_is_stored_with_the_job_and_returned_as_given() {
    String id =
        http.submit(
            "{\"function\": {\"name\": \"identity\"}, \"items\": [1],"
                + " \"metadata\": {\"team\": \"search\", \"ticket\": 4711,"
                + " \"tags\": [\"a\", \"b\"], \"nested\": {\"x\": 1.50}}}");

    // The raw body: the test's own JSON reader would turn 1.50 into 1.5.
    assertThat(http.get("/v1/jobs/" + id).body())
        .contains(
            "\"metadata\":{\"team\":\"search\",\"ticket\":4711,\"tags\":[\"a\",\"b\"],"
                + "\"nested\":{\"x\":1.50}}");
    awaitFinal(id);
    restart();
    assertThat(http.get("/v1/jobs/" + id).json().get("metadata").get("ticket").asInt())
        .isEqualTo(4711);
  }

  @Test
  void a_job_without_metadata_reads_null_and_oversized_metadata_is_refused() {
    String id = http.submit(job("sum", 1));
    assertThat(http.get("/v1/jobs/" + id).json().get("metadata").isNull()).isTrue();

    String big = "x".repeat(64 * 1024);
    Http.Response refused =
        http.post(
            "/v1/jobs",
            "{\"function\": {\"name\": \"identity\"}, \"items\": [1], \"metadata\": {\"big\": \""
                + big
                + "\"}}");
    assertThat(refused.status()).as(refused.body()).isEqualTo(413);
    assertThat(refused.errorCode()).isEqualTo("metadata_too_large");
  }

  // ------------------------------------------------------------------ idempotency

  @Test
  void a_repeat_with_the_same_key_and_body_answers_the_same_202_for_the_first_job() {
    Http.Response first = submit("order-1", job("sum", 5));
    Http.Response again = submit("order-1", job("sum", 5));
    Http.Response otherKey = submit("order-2", job("sum", 5));

    assertThat(first.status()).isEqualTo(202);
    assertThat(again.status()).isEqualTo(202);
    assertThat(again.json()).isEqualTo(first.json());
    assertThat(again.raw().headers().firstValue("Location"))
        .isEqualTo(first.raw().headers().firstValue("Location"));
    assertThat(otherKey.json().get("id")).isNotEqualTo(first.json().get("id"));
    assertThat(http.get("/v1/jobs").json().get("jobs")).hasSize(2);
  }

  @Test
  void the_same_key_with_another_body_is_a_conflict() {
    String id = submit("order-1", job("sum", 5)).json().get("id").asText();

    Http.Response conflict = submit("order-1", job("count", 5));

    assertThat(conflict.status()).isEqualTo(409);
    assertThat(conflict.errorCode()).isEqualTo("idempotency_conflict");
    assertThat(conflict.json().get("error").get("message").asText()).contains(id);
    assertThat(http.get("/v1/jobs").json().get("jobs")).hasSize(1);
  }

  @Test
  void concurrent_identical_submissions_create_one_job() throws Exception {
    int threads = 8;
    for (int round = 0; round < 5; round++) {
      String key = "race-" + round;
      CountDownLatch go = new CountDownLatch(1);
      ExecutorService pool = Executors.newFixedThreadPool(threads);
      try {
        List<Future<Http.Response>> answers = new ArrayList<>();
        for (int t = 0; t < threads; t++) {
          answers.add(
              pool.submit(
                  () -> {
                    go.await();
                    return submit(key, job("sum", 2_000));
                  }));
        }
        go.countDown();
        Set<String> ids = new java.util.HashSet<>();
        for (Future<Http.Response> answer : answers) {
          Http.Response r = answer.get(60, TimeUnit.SECONDS);
          assertThat(r.status()).as(r.body()).isEqualTo(202);
          assertThat(r.json().get("total").asLong()).isEqualTo(2_000);
          ids.add(r.json().get("id").asText());
        }
        assertThat(ids).as("round %d", round).hasSize(1);
      } finally {
        pool.shutdownNow();
      }
    }
    assertThat(http.get("/v1/jobs").json().get("jobs")).hasSize(5);
  }

  @Test
  void a_key_outlives_a_restart_and_is_freed_when_its_job_is_deleted() {
    String id = submit("nightly", job("sum", 3)).json().get("id").asText();
    awaitFinal(id);

    restart();

    assertThat(submit("nightly", job("sum", 3)).json().get("id").asText()).isEqualTo(id);
    assertThat(submit("nightly", job("max", 3)).errorCode()).isEqualTo("idempotency_conflict");
    assertThat(http.delete("/v1/jobs/" + id).status()).isEqualTo(204);
    Http.Response fresh = submit("nightly", job("max", 3));
    assertThat(fresh.status()).isEqualTo(202);
    assertThat(fresh.json().get("id").asText()).isNotEqualTo(id);
  }

  // ------------------------------------------------------------------ retry-failed

  @Test
  void retry_failed_runs_the_failed_items_again_and_folds_the_aggregate_anew() throws Exception {
    String id =
        http.submit(
            "{\"function\": {\"name\": \"flaky\"}, \"items\": [0,1,2,3,4,5,6,7,8,9],"
                + " \"reduce\": \"sum\", \"retry\": {\"maxAttempts\": 1}}");
    JsonNode first = awaitFinal(id);
    assertThat(first.get("status").asText()).isEqualTo("FAILED");
    assertThat(first.get("failed").asLong()).isEqualTo(5);
    assertThat(first.get("aggregate").asLong()).isEqualTo(0 + 20 + 40 + 60 + 80);
    long lastSeq =
        http.allResults(id).stream().mapToLong(r -> r.get("seq").asLong()).max().orElseThrow();

    Http.Response retried = http.post("/v1/jobs/" + id + "/retry-failed", "");

    assertThat(retried.status()).as(retried.body()).isEqualTo(202);
    assertThat(retried.json().get("failed").asLong()).isZero();
    assertThat(
            retried.json().get("finishedAt").isNull()
                || retried.json().get("status").asText().equals("SUCCEEDED"))
        .isTrue();
    JsonNode second = awaitFinal(id);
    assertThat(second.get("status").asText()).isEqualTo("SUCCEEDED");
    assertThat(second.get("succeeded").asLong()).isEqualTo(10);
    assertThat(second.get("failed").asLong()).isZero();
    assertThat(second.get("aggregate").asLong()).isEqualTo(450);

    List<JsonNode> results = http.allResults(id);
    assertThat(results).hasSize(10);
    assertThat(results.stream().map(r -> r.get("index").asInt()))
        .containsExactlyInAnyOrderElementsOf(IntStream.range(0, 10).boxed().toList());
    assertThat(results)
        .allSatisfy(
            r -> {
              assertThat(r.get("status").asText()).isEqualTo("SUCCEEDED");
              assertThat(r.get("value").asInt()).isEqualTo(r.get("index").asInt() * 10);
              if (r.get("index").asInt() % 2 == 1) {
                assertThat(r.get("seq").asLong()).isGreaterThan(lastSeq);
              }
            });
    assertThat(http.get("/v1/jobs/" + id + "/results?status=FAILED").json().get("results"))
        .isEmpty();

    // A client that saw the first "done" resumes after it and gets the new results and a new done.
    HttpResponse<String> events =
        http.client()
            .send(
                http.request("/v1/jobs/" + id + "/events")
                    .header("Last-Event-ID", Long.toString(lastSeq))
                    .GET()
                    .build(),
                HttpResponse.BodyHandlers.ofString());
    List<String> names =
        events
            .body()
            .lines()
            .filter(l -> l.startsWith("event:"))
            .map(l -> l.substring(6).strip())
            .toList();
    assertThat(names.stream().filter("result"::equals)).hasSize(5);
    assertThat(names).last().isEqualTo("done");

    Http.Response again = http.post("/v1/jobs/" + id + "/retry-failed", "");
    assertThat(again.status()).isEqualTo(409);
    assertThat(again.errorCode()).isEqualTo("nothing_to_retry");
  }

  @Test
  void a_cancelled_job_does_not_retry() {
    String id = http.submit("{\"function\": {\"name\": \"gated\"}, \"items\": [1, 2]}");
    assertThat(http.post("/v1/jobs/" + id + "/cancel", "").status()).isEqualTo(202);

    Http.Response refused = http.post("/v1/jobs/" + id + "/retry-failed", "");

    assertThat(refused.status()).isEqualTo(409);
    assertThat(refused.errorCode()).isEqualTo("job_cancelled");
  }
}
