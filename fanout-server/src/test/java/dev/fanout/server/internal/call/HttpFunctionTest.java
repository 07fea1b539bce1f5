package dev.fanout.server.internal.call;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.awaitility.Awaitility.await;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.DecimalNode;
import com.fasterxml.jackson.databind.node.IntNode;
import com.fasterxml.jackson.databind.node.NullNode;
import com.fasterxml.jackson.databind.node.TextNode;
import java.math.BigDecimal;
import java.net.ServerSocket;
import java.net.URI;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.time.ZoneOffset;
import java.time.ZonedDateTime;
import java.time.format.DateTimeFormatter;
import java.util.List;
import java.util.Map;
import java.util.concurrent.atomic.AtomicReference;
import org.eclipse.jetty.client.HttpClient;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

class HttpFunctionTest {
  private static final ObjectMapper MAPPER = new ObjectMapper();
  private static final String TRACEPARENT =
      "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01";

  private static StubFunctionServer stub;
  private static HttpClient client;

  @BeforeAll
  static void start() throws Exception {
    stub = StubFunctionServer.start();
    client = HttpFunction.newClient(Duration.ofSeconds(5));
  }

  @AfterAll
  static void stop() {
    HttpFunction.stopClient(client);
    stub.close();
  }

  private static HttpFunction function(String pathAndQuery) {
    return function(HttpFunctionConfig.of(stub.uri(pathAndQuery)));
  }

  private static HttpFunction function(HttpFunctionConfig config) {
    return HttpFunction.builder(config, client).build();
  }

  private static JsonNode json(String text) throws Exception {
    return MAPPER.readTree(text.replace('\'', '"'));
  }

  private static CallException callFailure(HttpFunction function, JsonNode item) {
    try {
      function.apply(item, FakeTaskContext.of(0));
    } catch (CallException e) {
      return e;
    } catch (InterruptedException e) {
      throw new AssertionError(e);
    }
    throw new AssertionError("the call succeeded");
  }

  @Test
  void each_call_carries_the_identity_idempotency_trace_and_configured_headers() throws Exception {
    HttpFunctionConfig config =
        new HttpFunctionConfig(
            stub.uri("/f?echo=1"), null, Map.of("Authorization", "Bearer s3cret"), null);
    HttpFunction function =
        HttpFunction.builder(config, client).traceparent(TRACEPARENT).nodeId("node-7").build();
    FakeTaskContext context = FakeTaskContext.of(41).withAttempt(3);

    JsonNode echo = function.apply(json("{'n': 7}"), context);

    JsonNode headers = echo.get("headers");
    assertThat(echo.get("method").asText()).isEqualTo("POST");
    assertThat(echo.get("body")).isEqualTo(json("{'n': 7}"));
    assertThat(headers.get("content-type").asText()).isEqualTo("application/json");
    assertThat(headers.get("x-fanout-job").asText()).isEqualTo(context.jobId().value());
    assertThat(headers.get("x-fanout-index").asText()).isEqualTo("41");
    assertThat(headers.get("x-fanout-attempt").asText()).isEqualTo("3");
    assertThat(headers.get("idempotency-key").asText()).isEqualTo(context.jobId() + ":41");
    assertThat(headers.get("x-fanout-node").asText()).isEqualTo("node-7");
    assertThat(headers.get("traceparent").asText()).isEqualTo(TRACEPARENT);
    assertThat(headers.get("authorization").asText()).isEqualTo("Bearer s3cret");
    assertThat(headers.has("x-fanout-batch-size")).isFalse();
  }

  @Test
  void no_cookie_a_function_set_is_sent_again_and_no_compressed_answer_is_asked_for()
      throws Exception {
    // The client is shared by every job: a cookie kept from one call would reach other jobs.
    function("/f?echo=1&setCookie=session%3Dabc%3B%20Path%3D%2F")
        .apply(json1(), FakeTaskContext.of(0));
    JsonNode next = function("/f?echo=1").apply(json1(), FakeTaskContext.of(1));

    assertThat(next.get("headers").has("cookie")).isFalse();
    // Bodies arrive as the function wrote them, so the size limit counts what it sent.
    assertThat(next.get("headers").has("accept-encoding")).isFalse();
  }

