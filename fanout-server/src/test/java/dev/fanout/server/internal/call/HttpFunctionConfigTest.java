package dev.fanout.server.internal.call;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.fanout.server.internal.ApiException;
import java.net.URI;
import java.time.Duration;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

class HttpFunctionConfigTest {
  private static final ObjectMapper MAPPER = new ObjectMapper();
  private final UrlGuard guard = UrlGuard.defaults();

  private static JsonNode json(String text) throws Exception {
    return MAPPER.readTree(text.replace('\'', '"'));
  }

  @Test
  void a_full_function_object_is_parsed() throws Exception {
    HttpFunctionConfig config =
        HttpFunctionConfig.parse(
            json(
                "{'url': 'http://127.0.0.1:8089/f', 'timeoutMs': 2500,"
                    + " 'headers': {'Authorization': 'Bearer s3cret', 'X-Tenant': 't1'},"
                    + " 'rateLimitPerSecond': 12.5}"),
            guard);

    assertThat(config.url()).isEqualTo(URI.create("http://127.0.0.1:8089/f"));
    assertThat(config.timeout()).isEqualTo(Duration.ofMillis(2500));
    assertThat(config.headers())
        .containsExactly(Map.entry("Authorization", "Bearer s3cret"), Map.entry("X-Tenant", "t1"));
    assertThat(config.rateLimitPerSecond()).isEqualTo(12.5);
  }

  @Test
  void only_the_url_is_required() throws Exception {
    HttpFunctionConfig config =
        HttpFunctionConfig.parse(json("{'url': 'http://127.0.0.1/f', 'headers': null}"), guard);

    assertThat(config.timeout()).isEqualTo(Duration.ofSeconds(30));
    assertThat(config.headers()).isEmpty();
    assertThat(config.rateLimitPerSecond()).isNull();
  }

  @Test
  void the_stored_json_parses_back_to_an_equal_config() throws Exception {
    HttpFunctionConfig config =
        HttpFunctionConfig.parse(
            json(
                "{'url': 'https://127.0.0.1:8443/f?v=2', 'timeoutMs': 100,"
                    + " 'headers': {'X-Key': 'k'}, 'rateLimitPerSecond': 3}"),
            guard);

    assertThat(HttpFunctionConfig.parse(config.toJson(), guard)).isEqualTo(config);
    assertThat(config.toJson().toString()).contains("\"X-Key\":\"k\"");
  }

  @Test
  void header_values_are_neither_printed_nor_echoed() throws Exception {
    HttpFunctionConfig config =
        HttpFunctionConfig.parse(
            json("{'url': 'http://127.0.0.1/f', 'headers': {'Authorization': 'Bearer s3cret'}}"),
            guard);

    assertThat(config.toString()).contains("Authorization").doesNotContain("s3cret");
    assertThat(config.toRedactedJson().toString())
        .contains("Authorization")
        .doesNotContain("s3cret");
  }

