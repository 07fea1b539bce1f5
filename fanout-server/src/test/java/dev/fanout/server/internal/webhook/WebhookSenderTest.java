package dev.fanout.server.internal.webhook;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.IntNode;
import com.sun.net.httpserver.HttpExchange;
import com.sun.net.httpserver.HttpServer;
import java.io.IOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.URI;
import java.net.http.HttpClient;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.time.ZoneOffset;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.Executors;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

class WebhookSenderTest {
  private static final String SECRET = "whsec_loopback";
  private static final Instant NOW = Instant.ofEpochSecond(1_800_000_000L);

  /** What the receiver saw of one delivery, and whether the signature held. */
  record Received(
      String method,
      String path,
      String contentType,
      String delivery,
      boolean verified,
      byte[] body) {}

  private final List<Received> received = new CopyOnWriteArrayList<>();
  private final CountDownLatch release = new CountDownLatch(1);
  private volatile int answer = 204;
  private HttpServer server;
  private HttpClient client;
  private WebhookSender sender;

  @BeforeEach
  void start() throws IOException {
    server = HttpServer.create(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0), 0);
    server.setExecutor(Executors.newVirtualThreadPerTaskExecutor());
    server.createContext("/hook", this::receive);
    server.createContext(
        "/slow",
        exchange -> {
          try {
            release.await();
          } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
          }
          exchange.sendResponseHeaders(204, -1);
          exchange.close();
        });
    server.start();
    client = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(5)).build();
    sender =
        new WebhookSender(
            client, new WebhookSigner(Clock.fixed(NOW, ZoneOffset.UTC)), Duration.ofSeconds(10));
  }

  @AfterEach
  void stop() {
    release.countDown();
    server.stop(0);
    client.close();
  }

  private void receive(HttpExchange exchange) throws IOException {
    byte[] body = exchange.getRequestBody().readAllBytes();
    boolean verified =
        WebhookSigner.verify(
            exchange.getRequestHeaders().getFirst("X-Fanout-Signature"),
            body,
            SECRET,
            NOW.plusSeconds(1),
            Duration.ofMinutes(5));
    received.add(
        new Received(
            exchange.getRequestMethod(),
            exchange.getRequestURI().getPath(),
            exchange.getRequestHeaders().getFirst("Content-Type"),
            exchange.getRequestHeaders().getFirst("X-Fanout-Delivery"),
            verified,
            body));
    exchange.sendResponseHeaders(verified ? answer : 401, -1);
    exchange.close();
  }

  private URI url(String path) {
    return URI.create("http://127.0.0.1:" + server.getAddress().getPort() + path);
  }

  @Test
  void a_result_delivery_arrives_signed_with_its_headers() throws Exception {
    JsonNode body =
        WebhookPayloads.resultDelivery("job-1", 7, 3, "SUCCEEDED", IntNode.valueOf(9), 1, 42);
    byte[] bytes = WebhookPayloads.toBytes(body);

    int status =
        sender.send(
            new WebhookConfig(url("/hook?token=t"), SECRET),
            WebhookPayloads.resultDeliveryId("job-1", 3),
            bytes);

    assertThat(status).isEqualTo(204);
    assertThat(received).hasSize(1);
    Received r = received.get(0);
    assertThat(r.method()).isEqualTo("POST");
    assertThat(r.path()).isEqualTo("/hook");
    assertThat(r.contentType()).isEqualTo("application/json");
    assertThat(r.delivery()).isEqualTo("job-1:3");
    assertThat(r.verified()).isTrue();
    assertThat(r.body()).isEqualTo(bytes);
  }

  @Test
  void the_done_delivery_has_its_own_id() throws Exception {
    JsonNode job = new ObjectMapper().readTree("{\"id\":\"job-1\",\"status\":\"SUCCEEDED\"}");

    sender.send(
        new WebhookConfig(url("/hook"), SECRET),
        WebhookPayloads.doneDeliveryId("job-1", 42),
        WebhookPayloads.toBytes(WebhookPayloads.doneDelivery(job)));

    assertThat(received)
        .singleElement()
        .satisfies(
            r -> {
              assertThat(r.delivery()).isEqualTo("job-1:done:42");
              assertThat(r.verified()).isTrue();
            });
  }

  @Test
  void a_500_is_a_failed_delivery_naming_status_and_url_without_the_query() {
    answer = 500;

    assertThatThrownBy(
            () ->
                sender.send(
                    new WebhookConfig(url("/hook?token=topsecret"), SECRET),
                    "job-1:0",
                    new byte[] {'1'}))
        .isInstanceOfSatisfying(
            DeliveryFailedException.class, e -> assertThat(e.status()).hasValue(500))
        .hasMessageContaining("answered 500")
        .hasMessageContaining("/hook")
        .hasMessageNotContaining("topsecret");
  }

  @Test
  void a_wrong_secret_is_refused_by_the_receiver() {
    assertThatThrownBy(
            () ->
                sender.send(
                    new WebhookConfig(url("/hook"), "not-the-secret"), "job-1:0", new byte[] {'1'}))
        .isInstanceOfSatisfying(
            DeliveryFailedException.class, e -> assertThat(e.status()).hasValue(401));
    assertThat(received).singleElement().satisfies(r -> assertThat(r.verified()).isFalse());
  }

  @Test
  void a_refused_connection_is_a_failed_delivery_without_status() throws Exception {
    int closedPort;
    try (ServerSocket socket = new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
      closedPort = socket.getLocalPort();
    }

    assertThatThrownBy(
            () ->
                sender.send(
                    new WebhookConfig(
                        URI.create("http://127.0.0.1:" + closedPort + "/hook"), SECRET),
                    "job-1:0",
                    new byte[] {'1'}))
        .isInstanceOfSatisfying(
            DeliveryFailedException.class, e -> assertThat(e.status()).isEmpty())
        .hasMessageContaining("could not be reached");
  }

  @Test
  void a_receiver_that_does_not_answer_in_time_is_a_failed_delivery() {
    WebhookSender impatient =
        new WebhookSender(
            client, new WebhookSigner(Clock.fixed(NOW, ZoneOffset.UTC)), Duration.ofMillis(200));

    assertThatThrownBy(
            () ->
                impatient.send(
                    new WebhookConfig(url("/slow"), SECRET), "job-1:0", new byte[] {'1'}))
        .isInstanceOfSatisfying(
            DeliveryFailedException.class, e -> assertThat(e.status()).isEmpty())
        .hasMessageContaining("did not answer");
  }

  @Test
  void a_nonsense_timeout_fails_at_once() {
    assertThatThrownBy(
            () -> new WebhookSender(client, new WebhookSigner(Clock.systemUTC()), Duration.ZERO))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageStartingWith("timeout");
  }
}
