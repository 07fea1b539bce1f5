package dev.fanout.client;

import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.net.URI;
import java.net.http.HttpClient;
import java.time.Duration;
import java.util.List;
import org.junit.jupiter.api.Test;

/** Options are set once and checked when set, each error naming its option. */
class BuildersTest {

  @Test
  void an_option_set_twice_fails_naming_it() {
    SubmitRequest.Builder b = SubmitRequest.builder().maxConcurrency(3);
    assertThatThrownBy(() -> b.maxConcurrency(4))
        .isInstanceOf(IllegalStateException.class)
        .hasMessage("maxConcurrency was already set");
    SubmitRequest.Builder f = SubmitRequest.builder().functionName("demo");
    assertThatThrownBy(() -> f.functionUrl(URI.create("http://x")))
        .isInstanceOf(IllegalStateException.class)
        .hasMessageContaining("functionName and functionUrl");
    SubmitRequest.Builder r = SubmitRequest.builder().reduce("sum");
    assertThatThrownBy(() -> r.reduceJq(".", com.fasterxml.jackson.databind.node.NullNode.instance))
        .isInstanceOf(IllegalStateException.class)
        .hasMessage("reduce was already set");
    FanoutClient.Builder c = FanoutClient.builder(URI.create("http://127.0.0.1:1")).token("abc");
    assertThatThrownBy(() -> c.token("def"))
        .isInstanceOf(IllegalStateException.class)
        .hasMessage("token was already set");
  }

  @Test
  void nonsense_values_fail_when_set_naming_the_option() {
    SubmitRequest.Builder b = SubmitRequest.builder();
    assertThatThrownBy(() -> b.maxConcurrency(0)).hasMessageContaining("maxConcurrency");
    assertThatThrownBy(() -> b.batchSize(-1)).hasMessageContaining("batchSize");
    assertThatThrownBy(() -> b.timeout(Duration.ZERO)).hasMessageContaining("timeout");
    assertThatThrownBy(() -> b.deadline(Duration.ofNanos(10))).hasMessageContaining("1 ms");
    assertThatThrownBy(() -> b.functionUrl(URI.create("ftp://host/x")))
        .hasMessageContaining("http or https");
    assertThatThrownBy(() -> b.idempotencyKey("has space")).hasMessageContaining("idempotencyKey");
    assertThatThrownBy(() -> b.metadata(com.fasterxml.jackson.databind.node.IntNode.valueOf(1)))
        .hasMessageContaining("metadata must be a JSON object");
    assertThatThrownBy(() -> b.retry(1, Duration.ofSeconds(2), Duration.ofSeconds(1)))
        .hasMessageContaining("backoff");
    assertThatThrownBy(() -> b.rateLimitPerSecond(0)).hasMessageContaining("rateLimitPerSecond");
    assertThatThrownBy(() -> FanoutClient.builder(URI.create("/relative")))
        .hasMessageContaining("absolute http or https");
    assertThatThrownBy(() -> FanoutClient.builder(URI.create("http://h:1")).token("a b"))
        .hasMessageContaining("token");
    assertThatThrownBy(
            () -> FanoutClient.builder(URI.create("http://h:1")).requestTimeout(Duration.ZERO))
        .hasMessageContaining("requestTimeout");
  }

  @Test
  void a_request_needs_a_function_and_items_and_headers_only_go_with_a_url() {
    assertThatThrownBy(() -> SubmitRequest.builder().items(List.of(1)).build())
        .isInstanceOf(IllegalStateException.class)
        .hasMessageContaining("function");
    assertThatThrownBy(() -> SubmitRequest.builder().functionName("demo").build())
        .isInstanceOf(IllegalStateException.class)
        .hasMessageContaining("items");
    assertThatThrownBy(
            () ->
                SubmitRequest.builder()
                    .functionName("demo")
                    .functionHeader("X-Key", "v")
                    .items(List.of(1))
                    .build())
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("functionHeader");
  }

  @Test
  void an_injected_http_client_and_a_connect_timeout_exclude_each_other() {
    HttpClient http = HttpClient.newHttpClient();
    assertThatThrownBy(
            () ->
                FanoutClient.builder(URI.create("http://h:1"))
                    .httpClient(http)
                    .connectTimeout(Duration.ofSeconds(1)))
        .isInstanceOf(IllegalStateException.class)
        .hasMessageContaining("connectTimeout");
    http.close();
  }
}
