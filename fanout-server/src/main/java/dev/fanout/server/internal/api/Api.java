package dev.fanout.server.internal.api;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.fanout.Engine;
import dev.fanout.IdempotencyConflictException;
import dev.fanout.JobHandle;
import dev.fanout.JobId;
import dev.fanout.JobState;
import dev.fanout.JobStatus;
import dev.fanout.server.FanoutServer.Limits;
import dev.fanout.server.FanoutServer.StreamSettings;
import dev.fanout.server.internal.ApiException;
import dev.fanout.server.internal.json.ExactJson;
import dev.fanout.server.internal.metrics.ServerMetrics;
import dev.fanout.server.internal.webhook.WebhookConsumer;
import dev.fanout.spi.JobRow;
import dev.fanout.spi.JobStore;
import dev.fanout.spi.NodeRow;
import dev.fanout.spi.StoredResult;
import dev.fanout.spi.TaskState;
import io.javalin.Javalin;
import io.javalin.compression.CompressionStrategy;
import io.javalin.http.Context;
import io.javalin.http.Handler;
import io.javalin.http.HandlerType;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.DigestInputStream;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;
import java.util.Locale;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/** The v1 HTTP API over an engine and its store: routes, authentication and the error model. */
public final class Api {
  private static final Logger log = LoggerFactory.getLogger(Api.class);

  /** An aggregate larger than this is left out of the job and served on its own. */
  static final int MAX_INLINE_AGGREGATE = 64 * 1024;

  static final int MAX_PAGE = 1_000;

  /** The longest {@code waitMs} a read of a job may ask for: a minute. */
  static final long MAX_WAIT_MS = 60_000;

  private static final int MAX_PATCH_BYTES = 64 * 1024;
  private static final long MAX_DRAIN_BYTES = 4L << 20;

  private final Engine engine;
  private final JobStore store;
  private final Limits limits;
  private final byte[] tokenHash;
  private final StreamSettings streams;
  private final Path spoolDir;
  private final Set<String> functions;
  private final Components components;
  private final ServerMetrics metrics;
  private final Node node;
  private final Clock clock;
  private final ObjectMapper json;
  private final SubmitParser parser;
  private final AtomicBoolean shuttingDown = new AtomicBoolean();
  private final JobWakeups wakeups;

  /**
   * This server as a node of its cluster, for {@code GET /v1/cluster}.
   *
   * @param id the node's ID, to mark its own row
   * @param lease its lease duration, past which a node's silence counts as lost
   */
  public record Node(String id, Duration lease) {}

  /**
   * Creates the API.
   *
   * @param engine the engine that runs the jobs
   * @param store the engine's store, read directly for results and aggregates
   * @param limits the request limits
   * @param token the bearer token every {@code /v1} route requires, or null for none
   * @param streams how event streams pace themselves
   * @param spoolDir where submissions' items wait while the body is read
   * @param functions the names a job's function may take
   * @param components the server's HTTP functions and jq transforms
   * @param metrics what {@code GET /metrics} serves
   * @param node this server as a node of its cluster
   * @param clock the time by which a node's heartbeat is judged
   */
  public Api(
      Engine engine,
      JobStore store,
      Limits limits,
      String token,
      StreamSettings streams,
      Path spoolDir,
      Set<String> functions,
      Components components,
      ServerMetrics metrics,
      Node node,
      Clock clock) {
    this.engine = engine;
    this.store = store;
    this.limits = limits;
    this.tokenHash = token == null ? null : sha256(token);
    this.streams = streams;
    this.spoolDir = spoolDir;
    this.functions = Set.copyOf(functions);
    this.components = components;
    this.metrics = metrics;
    this.node = node;
    this.clock = clock;
    this.json = ExactJson.mapper();
    this.parser = new SubmitParser(json, limits);
    this.wakeups = new JobWakeups(store.signals());
    // Last: a resumed delivery may use these views as soon as they are published.
    components.useViews(
        new WebhookConsumer.Views() {
          @Override
          public ObjectNode result(JobId job, long seq) {
            List<StoredResult> one = store.results(job, seq - 1, 1);
            return one.isEmpty() || one.get(0).seq() != seq ? null : resultView(one.get(0));
          }

          @Override
          public JsonNode job(JobId job) {
            return engine.job(job).map(h -> jobView(h, true)).orElse(null);
          }
        });
  }

