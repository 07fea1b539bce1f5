package dev.fanout.server;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import com.fasterxml.jackson.databind.JsonNode;
import dev.fanout.TaskContext;
import java.io.BufferedReader;
import java.io.InputStream;
import java.io.InputStreamReader;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.concurrent.CountDownLatch;
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
  void jobs_are_listed_newest_first_and_a_final_job_can_be_deleted() {
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
    assertThat(http.get("/v1/jobs").json().get("jobs").findValuesAsText("id"))
        .containsExactly(c, a);
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
