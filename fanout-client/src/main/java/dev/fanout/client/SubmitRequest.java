package dev.fanout.client;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.fanout.FailureMode;
import dev.fanout.FailurePolicy;
import dev.fanout.ResultOrder;
import java.io.InputStream;
import java.net.URI;
import java.time.Duration;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.Locale;
import java.util.Map;
import java.util.Objects;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.stream.Stream;

/**
 * A job to submit to a Fanout server: the body of {@code POST /v1/jobs}, field for field, and its
 * {@code Idempotency-Key}. Only the function and the items are required; every other field has the
 * server's default (see the API documentation).
 *
 * <pre>{@code
 * SubmitRequest request =
 *     SubmitRequest.builder()
 *         .functionUrl(URI.create("http://127.0.0.1:9000/score"))
 *         .items(Files.lines(path).map(Long::parseLong))   // streamed, never held whole
 *         .transform(".score")
 *         .reduce("sum")
 *         .maxConcurrency(200)
 *         .retry(5)
 *         .build();
 * JobAccepted job = client.submit(request);
 * }</pre>
 *
 * <p>The items are written into the request body as they are read: a million-item source never sits
 * whole in memory. A request over an {@link Iterator}, a {@link Stream} or an {@link InputStream}
 * can therefore be submitted only once; one over an {@link Iterable} can be submitted again (for
 * instance to repeat it under the same idempotency key after a timeout).
 */
public final class SubmitRequest {
  private final Builder b;
  private final AtomicBoolean itemsTaken = new AtomicBoolean();

  private SubmitRequest(Builder b) {
    this.b = b;
  }

  /**
   * A builder with nothing set.
   *
   * @return a new builder
   */
  public static Builder builder() {
    return new Builder();
  }

  /**
   * The {@code Idempotency-Key} to send.
   *
   * @return the key, or null for none
   */
  String idempotencyKey() {
    return b.idempotencyKey;
  }

  /** Every field of the body but the items, in the order they are written. */
  ObjectNode fields(ObjectMapper json) {
    ObjectNode body = json.createObjectNode();
    ObjectNode function = body.putObject("function");
    if (b.functionName != null) {
      function.put("name", b.functionName);
    } else {
      function.put("url", b.functionUrl.toString());
      if (!b.functionHeaders.isEmpty()) {
        ObjectNode headers = function.putObject("headers");
        b.functionHeaders.forEach(headers::put);
      }
      if (b.rateLimitPerSecond != null) {
        function.put("rateLimitPerSecond", b.rateLimitPerSecond);
      }
    }
    if (b.functionTimeout != null) {
      function.put("timeoutMs", b.functionTimeout.toMillis());
    }
    if (b.transform != null) {
      body.put("transform", b.transform);
    }
    if (b.reduce != null) {
      body.set("reduce", b.reduce);
    }
    if (b.maxConcurrency != null) {
      body.put("maxConcurrency", b.maxConcurrency);
    }
    if (b.maxAttempts != null) {
      ObjectNode retry = body.putObject("retry").put("maxAttempts", b.maxAttempts);
      if (b.backoff != null) {
        retry.put("backoffMs", b.backoff.toMillis());
        retry.put("maxBackoffMs", b.maxBackoff.toMillis());
      }
    }
    if (b.timeout != null) {
      body.put("timeoutMs", b.timeout.toMillis());
    }
    if (b.deadline != null) {
      body.put("deadlineMs", b.deadline.toMillis());
    }
    if (b.failurePolicy != null) {
      FailurePolicy p = b.failurePolicy;
      ObjectNode policy = body.putObject("failurePolicy");
      policy.put("mode", p.mode() == FailureMode.FAIL_FAST ? "failFast" : "allSettled");
      if (!Double.isNaN(p.toleratedPercent())) {
        policy.put("toleratedFailurePercent", p.toleratedPercent());
      } else if (p.toleratedCount() > 0) {
        policy.put("toleratedFailureCount", p.toleratedCount());
      }
    }
    if (b.order != null) {
      body.put("order", b.order.name().toLowerCase(Locale.ROOT));
    }
    if (b.batchSize != null) {
      body.put("batchSize", b.batchSize);
    }
    if (b.webhookUrl != null) {
      body.putObject("webhook").put("url", b.webhookUrl.toString()).put("secret", b.webhookSecret);
    }
    if (b.metadata != null) {
      body.set("metadata", b.metadata);
    }
    return body;
  }

