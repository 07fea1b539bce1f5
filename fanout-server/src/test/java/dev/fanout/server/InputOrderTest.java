package dev.fanout.server;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import com.fasterxml.jackson.databind.JsonNode;
import dev.fanout.server.ServerTest.Event;
import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStream;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.stream.Collectors;
import java.util.stream.IntStream;
import java.util.stream.LongStream;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@code "order": "input"} end to end over real HTTP: a URL function whose later items answer first
 * (the test opens their gates in reverse), a server on an H2 file that is restarted midway, and
 * every consumer (results pages, an event stream dropped and resumed with {@code Last-Event-ID}, a
 * webhook receiver) sees the results in index order under seqs 1, 2, 3, ...
 */
@Timeout(120)
class InputOrderTest {
  private static final String SECRET = "whsec-input-order";

  @TempDir Path data;

  private final List<AutoCloseable> open = new ArrayList<>();
  private FanoutServer server;
  private Http http;

  @AfterEach
  void close() throws Exception {
    if (server != null) {
      server.close();
    }
    for (AutoCloseable c : open.reversed()) {
      c.close();
    }
  }

  private void startServer() {
    server =
        FanoutServer.builder()
            .port(0)
            .dataDir(data)
            .pollInterval(Duration.ofMillis(20))
            .leaseDuration(Duration.ofSeconds(1))
            .shutdownGrace(Duration.ofMillis(100))
            .webhookRetry(Duration.ofMillis(1), Duration.ofMillis(20))
            .streamSettings(
                new FanoutServer.StreamSettings(
                    Duration.ofMillis(10), Duration.ofMillis(20), Duration.ofMillis(200)))
            .build()
            .start();
    http = new Http(server.url(), null);
  }

  private <T extends AutoCloseable> T opened(T closeable) {
    open.add(closeable);
    return closeable;
  }

  private static String job(int items, GatedFunction function, WebhookReceiver receiver) {
    return "{\"function\": {\"url\": \""
        + function.url()
        + "\"}, \"items\": "
        + IntStream.range(0, items)
            .mapToObj(Integer::toString)
            .collect(Collectors.joining(",", "[", "]"))
        + ", \"order\": \"input\", \"maxConcurrency\": "
        + items
        + ", \"reduce\": \"collect\", \"retry\": {\"maxAttempts\": 3, \"backoffMs\": 10},"
        + " \"webhook\": {\"url\": \""
        + receiver.url()
        + "\", \"secret\": \""
        + SECRET
        + "\"}}";
  }

