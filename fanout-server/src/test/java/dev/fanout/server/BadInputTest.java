package dev.fanout.server;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import com.fasterxml.jackson.databind.JsonNode;
import dev.fanout.TaskContext;
import java.io.ByteArrayInputStream;
import java.net.http.HttpRequest;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CountDownLatch;
import java.util.function.Function;
import java.util.stream.Collectors;
import java.util.stream.IntStream;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.DynamicTest;
import org.junit.jupiter.api.Order;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestFactory;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.api.TestMethodOrder;
import org.junit.jupiter.api.io.TempDir;

/**
 * Hostile requests, each answered with the exact status and error code, against one server that
 * must still run a real job afterwards.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
@TestMethodOrder(org.junit.jupiter.api.MethodOrderer.OrderAnnotation.class)
class BadInputTest {
  private static final String TOKEN = "test-token-0123456789";
  private static final String OK_FUNCTION = "\"function\": {\"name\": \"identity\"}";

  @TempDir static Path data;

  private final CountDownLatch gate = new CountDownLatch(1);
  private FanoutServer server;
  private Http http;
  private Http anonymous;
  private String finishedJob;
  private String runningJob;

  @BeforeAll
  void start() {
    server =
        FanoutServer.builder()
            .port(0)
            .dataDir(data)
            .token(TOKEN)
            .limits(new FanoutServer.Limits(64 * 1024, 100, 1024, 32))
            .pollInterval(Duration.ofMillis(20))
            .function(
                "gated",
                (JsonNode item, TaskContext ctx) -> {
                  gate.await();
                  return item;
                })
            .build()
            .start();
    http = new Http(server.url(), TOKEN);
    anonymous = new Http(server.url(), null);
    finishedJob = http.submit("{" + OK_FUNCTION + ", \"items\": [1, 2, 3]}");
    await()
        .until(
            () ->
                http.get("/v1/jobs/" + finishedJob)
                    .json()
                    .get("status")
                    .asText()
                    .equals("SUCCEEDED"));
    runningJob = http.submit("{\"function\": {\"name\": \"gated\"}, \"items\": [1]}");
  }

  @AfterAll
  void stop() {
    gate.countDown();
    server.close();
  }

  private record Case(
      String name, int status, String code, Function<BadInputTest, Http.Response> send) {}

  private static Case submit(String name, int status, String code, String body) {
    return new Case(name, status, code, t -> t.http.post("/v1/jobs", body));
  }

  private static String job(String fields) {
    return "{" + OK_FUNCTION + ", \"items\": [1], " + fields + "}";
  }

  /** A job of an HTTP function that is never called: these submissions are refused. */
  private static String urlJob(String fields) {
    return "{\"function\": {\"url\": \"http://127.0.0.1:9/f\"}, \"items\": [1], " + fields + "}";
  }

  private static String nested(int depth) {
    return "[".repeat(depth) + "]".repeat(depth);
  }

  private Http.Response raw(String contentType, byte[] body) {
    HttpRequest.Builder r = http.request("/v1/jobs");
    if (contentType != null) {
      r.header("Content-Type", contentType);
    }
    return http.send(r.POST(HttpRequest.BodyPublishers.ofByteArray(body)));
  }

  private Http.Response chunked(byte[] body) {
    return http.send(
        http.request("/v1/jobs")
            .header("Content-Type", "application/json")
            .POST(HttpRequest.BodyPublishers.ofInputStream(() -> new ByteArrayInputStream(body))));
  }

  private Http.Response keyed(String key, String body) {
    return http.send(
        http.request("/v1/jobs")
            .header("Content-Type", "application/json")
            .header("Idempotency-Key", key)
            .POST(HttpRequest.BodyPublishers.ofString(body)));
  }

  private Http.Response withAuth(String header) {
    HttpRequest.Builder r = anonymous.request("/v1/jobs");
    if (header != null) {
      r.header("Authorization", header);
    }
    return anonymous.send(r.GET());
  }

  private static List<Case> cases() {
    String bigItems =
        IntStream.range(0, 101).mapToObj(Integer::toString).collect(Collectors.joining(","));
    String bigBody = "{" + OK_FUNCTION + ", \"items\": [\"" + "x".repeat(70_000) + "\"]}";
    List<Case> c = new ArrayList<>();
    // 400: malformed or wrongly typed
    c.add(submit("broken JSON", 400, "invalid_json", "{\"function\": "));
    c.add(submit("an array, not an object", 400, "invalid_json", "[1, 2]"));
    c.add(
        submit(
            "content after the object",
            400,
            "invalid_json",
            "{" + OK_FUNCTION + ", \"items\": []} x"));
    c.add(submit("items is a number", 400, "invalid_type", "{" + OK_FUNCTION + ", \"items\": 5}"));
    // A body with several faults: its wrong type is answered first, whichever field comes first.
    c.add(
        submit(
            "an unknown reducer and metadata of the wrong type",
            400,
            "invalid_type",
            job("\"reduce\": \"median\", \"metadata\": [1]")));
    c.add(
        submit(
            "a cap of 0 and a timeout that is a string",
            400,
            "invalid_type",
            job("\"timeoutMs\": \"soon\", \"maxConcurrency\": 0")));
    c.add(
        submit(
            "maxConcurrency is a string", 400, "invalid_type", job("\"maxConcurrency\": \"10\"")));
    c.add(
        submit(
            "maxConcurrency is a fraction", 400, "invalid_type", job("\"maxConcurrency\": 1.5")));
    c.add(
        submit(
            "function is a string",
            400,
            "invalid_type",
            "{\"function\": \"identity\", \"items\": []}"));
    c.add(
        submit(
            "100-level nesting",
            400,
            "limit_exceeded",
            "{" + OK_FUNCTION + ", \"items\": [" + nested(100) + "]}"));
    c.add(submit("unknown field", 400, "unknown_field", job("\"maxConcurency\": 5")));
    c.add(
        submit(
            "a named function with an HTTP function's field",
            400,
            "unknown_field",
            "{\"function\": {\"name\": \"identity\", \"headers\": {}}, \"items\": [1]}"));
    c.add(
        submit(
            "repeated field",
            400,
            "duplicate_field",
            job("\"reduce\": \"sum\", \"reduce\": \"sum\"")));
    c.add(submit("no items", 400, "missing_field", "{" + OK_FUNCTION + "}"));
    c.add(submit("no function", 400, "missing_field", "{\"items\": [1]}"));
    c.add(
        new Case(
            "invalid UTF-8",
            400,
            "invalid_json",
            t ->
                t.raw(
                    "application/json",
                    concat(
                        "{\"function\": {\"name\": \"".getBytes(StandardCharsets.UTF_8),
                        new byte[] {(byte) 0xC3, (byte) 0x28},
                        "\"}, \"items\": []}".getBytes(StandardCharsets.UTF_8)))));
    c.add(
        new Case(
            "results limit is not a number",
            400,
            "invalid_type",
            t -> t.http.get("/v1/jobs/" + t.finishedJob + "/results?limit=ten")));
    c.add(submit("metadata is an array", 400, "invalid_type", job("\"metadata\": [1]")));
    c.add(
        new Case(
            "an Idempotency-Key of 256 characters",
            400,
            "invalid_value",
            t -> t.keyed("k".repeat(256), job("\"reduce\": \"sum\""))));
    c.add(
        new Case(
            "an Idempotency-Key with a space",
            400,
            "invalid_value",
            t -> t.keyed("two words", job("\"reduce\": \"sum\""))));
    c.add(
        new Case(
            "PATCH with broken JSON",
            400,
            "invalid_json",
            t -> t.http.patch("/v1/jobs/" + t.runningJob, "{\"maxConcurrency\": ")));
    // 401: no or bad credentials
    c.add(new Case("no Authorization header", 401, "unauthorized", t -> t.withAuth(null)));
    c.add(
        new Case(
            "a wrong token", 401, "unauthorized", t -> t.withAuth("Bearer not-the-token-at-all")));
    c.add(
        new Case(
            "Basic instead of Bearer", 401, "unauthorized", t -> t.withAuth("Basic dXNlcjpwYXNz")));
    c.add(new Case("an empty bearer token", 401, "unauthorized", t -> t.withAuth("Bearer ")));
    c.add(
        new Case(
            "the token as a prefix",
            401,
            "unauthorized",
            t -> t.withAuth("Bearer " + TOKEN + "x")));
    // 404: unknown jobs and routes
    c.add(
        new Case(
            "unknown job id",
            404,
            "job_not_found",
            t -> t.http.get("/v1/jobs/0190c0de-0000-7000-8000-000000000000")));
    c.add(
        new Case("malformed job id", 404, "job_not_found", t -> t.http.get("/v1/jobs/not-a-job")));
    c.add(
        new Case(
            "results of an unknown job",
            404,
            "job_not_found",
            t -> t.http.get("/v1/jobs/0190c0de-0000-7000-8000-000000000000/results")));
    c.add(
        new Case(
            "cancel an unknown job",
            404,
            "job_not_found",
            t -> t.http.post("/v1/jobs/0190c0de-0000-7000-8000-000000000000/cancel", "")));
    c.add(new Case("unknown route", 404, "not_found", t -> t.http.get("/v1/nothing-here")));
    // 409: conflicts with the job's state
    c.add(
        new Case(
            "cancel a succeeded job",
            409,
            "job_final",
            t -> t.http.post("/v1/jobs/" + t.finishedJob + "/cancel", "")));
    c.add(
        new Case(
            "pause a succeeded job",
            409,
            "job_final",
            t -> t.http.post("/v1/jobs/" + t.finishedJob + "/pause", "")));
    c.add(
        new Case(
            "patch a succeeded job",
            409,
            "job_final",
            t -> t.http.patch("/v1/jobs/" + t.finishedJob, "{\"maxConcurrency\": 3}")));
    c.add(
        new Case(
            "delete a running job",
            409,
            "job_not_final",
            t -> t.http.delete("/v1/jobs/" + t.runningJob)));
    c.add(
        new Case(
            "the aggregate of a running job",
            409,
            "job_not_final",
            t -> t.http.get("/v1/jobs/" + t.runningJob + "/aggregate")));
    c.add(
        new Case(
            "an Idempotency-Key reused with another body",
            409,
            "idempotency_conflict",
            t -> {
              Http.Response first = t.keyed("reused-key", job("\"reduce\": \"sum\""));
              assertThat(first.status()).as(first.body()).isEqualTo(202);
              return t.keyed("reused-key", job("\"reduce\": \"count\""));
            }));
    c.add(
        new Case(
            "retry the failed items of a running job",
            409,
            "job_not_final",
            t -> t.http.post("/v1/jobs/" + t.runningJob + "/retry-failed", "")));
    c.add(
        new Case(
            "retry a job without failed items",
            409,
            "nothing_to_retry",
            t -> t.http.post("/v1/jobs/" + t.finishedJob + "/retry-failed", "")));
    c.add(
        new Case(
            "retry the failed items of an unknown job",
            404,
            "job_not_found",
            t -> t.http.post("/v1/jobs/0190c0de-0000-7000-8000-000000000000/retry-failed", "")));
    // 413: too large, by Content-Length or while streaming
    c.add(submit("a body over the limit, by its length", 413, "body_too_large", bigBody));
    c.add(
        new Case(
            "a chunked body over the limit",
            413,
            "body_too_large",
            t -> t.chunked(bigBody.getBytes(StandardCharsets.UTF_8))));
    c.add(
        submit(
            "too many items",
            413,
            "too_many_items",
            "{" + OK_FUNCTION + ", \"items\": [" + bigItems + "]}"));
    c.add(
        submit(
            "an item over the limit",
            413,
            "item_too_large",
            "{" + OK_FUNCTION + ", \"items\": [\"" + "y".repeat(2000) + "\"]}"));
    // 415: not JSON
    c.add(
        new Case(
            "no Content-Type",
            415,
            "unsupported_media_type",
            t -> t.raw(null, "{}".getBytes(StandardCharsets.UTF_8))));
    c.add(
        new Case(
            "text/plain",
            415,
            "unsupported_media_type",
            t -> t.raw("text/plain", "{}".getBytes(StandardCharsets.UTF_8))));
    c.add(
        new Case(
            "JSON in Latin-1",
            415,
            "unsupported_media_type",
            t ->
                t.raw(
                    "application/json; charset=iso-8859-1",
                    "{}".getBytes(StandardCharsets.ISO_8859_1))));
    c.add(
        new Case(
            "form-encoded",
            415,
            "unsupported_media_type",
            t ->
                t.raw(
                    "application/x-www-form-urlencoded", "a=b".getBytes(StandardCharsets.UTF_8))));
    // 422: well formed, but invalid
    c.add(
        submit(
            "unknown function",
            422,
            "unknown_function",
            "{\"function\": {\"name\": \"nope\"}, \"items\": [1]}"));
    c.add(submit("unknown reducer", 422, "unknown_reducer", job("\"reduce\": \"median\"")));
    c.add(submit("concurrency below 1", 422, "invalid_value", job("\"maxConcurrency\": 0")));
    c.add(
        submit(
            "a huge concurrency",
            422,
            "invalid_value",
            job("\"maxConcurrency\": 99999999999999999999999999")));
    c.add(submit("an exponent of 400", 422, "invalid_value", job("\"maxConcurrency\": 1e400")));
    c.add(
        submit(
            "percent over 100",
            422,
            "invalid_value",
            job("\"failurePolicy\": {\"toleratedFailurePercent\": 150}")));
    c.add(
        submit(
            "both tolerances",
            422,
            "invalid_value",
            job(
                "\"failurePolicy\": {\"toleratedFailureCount\": 1, \"toleratedFailurePercent\": 5}")));
    c.add(
        submit(
            "an unknown failure mode",
            422,
            "invalid_value",
            job("\"failurePolicy\": {\"mode\": \"sometimes\"}")));
    c.add(submit("an order that is not a string", 400, "invalid_type", job("\"order\": 1")));
    c.add(submit("an unknown order", 422, "invalid_value", job("\"order\": \"index\"")));
    c.add(
        submit(
            "max backoff below backoff",
            422,
            "invalid_value",
            job("\"retry\": {\"backoffMs\": 100, \"maxBackoffMs\": 10}")));
    c.add(submit("zero attempts", 422, "invalid_value", job("\"retry\": {\"maxAttempts\": 0}")));
    c.add(
        submit(
            "a name and a url",
            422,
            "invalid_value",
            "{\"function\": {\"name\": \"identity\", \"url\": \"http://127.0.0.1/\"}, \"items\": [1]}"));
    c.add(
        submit(
            "a cloud metadata URL",
            422,
            "url_not_allowed",
            "{\"function\": {\"url\": \"http://169.254.169.254/latest/meta-data\"}, \"items\": [1]}"));
    c.add(
        submit(
            "a link-local IPv6 URL",
            422,
            "url_not_allowed",
            "{\"function\": {\"url\": \"http://[fe80::1]/f\"}, \"items\": [1]}"));
    c.add(
        submit(
            "a file: URL",
            422,
            "invalid_url",
            "{\"function\": {\"url\": \"file:///etc/passwd\"}, \"items\": [1]}"));
    c.add(submit("a webhook that is a string", 400, "invalid_type", job("\"webhook\": \"x\"")));
    c.add(
        submit(
            "a webhook url that is a number",
            400,
            "invalid_type",
            job("\"webhook\": {\"url\": 8080, \"secret\": \"s\"}")));
    c.add(
        submit(
            "a webhook with a misspelt field",
            400,
            "unknown_field",
            job("\"webhook\": {\"url\": \"http://127.0.0.1/h\", \"secrett\": \"s\"}")));
    c.add(
        submit(
            "a file: webhook URL",
            422,
            "invalid_url",
            job("\"webhook\": {\"url\": \"file:///etc/passwd\", \"secret\": \"s\"}")));
    c.add(
        submit(
            "a webhook URL with credentials",
            422,
            "invalid_url",
            job("\"webhook\": {\"url\": \"http://u:p@127.0.0.1/h\", \"secret\": \"s\"}")));
    c.add(
        submit(
            "a cloud metadata webhook URL",
            422,
            "url_not_allowed",
            job(
                "\"webhook\": {\"url\": \"http://169.254.169.254/latest/meta-data\","
                    + " \"secret\": \"s\"}")));
    c.add(
        submit(
            "a metadata host name as webhook URL",
            422,
            "url_not_allowed",
            job(
                "\"webhook\": {\"url\": \"http://metadata.google.internal/\","
                    + " \"secret\": \"s\"}")));
    c.add(
        submit(
            "an empty webhook secret",
            422,
            "invalid_value",
            job("\"webhook\": {\"url\": \"http://127.0.0.1/h\", \"secret\": \"\"}")));
    c.add(
        submit(
            "a webhook without a secret",
            422,
            "invalid_value",
            job("\"webhook\": {\"url\": \"http://127.0.0.1/h\"}")));
    c.add(
        submit(
            "a jq transform that does not parse",
            422,
            "invalid_jq",
            job("\"transform\": \".n | [\"")));
    c.add(submit("a transform that is a number", 400, "invalid_type", job("\"transform\": 5")));
    c.add(
        submit(
            "a batch size with a named function", 422, "invalid_value", job("\"batchSize\": 5")));
    c.add(submit("a batch size of 0", 422, "invalid_value", urlJob("\"batchSize\": 0")));
    c.add(submit("a batch size over 10,000", 422, "invalid_value", urlJob("\"batchSize\": 10001")));
    c.add(
        submit(
            "a batch size that is a string", 400, "invalid_type", urlJob("\"batchSize\": \"10\"")));
    c.add(submit("a fractional batch size", 400, "invalid_type", urlJob("\"batchSize\": 2.5")));
    c.add(
        new Case(
            "a status filter that is no status",
            422,
            "invalid_value",
            t -> t.http.get("/v1/jobs/" + t.finishedJob + "/results?status=MAYBE")));
    c.add(
        new Case(
            "a wait that is not a number",
            400,
            "invalid_type",
            t -> t.http.get("/v1/jobs/" + t.runningJob + "?waitMs=soon")));
    c.add(
        new Case(
            "a negative wait",
            422,
            "invalid_value",
            t -> t.http.get("/v1/jobs/" + t.runningJob + "?waitMs=-1")));
    c.add(
        new Case(
            "a wait over a minute",
            422,
            "invalid_value",
            t -> t.http.get("/v1/jobs/" + t.runningJob + "?waitMs=60001")));
    c.add(
        new Case(
            "PATCH concurrency 0",
            422,
            "invalid_value",
            t -> t.http.patch("/v1/jobs/" + t.runningJob, "{\"maxConcurrency\": 0}")));
    return c;
  }

  private static byte[] concat(byte[]... parts) {
    int n = 0;
    for (byte[] p : parts) {
      n += p.length;
    }
    byte[] all = new byte[n];
    int at = 0;
    for (byte[] p : parts) {
      System.arraycopy(p, 0, all, at, p.length);
      at += p.length;
    }
    return all;
  }

  @TestFactory
  @Order(1)
  List<DynamicTest> each_hostile_request_gets_its_exact_status_and_code() {
    return cases().stream()
        .map(
            c ->
                DynamicTest.dynamicTest(
                    c.status + " " + c.code + ": " + c.name,
                    () -> {
                      Http.Response r = c.send.apply(this);
                      assertThat(r.status()).as(r.body()).isEqualTo(c.status);
                      assertThat(r.errorCode()).as(r.body()).isEqualTo(c.code);
                      assertThat(r.json().path("error").path("message").asText()).isNotBlank();
                    }))
        .toList();
  }

  @Test
  @Order(2)
  void the_suite_covers_every_status_three_times_and_a_real_job_still_runs() {
    assertThat(cases()).hasSizeGreaterThanOrEqualTo(30);
    Map<Integer, Long> perStatus =
        cases().stream().collect(Collectors.groupingBy(c -> c.status, Collectors.counting()));
    assertThat(perStatus.keySet()).containsExactlyInAnyOrder(400, 401, 404, 409, 413, 415, 422);
    assertThat(perStatus.values()).allSatisfy(n -> assertThat(n).isGreaterThanOrEqualTo(3));

    String id = http.submit("{" + OK_FUNCTION + ", \"items\": [1, 2, 3, 4], \"reduce\": \"sum\"}");
    await()
        .until(() -> http.get("/v1/jobs/" + id).json().get("status").asText().equals("SUCCEEDED"));
    assertThat(http.get("/v1/jobs/" + id).json().get("aggregate").asInt()).isEqualTo(10);
  }
}