  /**
   * Opens the items for one submission.
   *
   * @throws IllegalStateException when they are a one-shot source already submitted
   */
  Items openItems(ObjectMapper json) {
    Object source = b.items;
    if (source instanceof Iterable<?> iterable) {
      return new Items(iterable.iterator(), null);
    }
    if (!itemsTaken.compareAndSet(false, true)) {
      throw new IllegalStateException(
          "this request reads its items from an Iterator, a Stream or an InputStream, which can be"
              + " submitted only once; build a new request, or give the items as an Iterable");
    }
    return switch (source) {
      case Stream<?> stream -> new Items(stream.iterator(), stream);
      case InputStream in -> {
        JsonItems items = new JsonItems(json, in);
        yield new Items(items, items);
      }
      default -> new Items((Iterator<?>) source, null);
    };
  }

  /** An opened source of items, and what to close once the body is written. */
  record Items(Iterator<?> iterator, AutoCloseable closeable) {}

  /**
   * Configures a {@link SubmitRequest}. Each option may be set once: setting one twice fails with
   * {@link IllegalStateException}, a nonsense value with {@link IllegalArgumentException}, each
   * naming the option. The server checks the rest (a function name it does not know, a jq
   * expression that does not compile) and answers {@code 422}.
   */
  public static final class Builder {
    private String functionName;
    private URI functionUrl;
    private final Map<String, String> functionHeaders = new LinkedHashMap<>();
    private Duration functionTimeout;
    private Double rateLimitPerSecond;
    private Object items;
    private String transform;
    private JsonNode reduce;
    private Integer maxConcurrency;
    private Integer maxAttempts;
    private Duration backoff;
    private Duration maxBackoff;
    private Duration timeout;
    private Duration deadline;
    private FailurePolicy failurePolicy;
    private ResultOrder order;
    private Integer batchSize;
    private URI webhookUrl;
    private String webhookSecret;
    private JsonNode metadata;
    private String idempotencyKey;

    private Builder() {}

    /**
     * Runs the function the server knows by this name over each item: a built-in ({@code identity},
     * {@code demo}) or one registered in the server's JVM.
     *
     * @param name the function's name
     * @return this builder
     * @throws IllegalArgumentException when blank
     * @throws IllegalStateException when a function was already set
     */
    public Builder functionName(String name) {
      Objects.requireNonNull(name, "functionName");
      requireNoFunction();
      if (name.isBlank()) {
        throw new IllegalArgumentException("functionName must not be blank");
      }
      this.functionName = name;
      return this;
    }

    /**
     * POSTs each item to this URL: the answer's JSON body is the item's result.
     *
     * @param url an {@code http} or {@code https} URL
     * @return this builder
     * @throws IllegalArgumentException when the scheme is another
     * @throws IllegalStateException when a function was already set
     */
    public Builder functionUrl(URI url) {
      Objects.requireNonNull(url, "functionUrl");
      requireNoFunction();
      String scheme = url.getScheme() == null ? "" : url.getScheme().toLowerCase(Locale.ROOT);
      if (!scheme.equals("http") && !scheme.equals("https")) {
        throw new IllegalArgumentException("functionUrl must be http or https, got " + url);
      }
      this.functionUrl = url;
      return this;
    }

    /**
     * Adds a header to every call of the URL function (an API key, say). The server stores it with
     * the job and never shows it.
     *
     * @param name the header's name
     * @param value its value
     * @return this builder
     * @throws IllegalArgumentException when the name is blank
     * @throws IllegalStateException when this header was already added
     */
    public Builder functionHeader(String name, String value) {
      Objects.requireNonNull(name, "functionHeader name");
      Objects.requireNonNull(value, "functionHeader value");
      if (name.isBlank()) {
        throw new IllegalArgumentException("functionHeader name must not be blank");
      }
      if (functionHeaders.putIfAbsent(name, value) != null) {
        throw new IllegalStateException("functionHeader " + name + " was already set");
      }
      return this;
    }

    /**
     * Sets how long one call of the function may take; it overrides {@link #timeout}.
     *
     * @param timeout positive, whole milliseconds
     * @return this builder
     * @throws IllegalArgumentException when not positive
     * @throws IllegalStateException when already set
     */
    public Builder functionTimeout(Duration timeout) {
      Options.requireUnset(functionTimeout, "functionTimeout");
      this.functionTimeout = requireMillis(timeout, "functionTimeout");
      return this;
    }

