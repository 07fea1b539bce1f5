package dev.fanout.server.internal.api;

import com.fasterxml.jackson.annotation.JsonValue;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import com.fasterxml.jackson.databind.node.NullNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.fanout.Engine;
import dev.fanout.ItemResult;
import dev.fanout.JobId;
import dev.fanout.Reducer;
import dev.fanout.server.internal.ApiException;
import dev.fanout.server.internal.call.HttpFunction;
import dev.fanout.server.internal.call.HttpFunctionConfig;
import dev.fanout.server.internal.call.UrlGuard;
import dev.fanout.server.internal.json.JqTransform;
import dev.fanout.server.internal.json.JsonReducer;
import dev.fanout.server.internal.webhook.WebhookConfig;
import dev.fanout.server.internal.webhook.WebhookConsumer;
import dev.fanout.server.internal.webhook.WebhookSender;
import dev.fanout.server.internal.webhook.WebhookSigner;
import java.lang.ref.WeakReference;
import java.net.http.HttpClient;
import java.time.Clock;
import java.time.Duration;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.function.Consumer;
import java.util.function.Function;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The server's own durable components, registered as factories on the engine: an HTTP function made
 * from each job's {@code function} object, a jq transform made from its {@code transform}
 * expression, and a webhook consumer made from its {@code webhook} object. The configuration each
 * job stores is what the factories read back after a restart, and the URL is checked by the guard
 * again then.
 */
public final class Components implements AutoCloseable {
  /**
   * The function factory behind {@code {"function": {"url": ...}}}. Its configuration: {@code
   * {"function": <the function object>, "maxConcurrency": n}}.
   */
  public static final String HTTP = "fanout.http";

  /**
   * The transform factory behind {@code "transform": "<jq>"}. Its configuration: {@code
   * {"expression": "<jq>"}}.
   */
  public static final String JQ = "fanout.jq";

  /**
   * The reducer factory behind {@code "reduce": "concat"}, {@code "merge"} and jq folds. Its
   * configuration: the request's {@code reduce} value as given.
   */
  public static final String REDUCE = "fanout.reduce";

  /** The consumer factory behind {@code "webhook": {"url": ..., "secret": ...}}. */
  static final String WEBHOOK = "fanout.webhook";

  private static final Logger log = LoggerFactory.getLogger(Components.class);

  private final UrlGuard guard;
  private final Duration batchLinger;
  private final String nodeId;
  // The HTTP functions made here, so a PATCH of a job's cap reaches its limiter and batcher.
  // Weak: a function lives as long as the engine keeps it for its job, and no longer.
  private final Map<JobId, WeakReference<HttpFunction>> functions = new ConcurrentHashMap<>();
  private final org.eclipse.jetty.client.HttpClient functionClient;
  private final HttpClient webhookClient;
  private final WebhookSender webhooks;

  /** Set by the API once it exists; deliveries due before then fail and are retried. */
  private volatile WebhookConsumer.Views views;

  /**
   * Creates the components around their shared clients, one for functions and one for webhooks.
   *
   * @param guard the URL guard for function URLs
   * @param batchLinger how long a batch of a job with {@code batchSize} above 1 waits for more
   *     items once its first arrived
   * @param nodeId the ID of this node, sent with each HTTP function call as {@code X-Fanout-Node},
   *     or null for a process that is no node of a cluster
   * @throws IllegalArgumentException when the linger is out of range or the ID cannot be a header
   */
  public Components(UrlGuard guard, Duration batchLinger, String nodeId) {
    HttpFunction.Builder.checkLinger(batchLinger);
    if (nodeId != null && !HttpFunction.Builder.isHeaderSafe(nodeId)) {
      throw new IllegalArgumentException(
          "nodeId must be 1 to 100 visible ASCII characters, got '" + nodeId + "'");
    }
    this.guard = guard;
    this.batchLinger = batchLinger;
    this.nodeId = nodeId;
    this.functionClient = HttpFunction.newClient(Duration.ofSeconds(10));
    // Neither client follows a redirect, which could lead past the guard.
    this.webhookClient = WebhookSender.newClient(Duration.ofSeconds(10));
    this.webhooks =
        new WebhookSender(
            webhookClient, new WebhookSigner(Clock.systemUTC()), Duration.ofSeconds(10));
  }

