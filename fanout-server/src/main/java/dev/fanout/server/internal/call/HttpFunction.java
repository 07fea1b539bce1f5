package dev.fanout.server.internal.call;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.json.JsonMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import com.fasterxml.jackson.databind.node.NullNode;
import com.fasterxml.jackson.databind.node.TextNode;
import dev.fanout.BatchFunction;
import dev.fanout.TaskContext;
import dev.fanout.TaskFunction;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.net.ConnectException;
import java.net.NoRouteToHostException;
import java.net.URI;
import java.net.UnknownHostException;
import java.net.http.HttpClient;
import java.net.http.HttpConnectTimeoutException;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.net.http.HttpTimeoutException;
import java.nio.ByteBuffer;
import java.nio.channels.UnresolvedAddressException;
import java.nio.charset.Charset;
import java.nio.charset.StandardCharsets;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.time.ZonedDateTime;
import java.time.format.DateTimeFormatter;
import java.time.format.DateTimeParseException;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Objects;
import java.util.Optional;
import java.util.OptionalLong;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.Executors;
import java.util.concurrent.Flow;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.regex.Pattern;

/**
 * Calls one job's HTTP function: one POST per attempt, the item (or, through {@link
 * #asBatchFunction()}, a batch as a JSON array) as the JSON body.
 *
 * <p>Each request carries {@code X-Fanout-Job}, {@code X-Fanout-Index}, {@code X-Fanout-Attempt}
 * and {@code Idempotency-Key: <job>:<index>} so the callee can de-duplicate repeated attempts,
 * {@code traceparent} when the job has one, and the configured headers. A batch also carries {@code
 * X-Fanout-Batch-Size}; its index is that of its first item.
 *
 * <p>A 2xx answer is the result: its body parsed as JSON, or kept as a JSON string when it is not
 * JSON, or JSON null when empty. Anything else throws a {@link CallException} whose code says
 * whether a retry may help. The body is read as it streams in and the call stops at the size limit,
 * so a runaway function cannot exhaust the server's heap.
 *
 * <p>The call's timeout is the config's, cut to the attempt's deadline. An interrupted call (the
 * engine cancels attempts that way) cancels the exchange and throws {@link InterruptedException} at
 * once, since the request runs on the client's own threads and this thread only waits for it.
 *
 * <p>One instance per job: it holds the job's {@link CallLimiter}. The {@link HttpClient} is shared
 * by all jobs, for connection reuse, and must not follow redirects: a redirect to a literal
 * metadata address would slip past the {@link UrlGuard}.
 */
public final class HttpFunction implements TaskFunction<JsonNode, JsonNode> {

  /** The response size limit when none is set: 1 MiB. */
  public static final long DEFAULT_MAX_RESPONSE_BYTES = 1 << 20;

  /** The limiter's ceiling when none is given: the engine's default {@code maxConcurrency}. */
  public static final int DEFAULT_MAX_CONCURRENCY = 1000;

  // An error body is read only this far (and then dropped) so the connection can be reused.
  private static final long ERROR_BODY_DRAIN_BYTES = 64 * 1024;

  private static final Pattern TRACEPARENT =
      Pattern.compile("[0-9a-f]{2}-[0-9a-f]{32}-[0-9a-f]{16}-[0-9a-f]{2}(-[0-9a-zA-Z_.-]*)?");

  private static final ObjectMapper MAPPER =
      JsonMapper.builder().enable(DeserializationFeature.FAIL_ON_TRAILING_TOKENS).build();

  private final HttpFunctionConfig config;
  private final HttpClient client;
  private final CallLimiter limiter;
  private final String traceparent;
  private final long maxResponseBytes;
  private final Clock clock;
  private final String target;

  private HttpFunction(Builder builder) {
    this.config = builder.config;
    this.client = builder.client;
    this.limiter =
        builder.limiter != null
            ? builder.limiter
            : new CallLimiter(DEFAULT_MAX_CONCURRENCY, config.rateLimitPerSecond());
    this.traceparent = builder.traceparent;
    this.maxResponseBytes = builder.maxResponseBytes;
    this.clock = builder.clock;
    this.target = "POST " + describe(config.url());
  }