  /** True when reading the request failed because the client closed it before its end. */
  static boolean clientWentAway(Throwable e) {
    for (Throwable t = e; t != null; t = t.getCause()) {
      if (t instanceof org.eclipse.jetty.io.EofException
          || (t instanceof java.io.IOException
              && String.valueOf(t.getMessage()).contains("Early EOF"))) {
        return true;
      }
    }
    return false;
  }

  /**
   * Builds the Javalin app with every route; the caller starts it.
   *
   * @return the app, not started
   */
  public Javalin create() {
    return Javalin.create(
        config -> {
          config.concurrency.useVirtualThreads = true;
          // Compression would buffer event streams; job payloads are JSON the client asked for.
          config.http.compressionStrategy = CompressionStrategy.NONE;
          config.startup.showJavalinBanner = false;
          config.routes.before("/v1/*", this::authenticate);
          config.routes.before("/v1", this::authenticate);
          // Metrics show the server's load and job counts: private like /v1, unlike /health.
          config.routes.before("/metrics", this::authenticate);
          for (Route r : routes()) {
            config.routes.addHttpHandler(r.method(), r.path(), r.handler());
          }
          // The dashboard: files inside the jar, open like /health (its API calls carry the token).
          config.routes.addHttpHandler(
              HandlerType.GET, "/", ctx -> dashboardFile(ctx, "index.html", "text/html"));
          config.routes.addHttpHandler(
              HandlerType.GET,
              "/dashboard.js",
              ctx -> dashboardFile(ctx, "dashboard.js", "text/javascript"));
          config.routes.addHttpHandler(
              HandlerType.GET,
              "/dashboard.css",
              ctx -> dashboardFile(ctx, "dashboard.css", "text/css"));
          config.routes.exception(ApiException.class, (e, ctx) -> error(ctx, e));
          config.routes.exception(
              Exception.class,
              (e, ctx) -> {
                if (clientWentAway(e)) {
                  // The client stopped sending its body (it gave up, or its own source failed):
                  // nothing was stored, and nobody is left to read a 500.
                  log.info("{} {}: the client closed the request early", ctx.method(), ctx.path());
                  error(
                      ctx,
                      ApiException.badRequest(
                          "incomplete_body", "the request body ended before it was complete"));
                  return;
                }
                log.error("{} {} failed", ctx.method(), ctx.path(), e);
                error(ctx, new ApiException(500, "internal_error", "the server failed: " + e));
              });
          config.routes.error(
              404,
              ctx -> {
                // Our own 404s are JSON already; Javalin's for an unknown route is plain text.
                String type = ctx.res().getContentType();
                if (type == null || !type.startsWith("application/json")) {
                  error(
                      ctx,
                      new ApiException(
                          404, "not_found", "no route " + ctx.method() + " " + ctx.path()));
                }
              });
        });
  }

  /** One route: its method, its path in Javalin's syntax, and its handler. */
  record Route(HandlerType method, String path, Handler handler) {}

