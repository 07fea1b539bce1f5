package dev.fanout.server.internal.call;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import com.fasterxml.jackson.databind.node.NullNode;
import com.fasterxml.jackson.databind.node.TextNode;
import dev.fanout.TaskContext;
import dev.fanout.TaskFunction;
import dev.fanout.server.internal.json.ExactJson;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.net.ConnectException;
import java.net.NoRouteToHostException;
import java.net.SocketTimeoutException;
import java.net.URI;
import java.net.UnknownHostException;
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
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.regex.Pattern;
import org.eclipse.jetty.client.BytesRequestContent;
import org.eclipse.jetty.client.HttpClient;
import org.eclipse.jetty.client.HttpRequestException;
import org.eclipse.jetty.client.HttpResponseException;
import org.eclipse.jetty.client.Request;
import org.eclipse.jetty.client.Response;
import org.eclipse.jetty.client.Result;
import org.eclipse.jetty.http.HttpCookieStore;
import org.eclipse.jetty.http.HttpField;
import org.eclipse.jetty.http.HttpFields;
import org.eclipse.jetty.http.HttpHeader;
import org.eclipse.jetty.http.HttpMethod;
import org.eclipse.jetty.util.thread.ScheduledExecutorScheduler;
import org.eclipse.jetty.util.thread.VirtualThreadPool;

/**
 * Calls one job's HTTP function: one POST per attempt with the item as the JSON body or, with a
 * batch size above 1, one POST per batch of concurrent attempts with a JSON array of their items.
 *
 * <p>Each request carries {@code X-Fanout-Job}, {@code X-Fanout-Index}, {@code X-Fanout-Attempt}
 * and {@code Idempotency-Key: <job>:<index>} so the callee can de-duplicate repeated attempts,
 * {@code X-Fanout-Node} naming the calling node when it has an ID, {@code traceparent} when the job
 * has one, and the configured headers. A batch is sent in ascending index order and also carries
 * {@code X-Fanout-Batch-Size}; its {@code X-Fanout-Index} lists the indexes in that order, runs of
 * consecutive ones as {@code first-last} (so a batch of a thousand neighbours is {@code 1000-1999},
 * not a header of several kilobytes), its {@code X-Fanout-Attempt} is the highest attempt number
 * among its items, and its key is {@code <job>:<that index list>}, the same whenever the same items
 * are sent together.
 *
 * <p>A 2xx answer is the result: its body parsed as JSON, or kept as a JSON string when it is not
 * JSON, or JSON null when empty. A batch's answer must be a JSON array of one result per item, in
 * the order sent, else every item fails with {@code bad_batch_response}. Anything else throws a
 * {@link CallException} whose code says whether a retry may help. The body is read as it streams in
 * and the call stops at the size limit (for a batch, the limit times its items, at most {@link
 * #MAX_BATCH_RESPONSE_BYTES}), so a runaway function cannot exhaust the server's heap.
 *
 * <p>The call's timeout is the config's, counted from when the call is sent (a job's timeoutMs
 * reaches the config, not the engine's attempt timer, so waiting for the rate or a slot never times
 * an item out), cut to the attempt's deadline, which is its job's (for a batch, the latest of its
 * items' deadlines; an item stopped before its batch's answer leaves the batch, which goes on for
 * the others). An interrupted call (the engine cancels attempts that way) aborts the exchange and
 * throws {@link InterruptedException} at once, since the request runs on the client's own threads
 * and this thread only waits for it.
 *
 * <p>One instance per job: it holds the job's {@link CallLimiter}, which counts calls (a batch is
 * one), and its {@link CallBatcher}. The client is Jetty's: in a loop of calls it spent about 0.06
 * ms of CPU per call where the JDK's {@code java.net.http} client spent 0.1, and on a small machine
 * that CPU, not the function's latency, bounded a server making thousands of calls a second. It is
 * shared by all jobs, for connection reuse, and must not follow redirects: a redirect to a literal
 * metadata address would slip past the {@link UrlGuard}.
 */