    /**
     * Caps the job's calls of the URL function per second.
     *
     * @param perSecond above 0
     * @return this builder
     * @throws IllegalArgumentException when not above 0
     * @throws IllegalStateException when already set
     */
    public Builder rateLimitPerSecond(double perSecond) {
      Options.requireUnset(rateLimitPerSecond, "rateLimitPerSecond");
      if (!(perSecond > 0) || Double.isInfinite(perSecond)) {
        throw new IllegalArgumentException("rateLimitPerSecond must be above 0, got " + perSecond);
      }
      this.rateLimitPerSecond = perSecond;
      return this;
    }

    /**
     * The items, read as the body is written; each is written as JSON by Jackson ({@link JsonNode}s
     * as they are, other objects by their Jackson mapping). The request may be submitted again,
     * reading the items again.
     *
     * @param items the items
     * @return this builder
     * @throws IllegalStateException when items were already set
     */
    public Builder items(Iterable<?> items) {
      return setItems(Objects.requireNonNull(items, "items"));
    }

    /**
     * The items, read as the body is written; the request can be submitted once.
     *
     * @param items the items
     * @return this builder
     * @throws IllegalStateException when items were already set
     */
    public Builder items(Iterator<?> items) {
      return setItems(Objects.requireNonNull(items, "items"));
    }

    /**
     * The items, read as the body is written and closed afterwards; the request can be submitted
     * once.
     *
     * @param items the items
     * @return this builder
     * @throws IllegalStateException when items were already set
     */
    public Builder items(Stream<?> items) {
      return setItems(Objects.requireNonNull(items, "items"));
    }

    /**
     * The items as JSON text: one JSON array, or JSON values one after another (NDJSON, one per
     * line). They are parsed and written one at a time, and the stream is closed afterwards; the
     * request can be submitted once. Malformed JSON fails the submission with an {@link
     * IllegalArgumentException} naming its line and column, and nothing is stored.
     *
     * @param json UTF-8 JSON text
     * @return this builder
     * @throws IllegalStateException when items were already set
     */
    public Builder itemsJson(InputStream json) {
      return setItems(Objects.requireNonNull(json, "itemsJson"));
    }

    private Builder setItems(Object source) {
      Options.requireUnset(items, "items");
      this.items = source;
      return this;
    }

    /**
     * A jq expression applied to each result; it must yield exactly one value, else the item fails
     * with {@code transform_error}.
     *
     * @param jq the expression, such as {@code .score}
     * @return this builder
     * @throws IllegalArgumentException when blank
     * @throws IllegalStateException when already set
     */
    public Builder transform(String jq) {
      Objects.requireNonNull(jq, "transform");
      Options.requireUnset(transform, "transform");
      if (jq.isBlank()) {
        throw new IllegalArgumentException("transform must not be blank");
      }
      this.transform = jq;
      return this;
    }

    /**
     * The fan-in, by name: {@code sum}, {@code count}, {@code min}, {@code max}, {@code avg},
     * {@code collect}, {@code concat} or {@code merge}.
     *
     * @param reducer the reducer's name
     * @return this builder
     * @throws IllegalArgumentException when blank
     * @throws IllegalStateException when a reducer was already set
     */
    public Builder reduce(String reducer) {
      Objects.requireNonNull(reducer, "reduce");
      Options.requireUnset(reduce, "reduce");
      if (reducer.isBlank()) {
        throw new IllegalArgumentException("reduce must not be blank");
      }
      this.reduce = JsonViews.JSON.getNodeFactory().textNode(reducer);
      return this;
    }

    /**
     * The fan-in as a jq fold: {@code expression} runs once per succeeded result in input order,
     * with {@code .} the aggregate so far, {@code $item} the result and {@code $index} its index.
     *
     * @param expression the jq expression, such as {@code . + $item}
     * @param init the aggregate before the first result
     * @return this builder
     * @throws IllegalArgumentException when the expression is blank
     * @throws IllegalStateException when a reducer was already set
     */
    public Builder reduceJq(String expression, JsonNode init) {
      Objects.requireNonNull(expression, "reduceJq expression");
      Objects.requireNonNull(init, "reduceJq init");
      Options.requireUnset(reduce, "reduce");
      if (expression.isBlank()) {
        throw new IllegalArgumentException("reduceJq expression must not be blank");
      }
      ObjectNode fold = JsonViews.JSON.createObjectNode().put("jq", expression);
      fold.set("init", init.deepCopy());
      this.reduce = fold;
      return this;
    }