  /**
   * Every route the API serves, in one list, so the OpenAPI document can be checked against it.
   *
   * @return the routes
   */
  List<Route> routes() {
    return List.of(
        new Route(HandlerType.POST, "/v1/jobs", this::submit),
        new Route(HandlerType.GET, "/v1/jobs", this::list),
        new Route(HandlerType.GET, "/v1/jobs/{id}", this::job),
        new Route(HandlerType.PATCH, "/v1/jobs/{id}", this::patch),
        new Route(HandlerType.DELETE, "/v1/jobs/{id}", this::delete),
        new Route(HandlerType.GET, "/v1/jobs/{id}/aggregate", this::aggregate),
        new Route(HandlerType.GET, "/v1/jobs/{id}/results", this::results),
        new Route(HandlerType.GET, "/v1/jobs/{id}/events", this::events),
        new Route(HandlerType.POST, "/v1/jobs/{id}/cancel", this::cancel),
        new Route(HandlerType.POST, "/v1/jobs/{id}/pause", ctx -> change(ctx, true)),
        new Route(HandlerType.POST, "/v1/jobs/{id}/resume", ctx -> change(ctx, false)),
        new Route(HandlerType.POST, "/v1/jobs/{id}/retry-failed", this::retryFailed),
        new Route(HandlerType.GET, "/v1/cluster", this::cluster),
        new Route(
            HandlerType.GET,
            "/health",
            ctx -> ctx.json(json.createObjectNode().put("status", "UP"))),
        new Route(
            HandlerType.GET,
            "/metrics",
            ctx -> ctx.contentType(ServerMetrics.CONTENT_TYPE).result(metrics.scrape())),
        new Route(HandlerType.GET, "/openapi.json", this::openApi));
  }

  /**
   * The method and path of every route, such as {@code GET /v1/jobs/{id}}, for the check that the
   * OpenAPI document lists exactly these.
   *
   * @return the routes, one string each
   */
  public List<String> routeNames() {
    return routes().stream().map(r -> r.method().name() + " " + r.path()).toList();
  }

  /**
   * Ends open event streams, so stopping the server does not wait for their clients, and stops
   * listening to the store's signals.
   */
  public void shutdown() {
    shuttingDown.set(true);
    wakeups.close();
  }

  // ------------------------------------------------------------------ auth and errors

  private void authenticate(Context ctx) {
    if (tokenHash == null) {
      return;
    }
    String header = ctx.header("Authorization");
    if (header == null) {
      throw new ApiException(401, "unauthorized", "missing Authorization: Bearer <token>");
    }
    if (!header.regionMatches(true, 0, "Bearer ", 0, 7)) {
      throw new ApiException(401, "unauthorized", "the Authorization header must be Bearer");
    }
    // Compare hashes, so the time taken says nothing about the token's length or prefix.
    if (!MessageDigest.isEqual(tokenHash, sha256(header.substring(7).strip()))) {
      throw new ApiException(401, "unauthorized", "the bearer token is not valid");
    }
  }

  private void error(Context ctx, ApiException e) {
    drainBody(ctx);
    ObjectNode body = json.createObjectNode();
    body.putObject("error").put("code", e.code()).put("message", e.getMessage());
    if (e.status() == 401) {
      ctx.header("WWW-Authenticate", "Bearer");
    }
    ctx.status(e.status()).contentType("application/json").result(body.toString());
  }

  /**
   * Reads and drops what is left of a refused request's body, up to a bound. Closing a connection
   * with unread bytes makes the kernel reset it, and the reset can destroy the error response
   * before the client reads it; a client that sends a large body should ask {@code Expect:
   * 100-continue}, and is then refused before it sends anything.
   */
  private static void drainBody(Context ctx) {
    long length = ctx.contentLength();
    if (length == 0 || length > MAX_DRAIN_BYTES) {
      return;
    }
    try {
      InputStream in = ctx.req().getInputStream();
      byte[] buffer = new byte[8192];
      long drained = 0;
      for (int n; drained < MAX_DRAIN_BYTES && (n = in.read(buffer)) > 0; ) {
        drained += n;
      }
    } catch (IOException | RuntimeException e) {
      // The client is gone or the stream is spent: nothing left to drain.
    }
  }

  private static byte[] sha256(String s) {
    return newSha256().digest(s.getBytes(StandardCharsets.UTF_8));
  }