  /** Lets webhook deliveries build their bodies from the API's own views. */
  void useViews(WebhookConsumer.Views views) {
    this.views = views;
  }

  /**
   * Registers the factories on an engine.
   *
   * @param engine the engine
   */
  public void register(Engine engine) {
    engine.registerFunctionFactory(
        HTTP,
        JsonNode.class,
        (job, config) -> {
          if (config == null || !config.has("function")) {
            throw new IllegalArgumentException(HTTP + " needs the job's function object");
          }
          HttpFunctionConfig call;
          try {
            call = HttpFunctionConfig.parse(config.get("function"), guard);
          } catch (ApiException e) {
            throw new IllegalArgumentException(e.getMessage(), e);
          }
          int max = config.path("maxConcurrency").asInt(1000);
          if (job != null) {
            // The job's cap as it is now: a PATCH may have changed it since the job was stored.
            max = engine.job(job).map(h -> h.status().maxConcurrency()).orElse(max);
          }
          HttpFunction.Builder b =
              HttpFunction.builder(call, functionClient)
                  .maxConcurrency(Math.max(1, max))
                  .batch(config.path("batchSize").asInt(1), batchLinger)
                  .nodeId(nodeId);
          if (config.hasNonNull("traceparent")) {
            b.traceparent(config.get("traceparent").asText());
          }
          HttpFunction function = b.build();
          if (job != null) {
            functions.put(job, new WeakReference<>(function));
          }
          return function;
        });
    engine.registerTransformFactory(
        JQ,
        JsonNode.class,
        (job, config) -> {
          if (config == null || !config.path("expression").isTextual()) {
            throw new IllegalArgumentException(JQ + " needs an expression");
          }
          JqTransform jq;
          try {
            jq = JqTransform.compile(config.get("expression").asText(), "transform");
          } catch (ApiException e) {
            throw new IllegalArgumentException(e.getMessage(), e);
          }
          Function<JsonNode, JsonNode> transform = jq::apply;
          return transform;
        });
    engine.registerReducerFactory(
        REDUCE,
        JsonNode.class,
        (job, config) -> {
          JsonReducer reducer;
          try {
            reducer = JsonReducer.parse(config);
          } catch (ApiException e) {
            throw new IllegalArgumentException(e.getMessage(), e);
          }
          Reducer<JsonNode, Folding> fold =
              new Reducer<>() {
                @Override
                public Folding identity() {
                  return new Folding(reducer);
                }

                @Override
                public Folding accumulate(Folding folding, JsonNode value) {
                  // Engines fold through the indexed form; -1 marks an index nobody gave.
                  return accumulate(folding, -1, value);
                }

                @Override
                public Folding accumulate(Folding folding, long index, JsonNode value) {
                  folding.aggregate =
                      reducer.accumulate(
                          folding.aggregate, index, value == null ? NullNode.instance : value);
                  return folding;
                }
              };
          return fold;
        });
    engine.registerConsumerFactory(
        WEBHOOK,
        JsonNode.class,
        (job, config) -> {
          WebhookConfig webhook;
          try {
            // Checked again when made, after a restart too: the guard or DNS may have changed.
            webhook = parseWebhook(config);
          } catch (ApiException e) {
            throw new IllegalArgumentException(e.getMessage(), e);
          }
          if (job == null) {
            // Only a check of the configuration: nothing will be delivered through this one.
            Consumer<ItemResult<JsonNode>> checked = r -> {};
            return checked;
          }
          return new WebhookConsumer(job, webhook, webhooks, lateViews());
        });
  }

  /**
   * Moves a job's HTTP call limiter and batcher to its new cap, when this server calls for it.
   *
   * @param job the job
   * @param maxConcurrency its new cap
   */
  void maxConcurrencyChanged(JobId job, int maxConcurrency) {
    functions.values().removeIf(ref -> ref.get() == null);
    WeakReference<HttpFunction> ref = functions.get(job);
    HttpFunction function = ref == null ? null : ref.get();
    if (function != null) {
      function.setMaxConcurrency(maxConcurrency);
    }
  }

