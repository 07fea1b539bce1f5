package dev.fanout.server;

import com.fasterxml.jackson.databind.JsonNode;
import dev.fanout.Engine;
import dev.fanout.FanOut;
import dev.fanout.TaskFunction;
import dev.fanout.jdbc.JdbcJobStore;
import dev.fanout.server.internal.api.Api;
import dev.fanout.server.internal.api.BuiltinFunctions;
import dev.fanout.server.internal.api.Components;
import dev.fanout.server.internal.call.HttpFunction;
import dev.fanout.server.internal.call.UrlGuard;
import dev.fanout.server.internal.json.ExactJson;
import dev.fanout.server.internal.metrics.ServerMetrics;
import dev.fanout.spi.JobStore;
import io.javalin.Javalin;
import java.net.InetAddress;
import java.net.UnknownHostException;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;
import java.util.Set;
import java.util.TreeSet;
import java.util.concurrent.ThreadLocalRandom;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The Fanout HTTP service: an engine on a durable store (embedded H2 by default, PostgreSQL for a
 * cluster) behind the v1 JSON API. {@link #start()} resumes the store's unfinished jobs and begins
 * to listen; {@link #close()} stops accepting requests, gives running attempts the grace period to
 * finish, and leaves the rest to the next start.
 *
 * <pre>{@code
 * try (FanoutServer server = FanoutServer.builder().port(0).build().start()) {
 *   System.out.println("listening on " + server.url());
 * }
 * }</pre>
 */
public final class FanoutServer implements AutoCloseable {
  private static final Logger log = LoggerFactory.getLogger(FanoutServer.class);

  private final Settings settings;
  private JobStore store;
  private Engine engine;
  private Javalin app;
  private Api api;
  private Components components;
  private ServerMetrics metrics;
  private boolean closed;

  private FanoutServer(Settings settings) {
    this.settings = settings;
  }

  /**
   * A builder with the defaults: port 8080 on 127.0.0.1, no token, H2 under {@code ./fanout-data}.
   *
   * @return a new builder
   */
  public static Builder builder() {
    return new Builder();
  }

  /**
   * Opens the store, resumes its unfinished jobs and starts listening.
   *
   * @return this server, started
   * @throws IllegalStateException when already started or closed
   * @throws RuntimeException when the store cannot be opened or the port cannot be bound
   */
  public synchronized FanoutServer start() {
    if (engine != null || closed) {
      throw new IllegalStateException("the server was already started");
    }
    try {
      store =
          settings.jdbcUrl != null
              ? JdbcJobStore.open(settings.jdbcUrl)
              : JdbcJobStore.h2(settings.dataDir);
      metrics = new ServerMetrics();
      metrics.countJobsIn(store);
      engine =
          FanOut.builder()
              .store(store)
              // Items, results and aggregates keep every digit of their numbers.
              .objectMapper(ExactJson.mapper())
              .listener(metrics)
              .workerId(settings.nodeId)
              .maxConcurrency(settings.concurrency)
              .pollInterval(settings.pollInterval)
              .leaseDuration(settings.leaseDuration)
              .shutdownGrace(settings.shutdownGrace)
              .consumerRetry(settings.webhookBackoff, settings.webhookMaxBackoff)
              .build();
      BuiltinFunctions.register(engine);
      components =
          new Components(
              settings.allowHosts.isEmpty()
                  ? UrlGuard.defaults()
                  : UrlGuard.allowingOnly(settings.allowHosts),
              settings.batchLinger,
              settings.nodeId);
      components.register(engine);
      Set<String> names = new TreeSet<>(BuiltinFunctions.NAMES);
      settings.functions.forEach(
          (name, fn) -> {
            engine.register(name, JsonNode.class, fn);
            names.add(name);
          });
      Path spool =
          settings.jdbcUrl != null
              ? Path.of(System.getProperty("java.io.tmpdir"), "fanout-spool")
              : settings.dataDir.resolve("spool");
      api =
          new Api(
              engine,
              store,
              settings.limits,
              settings.token,
              settings.streamSettings,
              spool,
              names,
              components,
              metrics,
              new Api.Node(settings.nodeId, settings.leaseDuration),
              Clock.systemUTC());
      // After the API exists, so resumed webhook deliveries find the views their bodies need.
      engine.start();
      if (settings.http) {
        app = api.create().start(settings.bind, settings.port);
      }
    } catch (RuntimeException e) {
      closeQuietly();
      throw e;
    }
    if (settings.http) {
      log.info("Fanout listening on {}", url());
    } else {
      log.info("Fanout worker running the jobs of {}", redacted(settings.jdbcUrl));
    }
    return this;
  }

  /** A JDBC URL without the password a query parameter may carry, for the log. */
  private static String redacted(String jdbcUrl) {
    return jdbcUrl.replaceAll("(?i)(password=)[^&;]*", "$1***");
  }

  /**
   * The base URL the server listens on, such as {@code http://127.0.0.1:8080}.
   *
   * @return the URL
   * @throws IllegalStateException when not started
   */
  public synchronized String url() {
    if (app == null) {
      throw new IllegalStateException(
          settings.http ? "the server is not started" : "a worker serves no HTTP");
    }
    String host = settings.bind.contains(":") ? "[" + settings.bind + "]" : settings.bind;
    return "http://" + host + ":" + app.port();
  }

  /**
   * The port the server listens on: the one configured, or the one the system chose for port 0.
   *
   * @return the port
   * @throws IllegalStateException when not started
   */
  public synchronized int port() {
    if (app == null) {
      throw new IllegalStateException(
          settings.http ? "the server is not started" : "a worker serves no HTTP");
    }
    return app.port();
  }

  /**
   * The engine behind the API, to register functions, transforms, reducers and consumers on before
   * jobs name them.
   *
   * @return the engine
   * @throws IllegalStateException when not started
   */
  public synchronized Engine engine() {
    if (engine == null) {
      throw new IllegalStateException("the server is not started");
    }
    return engine;
  }

  /**
   * This node's ID: in the cluster's node list, its leases and its HTTP function calls.
   *
   * @return the ID
   */
  public String nodeId() {
    return settings.nodeId;
  }

  /** The store, for tests that write into it what other nodes would. */
  synchronized JobStore store() {
    if (store == null) {
      throw new IllegalStateException("the server is not started");
    }
    return store;
  }

  /** The routes served, as {@code METHOD /path}; for the check against the OpenAPI document. */
  synchronized List<String> routes() {
    if (api == null) {
      throw new IllegalStateException("the server is not started");
    }
    return api.routeNames();
  }

  /**
   * Stops accepting requests, ends open event streams, lets running attempts finish within the
   * grace period, and closes the store. Unfinished jobs stay in the store for the next start.
   */
  @Override
  public synchronized void close() {
    if (closed) {
      return;
    }
    closed = true;
    closeQuietly();
  }

  private void closeQuietly() {
    if (api != null) {
      api.shutdown();
    }
    if (app != null) {
      try {
        app.stop();
      } catch (RuntimeException e) {
        log.warn("stopping the HTTP server failed", e);
      }
    }
    if (engine != null) {
      try {
        engine.close();
      } catch (RuntimeException e) {
        log.warn("closing the engine failed", e);
      }
    }
    if (components != null) {
      components.close();
    }
    if (metrics != null) {
      metrics.close();
    }
    if (store != null) {
      try {
        store.close();
      } catch (RuntimeException e) {
        log.warn("closing the store failed", e);
      }
    }
  }

  /** The limits a request is held to; each has a default that suits a small server. */
  public record Limits(long maxBodyBytes, long maxItems, int maxItemBytes, int maxNestingDepth) {
    /** The defaults: a 64 MiB body, 1,000,000 items, 1 MiB per item, nesting 32 levels deep. */
    public static final Limits DEFAULTS = new Limits(64L << 20, 1_000_000, 1 << 20, 32);

    /**
     * Checks every limit is positive.
     *
     * @throws IllegalArgumentException naming the limit that is not
     */
    public Limits {
      requirePositive(maxBodyBytes, "maxBodyBytes");
      requirePositive(maxItems, "maxItems");
      requirePositive(maxItemBytes, "maxItemBytes");
      requirePositive(maxNestingDepth, "maxNestingDepth");
    }

    private static void requirePositive(long value, String name) {
      if (value < 1) {
        throw new IllegalArgumentException(name + " must be >= 1, got " + value);
      }
    }
  }

  /**
   * How event streams pace themselves; tests shorten these.
   *
   * @param pollInterval how often a stream that has caught up looks for new results when no signal
   *     woke it: the store signals new results, so this is only the fallback for a lost signal, and
   *     how often counts that change without results (items starting) are shown; a read that waits
   *     for its job's end ({@code waitMs}) looks again as often
   * @param progressInterval the least time between two {@code progress} events
   * @param keepAliveInterval how often an idle stream sends a comment line to keep proxies open
   */
  public record StreamSettings(
      Duration pollInterval, Duration progressInterval, Duration keepAliveInterval) {
    /**
     * The defaults: look every second without a signal, progress at most 4 times a second,
     * keep-alive every 15 s.
     */
    public static final StreamSettings DEFAULTS =
        new StreamSettings(Duration.ofSeconds(1), Duration.ofMillis(250), Duration.ofSeconds(15));

    /**
     * Checks every interval is positive.
     *
     * @throws IllegalArgumentException naming the interval that is not
     */
    public StreamSettings {
      for (Duration d : List.of(pollInterval, progressInterval, keepAliveInterval)) {
        if (d == null || d.isNegative() || d.isZero()) {
          throw new IllegalArgumentException("stream intervals must be positive, got " + d);
        }
      }
    }
  }

  /** Items a node runs at once when no {@code concurrency} is set. */
  private static final int DEFAULT_CONCURRENCY = 10_000;

  private record Settings(
      String bind,
      int port,
      String token,
      Path dataDir,
      String jdbcUrl,
      Limits limits,
      StreamSettings streamSettings,
      Duration pollInterval,
      Duration leaseDuration,
      Duration webhookBackoff,
      Duration webhookMaxBackoff,
      Map<String, TaskFunction<JsonNode, ?>> functions,
      List<String> allowHosts,
      Duration shutdownGrace,
      Duration batchLinger,
      boolean http,
      String nodeId,
      int concurrency) {}

  /** Configures a {@link FanoutServer}; every option is checked when set and names itself. */
  public static final class Builder {
    private String bind = "127.0.0.1";
    private int port = 8080;
    private String token;
    private boolean noAuth;
    private Path dataDir = Path.of("fanout-data");
    private String jdbcUrl;
    private Limits limits = Limits.DEFAULTS;
    private StreamSettings streamSettings = StreamSettings.DEFAULTS;
    private Duration pollInterval = Duration.ofMillis(200);
    private Duration leaseDuration = Duration.ofSeconds(30);
    private Duration webhookBackoff = Duration.ofSeconds(1);
    private Duration webhookMaxBackoff = Duration.ofMinutes(5);
    private final Map<String, TaskFunction<JsonNode, ?>> functions = new LinkedHashMap<>();
    private List<String> allowHosts = List.of();
    private Duration shutdownGrace = Duration.ofSeconds(30);
    private Duration batchLinger = HttpFunction.DEFAULT_BATCH_LINGER;
    private boolean workerOnly;
    private String nodeId;
    private int concurrency = DEFAULT_CONCURRENCY;

    private Builder() {}

    /**
     * Names this node in the cluster's node list, in its leases and in the {@code X-Fanout-Node}
     * header of its HTTP function calls. Each running node needs its own: two processes under one
     * ID would renew each other's leases.
     *
     * @param nodeId 1 to 100 visible ASCII characters, since it travels in a header (default: host
     *     name, process ID and a random suffix)
     * @return this builder
     * @throws IllegalArgumentException when empty, too long, or holding spaces, control or
     *     non-ASCII characters
     */
    public Builder nodeId(String nodeId) {
      Objects.requireNonNull(nodeId, "nodeId");
      if (!HttpFunction.Builder.isHeaderSafe(nodeId)) {
        throw new IllegalArgumentException(
            "nodeId must be 1 to 100 visible ASCII characters (no spaces), got '" + nodeId + "'");
      }
      this.nodeId = nodeId;
      return this;
    }

    /**
     * Caps how many items this node runs at once, over all jobs. A job's own {@code maxConcurrency}
     * holds across the whole cluster on top of it.
     *
     * @param concurrency at least 1 (default 10,000)
     * @return this builder
     * @throws IllegalArgumentException when below 1
     */
    public Builder concurrency(int concurrency) {
      if (concurrency < 1) {
        throw new IllegalArgumentException("concurrency must be >= 1, got " + concurrency);
      }
      this.concurrency = concurrency;
      return this;
    }

    /**
     * Runs jobs from the store without serving HTTP ({@code fanout worker}): the node shares the
     * store's jobs with the servers and other workers, running their items within each job's cap,
     * delivering their webhooks and folding their aggregates, but accepts no requests. It needs a
     * store other processes can open too, so {@link #jdbcUrl} must be set.
     *
     * @return this builder
     */
    public Builder workerOnly() {
      this.workerOnly = true;
      return this;
    }

    /**
     * Offers a function that jobs may name with {@code {"function": {"name": ...}}}, besides the
     * built-in {@code identity} and {@code demo}. It gets each item as JSON, and its result is
     * stored as JSON. Numbers keep every digit the client sent: a decimal arrives as a {@code
     * DecimalNode} (read it with {@code decimalValue()}, or {@code doubleValue()} to round).
     *
     * @param name the name jobs use
     * @param function the function
     * @return this builder
     * @throws IllegalArgumentException when the name is blank or taken
     */
    public Builder function(String name, TaskFunction<JsonNode, ?> function) {
      Objects.requireNonNull(name, "name");
      Objects.requireNonNull(function, "function");
      if (name.isBlank()) {
        throw new IllegalArgumentException("a function name must not be blank");
      }
      if (BuiltinFunctions.NAMES.contains(name) || functions.containsKey(name)) {
        throw new IllegalArgumentException("a function is already named '" + name + "'");
      }
      functions.put(name, function);
      return this;
    }

    /**
     * Sets the address to listen on. Any address other than a loopback one needs a token, or {@link
     * #noAuth()} to say that an open server is meant.
     *
     * @param bind an IP address or host name (default 127.0.0.1)
     * @return this builder
     * @throws IllegalArgumentException when blank
     */
    public Builder bind(String bind) {
      Objects.requireNonNull(bind, "bind");
      if (bind.isBlank()) {
        throw new IllegalArgumentException("bind must not be blank");
      }
      this.bind = bind.strip();
      return this;
    }

    /**
     * Sets the port.
     *
     * @param port 0 (any free port) to 65535 (default 8080)
     * @return this builder
     * @throws IllegalArgumentException when out of range
     */
    public Builder port(int port) {
      if (port < 0 || port > 65_535) {
        throw new IllegalArgumentException("port must be between 0 and 65535, got " + port);
      }
      this.port = port;
      return this;
    }

    /**
     * Requires {@code Authorization: Bearer <token>} on every {@code /v1} route.
     *
     * @param token the token, at least 16 characters
     * @return this builder
     * @throws IllegalArgumentException when shorter than 16 characters or holding whitespace
     */
    public Builder token(String token) {
      Objects.requireNonNull(token, "token");
      if (token.length() < 16 || token.chars().anyMatch(Character::isWhitespace)) {
        throw new IllegalArgumentException(
            "token must be at least 16 characters without whitespace");
      }
      this.token = token;
      return this;
    }

    /**
     * Allows binding a non-loopback address without a token: anyone who can reach the port may
     * submit jobs.
     *
     * @return this builder
     */
    public Builder noAuth() {
      this.noAuth = true;
      return this;
    }

    /**
     * Keeps the embedded H2 store in this folder.
     *
     * @param dataDir the folder (default {@code ./fanout-data}), created when missing
     * @return this builder
     */
    public Builder dataDir(Path dataDir) {
      this.dataDir = Objects.requireNonNull(dataDir, "dataDir");
      return this;
    }

    /**
     * Uses this database instead of the embedded H2 store, such as {@code
     * jdbc:postgresql://127.0.0.1:5432/fanout?user=fanout}.
     *
     * @param jdbcUrl a JDBC URL of H2 or PostgreSQL
     * @return this builder
     * @throws IllegalArgumentException when it is not a JDBC URL
     */
    public Builder jdbcUrl(String jdbcUrl) {
      Objects.requireNonNull(jdbcUrl, "jdbcUrl");
      if (!jdbcUrl.startsWith("jdbc:")) {
        throw new IllegalArgumentException("jdbcUrl must start with jdbc:, got " + jdbcUrl);
      }
      this.jdbcUrl = jdbcUrl;
      return this;
    }

    /**
     * Narrows the hosts HTTP functions may call ({@code --allow-hosts}): an entry is a host name or
     * IP literal, or {@code *.example.com} for its subdomains. Link-local and cloud metadata
     * addresses are refused whatever the list.
     *
     * @param hosts the allowed hosts; empty (the default) allows any other host
     * @return this builder
     * @throws IllegalArgumentException when an entry is blank
     */
    public Builder allowHosts(List<String> hosts) {
      UrlGuard.allowingOnly(hosts);
      this.allowHosts = List.copyOf(hosts);
      return this;
    }

    /**
     * Sets how long {@link #close()} (and so SIGTERM) lets running attempts finish before it stops
     * them; their items run again at the next start.
     *
     * @param shutdownGrace zero or more (default 30 s)
     * @return this builder
     * @throws IllegalArgumentException when negative
     */
    public Builder shutdownGrace(Duration shutdownGrace) {
      Objects.requireNonNull(shutdownGrace, "shutdownGrace");
      if (shutdownGrace.isNegative()) {
        throw new IllegalArgumentException(
            "shutdownGrace must not be negative, got " + shutdownGrace);
      }
      this.shutdownGrace = shutdownGrace;
      return this;
    }

    /**
     * Sets how long a batch of a job with {@code batchSize} above 1 waits for more items after its
     * first one, when it is not full and more of the job's items may still arrive. Longer gathers
     * fuller batches from items that start a little apart; shorter answers sooner.
     *
     * @param batchLinger zero to 10 s (default 5 ms)
     * @return this builder
     * @throws IllegalArgumentException when out of range
     */
    public Builder batchLinger(Duration batchLinger) {
      HttpFunction.Builder.checkLinger(batchLinger);
      this.batchLinger = batchLinger;
      return this;
    }

    /**
     * Sets the request limits.
     *
     * @param limits the limits (default {@link Limits#DEFAULTS})
     * @return this builder
     */
    public Builder limits(Limits limits) {
      this.limits = Objects.requireNonNull(limits, "limits");
      return this;
    }

    /**
     * Sets how event streams pace themselves.
     *
     * @param streamSettings the settings (default {@link StreamSettings#DEFAULTS})
     * @return this builder
     */
    public Builder streamSettings(StreamSettings streamSettings) {
      this.streamSettings = Objects.requireNonNull(streamSettings, "streamSettings");
      return this;
    }

    /**
     * Sets how often the engine looks for work when it was not woken (see {@code
     * FanOut.Builder.pollInterval}).
     *
     * @param pollInterval a positive duration (default 200 ms)
     * @return this builder
     */
    public Builder pollInterval(Duration pollInterval) {
      this.pollInterval = Objects.requireNonNull(pollInterval, "pollInterval");
      return this;
    }

    /**
     * Sets how long a claimed item stays leased to this server without a heartbeat (see {@code
     * FanOut.Builder.leaseDuration}).
     *
     * @param leaseDuration a positive duration (default 30 s)
     * @return this builder
     */
    public Builder leaseDuration(Duration leaseDuration) {
      this.leaseDuration = Objects.requireNonNull(leaseDuration, "leaseDuration");
      return this;
    }

    /**
     * Sets the backoff of failed webhook deliveries: the same delivery is tried again after a
     * random wait between zero and {@code backoff} doubled per failure in a row, capped at {@code
     * maxBackoff}, until the receiver accepts it (see {@code FanOut.Builder.consumerRetry}).
     *
     * @param backoff the ceiling before the first retry; positive (default 1 s)
     * @param maxBackoff the largest ceiling; at least {@code backoff}, at most a day (default 5
     *     min)
     * @return this builder
     * @throws IllegalArgumentException when a duration is out of range, naming it
     */
    public Builder webhookRetry(Duration backoff, Duration maxBackoff) {
      Objects.requireNonNull(backoff, "webhookRetry backoff");
      Objects.requireNonNull(maxBackoff, "webhookRetry maxBackoff");
      // Checked now rather than at start: the engine's builder applies the same rules.
      FanOut.builder().consumerRetry(backoff, maxBackoff);
      this.webhookBackoff = backoff;
      this.webhookMaxBackoff = maxBackoff;
      return this;
    }

    /**
     * Builds the server, not yet started.
     *
     * @return the server
     * @throws IllegalArgumentException when a non-loopback address has neither a token nor {@link
     *     #noAuth()}
     */
    public FanoutServer build() {
      if (workerOnly && jdbcUrl == null) {
        throw new IllegalArgumentException(
            "a worker shares its jobs with other processes: give it a database URL (--db), not"
                + " the embedded store that only one process can open");
      }
      if (token == null && !noAuth && !isLoopback(bind)) {
        throw new IllegalArgumentException(
            "binding "
                + bind
                + " opens the server to other machines: set a token (--token or FANOUT_TOKEN),"
                + " or pass --no-auth to run it open on purpose");
      }
      return new FanoutServer(
          new Settings(
              bind,
              port,
              Optional.ofNullable(token).orElse(null),
              dataDir,
              jdbcUrl,
              limits,
              streamSettings,
              pollInterval,
              leaseDuration,
              webhookBackoff,
              webhookMaxBackoff,
              Map.copyOf(functions),
              allowHosts,
              shutdownGrace,
              batchLinger,
              !workerOnly,
              nodeId != null ? nodeId : defaultNodeId(),
              concurrency));
    }

    private static String defaultNodeId() {
      String host;
      try {
        host = InetAddress.getLocalHost().getHostName();
      } catch (UnknownHostException e) {
        host = "localhost";
      }
      // Within the 100 characters an ID may have, whatever the host's name; visible ASCII only,
      // since the ID goes into a header.
      host = host.replaceAll("[^\\x21-\\x7e]", "_");
      if (host.length() > 64) {
        host = host.substring(0, 64);
      }
      return host
          + "-"
          + ProcessHandle.current().pid()
          + "-"
          + Integer.toHexString(ThreadLocalRandom.current().nextInt(0x1000, 0x10000));
    }

    private static boolean isLoopback(String host) {
      if (host.equals("localhost")) {
        return true;
      }
      try {
        return InetAddress.getByName(host).isLoopbackAddress();
      } catch (UnknownHostException e) {
        return false;
      }
    }
  }
}