    /**
     * How many items of the job run at once; changeable later with {@link
     * FanoutClient#setMaxConcurrency}.
     *
     * @param maxConcurrency at least 1 (the server's default is 1000)
     * @return this builder
     * @throws IllegalArgumentException when below 1
     * @throws IllegalStateException when already set
     */
    public Builder maxConcurrency(int maxConcurrency) {
      Options.requireUnset(this.maxConcurrency, "maxConcurrency");
      this.maxConcurrency = Options.requirePositive(maxConcurrency, "maxConcurrency");
      return this;
    }

    /**
     * Gives each item up to {@code maxAttempts} attempts, with the server's default backoff.
     *
     * @param maxAttempts at least 1 (the server's default is 3)
     * @return this builder
     * @throws IllegalArgumentException when below 1
     * @throws IllegalStateException when a retry was already set
     */
    public Builder retry(int maxAttempts) {
      Options.requireUnset(this.maxAttempts, "retry");
      this.maxAttempts = Options.requirePositive(maxAttempts, "retry maxAttempts");
      return this;
    }

    /**
     * Gives each item up to {@code maxAttempts} attempts, waiting a random time up to {@code
     * backoff} doubled per retry, capped at {@code maxBackoff}, between them.
     *
     * @param maxAttempts at least 1
     * @param backoff zero or more, whole milliseconds
     * @param maxBackoff at least {@code backoff}
     * @return this builder
     * @throws IllegalArgumentException when a value is out of range, naming it
     * @throws IllegalStateException when a retry was already set
     */
    public Builder retry(int maxAttempts, Duration backoff, Duration maxBackoff) {
      Objects.requireNonNull(backoff, "retry backoff");
      Objects.requireNonNull(maxBackoff, "retry maxBackoff");
      Options.requireUnset(this.maxAttempts, "retry");
      Options.requirePositive(maxAttempts, "retry maxAttempts");
      if (backoff.isNegative() || maxBackoff.compareTo(backoff) < 0) {
        throw new IllegalArgumentException(
            "retry needs 0 <= backoff <= maxBackoff, got " + backoff + " and " + maxBackoff);
      }
      this.maxAttempts = maxAttempts;
      this.backoff = backoff;
      this.maxBackoff = maxBackoff;
      return this;
    }

    /**
     * Sets how long one attempt may take; a timed-out attempt is retried.
     *
     * @param timeout positive, whole milliseconds
     * @return this builder
     * @throws IllegalArgumentException when not positive
     * @throws IllegalStateException when already set
     */
    public Builder timeout(Duration timeout) {
      Options.requireUnset(this.timeout, "timeout");
      this.timeout = requireMillis(timeout, "timeout");
      return this;
    }

    /**
     * Sets how long the whole job may take, from its acceptance: then it ends FAILED, its unsettled
     * items cancelled and its settled results kept.
     *
     * @param deadline positive, whole milliseconds
     * @return this builder
     * @throws IllegalArgumentException when not positive
     * @throws IllegalStateException when already set
     */
    public Builder deadline(Duration deadline) {
      Options.requireUnset(this.deadline, "deadline");
      this.deadline = requireMillis(deadline, "deadline");
      return this;
    }

    /**
     * Sets how many failed items the job tolerates and whether crossing that cancels the rest.
     *
     * @param failurePolicy the policy (the server's default tolerates none and runs every item)
     * @return this builder
     * @throws IllegalStateException when already set
     */
    public Builder failurePolicy(FailurePolicy failurePolicy) {
      Objects.requireNonNull(failurePolicy, "failurePolicy");
      Options.requireUnset(this.failurePolicy, "failurePolicy");
      this.failurePolicy = failurePolicy;
      return this;
    }

    /**
     * Sets the order of the results' {@code seq}.
     *
     * @param order the order (the server's default is completion order)
     * @return this builder
     * @throws IllegalStateException when already set
     */
    public Builder order(ResultOrder order) {
      Objects.requireNonNull(order, "order");
      Options.requireUnset(this.order, "order");
      this.order = order;
      return this;
    }

