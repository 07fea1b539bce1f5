package dev.fanout.server.internal.webhook;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.fanout.server.internal.ApiException;
import java.net.URI;
import java.util.function.Predicate;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

class WebhookConfigTest {
  private static final ObjectMapper JSON = new ObjectMapper();
  private static final Predicate<URI> ANY = url -> true;

  private static JsonNode json(String text) {
    try {
      return JSON.readTree(text);
    } catch (Exception e) {
      throw new IllegalArgumentException(text, e);
    }
  }

  @Test
  void a_valid_webhook_parses() {
    WebhookConfig config =
        WebhookConfig.parse(
            json(
                "{\"url\": \"https://hooks.example.com/fanout?token=abc\", \"secret\": \"s3cret\"}"),
            ANY);

    assertThat(config.url()).isEqualTo(URI.create("https://hooks.example.com/fanout?token=abc"));
    assertThat(config.secret()).isEqualTo("s3cret");
  }

  @Test
  void to_string_hides_the_secret_and_the_query() {
    WebhookConfig config =
        new WebhookConfig(URI.create("http://127.0.0.1:9000/hook?token=abc"), "s3cret");

    assertThat(config.toString()).doesNotContain("s3cret").doesNotContain("abc");
    assertThat(config.toString()).contains("http://127.0.0.1:9000/hook?...");
  }

  @ParameterizedTest(name = "{0} -> {1} {2}")
  @CsvSource(
      delimiter = ';',
      value = {
        "null; 400; invalid_type",
        "\"https://x\"; 400; invalid_type",
        "[]; 400; invalid_type",
        "{\"secret\": \"s\"}; 400; invalid_type",
        "{\"url\": 5, \"secret\": \"s\"}; 400; invalid_type",
        "{\"url\": \"https://x.example\", \"secret\": 5}; 400; invalid_type",
        "{\"url\": \"ftp://x.example/f\", \"secret\": \"s\"}; 422; invalid_url",
        "{\"url\": \"/relative/path\", \"secret\": \"s\"}; 422; invalid_url",
        "{\"url\": \"http://bad host/\", \"secret\": \"s\"}; 422; invalid_url",
        "{\"url\": \"https://user:pw@x.example/\", \"secret\": \"s\"}; 422; invalid_url",
        "{\"url\": \"http:///nohost\", \"secret\": \"s\"}; 422; invalid_url",
        "{\"url\": \"javascript:alert(1)\", \"secret\": \"s\"}; 422; invalid_url",
        "{\"url\": \"https://x.example\"}; 422; invalid_value",
        "{\"url\": \"https://x.example\", \"secret\": null}; 422; invalid_value",
        "{\"url\": \"https://x.example\", \"secret\": \"\"}; 422; invalid_value",
        "{\"url\": \"https://x.example\", \"secret\": \"s\", \"retries\": 3}; 422; invalid_value",
      })
  void invalid_webhooks_are_refused_with_status_and_code(String webhook, int status, String code) {
    assertThatThrownBy(() -> WebhookConfig.parse(json(webhook), ANY))
        .isInstanceOfSatisfying(
            ApiException.class,
            e -> {
              assertThat(e.status()).isEqualTo(status);
              assertThat(e.code()).isEqualTo(code);
              assertThat(e.getMessage()).startsWith("webhook");
            });
  }

  @Test
  void a_secret_over_256_characters_is_refused() {
    String ok = "k".repeat(WebhookConfig.MAX_SECRET_LENGTH);
    WebhookConfig.parse(json("{\"url\": \"https://x.example\", \"secret\": \"" + ok + "\"}"), ANY);

    assertThatThrownBy(
            () ->
                WebhookConfig.parse(
                    json("{\"url\": \"https://x.example\", \"secret\": \"" + ok + "k\"}"), ANY))
        .isInstanceOfSatisfying(
            ApiException.class, e -> assertThat(e.code()).isEqualTo("invalid_value"))
        .hasMessageContaining("257 characters");
  }

  @Test
  void a_url_over_the_limit_is_refused() {
    String url = "https://x.example/" + "a".repeat(WebhookConfig.MAX_URL_LENGTH);

    assertThatThrownBy(
            () -> WebhookConfig.parse(json("{\"url\": \"" + url + "\", \"secret\": \"s\"}"), ANY))
        .isInstanceOfSatisfying(
            ApiException.class, e -> assertThat(e.code()).isEqualTo("invalid_url"));
  }

  @Test
  void the_url_policy_may_refuse_a_url_without_leaking_its_query() {
    Predicate<URI> noMetadata = url -> !url.getHost().equals("169.254.169.254");

    assertThatThrownBy(
            () ->
                WebhookConfig.parse(
                    json("{\"url\": \"http://169.254.169.254/latest?key=abc\", \"secret\": \"s\"}"),
                    noMetadata))
        .isInstanceOfSatisfying(
            ApiException.class,
            e -> {
              assertThat(e.status()).isEqualTo(422);
              assertThat(e.code()).isEqualTo("url_not_allowed");
              assertThat(e.getMessage()).contains("169.254.169.254").doesNotContain("abc");
            });
  }

  @Test
  void an_exception_from_the_url_policy_propagates() {
    Predicate<URI> guard =
        url -> {
          throw ApiException.invalid("url_not_allowed", "webhook.url host is link-local");
        };

    assertThatThrownBy(
            () ->
                WebhookConfig.parse(
                    json("{\"url\": \"http://x.example\", \"secret\": \"s\"}"), guard))
        .hasMessage("webhook.url host is link-local");
  }

  @Test
  void a_config_built_in_code_needs_a_secret() {
    assertThatThrownBy(() -> new WebhookConfig(URI.create("http://x.example"), ""))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageStartingWith("secret");
  }

  @Test
  void scheme_case_does_not_matter() {
    assertThat(
            WebhookConfig.parse(json("{\"url\": \"HTTPS://x.example/h\", \"secret\": \"s\"}"), ANY)
                .url()
                .getHost())
        .isEqualTo("x.example");
  }
}