  /**
   * Starts building the function of one job.
   *
   * @param config the job's function config
   * @param client the shared client; it must not follow redirects ({@link #newClient(Duration)}
   *     makes a suitable one)
   * @return the builder
   * @throws IllegalArgumentException when the client follows redirects
   */
  public static Builder builder(HttpFunctionConfig config, HttpClient client) {
    return new Builder(config, client);
  }

  /**
   * Makes a client suited to calling functions: HTTP/1.1 (callees are plain services, and one
   * connection per in-flight call avoids HTTP/2 head-of-line blocking), no redirects, virtual
   * threads. Share one across jobs so connections are reused; close it when the server stops.
   *
   * @param connectTimeout how long connecting may take
   * @return the client
   */
  public static HttpClient newClient(Duration connectTimeout) {
    return HttpClient.newBuilder()
        .version(HttpClient.Version.HTTP_1_1)
        .followRedirects(HttpClient.Redirect.NEVER)
        .connectTimeout(connectTimeout)
        .executor(Executors.newVirtualThreadPerTaskExecutor())
        .build();
  }

  /**
   * The config this function calls.
   *
   * @return the config
   */
  public HttpFunctionConfig config() {
    return config;
  }

  /**
   * The job's limiter; the server changes its ceiling when the job's {@code maxConcurrency}
   * changes.
   *
   * @return the limiter
   */
  public CallLimiter limiter() {
    return limiter;
  }

  /**
   * Calls the function once for one item.
   *
   * @param item the item, sent as the JSON body (null is sent as JSON null)
   * @param context the attempt: job, index, attempt number, deadline
   * @return the answer's JSON (a string when it was not JSON, null when empty)
   * @throws CallException when the call failed; see its code
   * @throws InterruptedException when the thread was interrupted; the exchange is cancelled
   */
  @Override
  public JsonNode apply(JsonNode item, TaskContext context) throws InterruptedException {
    return call(item == null ? NullNode.instance : item, context, 0);
  }

  /**
   * Calls the function once for a batch: the body is a JSON array of the items, and the answer must
   * be a JSON array of one result per item, in the same order.
   *
   * @param items the batch, never empty
   * @param context the attempt; its index is the batch's first
   * @return the results, one per item
   * @throws CallException when the call failed, or with {@code invalid_response} (not retryable)
   *     when the answer is not an array of the batch's length
   * @throws InterruptedException when the thread was interrupted; the exchange is cancelled
   */
  public List<JsonNode> applyBatch(List<JsonNode> items, TaskContext context)
      throws InterruptedException {
    if (items.isEmpty()) {
      throw new IllegalArgumentException("a batch must hold at least one item");
    }
    ArrayNode body = JsonNodeFactory.instance.arrayNode(items.size());
    for (JsonNode item : items) {
      body.add(item == null ? NullNode.instance : item);
    }
    JsonNode answer = call(body, context, items.size());
    if (!answer.isArray() || answer.size() != items.size()) {
      throw new CallException(
          CallException.INVALID_RESPONSE,
          null,
          false,
          null,
          target
              + " answered a batch of "
              + items.size()
              + " items with "
              + (answer.isArray()
                  ? "an array of " + answer.size()
                  : answer.getNodeType().toString().toLowerCase(Locale.ROOT))
              + "; expected a JSON array of one result per item",
          null);
    }
    List<JsonNode> results = new ArrayList<>(answer.size());
    answer.forEach(results::add);
    return results;
  }

  /**
   * This function as the engine's batch function type.
   *
   * @return a view calling {@link #applyBatch}
   */
  public BatchFunction<JsonNode, JsonNode> asBatchFunction() {
    return this::applyBatch;
  }