  @Test
  void pages_events_and_a_webhook_get_index_order_across_a_dropped_stream_and_a_restart()
      throws Exception {
    int items = 12;
    // Item 3 answers its first call with 503 and Retry-After, so it is pending across the restart.
    GatedFunction function = opened(GatedFunction.start(Set.of(3), Set.of()));
    // The receiver refuses its first two deliveries: later ones wait behind them.
    WebhookReceiver receiver = opened(WebhookReceiver.start(SECRET, 2));
    startServer();
    String id = http.submit(job(items, function, receiver));

    // The later half answers first, last item first: settled, counted, and held back.
    for (int i = items - 1; i >= 6; i--) {
      function.open(i);
    }
    awaitCounts(id, 6, 0);
    assertThat(function.answered).containsExactlyInAnyOrder(6, 7, 8, 9, 10, 11);
    JsonNode empty = http.get("/v1/jobs/" + id + "/results").json();
    assertThat(empty.get("results")).isEmpty();
    assertThat(empty.get("next").asLong()).isZero();
    assertThat(empty.get("done").asBoolean()).isFalse();
    assertThat(receiver.received).isEmpty();

    // A stream opened now gets items 0 to 2 as they are freed, and is dropped after them.
    HttpResponse<InputStream> first = openEvents(id, null);
    function.open(2, 1, 0);
    List<Event> firstPart = new ArrayList<>();
    try (BufferedReader reader = ServerTest.reader(first)) {
      for (Event e; firstPart.size() < 3 && (e = ServerTest.next(reader)) != null; ) {
        if (e.name().equals("result")) {
          firstPart.add(e);
        }
      }
    }
    assertThat(indexes(firstPart)).containsExactly(0L, 1L, 2L);
    assertThat(firstPart).extracting(Event::id).containsExactly("1", "2", "3");

    // 4 and 5 settle too; 3 (waiting out its Retry-After, then held at the gate) holds them back.
    function.open(5, 4);
    awaitCounts(id, 11, 0);
    await().atMost(Duration.ofSeconds(30)).until(() -> receiver.accepted().size() == 3);
    assertThat(page(id, 3).get("results")).isEmpty();

    // A restart with item 3 unsettled and everything after it held in the store.
    server.close();
    startServer();
    assertThat(page(id, 3).get("results")).isEmpty();
    HttpResponse<InputStream> second = openEvents(id, "3");
    function.openRetry(3);
    List<Event> secondPart = new ArrayList<>();
    try (BufferedReader reader = ServerTest.reader(second)) {
      for (Event e; (e = ServerTest.next(reader)) != null; ) {
        secondPart.add(e);
      }
    }

    // The stream resumed after seq 3 with nothing lost or repeated, and ended with done.
    List<Event> secondResults = secondPart.stream().filter(e -> e.name().equals("result")).toList();
    assertThat(indexes(secondResults)).containsExactlyElementsOf(longs(3, items));
    assertThat(secondResults).extracting(Event::id).containsExactlyElementsOf(strings(4, items));
    assertThat(secondPart.getLast().name()).isEqualTo("done");

    // Pages: every result, in index order, under seq = index + 1; the aggregate in index order.
    List<JsonNode> all = http.allResults(id);
    assertThat(all)
        .extracting(r -> r.get("index").asLong())
        .containsExactlyElementsOf(longs(0, items));
    assertThat(all)
        .extracting(r -> r.get("seq").asLong())
        .containsExactlyElementsOf(longs(1, items + 1));
    assertThat(all).allSatisfy(r -> assertThat(r.get("value").asLong()).isEqualTo(square(r)));
    JsonNode job = http.get("/v1/jobs/" + id).json();
    assertThat(job.get("status").asText()).isEqualTo("SUCCEEDED");
    assertThat(job.get("aggregate"))
        .extracting(JsonNode::asLong)
        .containsExactlyElementsOf(LongStream.range(0, items).map(i -> i * i).boxed().toList());

    // The webhook: each result accepted once, in index order, done last; refusals held the rest.
    await().atMost(Duration.ofSeconds(30)).until(() -> receiver.gotDone(id));
    assertThat(receiver.received).allSatisfy(d -> assertThat(d.signed()).isTrue());
    List<JsonNode> delivered = acceptedResults(receiver);
    assertThat(delivered)
        .extracting(b -> b.get("index").asLong())
        .containsExactlyElementsOf(longs(0, items));
    assertThat(delivered)
        .extracting(b -> b.get("seq").asLong())
        .containsExactlyElementsOf(longs(1, items + 1));
    List<WebhookReceiver.Delivery> received = receiver.received;
    assertThat(received.getLast().body().get("event").asText()).isEqualTo("done");
    assertThat(received).filteredOn(d -> !d.accepted()).hasSize(2);
  }