  @Test
  void a_call_silent_for_longer_than_the_pooled_idle_timeout_still_gets_its_answer()
      throws Exception {
    HttpClient shortIdle = HttpFunction.newClient(Duration.ofSeconds(5), Duration.ofMillis(150));
    try {
      HttpFunction function =
          HttpFunction.builder(
                  new HttpFunctionConfig(
                      stub.uri("/f?delayMs=600"), Duration.ofSeconds(5), null, null),
                  shortIdle)
              .build();

      assertThat(function.apply(json("{'n': 1}"), FakeTaskContext.of(0)))
          .isEqualTo(json("{'n': 1}"));
    } finally {
      HttpFunction.stopClient(shortIdle);
    }
  }

  @Test
  void configured_headers_of_many_kilobytes_are_sent() throws Exception {
    Map<String, String> headers = new java.util.TreeMap<>();
    for (int i = 0; i < 4; i++) {
      headers.put("X-Big-" + i, "v".repeat(8_000));
    }
    HttpFunction function =
        function(new HttpFunctionConfig(stub.uri("/f?echo=1"), null, headers, null));

    JsonNode echo = function.apply(json1(), FakeTaskContext.of(0));

    assertThat(echo.get("headers").get("x-big-3").asText()).hasSize(8_000);
  }

  @Test
  void a_malformed_answer_is_a_retryable_io_error() throws Exception {
    try (ServerSocket server = new ServerSocket(0, 50, java.net.InetAddress.getLoopbackAddress())) {
      Thread answerer =
          Thread.ofVirtual()
              .start(
                  () -> {
                    try (var socket = server.accept()) {
                      socket.getInputStream().read(new byte[8192]);
                      socket
                          .getOutputStream()
                          .write(
                              "HTTP/1.1 200 OK\r\nContent-Length: many\r\n\r\n{}"
                                  .getBytes(java.nio.charset.StandardCharsets.US_ASCII));
                      socket.getOutputStream().flush();
                      Thread.sleep(500);
                    } catch (Exception ignored) {
                      // the client hung up first
                    }
                  });
      CallException e =
          callFailure(
              function(
                  HttpFunctionConfig.of(
                      URI.create("http://127.0.0.1:" + server.getLocalPort() + "/f"))),
              json1());
      answerer.join();

      assertThat(e.code()).isEqualTo("io_error");
      assertThat(e.retryable()).isTrue();
    }
  }

  @Test
  void no_traceparent_or_node_is_sent_when_there_is_none_and_a_null_item_is_json_null()
      throws Exception {
    JsonNode echo = function("/f?echo=1").apply(null, FakeTaskContext.of(0));

    assertThat(echo.get("headers").has("traceparent")).isFalse();
    assertThat(echo.get("headers").has("x-fanout-node")).isFalse();
    assertThat(echo.get("body")).isEqualTo(NullNode.instance);
  }

  @Test
  void a_node_id_that_cannot_be_a_header_value_is_refused() {
    HttpFunction.Builder b =
        HttpFunction.builder(
            new HttpFunctionConfig(stub.uri("/f"), null, java.util.Map.of(), null), client);
    for (String bad : new String[] {"", "has space", "tab\t", "nöde", "x".repeat(101)}) {
      org.assertj.core.api.Assertions.assertThatThrownBy(() -> b.nodeId(bad))
          .as(bad)
          .isInstanceOf(IllegalArgumentException.class)
          .hasMessageContaining("nodeId");
    }
  }

  @Test
  void a_json_answer_is_parsed() throws Exception {
    assertThat(function("/f").apply(json("{'a': [1, 2]}"), FakeTaskContext.of(0)))
        .isEqualTo(json("{'a': [1, 2]}"));
    assertThat(function("/f?respond=42&type=application/json").apply(null, FakeTaskContext.of(0)))
        .isEqualTo(IntNode.valueOf(42));
  }