  private static void requireJson(Context ctx) {
    String type = ctx.contentType();
    if (type == null) {
      throw new ApiException(
          415, "unsupported_media_type", "send the body with Content-Type: application/json");
    }
    String[] parts = type.toLowerCase(Locale.ROOT).split(";");
    if (!parts[0].strip().equals("application/json")) {
      throw new ApiException(
          415,
          "unsupported_media_type",
          "the body must be application/json, not " + parts[0].strip());
    }
    for (int i = 1; i < parts.length; i++) {
      int equals = parts[i].indexOf('=');
      if (equals < 0 || !parts[i].substring(0, equals).strip().equals("charset")) {
        continue;
      }
      // RFC 9110 allows the value quoted: charset="utf-8" is UTF-8 too.
      String charset = parts[i].substring(equals + 1).strip();
      if (charset.length() >= 2 && charset.startsWith("\"") && charset.endsWith("\"")) {
        charset = charset.substring(1, charset.length() - 1);
      }
      if (!charset.equals("utf-8") && !charset.equals("utf8")) {
        throw new ApiException(
            415, "unsupported_media_type", "the body must be UTF-8, not " + shorten(charset));
      }
    }
  }

  private void requireLength(Context ctx, long max) {
    long length = ctx.contentLength();
    if (length > max) {
      throw new ApiException(
          413,
          "body_too_large",
          "the body is " + length + " bytes; the limit is " + max + " bytes");
    }
  }

  // ------------------------------------------------------------------ submit

  private void submit(Context ctx) throws IOException {
    requireJson(ctx);
    requireLength(ctx, limits.maxBodyBytes());
    String idempotencyKey = idempotencyKey(ctx);
    Files.createDirectories(spoolDir);
    // The hash is taken as the parser streams the body, so the body is never held whole; the
    // parser reads to its end, since content after the object is refused.
    MessageDigest bodyDigest = idempotencyKey == null ? null : newSha256();
    InputStream in =
        bodyDigest == null
            ? ctx.bodyInputStream()
            : new DigestInputStream(ctx.bodyInputStream(), bodyDigest);
    SubmitParser.Parsed parsed = parser.parse(in, spoolDir);
    try {
      JobRequest request =
          JobRequest.parse(parsed.fields(), functions, components, traceparent(ctx));
      String bodyHash = bodyDigest == null ? null : HexFormat.of().formatHex(bodyDigest.digest());
      JobHandle<?> job;
      try (SubmitParser.SpoolReader items = parser.read(parsed.spool())) {
        job = engine.submit(request.toSpec(items, idempotencyKey, bodyHash));
      } catch (IllegalArgumentException e) {
        throw ApiException.invalid("invalid_value", e.getMessage());
      } catch (IdempotencyConflictException e) {
        throw new ApiException(409, "idempotency_conflict", e.getMessage());
      }
      String self = "/v1/jobs/" + job.id();
      ObjectNode body = json.createObjectNode();
      body.put("id", job.id().toString());
      body.put("status", JobState.ACCEPTED.name());
      body.put("total", parsed.itemCount());
      ObjectNode links = body.putObject("links");
      links.put("self", self);
      links.put("results", self + "/results");
      links.put("events", self + "/events");
      links.put("cancel", self + "/cancel");
      ctx.status(202).header("Location", self).json(body);
    } finally {
      Files.deleteIfExists(parsed.spool());
    }
  }

  /**
   * The request's Idempotency-Key, checked: 1 to 255 visible ASCII characters, since it is stored
   * and compared byte for byte; null when the header is absent.
   */
  private static String idempotencyKey(Context ctx) {
    String key = ctx.header("Idempotency-Key");
    if (key == null) {
      return null;
    }
    if (key.isEmpty() || key.length() > 255 || !key.chars().allMatch(c -> c > 0x20 && c < 0x7f)) {
      throw ApiException.badRequest(
          "invalid_value",
          "Idempotency-Key must be 1 to 255 visible ASCII characters (no spaces), got "
              + key.length()
              + " characters");
    }
    return key;
  }

  private static MessageDigest newSha256() {
    try {
      return MessageDigest.getInstance("SHA-256");
    } catch (NoSuchAlgorithmException e) {
      throw new IllegalStateException("the JDK has no SHA-256", e);
    }
  }