  @Test
  void retry_failed_on_an_input_ordered_job_delivers_the_new_results_in_index_order_after_the_rest()
      throws Exception {
    int items = 8;
    // Items 2 and 5 are refused on their first call (400: not retried), and succeed when retried.
    GatedFunction function = opened(GatedFunction.start(Set.of(), Set.of(2, 5)));
    WebhookReceiver receiver = opened(WebhookReceiver.start(SECRET, 0));
    startServer();
    String id = http.submit(job(items, function, receiver));
    function.open(7, 6, 4, 3, 1, 0);
    JsonNode first = http.awaitFinal(id);
    assertThat(first.get("status").asText()).isEqualTo("FAILED");
    List<JsonNode> firstRun = http.allResults(id);
    assertThat(firstRun)
        .extracting(r -> r.get("index").asLong())
        .containsExactlyElementsOf(longs(0, items));
    assertThat(firstRun)
        .extracting(r -> r.get("seq").asLong())
        .containsExactlyElementsOf(longs(1, items + 1));
    assertThat(firstRun)
        .filteredOn(r -> r.get("status").asText().equals("FAILED"))
        .extracting(r -> r.get("index").asLong())
        .containsExactly(2L, 5L);
    await().atMost(Duration.ofSeconds(30)).until(() -> receiver.gotDone(id));

    Http.Response retried = http.post("/v1/jobs/" + id + "/retry-failed", "");
    assertThat(retried.status()).as(retried.body()).isEqualTo(202);

    // Item 5 settles first, and waits for item 2.
    function.openRetry(5);
    awaitCounts(id, 7, 0);
    assertThat(page(id, items).get("results")).isEmpty();
    function.openRetry(2);
    JsonNode second = http.awaitFinal(id);
    assertThat(second.get("status").asText()).isEqualTo("SUCCEEDED");

    JsonNode tail = page(id, items);
    assertThat(tail.get("results"))
        .extracting(r -> r.get("index").asLong())
        .containsExactly(2L, 5L);
    assertThat(tail.get("results")).extracting(r -> r.get("seq").asLong()).containsExactly(9L, 10L);
    assertThat(tail.get("results"))
        .allSatisfy(r -> assertThat(r.get("status").asText()).isEqualTo("SUCCEEDED"));
    assertThat(tail.get("done").asBoolean()).isTrue();

    // A stream resumed after the first run's last seq gets the new results, then a new done.
    List<Event> events = new ArrayList<>();
    try (BufferedReader reader = ServerTest.reader(openEvents(id, Long.toString(items)))) {
      for (Event e; (e = ServerTest.next(reader)) != null; ) {
        events.add(e);
      }
    }
    assertThat(indexes(events.stream().filter(e -> e.name().equals("result")).toList()))
        .containsExactly(2L, 5L);
    assertThat(events.getLast().name()).isEqualTo("done");

    // The webhook got the first run in index order, its done, then 2 and 5 and a second done.
    await()
        .atMost(Duration.ofSeconds(30))
        .until(
            () ->
                receiver.accepted().keySet().stream().filter(k -> k.contains(":done:")).count()
                    == 2);
    List<JsonNode> delivered = acceptedResults(receiver);
    assertThat(delivered)
        .extracting(b -> b.get("index").asLong())
        .containsExactly(0L, 1L, 2L, 3L, 4L, 5L, 6L, 7L, 2L, 5L);
    assertThat(delivered)
        .extracting(b -> b.get("seq").asLong())
        .containsExactlyElementsOf(longs(1, 11));
    assertThat(receiver.received.getLast().body().get("event").asText()).isEqualTo("done");
  }

  /** Every accepted result delivery's body, in arrival order; retried deliveries once. */
  private static List<JsonNode> acceptedResults(WebhookReceiver receiver) {
    List<JsonNode> bodies = new ArrayList<>();
    Set<Long> seqs = new HashSet<>();
    for (WebhookReceiver.Delivery d : receiver.received) {
      if (d.accepted() && d.body().has("seq") && seqs.add(d.body().get("seq").asLong())) {
        bodies.add(d.body());
      }
    }
    return bodies;
  }

  private HttpResponse<InputStream> openEvents(String id, String lastEventId)
      throws IOException, InterruptedException {
    HttpRequest.Builder request = http.request("/v1/jobs/" + id + "/events").GET();
    if (lastEventId != null) {
      request.header("Last-Event-ID", lastEventId);
    }
    HttpResponse<InputStream> response =
        http.client().send(request.build(), HttpResponse.BodyHandlers.ofInputStream());
    assertThat(response.statusCode()).isEqualTo(200);
    return response;
  }

  private JsonNode page(String id, long after) {
    return http.get("/v1/jobs/" + id + "/results?after=" + after).json();
  }

  private void awaitCounts(String id, long succeeded, long failed) {
    await()
        .atMost(Duration.ofSeconds(30))
        .until(
            () -> {
              JsonNode job = http.get("/v1/jobs/" + id).json();
              return job.get("succeeded").asLong() == succeeded
                  && job.get("failed").asLong() == failed;
            });
  }

  private static List<Long> indexes(List<Event> results) throws IOException {
    List<Long> out = new ArrayList<>();
    for (Event e : results) {
      out.add(Http.JSON.readTree(e.data()).get("index").asLong());
    }
    return out;
  }

  private static long square(JsonNode result) {
    long i = result.get("index").asLong();
    return i * i;
  }

  private static List<Long> longs(long from, long to) {
    return LongStream.range(from, to).boxed().toList();
  }

  private static List<String> strings(long from, long to) {
    return LongStream.rangeClosed(from, to).mapToObj(Long::toString).toList();
  }
}