  @Test
  void numbers_keep_every_digit_in_the_item_sent_and_in_the_answer() throws Exception {
    BigDecimal item = new BigDecimal("0.1000000000000000055511151231257827");
    assertThat(
            function("/f").apply(DecimalNode.valueOf(item), FakeTaskContext.of(0)).decimalValue())
        .isEqualTo(item);
    JsonNode answer =
        function("/f?respond=%5B3.14159265358979323846264338,1e400%5D&type=application/json")
            .apply(null, FakeTaskContext.of(0));
    assertThat(answer.get(0).decimalValue())
        .isEqualTo(new BigDecimal("3.14159265358979323846264338"));
    assertThat(answer.get(1).isNumber()).isTrue();
    assertThat(answer.get(1).decimalValue()).isEqualByComparingTo(new BigDecimal("1e400"));
  }

  @Test
  void an_answer_that_is_not_json_becomes_a_json_string() throws Exception {
    assertThat(function("/f?respond=hello%20world").apply(null, FakeTaskContext.of(0)))
        .isEqualTo(TextNode.valueOf("hello world"));
    assertThat(function("/f?respond=%7B%22a%22:1%7D%20trailing").apply(null, FakeTaskContext.of(0)))
        .isEqualTo(TextNode.valueOf("{\"a\":1} trailing"));
  }

  @Test
  void an_empty_answer_is_json_null() throws Exception {
    assertThat(function("/f?respond=").apply(json("1"), FakeTaskContext.of(0)))
        .isEqualTo(NullNode.instance);
    assertThat(function("/f?status=204").apply(json("1"), FakeTaskContext.of(0)))
        .isEqualTo(NullNode.instance);
  }

  @ParameterizedTest(name = "status {0} is retryable={1}")
  @CsvSource({
    "500, true",
    "502, true",
    "503, true",
    "504, true",
    "408, true",
    "429, true",
    "400, false",
    "401, false",
    "404, false",
    "409, false",
    "422, false",
    "302, false"
  })
  void answers_other_than_2xx_are_http_errors_classified_by_status(int status, boolean retryable) {
    CallException e = callFailure(function("/f?status=" + status), json1());

    assertThat(e.code()).isEqualTo("http_error");
    assertThat(e.httpStatus()).isEqualTo(status);
    assertThat(e.retryable()).isEqualTo(retryable);
    assertThat(e.retryAfter()).isEmpty();
    assertThat(e.getMessage()).startsWith("POST " + stub.uri("/f") + " answered " + status);
  }

  private static JsonNode json1() {
    return IntNode.valueOf(1);
  }

  @Test
  void the_message_names_the_call_but_never_header_values_or_the_query() {
    HttpFunctionConfig config =
        new HttpFunctionConfig(
            stub.uri("/f?status=503&api_key=k3y"),
            null,
            Map.of("Authorization", "Bearer s3cret"),
            null);

    CallException e = callFailure(function(config), json1());

    assertThat(e.getMessage()).isEqualTo("POST " + stub.uri("/f") + " answered 503");
  }

  @Test
  void retry_after_in_seconds_is_reported_as_a_delay() {
    CallException e = callFailure(function("/f?status=429&retryAfter=7"), json1());

    assertThat(e.retryable()).isTrue();
    assertThat(e.retryAfter()).contains(Duration.ofSeconds(7));
    assertThat(e.getMessage()).endsWith("answered 429, retry after 7000 ms");
  }

  @Test
  void retry_after_as_an_http_date_is_measured_against_the_clock() throws Exception {
    Instant now = Instant.parse("2026-03-01T12:00:00Z");
    String date =
        DateTimeFormatter.RFC_1123_DATE_TIME.format(
            ZonedDateTime.ofInstant(now.plusSeconds(90), ZoneOffset.UTC));
    HttpFunction function =
        HttpFunction.builder(
                HttpFunctionConfig.of(
                    stub.uri(
                        "/f?status=503&retryAfter="
                            + java.net.URLEncoder.encode(
                                date, java.nio.charset.StandardCharsets.UTF_8))),
                client)
            .clock(Clock.fixed(now, ZoneOffset.UTC))
            .build();

    CallException e = callFailure(function, json1());

    assertThat(e.retryAfter()).contains(Duration.ofSeconds(90));
  }