  /** Checks a request's reduce field for the server's own reducers; throws ApiException. */
  static void reducerConfig(JsonNode reduce) {
    JsonReducer.parse(reduce);
  }

  /**
   * A fold in progress: the reducer and its aggregate so far. The engine stores the aggregate by
   * encoding it as JSON, which is the finished form.
   */
  public static final class Folding {
    private final JsonReducer reducer;
    private JsonNode aggregate;

    Folding(JsonReducer reducer) {
      this.reducer = reducer;
      this.aggregate = reducer.identity();
    }

    /**
     * The finished aggregate, which is what the engine stores.
     *
     * @return the aggregate as JSON
     */
    @JsonValue
    public JsonNode finished() {
      return reducer.finish(aggregate);
    }
  }

  private WebhookConsumer.Views lateViews() {
    return new WebhookConsumer.Views() {
      @Override
      public ObjectNode result(JobId job, long seq) {
        return current().result(job, seq);
      }

      @Override
      public JsonNode job(JobId job) {
        return current().job(job);
      }

      private WebhookConsumer.Views current() {
        WebhookConsumer.Views v = views;
        if (v == null) {
          throw new IllegalStateException("the API is not serving yet; the delivery waits for it");
        }
        return v;
      }
    };
  }

  private WebhookConfig parseWebhook(JsonNode field) {
    if (field == null || field.isNull()) {
      throw ApiException.invalid("invalid_value", WEBHOOK + " needs the job's webhook object");
    }
    return WebhookConfig.parse(field, url -> guard.check("webhook.url", url.toString()) != null);
  }

  /**
   * Checks a request's webhook object and returns what the job stores for the factory: the URL and
   * the secret, which the job's spec keeps (the API never shows a spec).
   */
  ObjectNode webhookConfig(JsonNode webhook) {
    if (webhook.isObject()) {
      // Like every other object of the API: a typo is a 400 unknown_field, not ignored.
      webhook
          .fieldNames()
          .forEachRemaining(
              name -> {
                if (!name.equals("url") && !name.equals("secret")) {
                  throw ApiException.badRequest(
                      "unknown_field",
                      "unknown field 'webhook." + name + "'; the fields are [secret, url]");
                }
              });
    }
    WebhookConfig parsed = parseWebhook(webhook);
    ObjectNode config = JsonNodeFactory.instance.objectNode();
    config.put("url", parsed.url().toString());
    config.put("secret", parsed.secret());
    return config;
  }

  /** Checks a request's function object and returns what the job stores for the factory. */
  ObjectNode httpConfig(JsonNode function, int maxConcurrency, int batchSize, String traceparent) {
    HttpFunctionConfig call = HttpFunctionConfig.parse(function, guard);
    ObjectNode config = JsonNodeFactory.instance.objectNode();
    config.set("function", call.toJson());
    config.put("maxConcurrency", maxConcurrency);
    if (batchSize > 1) {
      config.put("batchSize", batchSize);
    }
    if (traceparent != null) {
      config.put("traceparent", traceparent);
    }
    return config;
  }

  /** Checks a request's transform and returns what the job stores for the factory. */
  static ObjectNode jqConfig(JsonNode transform) {
    if (!transform.isTextual()) {
      throw ApiException.badRequest("invalid_type", "transform must be a jq expression string");
    }
    JqTransform.compile(transform.asText(), "transform");
    return JsonNodeFactory.instance.objectNode().put("expression", transform.asText());
  }

  /** Stops the shared clients; calls and deliveries still open fail. Never throws. */
  @Override
  public void close() {
    try {
      HttpFunction.stopClient(functionClient);
    } catch (RuntimeException e) {
      // Logged, not thrown: the server's close goes on to the metrics and the store.
      log.warn("stopping the HTTP client of functions failed", e);
    }
    // shutdownNow, not close: close waits, without a bound, for every request still open.
    webhookClient.shutdownNow();
  }
}