    /**
     * Sends the URL function up to {@code batchSize} items per call, as a JSON array.
     *
     * @param batchSize at least 1 (the server's default is 1)
     * @return this builder
     * @throws IllegalArgumentException when below 1
     * @throws IllegalStateException when already set
     */
    public Builder batchSize(int batchSize) {
      Options.requireUnset(this.batchSize, "batchSize");
      this.batchSize = Options.requirePositive(batchSize, "batchSize");
      return this;
    }

    /**
     * POSTs each result, then a {@code done} event, to {@code url}, signed with {@code secret}.
     *
     * @param url an {@code http} or {@code https} URL
     * @param secret the HMAC key, not empty
     * @return this builder
     * @throws IllegalArgumentException when the secret is empty
     * @throws IllegalStateException when already set
     */
    public Builder webhook(URI url, String secret) {
      Objects.requireNonNull(url, "webhook url");
      Objects.requireNonNull(secret, "webhook secret");
      Options.requireUnset(webhookUrl, "webhook");
      if (secret.isEmpty()) {
        throw new IllegalArgumentException("webhook secret must not be empty");
      }
      this.webhookUrl = url;
      this.webhookSecret = secret;
      return this;
    }

    /**
     * Stores the caller's own data with the job; the server returns it with the job and never reads
     * it.
     *
     * @param metadata a JSON object, at most 64 KiB as compact JSON; a copy is kept
     * @return this builder
     * @throws IllegalArgumentException when not an object
     * @throws IllegalStateException when already set
     */
    public Builder metadata(JsonNode metadata) {
      Objects.requireNonNull(metadata, "metadata");
      Options.requireUnset(this.metadata, "metadata");
      if (!metadata.isObject()) {
        throw new IllegalArgumentException(
            "metadata must be a JSON object, got " + metadata.getNodeType());
      }
      this.metadata = metadata.deepCopy();
      return this;
    }

    /**
     * Makes the submission safe to repeat: the server answers a repeat with the same key and the
     * same body bytes with the first job, and refuses the same key with another body ({@code 409
     * idempotency_conflict}). The body is written the same way each time for the same items and
     * options, so repeating a request over an {@link Iterable} repeats its bytes.
     *
     * @param key 1 to 255 visible ASCII characters, no spaces
     * @return this builder
     * @throws IllegalArgumentException when the key is empty, too long, or holds other characters
     * @throws IllegalStateException when already set
     */
    public Builder idempotencyKey(String key) {
      Objects.requireNonNull(key, "idempotencyKey");
      Options.requireUnset(idempotencyKey, "idempotencyKey");
      if (key.isEmpty() || key.length() > 255 || !key.chars().allMatch(c -> c > 0x20 && c < 0x7f)) {
        throw new IllegalArgumentException(
            "idempotencyKey must be 1 to 255 visible ASCII characters (no spaces)");
      }
      this.idempotencyKey = key;
      return this;
    }

    /**
     * Builds the request.
     *
     * @return the request
     * @throws IllegalStateException when the function or the items are missing
     * @throws IllegalArgumentException when headers or a rate limit are given to a named function
     */
    public SubmitRequest build() {
      if (functionName == null && functionUrl == null) {
        throw new IllegalStateException("a request needs a function: functionName or functionUrl");
      }
      if (items == null) {
        throw new IllegalStateException(
            "a request needs items: items(...) or itemsJson(InputStream)");
      }
      if (functionName != null && (!functionHeaders.isEmpty() || rateLimitPerSecond != null)) {
        throw new IllegalArgumentException(
            "functionHeader and rateLimitPerSecond apply to a functionUrl, not to a named"
                + " function");
      }
      return new SubmitRequest(this);
    }

    private void requireNoFunction() {
      if (functionName != null || functionUrl != null) {
        throw new IllegalStateException(
            "the function was already set; give one of functionName and functionUrl");
      }
    }

    private static Duration requireMillis(Duration value, String option) {
      Options.requirePositive(value, option);
      // The body carries whole milliseconds: less than one would be sent as zero.
      if (value.compareTo(Duration.ofMillis(1)) < 0) {
        throw new IllegalArgumentException(option + " must be at least 1 ms, got " + value);
      }
      return value;
    }
  }
}