  @Test
  void retry_after_values_are_parsed_leniently() {
    Clock clock = Clock.fixed(Instant.parse("2026-03-01T12:00:00Z"), ZoneOffset.UTC);
    assertThat(HttpFunction.parseRetryAfter(" 0 ", clock)).isEqualTo(Duration.ZERO);
    assertThat(HttpFunction.parseRetryAfter("Sun, 01 Mar 2026 11:00:00 GMT", clock))
        .isEqualTo(Duration.ZERO);
    assertThat(HttpFunction.parseRetryAfter("soon", clock)).isNull();
    assertThat(HttpFunction.parseRetryAfter("-5", clock)).isNull();
    assertThat(HttpFunction.parseRetryAfter("99999999999999999999999", clock)).isNull();
  }

  @Test
  void a_refused_connection_is_a_retryable_connect_error() throws Exception {
    int closedPort;
    try (ServerSocket socket = new ServerSocket(0, 1, java.net.InetAddress.getLoopbackAddress())) {
      closedPort = socket.getLocalPort();
    }
    CallException e =
        callFailure(
            function(HttpFunctionConfig.of(URI.create("http://127.0.0.1:" + closedPort + "/f"))),
            json1());

    assertThat(e.code()).isEqualTo("connect_error");
    assertThat(e.retryable()).isTrue();
    assertThat(e.httpStatus()).isNull();
    assertThat(e.getMessage())
        .startsWith("POST http://127.0.0.1:" + closedPort + "/f could not connect");
  }

  @Test
  void a_slow_answer_is_a_retryable_timeout() {
    HttpFunctionConfig config =
        new HttpFunctionConfig(stub.uri("/f?delayMs=20000"), Duration.ofMillis(200), null, null);

    CallException e = callFailure(function(config), json1());

    assertThat(e.code()).isEqualTo("timeout");
    assertThat(e.retryable()).isTrue();
    assertThat(e.getMessage()).endsWith("did not answer within 200 ms");
  }

  @Test
  void the_timeout_is_cut_to_the_attempts_deadline() {
    Instant now = Instant.parse("2026-03-01T12:00:00Z");
    HttpFunction function =
        HttpFunction.builder(HttpFunctionConfig.of(stub.uri("/f?delayMs=20000")), client)
            .clock(Clock.fixed(now, ZoneOffset.UTC))
            .build();

    assertThatThrownBy(
            () -> function.apply(json1(), FakeTaskContext.of(0).withDeadline(now.plusMillis(150))))
        .isInstanceOfSatisfying(
            CallException.class,
            e -> {
              assertThat(e.code()).isEqualTo("timeout");
              assertThat(e.getMessage()).endsWith("did not answer within 150 ms");
            });
  }

  @Test
  void a_call_whose_deadline_has_passed_is_not_sent() {
    Instant now = Instant.parse("2026-03-01T12:00:00Z");
    HttpFunction function =
        HttpFunction.builder(HttpFunctionConfig.of(stub.uri("/f")), client)
            .clock(Clock.fixed(now, ZoneOffset.UTC))
            .build();
    FakeTaskContext context = FakeTaskContext.of(5).withDeadline(now.minusMillis(1));

    assertThatThrownBy(() -> function.apply(json1(), context))
        .isInstanceOfSatisfying(
            CallException.class, e -> assertThat(e.code()).isEqualTo("timeout"));
    assertThat(stub.calls(context.idempotencyKey())).isZero();
  }

  @Test
  void a_body_over_the_limit_fails_whether_or_not_its_length_is_declared() throws Exception {
    for (String chunked : List.of("0", "1")) {
      HttpFunction function =
          HttpFunction.builder(
                  HttpFunctionConfig.of(stub.uri("/f?bigBytes=50000&chunked=" + chunked)), client)
              .maxResponseBytes(20_000)
              .build();

      CallException e = callFailure(function, json1());

      assertThat(e.code()).as("chunked=" + chunked).isEqualTo("response_too_large");
      assertThat(e.retryable()).isFalse();
      assertThat(e.getMessage()).contains("larger than the limit of 20000 bytes");
    }
    HttpFunction roomy =
        HttpFunction.builder(HttpFunctionConfig.of(stub.uri("/f?bigBytes=20000&chunked=1")), client)
            .maxResponseBytes(20_000)
            .build();
    assertThat(roomy.apply(json1(), FakeTaskContext.of(0)).asText()).hasSize(19_998);
  }

