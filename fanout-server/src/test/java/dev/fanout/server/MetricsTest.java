package dev.fanout.server;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import com.fasterxml.jackson.databind.JsonNode;
import dev.fanout.TaskContext;
import java.nio.file.Path;
import java.time.Duration;
import java.util.HashMap;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.stream.Collectors;
import java.util.stream.IntStream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** {@code GET /metrics} over real HTTP: the counters agree with the job they counted. */
class MetricsTest {
  private static final int ITEMS = 300;

  @TempDir Path data;

  /** Parses the Prometheus text format into {@code name{labels}} to value; comments are skipped. */
  static Map<String, Double> parse(String body) {
    Map<String, Double> samples = new HashMap<>();
    for (String line : body.split("\n")) {
      if (line.isBlank() || line.startsWith("#")) {
        continue;
      }
      int space = line.lastIndexOf(' ');
      samples.put(line.substring(0, space), Double.parseDouble(line.substring(space + 1)));
    }
    return samples;
  }

  private static FanoutServer.Builder server(Path data, Set<Integer> failedOnce) {
    return FanoutServer.builder()
        .port(0)
        .dataDir(data)
        .pollInterval(Duration.ofMillis(20))
        .function(
            "flaky",
            (JsonNode item, TaskContext ctx) -> {
              int n = item.intValue();
              // Item 7 always fails; every tenth item fails its first attempt only.
              if (n == 7 || n % 10 == 0 && failedOnce.add(n)) {
                throw new IllegalStateException("flaky " + n);
              }
              return n;
            });
  }

  @Test
  void the_task_counters_and_the_histogram_count_exactly_the_jobs_items() {
    Set<Integer> failedOnce = ConcurrentHashMap.newKeySet();
    try (FanoutServer server = server(data, failedOnce).build().start()) {
      Http http = new Http(server.url(), null);
      String items =
          IntStream.range(0, ITEMS)
              .mapToObj(Integer::toString)
              .collect(Collectors.joining(",", "[", "]"));
      String id =
          http.submit(
              "{\"function\": {\"name\": \"flaky\"}, \"items\": "
                  + items
                  + ", \"retry\": {\"maxAttempts\": 2, \"backoffMs\": 1},"
                  + " \"failurePolicy\": {\"toleratedFailureCount\": 1}}");
      await()
          .atMost(Duration.ofSeconds(30))
          .until(
              () -> http.get("/v1/jobs/" + id).json().get("status").asText().equals("SUCCEEDED"));
      JsonNode job = http.get("/v1/jobs/" + id).json();

      Http.Response r = http.get("/metrics");
      assertThat(r.status()).isEqualTo(200);
      assertThat(r.raw().headers().firstValue("Content-Type"))
          .hasValueSatisfying(type -> assertThat(type).startsWith("text/plain"));
      Map<String, Double> m = parse(r.body());

      assertThat(job.get("succeeded").asLong()).isEqualTo(ITEMS - 1);
      assertThat(m.get("fanout_tasks_total{outcome=\"succeeded\"}"))
          .isEqualTo(job.get("succeeded").asDouble());
      assertThat(m.get("fanout_tasks_total{outcome=\"failed\"}")).isEqualTo(1.0);
      // Items 0, 10, ..., 290 and item 7 each failed one attempt and were retried.
      assertThat(m.get("fanout_task_retries_total"))
          .isEqualTo(job.get("retries").asDouble())
          .isEqualTo(31.0);
      assertThat(m.get("fanout_task_duration_seconds_count")).isEqualTo(ITEMS);
      assertThat(m.get("fanout_task_duration_seconds_bucket{le=\"+Inf\"}")).isEqualTo(ITEMS);
      assertThat(m.get("fanout_tasks_in_flight")).isZero();
      assertThat(m.keySet()).anyMatch(k -> k.startsWith("jvm_memory_used_bytes{area=\"heap\""));

      // The job gauges are counted at most once a second, so wait for a count after the finish.
      await()
          .atMost(Duration.ofSeconds(30))
          .untilAsserted(
              () -> {
                Map<String, Double> later = parse(http.get("/metrics").body());
                assertThat(later.get("fanout_jobs{state=\"SUCCEEDED\"}")).isEqualTo(1.0);
                assertThat(later.get("fanout_jobs{state=\"RUNNING\"}")).isZero();
                assertThat(later.get("fanout_tasks_pending")).isZero();
              });
    }
  }

  @Test
  void with_a_token_metrics_need_it_while_health_stays_open() {
    String token = "metrics-token-0123456789";
    try (FanoutServer server =
        server(data, ConcurrentHashMap.newKeySet()).token(token).build().start()) {
      Http anonymous = new Http(server.url(), null);
      assertThat(anonymous.get("/metrics").status()).isEqualTo(401);
      assertThat(anonymous.get("/metrics").errorCode()).isEqualTo("unauthorized");
      assertThat(anonymous.get("/health").status()).isEqualTo(200);

      Http.Response r = new Http(server.url(), token).get("/metrics");
      assertThat(r.status()).isEqualTo(200);
      assertThat(parse(r.body())).containsKey("fanout_tasks_in_flight");
    }
  }
}