public final class HttpFunction implements TaskFunction<JsonNode, JsonNode> {

  /** The response size limit when none is set: 1 MiB. */
  public static final long DEFAULT_MAX_RESPONSE_BYTES = 1 << 20;

  /**
   * The most a batch's answer may hold, whatever its size: the per-item limit times the batch's
   * items keeps a batch's memory within what its items would use one by one, and this bounds a
   * single buffer.
   */
  public static final long MAX_BATCH_RESPONSE_BYTES = 64L << 20;

  /** The limiter's ceiling when none is given: the engine's default {@code maxConcurrency}. */
  public static final int DEFAULT_MAX_CONCURRENCY = 1000;

  /** The most items per batch a job may ask for. */
  public static final int MAX_BATCH_SIZE = 10_000;

  /** How long a batch that is not full waits for more items, when not configured: 5 ms. */
  public static final Duration DEFAULT_BATCH_LINGER = Duration.ofMillis(5);

  /**
   * The longest linger accepted: a batch waits for items that are already running, not for more.
   */
  public static final Duration MAX_BATCH_LINGER = Duration.ofSeconds(10);

  // An error body is read only this far (and then dropped) so the connection can be reused.
  private static final long ERROR_BODY_DRAIN_BYTES = 64 * 1024;

  // Connections per host: about what one process may keep open (20,000 files on the machines we
  // test on); calls beyond it wait for a free connection.
  private static final int MAX_CONNECTIONS_PER_HOST = 16_384;

  // Calls waiting for a connection to a host, beyond which a call fails at once.
  private static final int MAX_QUEUED_PER_HOST = 1 << 20;

  // A request's headers: up to 64 configured ones of 8,192 characters, and a batch's index list
  // twice (X-Fanout-Index and Idempotency-Key) for up to 10,000 indexes. Jetty's default is 8 KiB.
  private static final int MAX_REQUEST_HEADERS_BYTES = 2 << 20;

  // A response's headers, as the JDK's client bounds them: a function cannot fill the heap with
  // headers any more than with a body. (Jetty's default is no bound.)
  private static final int MAX_RESPONSE_HEADERS_BYTES = 384 * 1024;

  // How long the client keeps a host it no longer calls, so hosts called once do not pile up.
  private static final long DESTINATION_IDLE_MILLIS = 60_000;

  private static final Pattern TRACEPARENT =
      Pattern.compile("[0-9a-f]{2}-[0-9a-f]{32}-[0-9a-f]{16}-[0-9a-f]{2}(-[0-9a-zA-Z_.-]*)?");

  private static final ObjectMapper MAPPER =
      ExactJson.builder().enable(DeserializationFeature.FAIL_ON_TRAILING_TOKENS).build();

  private final HttpFunctionConfig config;
  private final HttpClient client;
  private final CallLimiter limiter;
  private final String traceparent;
  private final String nodeId;
  private final long maxResponseBytes;
  private final Clock clock;
  private final String target;
  private final int batchSize;
  private final CallBatcher batcher;