  @ParameterizedTest(name = "{0} -> {1} {2}")
  @CsvSource(
      delimiter = '|',
      quoteCharacter = '"',
      value = {
        "'not an object' | 400 | invalid_type | function must be an object",
        "{} | 400 | invalid_type | function.url must be a string URL, got nothing",
        "{'url': 42} | 400 | invalid_type | function.url must be a string URL, got a number 42",
        "{'url': null} | 400 | invalid_type | function.url must be a string URL",
        "{'url': 'http://127.0.0.1/', 'timeoutMs': '100'} | 400 | invalid_type | function.timeoutMs",
        "{'url': 'http://127.0.0.1/', 'timeoutMs': 1.5} | 400 | invalid_type | function.timeoutMs",
        "{'url': 'http://127.0.0.1/', 'rateLimitPerSecond': 'fast'} | 400 | invalid_type"
            + " | function.rateLimitPerSecond must be a number",
        "{'url': 'http://127.0.0.1/', 'headers': ['a']} | 400 | invalid_type | function.headers",
        "{'url': 'http://127.0.0.1/', 'headers': {'X-A': 1}} | 400 | invalid_type"
            + " | function.headers.X-A must be a string, got a number",
        "{'url': 'http://127.0.0.1/', 'timeoutMs': 0} | 422 | invalid_value"
            + " | function.timeoutMs must be between 1 and 3600000, got 0",
        "{'url': 'http://127.0.0.1/', 'timeoutMs': 3600001} | 422 | invalid_value"
            + " | function.timeoutMs must be between 1 and 3600000, got 3600001",
        "{'url': 'http://127.0.0.1/', 'timeoutMs': 100000000000000000000000} | 422 | invalid_value"
            + " | function.timeoutMs must be between 1 and 3600000",
        "{'url': 'http://127.0.0.1/', 'rateLimitPerSecond': 0} | 422 | invalid_value"
            + " | function.rateLimitPerSecond must be above 0",
        "{'url': 'http://127.0.0.1/', 'rateLimitPerSecond': -2.5} | 422 | invalid_value"
            + " | function.rateLimitPerSecond must be above 0",
        "{'url': 'http://127.0.0.1/', 'headers': {'Host': 'evil'}} | 422 | invalid_value"
            + " | function.headers.Host may not be set",
        "{'url': 'http://127.0.0.1/', 'headers': {'content-length': '1'}} | 422 | invalid_value"
            + " | function.headers.content-length may not be set",
        "{'url': 'http://127.0.0.1/', 'headers': {'Connection': 'close'}} | 422 | invalid_value"
            + " | function.headers.Connection may not be set",
        "{'url': 'http://127.0.0.1/', 'headers': {'X-Fanout-Job': 'forged'}} | 422"
            + " | invalid_value | function.headers.X-Fanout-Job may not be set",
        "{'url': 'http://127.0.0.1/', 'headers': {'Idempotency-Key': 'x'}} | 422 | invalid_value"
            + " | function.headers.Idempotency-Key may not be set",
        "{'url': 'http://127.0.0.1/', 'headers': {'Bad Name': 'x'}} | 422 | invalid_value"
            + " | function.headers.Bad Name is not a valid header name",
        "{'url': 'http://127.0.0.1/', 'headers': {'X-A': 'a', 'x-a': 'b'}} | 422 | invalid_value"
            + " | function.headers.x-a is given twice",
        "{'url': 'http://127.0.0.1/', 'name': 'square'} | 400 | unknown_field"
            + " | function has no field 'name'",
        "{'url': 'file:///etc/passwd'} | 422 | invalid_url | function.url must be an http or https",
        "{'url': 'http://169.254.169.254/'} | 422 | url_not_allowed | function.url host",
      })
  void invalid_function_objects_are_refused_with_the_exact_status_and_code(
      String body, int status, String code, String message) {
    assertThatThrownBy(() -> HttpFunctionConfig.parse(json(body), guard))
        .isInstanceOfSatisfying(
            ApiException.class,
            e -> {
              assertThat(e.status()).isEqualTo(status);
              assertThat(e.code()).isEqualTo(code);
              assertThat(e.getMessage()).startsWith(message);
            });
  }

  @Test
  void a_header_value_with_a_line_break_is_refused_without_echoing_the_value() throws Exception {
    JsonNode node = json("{'url': 'http://127.0.0.1/'}");
    ((com.fasterxml.jackson.databind.node.ObjectNode) node)
        .putObject("headers")
        .put("X-Api-Key", "s3cret\r\nX-Injected: yes");

    assertThatThrownBy(() -> HttpFunctionConfig.parse(node, guard))
        .isInstanceOfSatisfying(
            ApiException.class,
            e -> {
              assertThat(e.status()).isEqualTo(422);
              assertThat(e.code()).isEqualTo("invalid_value");
              assertThat(e.getMessage())
                  .startsWith("function.headers.X-Api-Key contains a line break")
                  .doesNotContain("s3cret")
                  .doesNotContain("Injected");
            });
  }

  @Test
  void the_constructor_refuses_values_out_of_range() {
    URI url = URI.create("http://127.0.0.1/");
    assertThatThrownBy(() -> new HttpFunctionConfig(url, Duration.ZERO, null, null))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("timeout");
    assertThatThrownBy(() -> new HttpFunctionConfig(url, null, null, 0.0))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("rateLimitPerSecond");
  }
}