  private JsonNode call(JsonNode body, TaskContext context, int batchSize)
      throws InterruptedException {
    byte[] bytes;
    try {
      bytes = MAPPER.writeValueAsBytes(body);
    } catch (JsonProcessingException e) {
      throw new CallException(
          CallException.CALL_ERROR, null, false, null, "could not encode the item as JSON", e);
    }
    if (Thread.interrupted() || context.isCancelled()) {
      throw new InterruptedException(target + " not sent: the attempt was cancelled");
    }
    try (CallLimiter.Permit permit = limiter.acquire()) {
      Duration timeout = timeout(context);
      HttpRequest request = request(bytes, context, batchSize, timeout);
      CompletableFuture<HttpResponse<byte[]>> exchange =
          client.sendAsync(request, info -> bodySubscriber(info));
      HttpResponse<byte[]> response;
      try {
        response = exchange.get(timeout.toNanos(), TimeUnit.NANOSECONDS);
      } catch (InterruptedException e) {
        exchange.cancel(true);
        throw e;
      } catch (TimeoutException e) {
        exchange.cancel(true);
        throw timedOut(timeout, e);
      } catch (ExecutionException e) {
        throw classify(e.getCause(), timeout);
      }
      int status = response.statusCode();
      if (status >= 200 && status < 300) {
        permit.succeeded();
        return parse(response);
      }
      if (status == 429 || status == 503) {
        permit.overloaded();
      }
      throw httpError(response);
    }
  }

  private Duration timeout(TaskContext context) {
    Duration timeout = config.timeout();
    Optional<Instant> deadline = context.deadline();
    if (deadline.isPresent()) {
      Duration left = Duration.between(clock.instant(), deadline.get());
      if (left.compareTo(Duration.ofMillis(1)) < 0) {
        throw new CallException(
            CallException.TIMEOUT,
            null,
            true,
            null,
            target + " not sent: the attempt's deadline has passed",
            null);
      }
      if (left.compareTo(timeout) < 0) {
        timeout = left;
      }
    }
    return timeout;
  }

  private HttpRequest request(byte[] body, TaskContext context, int batchSize, Duration timeout) {
    String job = context.jobId().value();
    HttpRequest.Builder request =
        HttpRequest.newBuilder(config.url())
            .POST(HttpRequest.BodyPublishers.ofByteArray(body))
            .timeout(timeout)
            .header("Content-Type", "application/json")
            .header("Accept", "application/json")
            .header("X-Fanout-Job", job)
            .header("X-Fanout-Index", Long.toString(context.index()))
            .header("X-Fanout-Attempt", Integer.toString(context.attempt()))
            .header("Idempotency-Key", job + ":" + context.index());
    if (batchSize > 0) {
      request.header("X-Fanout-Batch-Size", Integer.toString(batchSize));
    }
    if (traceparent != null) {
      request.header("traceparent", traceparent);
    }
    // setHeader: a configured Content-Type or Accept (a vendor JSON type) replaces ours.
    config.headers().forEach(request::setHeader);
    return request.build();
  }

  private HttpResponse.BodySubscriber<byte[]> bodySubscriber(HttpResponse.ResponseInfo info) {
    boolean success = info.statusCode() >= 200 && info.statusCode() < 300;
    long limit = success ? maxResponseBytes : ERROR_BODY_DRAIN_BYTES;
    OptionalLong declared = info.headers().firstValueAsLong("Content-Length");
    boolean tooLarge = declared.isPresent() && declared.getAsLong() > limit;
    return new BoundedBody(limit, success, tooLarge);
  }

  private JsonNode parse(HttpResponse<byte[]> response) {
    byte[] body = response.body();
    if (body == null || body.length == 0) {
      return NullNode.instance;
    }
    try {
      JsonNode json = MAPPER.readTree(body);
      return json == null || json.isMissingNode() ? NullNode.instance : json;
    } catch (IOException notJson) {
      return TextNode.valueOf(new String(body, charset(response)));
    }
  }

  private static Charset charset(HttpResponse<?> response) {
    String type = response.headers().firstValue("Content-Type").orElse("");
    for (String part : type.split(";")) {
      String p = part.strip();
      if (p.regionMatches(true, 0, "charset=", 0, 8)) {
        try {
          return Charset.forName(p.substring(8).replace("\"", "").strip());
        } catch (RuntimeException unknown) {
          return StandardCharsets.UTF_8;
        }
      }
    }
    return StandardCharsets.UTF_8;
  }

  private CallException httpError(HttpResponse<?> response) {
    int status = response.statusCode();
    boolean retryable = status == 408 || status == 429 || status >= 500;
    Duration retryAfter =
        response
            .headers()
            .firstValue("Retry-After")
            .map(v -> parseRetryAfter(v, clock))
            .orElse(null);
    String message = target + " answered " + status;
    if (status >= 300 && status < 400) {
      message += " (redirects are not followed)";
    }
    if (retryAfter != null) {
      message += ", retry after " + retryAfter.toMillis() + " ms";
    }
    return new CallException(
        CallException.HTTP_ERROR, status, retryable, retryAfter, message, null);
  }