  /** A W3C trace context to pass on to the job's calls, when well formed. */
  private static String traceparent(Context ctx) {
    String t = ctx.header("traceparent");
    return t != null && t.matches("[0-9a-f]{2}-[0-9a-f]{32}-[0-9a-f]{16}-[0-9a-f]{2}") ? t : null;
  }

  // ------------------------------------------------------------------ jobs

  private JobHandle<?> handle(Context ctx) {
    String raw = ctx.pathParam("id");
    JobId id;
    try {
      id = JobId.of(raw);
    } catch (IllegalArgumentException e) {
      throw new ApiException(404, "job_not_found", "no job has the id '" + shorten(raw) + "'");
    }
    return engine
        .job(id)
        .orElseThrow(
            () -> new ApiException(404, "job_not_found", "no job has the id '" + id + "'"));
  }

  private static String shorten(String s) {
    return s.length() > 64 ? s.substring(0, 64) + "..." : s;
  }

  /**
   * A job as it is now; with {@code waitMs}, once it is final or that wait is over, whichever comes
   * first. A client that waits for the end this way reads the job once instead of again and again,
   * and learns of the end as soon as the server does.
   */
  private void job(Context ctx) {
    long waitMs = queryLong(ctx, "waitMs", 0, 0, MAX_WAIT_MS);
    JobHandle<?> job = handle(ctx);
    if (waitMs > 0) {
      awaitFinal(job, waitMs);
    }
    ctx.json(jobView(job, true));
  }

  /**
   * Waits until the job is final, the wait is over, or the server stops. The store's signals for
   * the job (its results and its end, from any node) wake the wait, which then reads the job's row
   * alone: not its outcome, which folds every result. A signal is only a hint, so the wait looks
   * again by itself at the event streams' poll interval, their fallback for a lost signal too.
   */
  private void awaitFinal(JobHandle<?> job, long waitMs) {
    long deadline = System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(waitMs);
    try (JobWakeups.Waiter waiter = wakeups.register(job.id())) {
      while (!shuttingDown.get()
          && !Thread.currentThread().isInterrupted()
          && !job.status().state().isFinal()) {
        long left = deadline - System.nanoTime();
        if (left <= 0) {
          return;
        }
        waiter.await(Duration.ofNanos(Math.min(left, streams.pollInterval().toNanos())));
      }
    }
  }

  private ObjectNode jobView(JobHandle<?> job, boolean withAggregate) {
    JobStatus s = job.status();
    return Views.job(
        s, withAggregate, withAggregate ? inlineAggregate(s) : null, job.metadata().orElse(null));
  }

  private JsonNode inlineAggregate(JobStatus s) {
    if (!s.state().isFinal()) {
      return json.nullNode();
    }
    String raw = store.job(s.id()).map(JobRow::aggregate).orElse(null);
    // The limit counts bytes as sent: a character may take up to three of them in UTF-8.
    if (raw == null
        || raw.length() > MAX_INLINE_AGGREGATE
        || raw.getBytes(StandardCharsets.UTF_8).length > MAX_INLINE_AGGREGATE) {
      return json.nullNode();
    }
    return parse(raw);
  }

  private void aggregate(Context ctx) {
    JobHandle<?> job = handle(ctx);
    JobStatus s = job.status();
    if (!s.state().isFinal()) {
      throw new ApiException(
          409, "job_not_final", "job " + s.id() + " is " + s.state() + "; it has no aggregate yet");
    }
    String raw = store.job(s.id()).map(JobRow::aggregate).orElse("null");
    ctx.contentType("application/json").result(raw == null ? "null" : raw);
  }

