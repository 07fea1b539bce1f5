package dev.fanout.server;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.fanout.TaskContext;
import dev.fanout.server.internal.json.ExactJson;
import java.io.BufferedReader;
import java.io.InputStream;
import java.io.InputStreamReader;
import java.math.BigDecimal;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.stream.Collectors;
import java.util.stream.IntStream;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The v1 API end to end: a real server on a random port over a real H2 file, real HTTP. */
class ServerTest {
  @TempDir Path data;

  private final CountDownLatch gate = new CountDownLatch(1);
  private FanoutServer server;
  private Http http;

  @BeforeEach
  void start() {
    server =
        FanoutServer.builder()
            .port(0)
            .dataDir(data)
            .pollInterval(Duration.ofMillis(20))
            .leaseDuration(Duration.ofSeconds(5))
            .streamSettings(
                new FanoutServer.StreamSettings(
                    Duration.ofMillis(10), Duration.ofMillis(20), Duration.ofMillis(200)))
            .function(
                "gated",
                (JsonNode item, TaskContext ctx) -> {
                  gate.await();
                  return item;
                })
            .build()
            .start();
    http = new Http(server.url(), null);
  }

  @AfterEach
  void stop() {
    gate.countDown();
    server.close();
  }

  private static String numbers(int n) {
    return IntStream.range(0, n)
        .mapToObj(Integer::toString)
        .collect(Collectors.joining(",", "[", "]"));
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
  void a_submission_is_answered_202_with_its_id_and_links_then_runs_to_its_aggregate() {
    Http.Response accepted =
        http.post(
            "/v1/jobs",
            "{\"function\": {\"name\": \"identity\"}, \"items\": "
                + numbers(500)
                + ", \"reduce\": \"sum\"}");

    assertThat(accepted.status()).isEqualTo(202);
    JsonNode body = accepted.json();
    String id = body.get("id").asText();
    assertThat(body.get("status").asText()).isEqualTo("ACCEPTED");
    assertThat(body.get("total").asLong()).isEqualTo(500);
    assertThat(accepted.raw().headers().firstValue("Location")).hasValue("/v1/jobs/" + id);
    assertThat(body.get("links").get("results").asText()).isEqualTo("/v1/jobs/" + id + "/results");

    JsonNode job = awaitFinal(id);
    assertThat(job.get("status").asText()).isEqualTo("SUCCEEDED");
    assertThat(job.get("succeeded").asLong()).isEqualTo(500);
    assertThat(job.get("aggregate").asLong()).isEqualTo(499L * 500 / 2);
    assertThat(job.get("finishedAt").asText()).endsWith("Z");

    List<JsonNode> results = http.allResults(id);
    assertThat(results).hasSize(500);
    assertThat(results.stream().map(r -> r.get("seq").asLong()))
        .containsExactlyElementsOf(IntStream.rangeClosed(1, 500).mapToObj(i -> (long) i).toList());
    assertThat(results.stream().map(r -> r.get("index").asInt()).collect(Collectors.toSet()))
        .hasSize(500);
    assertThat(results)
        .allSatisfy(r -> assertThat(r.get("value").asInt()).isEqualTo(r.get("index").asInt()));
  }

  @Test
  void the_demo_function_squares_numbers_and_retries_its_transient_failures() {
    String id =
        http.submit(
            "{\"function\": {\"name\": \"demo\"}, \"items\": "
                + numbers(40)
                + ", \"reduce\": \"sum\", \"maxConcurrency\": 40,"
                + " \"retry\": {\"maxAttempts\": 10, \"backoffMs\": 1, \"maxBackoffMs\": 5}}");

    JsonNode job = awaitFinal(id);
    assertThat(job.get("status").asText()).isEqualTo("SUCCEEDED");
    long expected = IntStream.range(0, 40).mapToLong(i -> (long) i * i).sum();
    assertThat(job.get("aggregate").asLong()).isEqualTo(expected);
  }

  @Test
  void concat_merge_and_jq_reducers_fold_in_input_order_with_the_items_indexes() {
    String concat =
        http.submit(
            "{\"function\": {\"name\": \"identity\"}, \"items\": [[1], [2, 3], [], [4]],"
                + " \"reduce\": \"concat\"}");
    String merge =
        http.submit(
            "{\"function\": {\"name\": \"identity\"}, \"items\": [{\"a\": 1}, {\"b\": 2},"
                + " {\"a\": 3}], \"reduce\": \"merge\"}");
    String jq =
        http.submit(
            "{\"function\": {\"name\": \"identity\"}, \"items\": [1, 2, 3],"
                + " \"reduce\": {\"jq\": \". + ($item * $index)\", \"init\": 0}}");
    String broken =
        http.submit(
            "{\"function\": {\"name\": \"identity\"}, \"items\": [[1], 2],"
                + " \"reduce\": \"concat\"}");

    JsonNode concatJob = awaitFinal(concat);
    assertThat(concatJob.get("aggregate").toString())
        .as(concatJob.toString())
        .isEqualTo("[1,2,3,4]");
    assertThat(awaitFinal(merge).get("aggregate").toString()).isEqualTo("{\"a\":3,\"b\":2}");
    assertThat(awaitFinal(jq).get("aggregate").asInt()).isEqualTo(1 * 0 + 2 * 1 + 3 * 2);
    JsonNode failed = awaitFinal(broken);
    assertThat(failed.get("status").asText()).isEqualTo("FAILED");
    assertThat(failed.get("error").asText()).contains("item 1");
  }

  @Test
  void results_page_by_seq_and_filter_by_status() {
    String id =
        http.submit("{\"function\": {\"name\": \"identity\"}, \"items\": " + numbers(30) + "}");
    awaitFinal(id);

    JsonNode first = http.get("/v1/jobs/" + id + "/results?limit=10").json();
    assertThat(first.get("results")).hasSize(10);
    assertThat(first.get("next").asLong()).isEqualTo(10);
    assertThat(first.get("done").asBoolean()).isFalse();
    JsonNode rest = http.get("/v1/jobs/" + id + "/results?after=10&limit=100").json();
    assertThat(rest.get("results")).hasSize(20);
    assertThat(rest.get("results").get(0).get("seq").asLong()).isEqualTo(11);
    assertThat(rest.get("done").asBoolean()).isTrue();
    JsonNode empty = http.get("/v1/jobs/" + id + "/results?after=30").json();
    assertThat(empty.get("results")).isEmpty();
    assertThat(empty.get("next").asLong()).isEqualTo(30);
    assertThat(empty.get("done").asBoolean()).isTrue();
    JsonNode failed = http.get("/v1/jobs/" + id + "/results?status=FAILED").json();
    assertThat(failed.get("results")).isEmpty();
    assertThat(failed.get("done").asBoolean()).isTrue();
  }

  @Test
  void events_stream_every_result_once_then_done_and_resume_after_last_event_id() throws Exception {
    String id =
        http.submit(
            "{\"function\": {\"name\": \"gated\"}, \"items\": "
                + numbers(200)
                + ", \"reduce\": \"count\", \"maxConcurrency\": 50}");

    // First connection: read until the first progress event, then drop it mid-stream.
    List<Event> firstPart = new ArrayList<>();
    HttpResponse<InputStream> first =
        http.client()
            .send(
                http.request("/v1/jobs/" + id + "/events").GET().build(),
                HttpResponse.BodyHandlers.ofInputStream());
    assertThat(first.statusCode()).isEqualTo(200);
    assertThat(first.headers().firstValue("Content-Type"))
        .hasValueSatisfying(t -> assertThat(t).startsWith("text/event-stream"));
    gate.countDown();
    try (BufferedReader reader = reader(first)) {
      for (Event e; (e = next(reader)) != null; ) {
        firstPart.add(e);
        if (e.name.equals("result") && firstPart.size() >= 20) {
          break;
        }
      }
    }
    long lastId =
        firstPart.stream()
            .filter(e -> e.id != null)
            .mapToLong(e -> Long.parseLong(e.id))
            .max()
            .orElseThrow();

    awaitFinal(id);
    HttpResponse<InputStream> second =
        http.client()
            .send(
                http.request("/v1/jobs/" + id + "/events")
                    .header("Last-Event-ID", Long.toString(lastId))
                    .GET()
                    .build(),
                HttpResponse.BodyHandlers.ofInputStream());
    List<Event> secondPart = new ArrayList<>();
    try (BufferedReader reader = reader(second)) {
      for (Event e; (e = next(reader)) != null; ) {
        secondPart.add(e);
      }
    }

    List<Long> seqs = new ArrayList<>();
    Set<Long> indexes = new HashSet<>();
    for (Event e : concat(firstPart, secondPart)) {
      if (e.name.equals("result")) {
        JsonNode data = Http.JSON.readTree(e.data);
        seqs.add(data.get("seq").asLong());
        indexes.add(data.get("index").asLong());
        assertThat(e.id).isEqualTo(data.get("seq").asText());
      }
    }
    assertThat(seqs)
        .containsExactlyElementsOf(IntStream.rangeClosed(1, 200).mapToObj(i -> (long) i).toList());
    assertThat(indexes).hasSize(200);
    Event done = secondPart.getLast();
    assertThat(done.name).isEqualTo("done");
    JsonNode finalJob = Http.JSON.readTree(done.data);
    assertThat(finalJob.get("status").asText()).isEqualTo("SUCCEEDED");
    assertThat(finalJob.get("aggregate").asLong()).isEqualTo(200);
    assertThat(secondPart.stream().filter(e -> e.name.equals("done"))).hasSize(1);
  }

  @Test
  void cancel_answers_202_then_200_and_a_finished_job_cannot_be_cancelled() {
    String id =
        http.submit("{\"function\": {\"name\": \"gated\"}, \"items\": " + numbers(50) + "}");
    await().until(() -> http.get("/v1/jobs/" + id).json().get("running").asLong() > 0);

    Http.Response cancelled = http.post("/v1/jobs/" + id + "/cancel", "");
    assertThat(cancelled.status()).isEqualTo(202);
    assertThat(cancelled.json().get("status").asText()).isEqualTo("CANCELLED");
    assertThat(http.post("/v1/jobs/" + id + "/cancel", "").status()).isEqualTo(200);
    JsonNode job = awaitFinal(id);
    assertThat(job.get("cancelled").asLong()).isEqualTo(50);

    String done = http.submit("{\"function\": {\"name\": \"identity\"}, \"items\": [1]}");
    awaitFinal(done);
    Http.Response refused = http.post("/v1/jobs/" + done + "/cancel", "");
    assertThat(refused.status()).isEqualTo(409);
    assertThat(refused.errorCode()).isEqualTo("job_final");
  }

  /** Submits a job of {@code n} items of the gated function, which run until the gate opens. */
  private String submitGated(int n) {
    return http.submit("{\"function\": {\"name\": \"gated\"}, \"items\": " + numbers(n) + "}");
  }

  /** Sends a read on another thread, for a test to watch while it waits. */
  private CompletableFuture<Http.Response> readLater(String path) {
    return CompletableFuture.supplyAsync(() -> http.get(path));
  }

  private void awaitRunning(String id, long running) {
    await().until(() -> http.get("/v1/jobs/" + id).json().get("running").asLong() == running);
  }

  @Test
  void a_read_with_waitMs_answers_once_the_job_ends() throws Exception {
    String id = submitGated(3);
    CompletableFuture<Http.Response> waiting = readLater("/v1/jobs/" + id + "?waitMs=25000");
    awaitRunning(id, 3);
    // The gate is shut, so the job cannot have ended, and neither may the wait; the half second
    // also lets the read reach the server before the gate opens.
    await()
        .during(Duration.ofMillis(500))
        .atMost(Duration.ofSeconds(5))
        .until(() -> !waiting.isDone());

    gate.countDown();
    Http.Response answered = waiting.get(20, TimeUnit.SECONDS);
    assertThat(answered.status()).isEqualTo(200);
    assertThat(answered.json().get("status").asText()).isEqualTo("SUCCEEDED");
    assertThat(answered.json().get("succeeded").asLong()).isEqualTo(3);
    // A final job answers at once, however long the wait it is asked for.
    assertThat(
            readLater("/v1/jobs/" + id + "?waitMs=60000")
                .get(20, TimeUnit.SECONDS)
                .json()
                .get("status")
                .asText())
        .isEqualTo("SUCCEEDED");
  }

  @Test
  void a_read_with_waitMs_answers_with_the_running_job_when_the_wait_is_over() {
    String id = submitGated(3);
    long start = System.nanoTime();
    Http.Response answered = http.get("/v1/jobs/" + id + "?waitMs=200");
    // A lower bound only, which no slow machine can break: the read did wait.
    assertThat(System.nanoTime() - start).isGreaterThanOrEqualTo(200_000_000L);
    assertThat(answered.status()).isEqualTo(200);
    assertThat(answered.json().get("status").asText()).isIn("ACCEPTED", "RUNNING");
    assertThat(answered.json().get("succeeded").asLong()).isZero();
  }

  @Test
  void stopping_the_server_ends_a_read_that_waits_for_a_job() throws Exception {
    String id = submitGated(3);
    CompletableFuture<Http.Response> waiting = readLater("/v1/jobs/" + id + "?waitMs=60000");
    awaitRunning(id, 3);
    assertThat(waiting).isNotDone();

    // Closed on another thread: close() goes on to wait for the gated attempts' grace period.
    CompletableFuture<Void> closing = CompletableFuture.runAsync(server::close);
    // Well within the minute asked for, the read ends: answered with the job as it stood, or cut
    // off by the HTTP server stopping, whichever comes first.
    Http.Response answered;
    try {
      answered = waiting.get(20, TimeUnit.SECONDS);
    } catch (ExecutionException cutOff) {
      answered = null;
    }
    if (answered != null) {
      assertThat(answered.status()).isEqualTo(200);
      assertThat(answered.json().get("status").asText()).isIn("ACCEPTED", "RUNNING");
    }
    gate.countDown();
    closing.get(30, TimeUnit.SECONDS);
  }

  @Test
  void a_running_job_pauses_resumes_and_changes_its_concurrency() {
    String id =
        http.submit(
            "{\"function\": {\"name\": \"gated\"}, \"items\": "
                + numbers(20)
                + ", \"maxConcurrency\": 2}");
    assertThat(http.post("/v1/jobs/" + id + "/pause", "").json().get("status").asText())
        .isEqualTo("PAUSED");
    Http.Response patched = http.patch("/v1/jobs/" + id, "{\"maxConcurrency\": 7}");
    assertThat(patched.status()).isEqualTo(200);
    assertThat(patched.json().get("maxConcurrency").asInt()).isEqualTo(7);
    assertThat(http.post("/v1/jobs/" + id + "/resume", "").status()).isEqualTo(200);
    gate.countDown();
    assertThat(awaitFinal(id).get("status").asText()).isEqualTo("SUCCEEDED");
  }

  @Test
  void jobs_are_listed_newest_first_and_a_final_job_can_be_deleted_even_as_the_cursor() {
    String a = http.submit("{\"function\": {\"name\": \"identity\"}, \"items\": [1]}");
    String b = http.submit("{\"function\": {\"name\": \"identity\"}, \"items\": [2]}");
    String c = http.submit("{\"function\": {\"name\": \"identity\"}, \"items\": [3]}");
    awaitFinal(a);
    awaitFinal(b);
    awaitFinal(c);

    JsonNode page = http.get("/v1/jobs?limit=2").json();
    assertThat(page.get("jobs").findValuesAsText("id")).containsExactly(c, b);
    JsonNode next = http.get("/v1/jobs?limit=2&after=" + page.get("next").asText()).json();
    assertThat(next.get("jobs").findValuesAsText("id")).containsExactly(a);
    assertThat(next.get("next").isNull()).isTrue();
    assertThat(http.get("/v1/jobs?status=FAILED").json().get("jobs")).isEmpty();

    assertThat(http.delete("/v1/jobs/" + b).status()).isEqualTo(204);
    assertThat(http.get("/v1/jobs/" + b).status()).isEqualTo(404);
    // The first page's cursor was b: deleted in between, the listing still goes on after it.
    assertThat(page.get("next").asText()).isEqualTo(b);
    assertThat(http.get("/v1/jobs?limit=2&after=" + b).json().get("jobs").findValuesAsText("id"))
        .containsExactly(a);
    assertThat(http.get("/v1/jobs").json().get("jobs").findValuesAsText("id"))
        .containsExactly(c, a);
  }

  /** Parses a body keeping every digit, which the tests' plain mapper would round. */
  private static JsonNode exact(Http.Response r) throws Exception {
    return EXACT.readTree(r.body());
  }

  private static final ObjectMapper EXACT = ExactJson.mapper();

  /** Submits a job of the built-in identity function over {@code items}, with more fields. */
  private String identity(String items, String fields) {
    return http.submit(
        "{\"function\": {\"name\": \"identity\"}, \"items\": " + items + ", " + fields + "}");
  }

  @Test
  void numbers_keep_every_digit_from_the_items_through_the_function_to_results_and_aggregate()
      throws Exception {
    List<String> numbers =
        List.of(
            "1e400",
            "0.1000000000000000055511151231257827",
            "1e-400",
            "123456789012345678901234567890.5",
            "-7");
    String collect = identity(numbers.toString(), "\"reduce\": \"collect\"");
    String sum =
        identity(
            "[0.1000000000000000055511151231257827, 0.2000000000000000111022302462515654]",
            "\"reduce\": \"sum\"");
    awaitFinal(collect);
    awaitFinal(sum);

    JsonNode aggregate = exact(http.get("/v1/jobs/" + collect)).get("aggregate");
    assertThat(aggregate).hasSize(numbers.size());
    for (int i = 0; i < numbers.size(); i++) {
      assertThat(aggregate.get(i).decimalValue())
          .as("item %d", i)
          .isEqualByComparingTo(new BigDecimal(numbers.get(i)));
    }
    JsonNode results = exact(http.get("/v1/jobs/" + collect + "/results")).get("results");
    for (JsonNode r : results) {
      assertThat(r.get("value").decimalValue())
          .isEqualByComparingTo(new BigDecimal(numbers.get(r.get("index").asInt())));
    }
    assertThat(exact(http.get("/v1/jobs/" + sum)).get("aggregate").decimalValue())
        .isEqualByComparingTo(new BigDecimal("0.3000000000000000166533453693773481"));
  }

  @Test
  void a_sum_refuses_numbers_too_far_from_one_to_add_exactly_instead_of_hanging() throws Exception {
    String id = identity("[1, 1e999999999]", "\"reduce\": \"sum\"");

    // A zero is a zero however it is written: its billion-place scale must not reach the sum.
    String zero = identity("[1, 0E-999999999, 2]", "\"reduce\": \"sum\"");
    // A mean too large for a double is given as the decimal, not as "Infinity".
    String mean = identity("[1e400, 3e400]", "\"reduce\": \"avg\"");

    JsonNode job = awaitFinal(id);
    assertThat(job.get("status").asText()).isEqualTo("FAILED");
    assertThat(job.get("error").asText()).contains("item 1").contains("1E+999999999");
    assertThat(awaitFinal(zero).get("aggregate").asLong()).isEqualTo(3);
    assertThat(awaitFinal(mean).get("status").asText()).isEqualTo("SUCCEEDED");
    assertThat(exact(http.get("/v1/jobs/" + mean)).get("aggregate").decimalValue())
        .isEqualByComparingTo(new BigDecimal("2e400"));
  }

  @Test
  void jq_over_numbers_of_extreme_magnitude_ends_promptly() {
    String transform = identity("[1e999999999, 1e-999999999]", "\"transform\": \". + 1\"");
    String reduce =
        identity("[1e999999999, 1]", "\"reduce\": {\"jq\": \". + $item\", \"init\": 0}");

    // Exact arithmetic on these would take a billion digits; jq computes in doubles, so both jobs
    // end at once rather than hang now that the numbers reach it as written.
    assertThat(awaitFinal(transform).get("status").asText()).isEqualTo("SUCCEEDED");
    assertThat(http.allResults(transform).stream().filter(r -> r.get("index").asInt() == 1))
        .singleElement()
        .satisfies(r -> assertThat(r.get("value").asInt()).isEqualTo(1));
    assertThat(awaitFinal(reduce).get("status").asText()).isEqualTo("SUCCEEDED");
  }

  @Test
  void the_last_page_of_results_says_done_even_when_it_is_exactly_full() {
    String id =
        http.submit("{\"function\": {\"name\": \"identity\"}, \"items\": " + numbers(10) + "}");
    awaitFinal(id);

    JsonNode all = http.get("/v1/jobs/" + id + "/results?limit=10").json();
    assertThat(all.get("results")).hasSize(10);
    assertThat(all.get("done").asBoolean()).isTrue();
    JsonNode tail = http.get("/v1/jobs/" + id + "/results?after=7&limit=3").json();
    assertThat(tail.get("results")).hasSize(3);
    assertThat(tail.get("done").asBoolean()).isTrue();
    JsonNode before = http.get("/v1/jobs/" + id + "/results?after=6&limit=3").json();
    assertThat(before.get("done").asBoolean()).isFalse();
    JsonNode failed = http.get("/v1/jobs/" + id + "/results?status=SUCCEEDED&limit=10").json();
    assertThat(failed.get("done").asBoolean()).isTrue();
  }

  @Test
  void with_a_status_filter_next_moves_past_the_results_left_out() {
    String id =
        identity(
            "[0, 1, 2, 3]",
            "\"order\": \"input\", \"transform\":"
                + " \"if . % 2 == 0 then . else error(\\\"odd\\\") end\"");
    awaitFinal(id);

    // In input order, seq n is item n - 1: seqs 1 and 3 succeeded, 2 and 4 failed.
    JsonNode page = http.get("/v1/jobs/" + id + "/results?status=SUCCEEDED&limit=1").json();
    assertThat(page.get("results").findValuesAsText("seq")).containsExactly("1");
    assertThat(page.get("next").asLong()).isEqualTo(1);
    JsonNode last = http.get("/v1/jobs/" + id + "/results?status=SUCCEEDED&after=1").json();
    assertThat(last.get("results").findValuesAsText("seq")).containsExactly("3");
    assertThat(last.get("next").asLong()).isEqualTo(4);
    assertThat(last.get("done").asBoolean()).isTrue();
    JsonNode failed = http.get("/v1/jobs/" + id + "/results?status=FAILED&limit=1").json();
    assertThat(failed.get("results").findValuesAsText("seq")).containsExactly("2");
    assertThat(failed.get("next").asLong()).isEqualTo(2);
    assertThat(failed.get("done").asBoolean()).isFalse();
    JsonNode empty = http.get("/v1/jobs/" + id + "/results?status=FAILED&after=4").json();
    assertThat(empty.get("results")).isEmpty();
    assertThat(empty.get("next").asLong()).isEqualTo(4);
    assertThat(empty.get("done").asBoolean()).isTrue();
  }

  @Test
  void an_aggregate_over_64_kib_in_utf_8_is_served_apart_even_when_it_has_fewer_characters() {
    // 2 x 15,000 euro signs: 30,002 characters, 90,002 bytes as sent.
    String euros = "\u20ac".repeat(15_000);
    String id = identity("[\"" + euros + "\", \"" + euros + "\"]", "\"reduce\": \"concat\"");
    awaitFinal(id);

    Http.Response job = http.get("/v1/jobs/" + id);
    assertThat(job.json().get("aggregate").isNull()).isTrue();
    assertThat(job.body().getBytes(StandardCharsets.UTF_8).length).isLessThan(64 * 1024);
    Http.Response aggregate = http.get("/v1/jobs/" + id + "/aggregate");
    assertThat(aggregate.status()).isEqualTo(200);
    assertThat(aggregate.json().asText()).isEqualTo(euros + euros);
  }

  @Test
  void a_quoted_utf_8_charset_is_accepted() {
    for (String type :
        List.of(
            "application/json; charset=\"utf-8\"",
            "application/json;charset=UTF-8",
            "application/json; charset = \"UTF-8\"")) {
      Http.Response r =
          http.send(
              http.request("/v1/jobs")
                  .header("Content-Type", type)
                  .POST(
                      HttpRequest.BodyPublishers.ofString(
                          "{\"function\": {\"name\": \"identity\"}, \"items\": [1]}")));
      assertThat(r.status()).as(type + ": " + r.body()).isEqualTo(202);
    }
  }

  @Test
  void health_is_open_and_answers_up() {
    Http.Response health = http.get("/health");
    assertThat(health.status()).isEqualTo(200);
    assertThat(health.json().get("status").asText()).isEqualTo("UP");
  }

  private static <T> List<T> concat(List<T> a, List<T> b) {
    List<T> all = new ArrayList<>(a);
    all.addAll(b);
    return all;
  }

  /** One server-sent event. */
  record Event(String id, String name, String data) {}

  static BufferedReader reader(HttpResponse<InputStream> response) {
    return new BufferedReader(new InputStreamReader(response.body(), StandardCharsets.UTF_8));
  }

  /** Reads the next event, skipping comments; null at the end of the stream. */
  static Event next(BufferedReader reader) throws java.io.IOException {
    String id = null;
    String name = "message";
    StringBuilder data = null;
    for (String line; (line = reader.readLine()) != null; ) {
      if (line.isEmpty()) {
        if (data != null) {
          return new Event(id, name, data.toString());
        }
        continue;
      }
      if (line.startsWith(":")) {
        continue;
      }
      if (line.startsWith("id: ")) {
        id = line.substring(4);
      } else if (line.startsWith("event: ")) {
        name = line.substring(7);
      } else if (line.startsWith("data: ")) {
        data =
            data == null
                ? new StringBuilder(line.substring(6))
                : data.append('\n').append(line.substring(6));
      }
    }
    return null;
  }

  static {
    // Awaitility polls quickly: the server's own intervals are shortened above.
    org.awaitility.Awaitility.setDefaultPollInterval(20, TimeUnit.MILLISECONDS);
  }
}