  /**
   * Reads a {@code Retry-After} value: delay-seconds or an HTTP date (RFC 9110, section 10.2.3).
   *
   * @param value the header's value
   * @param clock the clock an HTTP date is measured against
   * @return the delay, never negative; null when the value is neither form
   */
  static Duration parseRetryAfter(String value, Clock clock) {
    String v = value.strip();
    if (!v.isEmpty() && v.chars().allMatch(c -> c >= '0' && c <= '9')) {
      try {
        return Duration.ofSeconds(Long.parseLong(v));
      } catch (NumberFormatException tooBig) {
        return null;
      }
    }
    try {
      Instant at = ZonedDateTime.parse(v, DateTimeFormatter.RFC_1123_DATE_TIME).toInstant();
      Duration delay = Duration.between(clock.instant(), at);
      return delay.isNegative() ? Duration.ZERO : delay;
    } catch (DateTimeParseException e) {
      return null;
    }
  }

  private CallException classify(Throwable failure, Duration timeout) {
    for (Throwable t = failure; t != null; t = t.getCause()) {
      if (t instanceof ResponseTooLargeException) {
        return new CallException(
            CallException.RESPONSE_TOO_LARGE,
            200,
            false,
            null,
            target
                + " answered with a body larger than the limit of "
                + maxResponseBytes
                + " bytes",
            failure);
      }
    }
    for (Throwable t = failure; t != null; t = t.getCause()) {
      if (t instanceof HttpConnectTimeoutException) {
        return new CallException(
            CallException.CONNECT_ERROR,
            null,
            true,
            null,
            target + " could not connect in time",
            failure);
      }
      if (t instanceof HttpTimeoutException) {
        return timedOut(timeout, failure);
      }
      if (t instanceof UnknownHostException || t instanceof UnresolvedAddressException) {
        // The resolver guard's reason is lost inside the client; say both possibilities.
        return new CallException(
            CallException.CONNECT_ERROR,
            null,
            true,
            null,
            target
                + " could not connect: host '"
                + config.url().getHost()
                + "' did not resolve to an address Fanout may call (link-local and metadata"
                + " addresses are refused)",
            failure);
      }
    }
    for (Throwable t = failure; t != null; t = t.getCause()) {
      if (t instanceof ConnectException || t instanceof NoRouteToHostException) {
        return new CallException(
            CallException.CONNECT_ERROR,
            null,
            true,
            null,
            target + " could not connect: " + reason(t),
            failure);
      }
    }
    if (failure instanceof IOException) {
      return new CallException(
          CallException.IO_ERROR,
          null,
          true,
          null,
          target + " failed during the exchange: " + reason(failure),
          failure);
    }
    return new CallException(
        CallException.CALL_ERROR,
        null,
        false,
        null,
        target + " could not be sent: " + reason(failure),
        failure);
  }

  private CallException timedOut(Duration timeout, Throwable cause) {
    return new CallException(
        CallException.TIMEOUT,
        null,
        true,
        null,
        target + " did not answer within " + timeout.toMillis() + " ms",
        cause);
  }

  private static String reason(Throwable t) {
    String message = t.getMessage();
    return message == null || message.isBlank() ? t.getClass().getSimpleName() : message;
  }

  // Without the query: it may hold an API key, and messages are stored and served to clients.
  private static String describe(URI url) {
    return url.getScheme()
        + "://"
        + url.getRawAuthority()
        + (url.getRawPath() == null ? "" : url.getRawPath());
  }

  /** Builds an {@link HttpFunction}; every option but the config and the client is optional. */
  public static final class Builder {
    private final HttpFunctionConfig config;
    private final HttpClient client;
    private CallLimiter limiter;
    private String traceparent;
    private long maxResponseBytes = DEFAULT_MAX_RESPONSE_BYTES;
    private Clock clock = Clock.systemUTC();

    private Builder(HttpFunctionConfig config, HttpClient client) {
      this.config = Objects.requireNonNull(config, "config");
      this.client = Objects.requireNonNull(client, "client");
      if (client.followRedirects() != HttpClient.Redirect.NEVER) {
        throw new IllegalArgumentException(
            "the HTTP client must not follow redirects (a redirect could bypass the URL guard)");
      }
    }