  private void list(Context ctx) {
    int limit = queryInt(ctx, "limit", 50, 1, MAX_PAGE);
    String statusParam = ctx.queryParam("status");
    JobState wanted = null;
    if (statusParam != null && !statusParam.isEmpty()) {
      try {
        wanted = JobState.valueOf(statusParam.toUpperCase(Locale.ROOT));
      } catch (IllegalArgumentException e) {
        throw ApiException.invalid(
            "invalid_value",
            "status must be one of "
                + List.of(JobState.values())
                + ", got "
                + shorten(statusParam));
      }
    }
    JobId before = null;
    String after = ctx.queryParam("after");
    if (after != null && !after.isEmpty()) {
      try {
        before = JobId.of(after);
      } catch (IllegalArgumentException e) {
        throw ApiException.invalid(
            "invalid_value", "after must be a job id, got " + shorten(after));
      }
    }
    ArrayNode jobs = json.createArrayNode();
    String next = null;
    boolean more = true;
    while (jobs.size() < limit && more) {
      List<JobRow> rows = store.listJobs(limit, before);
      more = rows.size() == limit;
      for (JobRow row : rows) {
        before = row.id();
        if (wanted != null && row.state() != wanted) {
          continue;
        }
        Optional<JobHandle<?>> h = engine.job(row.id());
        if (h.isEmpty()) {
          continue;
        }
        jobs.add(jobView(h.get(), false));
        next = row.id().toString();
        if (jobs.size() == limit) {
          break;
        }
      }
    }
    ObjectNode body = json.createObjectNode();
    body.set("jobs", jobs);
    body.put("next", jobs.size() == limit ? next : null);
    ctx.json(body);
  }

  private void delete(Context ctx) {
    JobHandle<?> job = handle(ctx);
    JobStatus s = job.status();
    if (!s.state().isFinal()) {
      throw new ApiException(
          409,
          "job_not_final",
          "job " + s.id() + " is " + s.state() + "; cancel it before deleting it");
    }
    store.deleteJob(s.id());
    ctx.status(204);
  }

  private void cancel(Context ctx) {
    JobHandle<?> job = handle(ctx);
    JobState state = job.status().state();
    if (state == JobState.CANCELLED) {
      ctx.status(200).json(jobView(job, true));
      return;
    }
    if (state.isFinal() || !job.cancel()) {
      JobState now = job.status().state();
      if (now == JobState.CANCELLED) {
        ctx.status(200).json(jobView(job, true));
        return;
      }
      throw new ApiException(
          409, "job_final", "job " + job.id() + " is " + now + "; only an unfinished job cancels");
    }
    ctx.status(202).json(jobView(job, true));
  }

  private void change(Context ctx, boolean pause) {
    JobHandle<?> job = handle(ctx);
    try {
      if (pause) {
        job.pause();
      } else {
        job.resume();
      }
    } catch (IllegalStateException e) {
      throw new ApiException(409, "job_final", e.getMessage());
    }
    ctx.json(jobView(job, true));
  }

  private void retryFailed(Context ctx) {
    JobHandle<?> job = handle(ctx);
    JobStatus s = job.status();
    refuseRetry(s);
    boolean retried;
    try {
      retried = job.retryFailed();
    } catch (IllegalStateException e) {
      refuseRetry(job.status()); // changed meanwhile: say how
      throw new ApiException(409, "job_not_final", e.getMessage());
    }
    if (!retried) {
      refuseRetry(job.status());
      throw new ApiException(409, "nothing_to_retry", "job " + s.id() + " has no failed items");
    }
    ctx.status(202).json(jobView(job, true));
  }

  private static void refuseRetry(JobStatus s) {
    if (!s.state().isFinal()) {
      throw new ApiException(
          409,
          "job_not_final",
          "job " + s.id() + " is " + s.state() + "; its failed items run again once it is final");
    }
    if (s.state() == JobState.CANCELLED) {
      throw new ApiException(
          409, "job_cancelled", "job " + s.id() + " was cancelled; its items stay as they are");
    }
    if (s.failed() == 0) {
      throw new ApiException(409, "nothing_to_retry", "job " + s.id() + " has no failed items");
    }
  }

