package dev.fanout.server.internal.call;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.fanout.server.internal.ApiException;
import java.net.URI;
import java.time.Duration;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.Locale;
import java.util.Map;
import java.util.Objects;
import java.util.Set;
import java.util.TreeSet;
import java.util.regex.Pattern;

/**
 * An HTTP function as a job names it: {@code {"url": "http://host:port/path", "timeoutMs": n,
 * "headers": {...}, "rateLimitPerSecond": n}}.
 *
 * <p>The headers usually carry credentials: {@link #toString()} and {@link #toRedactedJson()} show
 * their names only, and nothing in this package puts a header value in a message. {@link #toJson()}
 * keeps the values, for storing the job.
 *
 * @param url the function's http or https URL
 * @param timeout how long one call may take, at most {@link #MAX_TIMEOUT}
 * @param headers extra request headers, in the order given
 * @param rateLimitPerSecond the most calls per second for the job, or null for no limit
 */
public record HttpFunctionConfig(
    URI url, Duration timeout, Map<String, String> headers, Double rateLimitPerSecond) {

  /** The timeout when {@code timeoutMs} is not given. */
  public static final Duration DEFAULT_TIMEOUT = Duration.ofSeconds(30);

  /** The longest timeout accepted: longer calls belong in an asynchronous protocol. */
  public static final Duration MAX_TIMEOUT = Duration.ofHours(1);

  /** The highest rate accepted; above it a limit is meaningless for one process. */
  public static final double MAX_RATE_PER_SECOND = 1_000_000;

  /** At most this many configured headers. */
  public static final int MAX_HEADERS = 64;

  /** The longest header value accepted. */
  public static final int MAX_HEADER_VALUE_LENGTH = 8192;

  private static final Set<String> FIELDS =
      Set.of("url", "timeoutMs", "headers", "rateLimitPerSecond");

  // Connection management headers belong to the HTTP client, not to a job, and the
  // identity headers are Fanout's promise to the callee: a job must not be able to forge them.
  private static final Set<String> RESTRICTED_HEADERS =
      Set.of(
          "host",
          "content-length",
          "connection",
          "transfer-encoding",
          "upgrade",
          "expect",
          "keep-alive",
          "te",
          "trailer",
          "proxy-connection",
          "idempotency-key",
          "traceparent");

  private static final Pattern TOKEN = Pattern.compile("[!#$%&'*+.^_`|~0-9A-Za-z-]{1,256}");

  /**
   * Checks the values; {@code null} timeout and headers mean the defaults.
   *
   * @throws IllegalArgumentException when a value is out of range (this constructor is for code;
   *     requests go through {@link #parse})
   */
  public HttpFunctionConfig {
    Objects.requireNonNull(url, "url");
    timeout = timeout == null ? DEFAULT_TIMEOUT : timeout;
    if (timeout.compareTo(Duration.ofMillis(1)) < 0 || timeout.compareTo(MAX_TIMEOUT) > 0) {
      throw new IllegalArgumentException("timeout must be between 1 ms and 1 hour, got " + timeout);
    }
    headers =
        headers == null ? Map.of() : Collections.unmodifiableMap(new LinkedHashMap<>(headers));
    headers.forEach(
        (name, value) -> {
          Objects.requireNonNull(name, "header name");
          Objects.requireNonNull(value, "header value");
        });
    if (rateLimitPerSecond != null
        && !(rateLimitPerSecond > 0 && rateLimitPerSecond <= MAX_RATE_PER_SECOND)) {
      throw new IllegalArgumentException(
          "rateLimitPerSecond must be above 0 and at most 1000000, got " + rateLimitPerSecond);
    }
  }

  /**
   * A config with the default timeout, no headers and no rate limit.
   *
   * @param url the function's URL
   * @return the config
   */
  public static HttpFunctionConfig of(URI url) {
    return new HttpFunctionConfig(url, null, null, null);
  }

  /**
   * Parses and validates the {@code function} object of a request (or a stored config written by
   * {@link #toJson()}), checking the URL with the guard.
   *
   * @param node the function object
   * @param guard the server's URL guard
   * @return the config
   * @throws ApiException 400 {@code invalid_type} for a wrong JSON type or a missing {@code url};
   *     422 {@code invalid_url} or {@code url_not_allowed} for a refused URL; 422 {@code
   *     invalid_value} for an out-of-range number or a refused header; 400 {@code unknown_field}
   *     for a field this object does not have. Every message names the field.
   */
  public static HttpFunctionConfig parse(JsonNode node, UrlGuard guard) {
    if (node == null || !node.isObject()) {
      throw typeError("function must be an object, got " + describe(node));
    }
    for (Map.Entry<String, JsonNode> property : node.properties()) {
      String name = property.getKey();
      if (!FIELDS.contains(name)) {
        throw ApiException.badRequest(
            "unknown_field",
            "function has no field '" + name + "'; an HTTP function has " + new TreeSet<>(FIELDS));
      }
    }
    JsonNode urlNode = node.get("url");
    if (urlNode == null || !urlNode.isTextual()) {
      throw typeError("function.url must be a string URL, got " + describe(urlNode));
    }
    URI url = guard.check("function.url", urlNode.textValue());
    return new HttpFunctionConfig(
        url,
        parseTimeout(node.get("timeoutMs")),
        parseHeaders(node.get("headers")),
        parseRate(node.get("rateLimitPerSecond")));
  }

  private static Duration parseTimeout(JsonNode node) {
    if (node == null || node.isNull()) {
      return DEFAULT_TIMEOUT;
    }
    if (!node.isIntegralNumber()) {
      throw typeError(
          "function.timeoutMs must be a whole number of milliseconds, got " + describe(node));
    }
    long max = MAX_TIMEOUT.toMillis();
    if (!node.canConvertToLong() || node.longValue() < 1 || node.longValue() > max) {
      throw invalidValue(
          "function.timeoutMs must be between 1 and " + max + ", got " + node.asText());
    }
    return Duration.ofMillis(node.longValue());
  }

  private static Double parseRate(JsonNode node) {
    if (node == null || node.isNull()) {
      return null;
    }
    if (!node.isNumber()) {
      throw typeError("function.rateLimitPerSecond must be a number, got " + describe(node));
    }
    double rate = node.doubleValue();
    if (!(rate > 0 && rate <= MAX_RATE_PER_SECOND)) {
      throw invalidValue(
          "function.rateLimitPerSecond must be above 0 and at most 1000000, got " + node.asText());
    }
    return rate;
  }

  private static Map<String, String> parseHeaders(JsonNode node) {
    if (node == null || node.isNull()) {
      return Map.of();
    }
    if (!node.isObject()) {
      throw typeError("function.headers must be an object of strings, got " + describe(node));
    }
    if (node.size() > MAX_HEADERS) {
      throw invalidValue(
          "function.headers may hold at most " + MAX_HEADERS + " headers, got " + node.size());
    }
    Map<String, String> headers = new LinkedHashMap<>();
    Set<String> seen = new TreeSet<>(String.CASE_INSENSITIVE_ORDER);
    for (Map.Entry<String, JsonNode> entry : node.properties()) {
      String name = entry.getKey();
      JsonNode value = entry.getValue();
      String field = "function.headers." + printable(name);
      if (!TOKEN.matcher(name).matches()) {
        throw invalidValue(field + " is not a valid header name");
      }
      String lower = name.toLowerCase(Locale.ROOT);
      if (RESTRICTED_HEADERS.contains(lower) || lower.startsWith("x-fanout-")) {
        throw invalidValue(field + " may not be set: Fanout or the HTTP client sets it");
      }
      if (!seen.add(name)) {
        throw invalidValue(field + " is given twice (header names ignore case)");
      }
      if (value == null || !value.isTextual()) {
        // The type only, never the value: it may be a secret.
        throw typeError(field + " must be a string, got " + describeType(value));
      }
      String text = value.textValue();
      if (text.length() > MAX_HEADER_VALUE_LENGTH) {
        throw invalidValue(field + " is longer than " + MAX_HEADER_VALUE_LENGTH + " characters");
      }
      for (int i = 0; i < text.length(); i++) {
        char c = text.charAt(i);
        if ((c < 0x20 && c != '\t') || c == 0x7f || c > 0xff) {
          throw invalidValue(
              field
                  + " contains a line break, control character or non-Latin-1 character"
                  + " at position "
                  + i);
        }
      }
      headers.put(name, text);
    }
    return headers;
  }

  /**
   * The config as JSON, header values included, for storing it with the job; {@link #parse} reads
   * it back.
   *
   * @return a new JSON object
   */
  public ObjectNode toJson() {
    return toJson(false);
  }

  /**
   * The config as JSON with every header value replaced by {@code "***"}, for echoing a job to
   * clients and for logs.
   *
   * @return a new JSON object
   */
  public ObjectNode toRedactedJson() {
    return toJson(true);
  }

  private ObjectNode toJson(boolean redact) {
    ObjectNode json = JsonNodeFactory.instance.objectNode();
    json.put("url", url.toString());
    json.put("timeoutMs", timeout.toMillis());
    if (!headers.isEmpty()) {
      ObjectNode h = json.putObject("headers");
      headers.forEach((name, value) -> h.put(name, redact ? "***" : value));
    }
    if (rateLimitPerSecond != null) {
      json.put("rateLimitPerSecond", rateLimitPerSecond);
    }
    return json;
  }

  /** Shows the header names but never their values. */
  @Override
  public String toString() {
    return "HttpFunctionConfig[url="
        + url
        + ", timeout="
        + timeout
        + ", headers="
        + headers.keySet()
        + ", rateLimitPerSecond="
        + rateLimitPerSecond
        + "]";
  }

  private static String describe(JsonNode node) {
    if (node == null || node.isMissingNode()) {
      return "nothing";
    }
    String text = node.toString();
    return describeType(node) + " " + (text.length() > 40 ? text.substring(0, 40) + "..." : text);
  }

  private static String describeType(JsonNode node) {
    if (node == null || node.isMissingNode()) {
      return "nothing";
    }
    return switch (node.getNodeType()) {
      case ARRAY -> "an array";
      case OBJECT, POJO -> "an object";
      case STRING -> "a string";
      case NUMBER -> "a number";
      case BOOLEAN -> "a boolean";
      case NULL -> "null";
      default -> node.getNodeType().toString().toLowerCase(Locale.ROOT);
    };
  }

  private static String printable(String name) {
    StringBuilder out = new StringBuilder();
    for (int i = 0; i < name.length() && i < 64; i++) {
      char c = name.charAt(i);
      out.append(c < 0x20 || c == 0x7f ? '?' : c);
    }
    return out.toString();
  }

  private static ApiException typeError(String message) {
    return ApiException.badRequest("invalid_type", message);
  }

  private static ApiException invalidValue(String message) {
    return ApiException.invalid("invalid_value", message);
  }
}