    /**
     * The job's limiter (rate limit and adaptive concurrency). Without one, the function makes its
     * own from the config's rate and {@link #DEFAULT_MAX_CONCURRENCY}.
     *
     * @param limiter the job's limiter, shared by all of its attempts in this process
     * @return this builder
     */
    public Builder limiter(CallLimiter limiter) {
      this.limiter = Objects.requireNonNull(limiter, "limiter");
      return this;
    }

    /**
     * The W3C trace context the job was submitted with, passed on to every call.
     *
     * @param traceparent a {@code traceparent} value, or null for none
     * @return this builder
     * @throws IllegalArgumentException when it is not a valid {@code traceparent}
     */
    public Builder traceparent(String traceparent) {
      if (traceparent != null && !TRACEPARENT.matcher(traceparent).matches()) {
        throw new IllegalArgumentException(
            "traceparent must look like 00-<32 hex>-<16 hex>-<2 hex>");
      }
      this.traceparent = traceparent;
      return this;
    }

    /**
     * The largest response body accepted; a larger one fails the call with {@code
     * response_too_large}.
     *
     * @param maxResponseBytes the limit in bytes, at least 1
     * @return this builder
     * @throws IllegalArgumentException when it is below 1
     */
    public Builder maxResponseBytes(long maxResponseBytes) {
      if (maxResponseBytes < 1) {
        throw new IllegalArgumentException(
            "maxResponseBytes must be at least 1, got " + maxResponseBytes);
      }
      this.maxResponseBytes = maxResponseBytes;
      return this;
    }

    /**
     * The clock for deadlines and {@code Retry-After} dates; tests inject a fixed one.
     *
     * @param clock the clock
     * @return this builder
     */
    public Builder clock(Clock clock) {
      this.clock = Objects.requireNonNull(clock, "clock");
      return this;
    }

    /**
     * Builds the function.
     *
     * @return the function
     */
    public HttpFunction build() {
      return new HttpFunction(this);
    }
  }

  /** The body grew past the limit; fails the exchange and closes the connection. */
  static final class ResponseTooLargeException extends IOException {
    private static final long serialVersionUID = 1L;

    ResponseTooLargeException(long limit) {
      super("response body larger than " + limit + " bytes", null);
    }
  }

  /**
   * Collects a body up to a limit as it arrives. Past the limit a success fails with {@link
   * ResponseTooLargeException}; an error answer, whose body is dropped anyway, just stops reading.
   */
  private static final class BoundedBody implements HttpResponse.BodySubscriber<byte[]> {
    private final long limit;
    private final boolean keep;
    private final boolean tooLargeAlready;
    private final CompletableFuture<byte[]> result = new CompletableFuture<>();
    private final ByteArrayOutputStream bytes = new ByteArrayOutputStream();
    private Flow.Subscription subscription;
    private long size;

    BoundedBody(long limit, boolean keep, boolean tooLargeAlready) {
      this.limit = limit;
      this.keep = keep;
      this.tooLargeAlready = tooLargeAlready;
    }

    @Override
    public CompletionStage<byte[]> getBody() {
      return result;
    }

    @Override
    public void onSubscribe(Flow.Subscription subscription) {
      this.subscription = subscription;
      if (tooLargeAlready) {
        stop();
      } else {
        subscription.request(Long.MAX_VALUE);
      }
    }

    @Override
    public void onNext(List<ByteBuffer> buffers) {
      if (result.isDone()) {
        return;
      }
      for (ByteBuffer buffer : buffers) {
        size += buffer.remaining();
        if (size > limit) {
          stop();
          return;
        }
        if (keep) {
          byte[] chunk = new byte[buffer.remaining()];
          buffer.get(chunk);
          bytes.write(chunk, 0, chunk.length);
        }
      }
    }

    private void stop() {
      subscription.cancel();
      if (keep) {
        result.completeExceptionally(new ResponseTooLargeException(limit));
      } else {
        result.complete(null);
      }
    }

    @Override
    public void onError(Throwable throwable) {
      result.completeExceptionally(throwable);
    }

    @Override
    public void onComplete() {
      result.complete(keep ? bytes.toByteArray() : null);
    }
  }
}