  private HttpFunction(Builder builder) {
    this.config = builder.config;
    this.client = builder.client;
    this.batchSize = builder.batchSize;
    this.limiter =
        builder.limiter != null
            ? builder.limiter
            : new CallLimiter(
                callsFor(builder.maxConcurrency, batchSize), config.rateLimitPerSecond());
    this.traceparent = builder.traceparent;
    this.nodeId = builder.nodeId;
    this.maxResponseBytes = builder.maxResponseBytes;
    this.clock = builder.clock;
    this.target = "POST " + describe(config.url());
    this.batcher =
        batchSize > 1
            ? new CallBatcher(
                batchSize,
                builder.batchLinger,
                builder.maxConcurrency,
                limiter,
                this::sendBatch,
                "fanout-batch " + describe(config.url()))
            : null;
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
   * threads, no cookies (a cookie one job's function set must not reach another job's calls),
   * bodies as sent (no {@code Accept-Encoding}: the size limit counts the bytes that arrive), and
   * every status handed back as it came (no authentication challenges answered). Every call that
   * the jobs' caps allow gets a connection of its own (up to {@value #MAX_CONNECTIONS_PER_HOST} per
   * host) rather than a queue behind a small pool. Headers are bounded as the JDK's client bounds
   * them. Share one across jobs so connections are reused; {@link #stopClient stop} it when the
   * server stops (until then its thread pool keeps the JVM alive, as a running server's does).
   *
   * @param connectTimeout how long connecting may take
   * @return the started client
   * @throws IllegalStateException when the client cannot start
   */
  public static HttpClient newClient(Duration connectTimeout) {
    return newClient(connectTimeout, Duration.ofSeconds(30));
  }

  /**
   * {@link #newClient(Duration)} with another idle timeout for pooled connections, so tests can
   * show that a call in flight is never cut by it.
   */
  static HttpClient newClient(Duration connectTimeout, Duration pooledIdleTimeout) {
    HttpClient client = new HttpClient();
    client.setFollowRedirects(false);
    client.setConnectTimeout(Math.max(1, connectTimeout.toMillis()));
    client.setIdleTimeout(pooledIdleTimeout.toMillis());
    client.setMaxConnectionsPerDestination(MAX_CONNECTIONS_PER_HOST);
    client.setMaxRequestsQueuedPerDestination(MAX_QUEUED_PER_HOST);
    client.setMaxRequestHeadersSize(MAX_REQUEST_HEADERS_BYTES);
    client.setMaxResponseHeadersSize(MAX_RESPONSE_HEADERS_BYTES);
    client.setDestinationIdleTimeout(DESTINATION_IDLE_MILLIS);
    VirtualThreadPool threads = new VirtualThreadPool();
    threads.setName("fanout-http");
    // Uncapped, as the JDK client's executor was: Jetty's default of 200 tasks at once would let
    // one job's slow DNS look-ups hold up every other job's answers.
    threads.setMaxConcurrentTasks(0);
    client.setExecutor(threads);
    client.setScheduler(new ScheduledExecutorScheduler("fanout-http-timer", true));
    client.setHttpCookieStore(new HttpCookieStore.Empty());
    client.setUserAgentField(new HttpField(HttpHeader.USER_AGENT, "Fanout"));
    try {
      client.start();
    } catch (Exception e) {
      throw new IllegalStateException("could not start the HTTP client for functions", e);
    }
    // Every answer goes to the caller as it came: no redirects, no 401 or 407 challenges answered
    // (a 401 without WWW-Authenticate would otherwise fail as a protocol violation), no gzip
    // asked for or decoded. start() installs those handlers and the decoder, so they go after it.
    client.getProtocolHandlers().clear();
    client.getContentDecoderFactories().clear();
    return client;
  }

  /**
   * Stops a client made by {@link #newClient}: open calls fail, connections close.
   *
   * @param client the client
   */
  public static void stopClient(HttpClient client) {
    try {
      client.stop();
    } catch (Exception e) {
      throw new IllegalStateException("could not stop the HTTP client for functions", e);
    }
  }

  /**
   * The calls a job may have in flight at most: its {@code maxConcurrency} counts items, and a call
   * carries up to {@code batchSize} of them.
   *
   * @param maxConcurrency the job's cap on items in flight, at least 1
   * @param batchSize the most items per call, at least 1
   * @return {@code ceil(maxConcurrency / batchSize)}
   */
  public static int callsFor(int maxConcurrency, int batchSize) {
    return Math.ceilDiv(maxConcurrency, batchSize);
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
   * The job's limiter; it counts calls, so with batches its ceiling is {@link #callsFor}.
   *
   * @return the limiter
   */
  public CallLimiter limiter() {
    return limiter;
  }

  /**
   * The most items per call.
   *
   * @return 1 when the job is not batched
   */
  public int batchSize() {
    return batchSize;
  }

  /**
   * Follows a change of the job's {@code maxConcurrency} while it runs: the limiter's ceiling moves
   * to {@link #callsFor} the new cap, and the batcher learns when no more items can arrive.
   *
   * @param maxConcurrency the job's new cap on items in flight, at least 1
   * @throws IllegalArgumentException when it is below 1
   */
  public void setMaxConcurrency(int maxConcurrency) {
    limiter.setMaxConcurrency(callsFor(maxConcurrency, batchSize));
    if (batcher != null) {
      batcher.setMaxItems(maxConcurrency);
    }
  }

  /**
   * Calls the function for one item: alone, or as part of a batch of the job's concurrent attempts
   * when the job is batched.
   *
   * @param item the item, sent as the JSON body or as an element of the batch's array (null is sent
   *     as JSON null)
   * @param context the attempt: job, index, attempt number, deadline
   * @return the answer's JSON (a string when it was not JSON, null when empty), or the item's
   *     element of the batch's answer
   * @throws CallException when the call failed; see its code
   * @throws InterruptedException when the thread was interrupted; a lone call's exchange is
   *     cancelled, a batched item leaves its batch (whose call is cancelled once every item left)
   */
  @Override
  public JsonNode apply(JsonNode item, TaskContext context) throws InterruptedException {
    JsonNode body = item == null ? NullNode.instance : item;
    if (batcher != null) {
      return batcher.call(body, context);
    }
    byte[] bytes = encode(body);
    if (Thread.interrupted() || context.isCancelled()) {
      throw new InterruptedException(target + " not sent: the attempt was cancelled");
    }
    try (CallLimiter.Permit permit = limiter.acquire()) {
      String job = context.jobId().value();
      String index = Long.toString(context.index());
      Call call =
          new Call(
              target,
              bytes,
              job,
              index,
              context.attempt(),
              0,
              timeout(context.deadline(), target),
              maxResponseBytes);
      return exchange(call, permit).json();
    }
  }

  /** Sends one batch the {@link CallBatcher} sealed, its entries in ascending index order. */
  private List<JsonNode> sendBatch(List<CallBatcher.Entry> batch, CallLimiter.Permit permit)
      throws InterruptedException {
    int n = batch.size();
    String label = target + " with a batch of " + n + (n == 1 ? " item" : " items");
    ArrayNode body = JsonNodeFactory.instance.arrayNode(n);
    long[] indexes = new long[n];
    int attempt = 0;
    Instant latest = null;
    boolean unbounded = false;
    for (int i = 0; i < n; i++) {
      TaskContext context = batch.get(i).context();
      body.add(batch.get(i).item());
      indexes[i] = context.index();
      attempt = Math.max(attempt, context.attempt());
      Optional<Instant> deadline = context.deadline();
      if (deadline.isEmpty()) {
        unbounded = true;
      } else if (latest == null || deadline.get().isAfter(latest)) {
        latest = deadline.get();
      }
    }
    Call call =
        new Call(
            label,
            encode(body),
            batch.get(0).context().jobId().value(),
            indexList(indexes),
            attempt,
            n,
            timeout(unbounded ? Optional.empty() : Optional.of(latest), label),
            batchResponseLimit(n));
    Answer answered = exchange(call, permit);
    JsonNode answer = answered.json();
    if (!answer.isArray() || answer.size() != n) {
      throw new CallException(
          CallException.BAD_BATCH_RESPONSE,
          answered.status(),
          false,
          null,
          label
              + " answered "
              + answered.status()
              + " with "
              + shape(answer)
              + "; expected a JSON array of "
              + (n == 1 ? "1 result" : n + " results")
              + ", one per item in the order sent",
          null);
    }
    List<JsonNode> results = new ArrayList<>(n);
    answer.forEach(results::add);
    return results;
  }

  /** The per-item limit times the items, at most MAX_BATCH_RESPONSE_BYTES, at least one item's. */
  private long batchResponseLimit(int items) {
    if (maxResponseBytes >= MAX_BATCH_RESPONSE_BYTES) {
      return maxResponseBytes;
    }
    return Math.min(MAX_BATCH_RESPONSE_BYTES, maxResponseBytes * items);
  }

  private static String shape(JsonNode answer) {
    if (answer.isArray()) {
      return "an array of " + answer.size();
    }
    return switch (answer.getNodeType()) {
      case NULL -> "an empty body or null";
      case STRING -> "a string (or a body that is not JSON)";
      case OBJECT -> "an object";
      case NUMBER -> "a number";
      case BOOLEAN -> "a boolean";
      default -> answer.getNodeType().toString().toLowerCase(Locale.ROOT);
    };
  }

  /**
   * The indexes of a batch as {@code X-Fanout-Index} shows them: in the given (ascending) order,
   * comma-separated, each run of two or more consecutive indexes as {@code first-last}.
   *
   * @param indexes ascending indexes
   * @return such as {@code 3-5,9}
   */
  static String indexList(long[] indexes) {
    StringBuilder out = new StringBuilder();
    int i = 0;
    while (i < indexes.length) {
      int j = i;
      while (j + 1 < indexes.length && indexes[j + 1] == indexes[j] + 1) {
        j++;
      }
      if (!out.isEmpty()) {
        out.append(',');
      }
      out.append(indexes[i]);
      if (j > i) {
        out.append('-').append(indexes[j]);
      }
      i = j + 1;
    }
    return out.toString();
  }

  private static byte[] encode(JsonNode body) {
    try {
      return MAPPER.writeValueAsBytes(body);
    } catch (JsonProcessingException e) {
      throw new CallException(
          CallException.CALL_ERROR, null, false, null, "could not encode the item as JSON", e);
    }
  }

  /**
   * One request: what to send and how to name it in messages.
   *
   * @param label the call as messages name it, such as {@code POST http://host/f}
   * @param body the encoded body
   * @param job the job's id
   * @param index the {@code X-Fanout-Index} value
   * @param attempt the {@code X-Fanout-Attempt} value
   * @param batchSize the items of a batch, or 0 for a lone item
   * @param timeout how long the call may take
   * @param responseLimit the most bytes a 2xx answer may have
   */
  private record Call(
      String label,
      byte[] body,
      String job,
      String index,
      int attempt,
      int batchSize,
      Duration timeout,
      long responseLimit) {}

  /** A 2xx answer: its status and its body as JSON. */
  private record Answer(int status, JsonNode json) {}

  private Answer exchange(Call call, CallLimiter.Permit permit) throws InterruptedException {
    Request request = request(call);
    Reception reception = new Reception(call.responseLimit());
    request.send(reception);
    Received response;
    try {
      // The request's own timeout ends the exchange, so this wait needs none. A timed wait costs a
      // virtual thread a timer, scheduled and cancelled in the JDK's delay scheduler, per call:
      // about 5 % of the runner's CPU outside the JIT in a profile of benchmark scenario 4.
      response = reception.result.get();
    } catch (InterruptedException e) {
      request.abort(e);
      throw e;
    } catch (ExecutionException e) {
      throw classify(e.getCause(), call);
    }
    int status = response.status();
    if (status >= 200 && status < 300) {
      permit.succeeded();
      return new Answer(status, parse(response));
    }
    if (status == 429 || status == 503) {
      permit.overloaded();
    }
    throw httpError(response, call.label());
  }

  private Duration timeout(Optional<Instant> deadline, String label) {
    Duration timeout = config.timeout();
    if (deadline.isPresent()) {
      Duration left = Duration.between(clock.instant(), deadline.get());
      if (left.compareTo(Duration.ofMillis(1)) < 0) {
        throw new CallException(
            CallException.TIMEOUT,
            null,
            true,
            null,
            label + " not sent: the attempt's deadline has passed",
            null);
      }
      if (left.compareTo(timeout) < 0) {
        timeout = left;
      }
    }
    return timeout;
  }

  private Request request(Call call) {
    long timeoutMillis = Math.max(1, call.timeout().toMillis());
    return client
        .newRequest(config.url())
        .method(HttpMethod.POST)
        .body(new BytesRequestContent(call.body()))
        .timeout(timeoutMillis, TimeUnit.MILLISECONDS)
        // A function may think in silence for its whole timeout: the client's idle timeout is for
        // pooled connections, and would otherwise cut a call in flight after 30 s.
        .idleTimeout(timeoutMillis, TimeUnit.MILLISECONDS)
        .headers(
            headers -> {
              headers.put(HttpHeader.CONTENT_TYPE, "application/json");
              headers.put(HttpHeader.ACCEPT, "application/json");
              headers.put("X-Fanout-Job", call.job());
              headers.put("X-Fanout-Index", call.index());
              headers.put("X-Fanout-Attempt", Integer.toString(call.attempt()));
              headers.put("Idempotency-Key", call.job() + ":" + call.index());
              if (call.batchSize() > 0) {
                headers.put("X-Fanout-Batch-Size", Integer.toString(call.batchSize()));
              }
              if (nodeId != null) {
                headers.put("X-Fanout-Node", nodeId);
              }
              if (traceparent != null) {
                headers.put("traceparent", traceparent);
              }
              // put replaces: a configured Content-Type or Accept (a vendor JSON type) wins.
              config.headers().forEach(headers::put);
            });
  }

  private JsonNode parse(Received response) {
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

  private static Charset charset(Received response) {
    String type = response.headers().get(HttpHeader.CONTENT_TYPE);
    if (type == null) {
      return StandardCharsets.UTF_8;
    }
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

  private CallException httpError(Received response, String label) {
    int status = response.status();
    boolean retryable = status == 408 || status == 429 || status >= 500;
    String retryAfterValue = response.headers().get(HttpHeader.RETRY_AFTER);
    Duration retryAfter = retryAfterValue == null ? null : parseRetryAfter(retryAfterValue, clock);
    String message = label + " answered " + status;
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

  private CallException classify(Throwable failure, Call call) {
    for (Throwable t = failure; t != null; t = t.getCause()) {
      if (t instanceof ResponseTooLargeException) {
        return new CallException(
            CallException.RESPONSE_TOO_LARGE,
            200,
            false,
            null,
            call.label()
                + " answered with a body larger than the limit of "
                + call.responseLimit()
                + " bytes",
            failure);
      }
    }
    for (Throwable t = failure; t != null; t = t.getCause()) {
      // Jetty's connect timeout; its request timeout is a TimeoutException.
      if (t instanceof SocketTimeoutException) {
        return new CallException(
            CallException.CONNECT_ERROR,
            null,
            true,
            null,
            call.label() + " could not connect in time",
            failure);
      }
      if (t instanceof TimeoutException) {
        return timedOut(call, failure);
      }
      if (t instanceof UnknownHostException || t instanceof UnresolvedAddressException) {
        // The resolver guard's reason is lost inside the client; say both possibilities.
        return new CallException(
            CallException.CONNECT_ERROR,
            null,
            true,
            null,
            call.label()
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
            call.label() + " could not connect: " + reason(t),
            failure);
      }
    }
    // A malformed answer (status line, header, chunk): retryable, as any broken exchange.
    if (failure instanceof IOException
        || failure instanceof HttpResponseException
        || failure instanceof HttpRequestException) {
      return new CallException(
          CallException.IO_ERROR,
          null,
          true,
          null,
          call.label() + " failed during the exchange: " + reason(failure),
          failure);
    }
    return new CallException(
        CallException.CALL_ERROR,
        null,
        false,
        null,
        call.label() + " could not be sent: " + reason(failure),
        failure);
  }

  private static CallException timedOut(Call call, Throwable cause) {
    return new CallException(
        CallException.TIMEOUT,
        null,
        true,
        null,
        call.label() + " did not answer within " + call.timeout().toMillis() + " ms",
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
    private String nodeId;
    private long maxResponseBytes = DEFAULT_MAX_RESPONSE_BYTES;
    private Clock clock = Clock.systemUTC();
    private int maxConcurrency = DEFAULT_MAX_CONCURRENCY;
    private int batchSize = 1;
    private Duration batchLinger = DEFAULT_BATCH_LINGER;

    private Builder(HttpFunctionConfig config, HttpClient client) {
      this.config = Objects.requireNonNull(config, "config");
      this.client = Objects.requireNonNull(client, "client");
      if (client.isFollowRedirects()) {
        throw new IllegalArgumentException(
            "the HTTP client must not follow redirects (a redirect could bypass the URL guard)");
      }
    }

    /**
     * The job's limiter (rate limit and adaptive concurrency), one permit per call. Without one,
     * the function makes its own from the config's rate and {@link #callsFor} its {@code
     * maxConcurrency}.
     *
     * @param limiter the job's limiter, shared by all of its attempts in this process
     * @return this builder
     */
    public Builder limiter(CallLimiter limiter) {
      this.limiter = Objects.requireNonNull(limiter, "limiter");
      return this;
    }

    /**
     * The job's {@code maxConcurrency}: the most of its items in flight. It sets the ceiling of the
     * limiter this function makes ({@link #callsFor} it), and tells the batcher when no more items
     * can arrive.
     *
     * @param maxConcurrency at least 1 (default {@link #DEFAULT_MAX_CONCURRENCY})
     * @return this builder
     * @throws IllegalArgumentException when it is below 1
     */
    public Builder maxConcurrency(int maxConcurrency) {
      if (maxConcurrency < 1) {
        throw new IllegalArgumentException(
            "maxConcurrency must be at least 1, got " + maxConcurrency);
      }
      this.maxConcurrency = maxConcurrency;
      return this;
    }

    /**
     * Sends the job's items in batches: the attempts that run at once are gathered into calls of up
     * to {@code size} items, each sent when full, when the job's whole {@code maxConcurrency} is
     * waiting, or {@code linger} after its first item arrived.
     *
     * @param size the most items per call, 1 (no batching, the default) to {@link #MAX_BATCH_SIZE}
     * @param linger how long a batch that is not full waits for more items, zero to {@link
     *     #MAX_BATCH_LINGER} (default {@link #DEFAULT_BATCH_LINGER})
     * @return this builder
     * @throws IllegalArgumentException when a value is out of range
     */
    public Builder batch(int size, Duration linger) {
      if (size < 1 || size > MAX_BATCH_SIZE) {
        throw new IllegalArgumentException(
            "batchSize must be between 1 and " + MAX_BATCH_SIZE + ", got " + size);
      }
      checkLinger(linger);
      this.batchSize = size;
      this.batchLinger = linger;
      return this;
    }

    /**
     * Checks a batch linger.
     *
     * @param linger the linger
     * @throws IllegalArgumentException when negative or above {@link #MAX_BATCH_LINGER}
     */
    public static void checkLinger(Duration linger) {
      Objects.requireNonNull(linger, "batchLinger");
      if (linger.isNegative() || linger.compareTo(MAX_BATCH_LINGER) > 0) {
        throw new IllegalArgumentException(
            "batchLinger must be between 0 and "
                + MAX_BATCH_LINGER.toMillis()
                + " ms, got "
                + linger);
      }
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
     * The ID of the node that makes the calls, sent as {@code X-Fanout-Node} so the callee (and its
     * logs) can tell which node of a cluster called it.
     *
     * @param nodeId the node's ID, or null to send no such header
     * @return this builder
     * @throws IllegalArgumentException when it is empty or holds anything but visible ASCII
     */
    public Builder nodeId(String nodeId) {
      if (nodeId != null && !isHeaderSafe(nodeId)) {
        throw new IllegalArgumentException(
            "nodeId must be 1 to 100 visible ASCII characters, got '" + nodeId + "'");
      }
      this.nodeId = nodeId;
      return this;
    }

    /**
     * Tells whether a node ID can be sent as a header value as it is.
     *
     * @param nodeId the ID
     * @return true for 1 to 100 visible ASCII characters
     */
    public static boolean isHeaderSafe(String nodeId) {
      return !nodeId.isEmpty()
          && nodeId.length() <= 100
          && nodeId.chars().allMatch(c -> c > 0x20 && c < 0x7f);
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

  /** A response as read: its status, its headers and its body (null for an error's). */
  private record Received(int status, HttpFields headers, byte[] body) {}

  /**
   * Reads a response as it streams in, up to its limit: a 2xx body past the limit fails the call
   * with {@link ResponseTooLargeException}, an error body is read up to {@link
   * #ERROR_BODY_DRAIN_BYTES} and dropped (its status and headers are all a failure needs). Either
   * way the exchange stops there, whether or not the length was declared.
   */
  private static final class Reception implements Response.Listener {
    final CompletableFuture<Received> result = new CompletableFuture<>();
    private final long responseLimit;
    private ByteArrayOutputStream bytes;
    private long limit;
    private long size;

    Reception(long responseLimit) {
      this.responseLimit = responseLimit;
    }

    // Jetty logs and swallows what a listener throws, so each one completes the result itself
    // with its failure: the caller waits for the result without a timer of its own.

    @Override
    public void onHeaders(Response response) {
      try {
        headers(response);
      } catch (RuntimeException | Error e) {
        fail(response, e);
      }
    }

    @Override
    public void onContent(Response response, ByteBuffer content) {
      try {
        content(response, content);
      } catch (RuntimeException | Error e) {
        fail(response, e);
      }
    }

    private void fail(Response response, Throwable e) {
      result.completeExceptionally(e);
      response.abort(e);
    }

    private void headers(Response response) {
      int status = response.getStatus();
      boolean keep = status >= 200 && status < 300;
      limit = keep ? responseLimit : ERROR_BODY_DRAIN_BYTES;
      long declared = response.getHeaders().getLongField(HttpHeader.CONTENT_LENGTH);
      if (keep) {
        bytes = new ByteArrayOutputStream(Math.clamp(declared, 32, 64 * 1024));
      }
      if (declared > limit) {
        stop(response);
      }
    }

    private void content(Response response, ByteBuffer content) {
      if (result.isDone()) {
        return;
      }
      size += content.remaining();
      if (size > limit) {
        stop(response);
        return;
      }
      if (bytes != null) {
        if (content.hasArray()) {
          bytes.write(
              content.array(), content.arrayOffset() + content.position(), content.remaining());
        } else {
          byte[] chunk = new byte[content.remaining()];
          content.get(chunk);
          bytes.write(chunk, 0, chunk.length);
        }
      }
    }

    private void stop(Response response) {
      if (bytes != null) {
        ResponseTooLargeException tooLarge = new ResponseTooLargeException(limit);
        result.completeExceptionally(tooLarge);
        response.abort(tooLarge);
      } else {
        result.complete(new Received(response.getStatus(), response.getHeaders(), null));
        response.abort(new IOException("error body dropped after " + limit + " bytes"));
      }
    }

    @Override
    public void onComplete(Result outcome) {
      if (outcome.isFailed()) {
        result.completeExceptionally(outcome.getFailure());
        return;
      }
      try {
        Response response = outcome.getResponse();
        result.complete(
            new Received(
                response.getStatus(),
                response.getHeaders(),
                bytes == null ? null : bytes.toByteArray()));
      } catch (RuntimeException | Error e) {
        result.completeExceptionally(e);
      }
    }
  }
}
