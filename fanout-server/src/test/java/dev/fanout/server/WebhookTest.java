package dev.fanout.server;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.stream.Collectors;
import java.util.stream.IntStream;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Webhooks end to end over loopback HTTP: every result, then {@code done} with the final job, each
 * signed; retries of refused deliveries; the secret kept out of the API; and deliveries that resume
 * after a restart.
 */
class WebhookTest {
  private static final String SECRET = "whsec-0123456789-top-secret";

  @TempDir Path data;

  private final List<AutoCloseable> open = new ArrayList<>();

  @AfterEach
  void close() throws Exception {
    for (AutoCloseable c : open.reversed()) {
      c.close();
    }
  }

  private FanoutServer server() {
    FanoutServer server =
        FanoutServer.builder()
            .port(0)
            .dataDir(data)
            .pollInterval(Duration.ofMillis(20))
            .webhookRetry(Duration.ofMillis(1), Duration.ofMillis(20))
            .build()
            .start();
    open.add(server);
    return server;
  }

  private WebhookReceiver receiver(int failures) {
    WebhookReceiver receiver = WebhookReceiver.start(SECRET, failures);
    open.add(receiver);
    return receiver;
  }

  private static String job(int items, String url) {
    String list = IntStream.range(0, items).mapToObj(Integer::toString).collect(joining());
    return "{\"function\": {\"name\": \"identity\"}, \"items\": ["
        + list
        + "], \"reduce\": \"sum\", \"webhook\": {\"url\": \""
        + url
        + "\", \"secret\": \""
        + SECRET
        + "\"}}";
  }

  private static java.util.stream.Collector<CharSequence, ?, String> joining() {
    return Collectors.joining(",");
  }

  /** The delivery id of a finished job's done event: the job, and when this run finished. */
  private static String doneId(Http http, String id) {
    String finishedAt = http.get("/v1/jobs/" + id).json().get("finishedAt").asText();
    return id + ":done:" + java.time.Instant.parse(finishedAt).toEpochMilli();
  }

  /** Checks what a receiver got for a finished job: every index, in the API's shapes, then done. */
  private static void assertDelivered(WebhookReceiver receiver, Http http, String id, int items) {
    assertThat(receiver.received).allSatisfy(d -> assertThat(d.signed()).isTrue());
    Map<String, WebhookReceiver.Delivery> accepted = receiver.accepted();
    List<String> expectedIds =
        IntStream.range(0, items).mapToObj(i -> id + ":" + i).collect(Collectors.toList());
    expectedIds.add(doneId(http, id));
    assertThat(accepted.keySet()).containsExactlyInAnyOrderElementsOf(expectedIds);

    // Each result's body is the object of GET /results plus jobId.
    for (JsonNode result : http.allResults(id)) {
      ObjectNode expected = Http.JSON.createObjectNode().put("jobId", id);
      expected.setAll((ObjectNode) result);
      assertThat(accepted.get(id + ":" + result.get("index").asLong()).body()).isEqualTo(expected);
    }

    // done is last, and shows the final job as GET /v1/jobs/{id} does.
    List<WebhookReceiver.Delivery> all = receiver.received;
    WebhookReceiver.Delivery last = all.get(all.size() - 1);
    assertThat(last.id()).isEqualTo(doneId(http, id));
    assertThat(last.accepted()).isTrue();
    assertThat(last.body().get("event").asText()).isEqualTo("done");
    assertThat(last.body().get("job")).isEqualTo(http.get("/v1/jobs/" + id).json());
    assertThat(last.body().get("job").get("status").asText()).isEqualTo("SUCCEEDED");
  }

  @Test
  void every_result_then_done_with_the_final_job_arrives_signed_once_each() {
    FanoutServer server = server();
    Http http = new Http(server.url(), null);
    WebhookReceiver receiver = receiver(0);

    String id = http.submit(job(30, receiver.url()));

    await().atMost(Duration.ofSeconds(30)).until(() -> receiver.gotDone(id));
    assertDelivered(receiver, http, id, 30);
    // Nothing was refused, so nothing was sent twice.
    assertThat(receiver.received).hasSize(31);
    assertThat(receiver.accepted().get(doneId(http, id)).body().at("/job/aggregate").asInt())
        .isEqualTo(435);
    // seq order is completion order, and deliveries follow it.
    List<Long> seqs =
        receiver.received.stream()
            .filter(d -> d.body().has("seq"))
            .map(d -> d.body().get("seq").asLong())
            .toList();
    assertThat(seqs).isSorted().doesNotHaveDuplicates();
  }

  @Test
  void refused_deliveries_are_retried_until_every_one_arrives() {
    FanoutServer server = server();
    Http http = new Http(server.url(), null);
    WebhookReceiver receiver = receiver(7);

    String id = http.submit(job(20, receiver.url()));

    await().atMost(Duration.ofSeconds(30)).until(() -> receiver.gotDone(id));
    assertDelivered(receiver, http, id, 20);
    assertThat(receiver.received.stream().filter(d -> d.answered() == 500)).hasSize(7);
    // Every refused delivery was sent again: 21 accepted after 7 refusals.
    assertThat(receiver.received).hasSize(28);
  }

  @Test
  void the_secret_is_never_echoed() {
    FanoutServer server = server();
    Http http = new Http(server.url(), null);
    WebhookReceiver receiver = receiver(0);

    Http.Response accepted = http.post("/v1/jobs", job(3, receiver.url()));
    assertThat(accepted.status()).isEqualTo(202);
    String id = accepted.json().get("id").asText();
    await().atMost(Duration.ofSeconds(30)).until(() -> receiver.gotDone(id));

    assertThat(accepted.body()).doesNotContain(SECRET);
    assertThat(http.get("/v1/jobs/" + id).body()).doesNotContain(SECRET);
    assertThat(http.get("/v1/jobs").body()).doesNotContain(SECRET);
    assertThat(http.get("/v1/jobs/" + id + "/results").body()).doesNotContain(SECRET);
    assertThat(receiver.received)
        .allSatisfy(d -> assertThat(d.body().toString()).doesNotContain(SECRET));
  }

  @Test
  void pending_deliveries_resume_after_a_restart() {
    // A port nobody listens on while the first server runs.
    WebhookReceiver placeholder = WebhookReceiver.start(SECRET, 0);
    int port = placeholder.port();
    String url = placeholder.url();
    placeholder.close();

    FanoutServer first = server();
    Http http = new Http(first.url(), null);
    String id = http.submit(job(10, url));
    await()
        .atMost(Duration.ofSeconds(30))
        .until(() -> http.get("/v1/jobs/" + id).json().get("status").asText().equals("SUCCEEDED"));
    first.close();

    WebhookReceiver receiver = WebhookReceiver.start(port, SECRET, 0);
    open.add(receiver);
    FanoutServer second = server();
    Http again = new Http(second.url(), null);

    await().atMost(Duration.ofSeconds(30)).until(() -> receiver.gotDone(id));
    assertDelivered(receiver, again, id, 10);
  }
}