  private void patch(Context ctx) throws IOException {
    JobHandle<?> job = handle(ctx);
    requireJson(ctx);
    requireLength(ctx, MAX_PATCH_BYTES);
    JsonNode body;
    try (InputStream in =
        new SubmitParser.LimitedInputStream(ctx.bodyInputStream(), MAX_PATCH_BYTES)) {
      body = json.readTree(in);
    } catch (SubmitParser.BodyTooLarge e) {
      throw new ApiException(413, "body_too_large", "a PATCH body may be at most 64 KiB");
    } catch (com.fasterxml.jackson.core.JacksonException e) {
      throw ApiException.badRequest("invalid_json", "malformed JSON: " + e.getOriginalMessage());
    }
    if (body == null || !body.isObject()) {
      throw ApiException.badRequest("invalid_json", "the body must be a JSON object");
    }
    body.fieldNames()
        .forEachRemaining(
            f -> {
              if (!f.equals("maxConcurrency")) {
                throw ApiException.badRequest(
                    "unknown_field", "unknown field '" + f + "'; a job's maxConcurrency changes");
              }
            });
    if (!body.has("maxConcurrency")) {
      throw ApiException.badRequest("missing_field", "the field 'maxConcurrency' is required");
    }
    int max =
        (int)
            JobRequest.integer(
                body.get("maxConcurrency"), "maxConcurrency", 1, JobRequest.MAX_CONCURRENCY);
    try {
      job.setMaxConcurrency(max);
    } catch (IllegalStateException e) {
      throw new ApiException(409, "job_final", e.getMessage());
    }
    components.maxConcurrencyChanged(job.id(), max);
    ctx.json(jobView(job, true));
  }

  // ------------------------------------------------------------------ results

  private void results(Context ctx) {
    JobHandle<?> job = handle(ctx);
    long after = queryLong(ctx, "after", 0, 0, Long.MAX_VALUE);
    int limit = queryInt(ctx, "limit", 100, 1, MAX_PAGE);
    String statusParam = ctx.queryParam("status");
    TaskState only = null;
    if (statusParam != null && !statusParam.isEmpty()) {
      only =
          switch (statusParam) {
            case "SUCCEEDED" -> TaskState.SUCCEEDED;
            case "FAILED" -> TaskState.FAILED;
            default ->
                throw ApiException.invalid(
                    "invalid_value",
                    "status must be SUCCEEDED or FAILED, got " + shorten(statusParam));
          };
    }
    // Read the state first: once final, every result is stored, so an empty tail means done.
    boolean finalBefore = job.status().state().isFinal();
    ArrayNode out = json.createArrayNode();
    // `next` is the last seq returned; with a status filter, the last one read past, so that the
    // next page does not read the left-out results again (a client polling the successes of a
    // job with a million failures would otherwise re-read them all on every poll). The scan goes
    // on past left-out results, so a page is full unless the results run out.
    long scanned = after;
    boolean exhausted = false;
    while (out.size() < limit && !exhausted) {
      List<StoredResult> page = readResults(job.id(), only, scanned, limit - out.size());
      exhausted = page.size() < limit - out.size();
      for (StoredResult r : page) {
        scanned = r.seq();
        if (only == null || r.status() == only) {
          out.add(resultView(r));
        }
      }
      if (page.isEmpty()) {
        exhausted = true;
      }
    }
    if (finalBefore && !exhausted) {
      // A full page may have taken the last result: look one further, or `done` would stay false
      // on the last page of every job whose results fill it exactly.
      exhausted = readResults(job.id(), only, scanned, 1).isEmpty();
    }
    ObjectNode body = json.createObjectNode();
    body.set("results", out);
    body.put("next", scanned);
    body.put("done", finalBefore && exhausted);
    ctx.json(body);
  }

  /** Results after {@code after}: the failed ones by their own index, else all in seq order. */
  private List<StoredResult> readResults(JobId id, TaskState only, long after, int limit) {
    return only == TaskState.FAILED
        ? store.failures(id, after, limit)
        : store.results(id, after, limit);
  }

  ObjectNode resultView(StoredResult r) {
    return Views.result(r, this::parse);
  }

  private JsonNode parse(String raw) {
    try {
      return json.readTree(raw);
    } catch (IOException e) {
      throw new UncheckedIOException("a stored value is not JSON", e);
    }
  }