  @Test
  void a_big_error_body_is_dropped_and_still_reported_as_the_http_error() {
    CallException e = callFailure(function("/f?status=500&bigBytes=300000&chunked=1"), json1());

    assertThat(e.code()).isEqualTo("http_error");
    assertThat(e.httpStatus()).isEqualTo(500);
  }

  @Test
  void the_default_limit_is_one_mebibyte() {
    CallException e = callFailure(function("/f?bigBytes=1100000&chunked=1"), json1());

    assertThat(e.code()).isEqualTo("response_too_large");
  }

  @Test
  void a_callee_failing_the_first_attempts_of_an_index_succeeds_on_a_later_one() throws Exception {
    HttpFunction function = function("/f?failFirst=2");
    FakeTaskContext first = FakeTaskContext.of(3);

    assertThat(callFailureWith(function, first).httpStatus()).isEqualTo(503);
    assertThat(callFailureWith(function, first.withAttempt(2)).httpStatus()).isEqualTo(503);
    assertThat(function.apply(json("3"), first.withAttempt(3))).isEqualTo(json("3"));
    assertThat(stub.calls(first.idempotencyKey())).isEqualTo(3);
  }

  private static CallException callFailureWith(HttpFunction function, FakeTaskContext context) {
    try {
      function.apply(json1(), context);
    } catch (CallException e) {
      return e;
    } catch (InterruptedException e) {
      throw new AssertionError(e);
    }
    throw new AssertionError("the call succeeded");
  }

  @Test
  void overload_answers_halve_the_jobs_limit_and_successes_grow_it_back() throws Exception {
    CallLimiter limiter = new CallLimiter(8, null);
    HttpFunction overloaded =
        HttpFunction.builder(HttpFunctionConfig.of(stub.uri("/f?status=429")), client)
            .limiter(limiter)
            .build();
    HttpFunction fine =
        HttpFunction.builder(HttpFunctionConfig.of(stub.uri("/f")), client)
            .limiter(limiter)
            .build();

    callFailure(overloaded, json1());
    assertThat(limiter.limit()).isEqualTo(4);
    fine.apply(json1(), FakeTaskContext.of(0));
    assertThat(limiter.limit()).isEqualTo(5);
    callFailure(function("/f?status=500"), json1());
    assertThat(limiter.limit()).as("a 500 says nothing about load").isEqualTo(5);
    assertThat(limiter.inFlight()).isZero();
  }

  @Test
  void an_interrupted_call_stops_promptly_with_an_interrupted_exception() throws Exception {
    HttpFunction function = function("/f?delayMs=60000");
    FakeTaskContext context = FakeTaskContext.of(99);
    AtomicReference<Throwable> outcome = new AtomicReference<>();
    Thread caller =
        Thread.ofVirtual()
            .start(
                () -> {
                  try {
                    function.apply(json1(), context);
                    outcome.set(new AssertionError("returned"));
                  } catch (Throwable t) {
                    outcome.set(t);
                  }
                });
    await().until(() -> stub.calls(context.idempotencyKey()) == 1);

    caller.interrupt();

    await().atMost(Duration.ofSeconds(10)).until(() -> !caller.isAlive());
    assertThat(outcome.get()).isInstanceOf(InterruptedException.class);
    assertThat(function.limiter().inFlight()).isZero();
  }

  @Test
  void a_client_that_follows_redirects_is_refused() {
    HttpClient redirecting = new HttpClient();
    redirecting.setFollowRedirects(true);

    assertThatThrownBy(
            () -> HttpFunction.builder(HttpFunctionConfig.of(stub.uri("/f")), redirecting))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("redirects");
  }

  @Test
  void a_malformed_traceparent_is_refused() {
    HttpFunction.Builder builder =
        HttpFunction.builder(HttpFunctionConfig.of(stub.uri("/f")), client);

    assertThatThrownBy(() -> builder.traceparent("00-abc\r\nX-Evil: 1"))
        .isInstanceOf(IllegalArgumentException.class);
  }
}
