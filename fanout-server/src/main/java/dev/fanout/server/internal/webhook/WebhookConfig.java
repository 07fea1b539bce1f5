package dev.fanout.server.internal.webhook;

import com.fasterxml.jackson.databind.JsonNode;
import dev.fanout.server.internal.ApiException;
import java.net.URI;
import java.net.URISyntaxException;
import java.util.Iterator;
import java.util.Locale;
import java.util.Objects;
import java.util.function.Predicate;

/**
 * Where a job's results are pushed, and the secret that signs them: the API's {@code webhook}
 * field, {@code {"url": "...", "secret": "..."}}.
 *
 * <p>{@link #toString()} leaves the secret and the URL's query out, so a config may be logged.
 *
 * @param url the absolute http or https URL each delivery is POSTed to
 * @param secret the key of the deliveries' HMAC signature, 1 to {@value #MAX_SECRET_LENGTH}
 *     characters
 */
public record WebhookConfig(URI url, String secret) {
  /** The longest secret accepted: far beyond a strong key, short enough to store in a row. */
  public static final int MAX_SECRET_LENGTH = 256;

  /** The longest URL accepted. */
  public static final int MAX_URL_LENGTH = 2048;

  /**
   * Checks the parts, for configs built in code rather than parsed.
   *
   * @param url the absolute http or https URL
   * @param secret the signing key, not empty
   * @throws IllegalArgumentException when the secret is empty
   */
  public WebhookConfig {
    Objects.requireNonNull(url, "url");
    Objects.requireNonNull(secret, "secret");
    if (secret.isEmpty()) {
      // HMAC takes no empty key; parse() refuses it with a 422 before this.
      throw new IllegalArgumentException("secret must not be empty");
    }
  }

  /**
   * Parses and validates the API's {@code webhook} field; call it only when the field is present
   * and not null.
   *
   * @param field the {@code webhook} value
   * @param allowed decides whether the URL may be called (the server's SSRF policy: no link-local
   *     or metadata addresses, the {@code --allow-hosts} list); {@code url -> true} allows all. It
   *     may also throw an {@link ApiException} of its own with a more precise message, for example
   *     {@code url -> guard.check("webhook.url", url.toString()) != null}; that propagates
   * @return the config
   * @throws ApiException 400 {@code invalid_type} for a wrong JSON type; 422 {@code invalid_url}
   *     for a URL that is malformed, not absolute http or https, carries credentials, or is too
   *     long; 422 {@code invalid_value} for a missing, empty or too long secret or an unknown
   *     field; 422 {@code url_not_allowed} when {@code allowed} refuses the URL
   */
  public static WebhookConfig parse(JsonNode field, Predicate<URI> allowed) {
    Objects.requireNonNull(allowed, "allowed");
    if (field == null || !field.isObject()) {
      throw ApiException.badRequest(
          "invalid_type",
          "webhook must be an object {\"url\": \"...\", \"secret\": \"...\"}, got "
              + typeName(field));
    }
    for (Iterator<String> names = field.fieldNames(); names.hasNext(); ) {
      String name = names.next();
      if (!name.equals("url") && !name.equals("secret")) {
        throw ApiException.invalid(
            "invalid_value",
            "webhook has an unknown field \""
                + shorten(name)
                + "\"; it takes \"url\" and \"secret\"");
      }
    }
    URI url = parseUrl(field.get("url"));
    String secret = parseSecret(field.get("secret"));
    if (!allowed.test(url)) {
      throw ApiException.invalid(
          "url_not_allowed", "webhook.url " + redact(url) + " is not an allowed destination");
    }
    return new WebhookConfig(url, secret);
  }

  private static URI parseUrl(JsonNode value) {
    if (value == null || !value.isTextual()) {
      throw ApiException.badRequest(
          "invalid_type", "webhook.url must be a string, got " + typeName(value));
    }
    String text = value.textValue();
    if (text.length() > MAX_URL_LENGTH) {
      throw invalidUrl("is " + text.length() + " characters long; at most " + MAX_URL_LENGTH);
    }
    URI url;
    try {
      url = new URI(text);
    } catch (URISyntaxException e) {
      throw invalidUrl("is not a valid URL: " + e.getReason());
    }
    String scheme = url.getScheme() == null ? "" : url.getScheme().toLowerCase(Locale.ROOT);
    if (!scheme.equals("http") && !scheme.equals("https")) {
      throw invalidUrl("must be an absolute http or https URL");
    }
    if (url.getHost() == null || url.getHost().isEmpty()) {
      throw invalidUrl("has no host (or a host that is not a valid name)");
    }
    if (url.getRawUserInfo() != null) {
      throw invalidUrl("must not carry credentials; sign with the secret instead");
    }
    return url;
  }

  private static String parseSecret(JsonNode value) {
    if (value == null || value.isNull()) {
      throw ApiException.invalid(
          "invalid_value", "webhook.secret is required: receivers verify deliveries with it");
    }
    if (!value.isTextual()) {
      throw ApiException.badRequest(
          "invalid_type", "webhook.secret must be a string, got " + typeName(value));
    }
    String secret = value.textValue();
    if (secret.isEmpty()) {
      throw ApiException.invalid("invalid_value", "webhook.secret must not be empty");
    }
    if (secret.length() > MAX_SECRET_LENGTH) {
      throw ApiException.invalid(
          "invalid_value",
          "webhook.secret is "
              + secret.length()
              + " characters long; at most "
              + MAX_SECRET_LENGTH
              + " are allowed");
    }
    return secret;
  }

  private static ApiException invalidUrl(String problem) {
    return ApiException.invalid("invalid_url", "webhook.url " + problem);
  }

  /**
   * The URL without its query and fragment, for logs and error messages: a query often carries a
   * token.
   *
   * @param url any URL
   * @return scheme, host, port and path
   */
  public static String redact(URI url) {
    StringBuilder shown = new StringBuilder();
    if (url.getScheme() != null) {
      shown.append(url.getScheme()).append("://");
    }
    if (url.getHost() != null) {
      shown.append(url.getHost());
    }
    if (url.getPort() >= 0) {
      shown.append(':').append(url.getPort());
    }
    if (url.getRawPath() != null) {
      shown.append(url.getRawPath());
    }
    if (url.getRawQuery() != null) {
      shown.append("?...");
    }
    return shown.toString();
  }

  /**
   * The config as the API echoes it: the URL only, since secrets are never echoed.
   *
   * @return the URL with its query redacted
   */
  @Override
  public String toString() {
    return "WebhookConfig[url=" + redact(url) + ", secret=***]";
  }

  private static String typeName(JsonNode value) {
    if (value == null || value.isMissingNode()) {
      return "nothing";
    }
    return value.getNodeType().name().toLowerCase(Locale.ROOT);
  }

  private static String shorten(String s) {
    return s.length() > 40 ? s.substring(0, 37) + "..." : s;
  }
}