  // ------------------------------------------------------------------ events

  private void events(Context ctx) throws IOException {
    JobHandle<?> job = handle(ctx);
    long after = 0;
    String last = ctx.header("Last-Event-ID");
    if (last != null && !last.isBlank()) {
      try {
        after = Long.parseLong(last.strip());
      } catch (NumberFormatException e) {
        throw ApiException.badRequest(
            "invalid_value", "Last-Event-ID must be a result's seq, got " + shorten(last));
      }
    }
    ctx.status(200);
    ctx.header("Content-Type", "text/event-stream; charset=utf-8");
    ctx.header("Cache-Control", "no-cache");
    ctx.header("X-Accel-Buffering", "no");
    // The raw servlet stream: Javalin's own buffers the result until the handler returns.
    OutputStream out = ctx.res().getOutputStream();
    new EventStream(this, job, store, streams, shuttingDown, wakeups, out, after).run();
  }

  ObjectNode progressView(JobStatus s) {
    ObjectNode view = json.createObjectNode();
    view.put("id", s.id().toString());
    view.put("status", s.state().name());
    if (s.total().isPresent()) {
      view.put("total", s.total().getAsLong());
    }
    view.put("pending", s.pending());
    view.put("running", s.running());
    view.put("succeeded", s.succeeded());
    view.put("failed", s.failed());
    view.put("cancelled", s.cancelled());
    view.put("retries", s.retries());
    return view;
  }

  ObjectNode finalView(JobHandle<?> job) {
    return jobView(job, true);
  }

  // ------------------------------------------------------------------ cluster

  private void cluster(Context ctx) {
    Instant now = clock.instant();
    ArrayNode nodes = json.createArrayNode();
    for (NodeRow row : store.nodes()) {
      nodes.add(Views.node(row, node.id(), node.lease(), now));
    }
    ObjectNode body = json.createObjectNode();
    body.set("nodes", nodes);
    long leaseMillis = node.lease().toMillis();
    if (leaseMillis % 1000 == 0) {
      body.put("leaseSeconds", leaseMillis / 1000);
    } else {
      body.put("leaseSeconds", leaseMillis / 1000.0);
    }
    ctx.json(body);
  }

  // ------------------------------------------------------------------ misc

  private static void dashboardFile(Context ctx, String name, String type) throws IOException {
    try (InputStream in = Api.class.getResourceAsStream("/dev/fanout/server/dashboard/" + name)) {
      if (in == null) {
        throw new IllegalStateException(name + " is missing from the server's jar");
      }
      ctx.contentType(type + "; charset=utf-8")
          // No inline script and nothing from elsewhere: the page loads only its own files.
          .header("Content-Security-Policy", "default-src 'self'; frame-ancestors 'none'")
          .header("X-Content-Type-Options", "nosniff")
          .result(in.readAllBytes());
    }
  }

  private void openApi(Context ctx) throws IOException {
    try (InputStream in = Api.class.getResourceAsStream("/dev/fanout/server/openapi.json")) {
      if (in == null) {
        throw new IllegalStateException("openapi.json is missing from the server's jar");
      }
      ctx.contentType("application/json").result(in.readAllBytes());
    }
  }

  private static int queryInt(Context ctx, String name, int dflt, int min, int max) {
    return (int) queryLong(ctx, name, dflt, min, max);
  }

  private static long queryLong(Context ctx, String name, long dflt, long min, long max) {
    String raw = ctx.queryParam(name);
    if (raw == null || raw.isEmpty()) {
      return dflt;
    }
    long v;
    try {
      v = Long.parseLong(raw);
    } catch (NumberFormatException e) {
      throw ApiException.badRequest(
          "invalid_type", name + " must be an integer, got " + shorten(raw));
    }
    if (v < min || v > max) {
      throw ApiException.invalid(
          "invalid_value", name + " must be between " + min + " and " + max + ", got " + v);
    }
    return v;
  }

  static List<String> names(Set<String> s) {
    return new ArrayList<>(s).stream().sorted().toList();
  }
}
