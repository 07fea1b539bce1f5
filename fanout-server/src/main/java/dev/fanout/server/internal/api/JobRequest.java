package dev.fanout.server.internal.api;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.fanout.FailureMode;
import dev.fanout.FailurePolicy;
import dev.fanout.JobSpec;
import dev.fanout.ResultOrder;
import dev.fanout.RetryPolicy;
import dev.fanout.server.internal.ApiException;
import dev.fanout.server.internal.call.HttpFunction;
import dev.fanout.server.internal.call.HttpFunctionConfig;
import java.math.BigDecimal;
import java.math.BigInteger;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * A submission's fields, checked and turned into a durable {@link JobSpec}. Types that are wrong
 * are 400 {@code invalid_type}; values that are well typed but out of range or unknown are 422.
 */
final class JobRequest {
  static final int MAX_CONCURRENCY = 100_000;
  static final long MAX_MILLIS = Duration.ofDays(30).toMillis();
  static final int MAX_ATTEMPTS = 100;
  static final int MAX_METADATA_BYTES = 64 * 1024;
  static final List<String> REDUCERS = List.of("sum", "count", "min", "max", "avg", "collect");

  private final Map<String, JsonNode> fields;
  private final String function;
  private final JsonNode functionConfig;
  private final JsonNode transformConfig;
  private final String reduce;
  private final JsonNode reduceConfig;
  private final Integer maxConcurrency;
  private final RetryPolicy retry;
  private final Long timeoutMs;
  private final Long deadlineMs;
  private final FailurePolicy failurePolicy;
  private final ResultOrder order;
  private final JsonNode webhookConfig;
  private final JsonNode metadata;

  /**
   * Checks a submission's fields as {@link #JobRequest} does, with one rule for a body that has
   * more than one fault: a wrong type (400) or a value too large (413) anywhere is answered before
   * an invalid value (422), whatever the order of the fields, so fixing the answer's fault never
   * reveals one of a lower status first. Only a refused body pays for the extra checks: each field
   * is checked again on its own, beside a valid function.
   *
   * @throws ApiException the answer for the body's most basic fault
   */
  static JobRequest parse(
      Map<String, JsonNode> fields,
      Set<String> functions,
      Components components,
      String traceparent) {
    try {
      return new JobRequest(fields, functions, components, traceparent);
    } catch (ApiException invalid) {
      if (invalid.status() != 422) {
        throw invalid;
      }
      ApiException tooLarge = null;
      for (Map.Entry<String, JsonNode> field : fields.entrySet()) {
        Map<String, JsonNode> alone = new LinkedHashMap<>();
        alone.put("function", field.getKey().equals("function") ? field.getValue() : IDENTITY);
        alone.put(field.getKey(), field.getValue());
        try {
          new JobRequest(alone, functions, components, traceparent);
        } catch (ApiException e) {
          if (e.status() == 400) {
            throw e;
          }
          if (e.status() == 413 && tooLarge == null) {
            tooLarge = e;
          }
        }
      }
      throw tooLarge != null ? tooLarge : invalid;
    }
  }

  /** The built-in function a field is checked beside, on its own. */
  private static final JsonNode IDENTITY =
      com.fasterxml.jackson.databind.node.JsonNodeFactory.instance
          .objectNode()
          .put("name", "identity");

  JobRequest(
      Map<String, JsonNode> fields,
      Set<String> functions,
      Components components,
      String traceparent) {
    this.fields = fields;
    JsonNode reduceField = fields.get("reduce");
    if (reduceField != null
        && !reduceField.isNull()
        && !(reduceField.isTextual() && REDUCERS.contains(reduceField.asText()))) {
      // concat, merge and jq folds are the server's own, checked here and stored with the job.
      Components.reducerConfig(reduceField);
      this.reduce = Components.REDUCE;
      this.reduceConfig = reduceField;
    } else {
      this.reduce = reduce(reduceField);
      this.reduceConfig = null;
    }
    this.maxConcurrency =
        fields.containsKey("maxConcurrency")
            ? (int) integer(fields.get("maxConcurrency"), "maxConcurrency", 1, MAX_CONCURRENCY)
            : null;
    int batchSize = batchSize(fields.get("batchSize"));
    Long topTimeout =
        fields.containsKey("timeoutMs")
            ? integer(fields.get("timeoutMs"), "timeoutMs", 1, MAX_MILLIS)
            : null;
    JsonNode fn = fields.get("function");
    boolean http = fn.isObject() && fn.has("url") && !fn.has("name");
    if (http) {
      this.function = Components.HTTP;
      // An HTTP function's timeout bounds each call from its sending, not its wait for the rate
      // limit or a free slot: the top-level timeoutMs applies to the call unless the function
      // has its own, up to the longest call a function may take (a longer job-wide timeout,
      // allowed for named functions, means "no tighter bound" here).
      JsonNode timed = fn;
      if (topTimeout != null && !fn.has("timeoutMs")) {
        timed =
            ((ObjectNode) fn)
                .deepCopy()
                .put("timeoutMs", Math.min(topTimeout, HttpFunctionConfig.MAX_TIMEOUT.toMillis()));
      }
      this.functionConfig =
          components.httpConfig(
              timed,
              maxConcurrency != null ? maxConcurrency : JobSpec.DEFAULT_MAX_CONCURRENCY,
              batchSize,
              traceparent);
    } else {
      this.function = function(fn, functions);
      this.functionConfig = null;
      if (batchSize > 1) {
        // A named function takes one item; batching is the HTTP function's wire format.
        throw ApiException.invalid(
            "invalid_value",
            "batchSize above 1 needs an HTTP function ({\"url\": ...}); the named function '"
                + this.function
                + "' is called with one item at a time, so leave batchSize out or at 1");
      }
    }
    JsonNode transform = fields.get("transform");
    this.transformConfig =
        transform == null || transform.isNull() ? null : Components.jqConfig(transform);
    this.retry = retry(fields.get("retry"));
    // A named function's attempt is timed by the engine, which interrupts it; an HTTP function's
    // calls are timed by the function itself (above).
    JsonNode fnTimeout = fields.get("function").get("timeoutMs");
    this.timeoutMs =
        http
            ? null
            : fnTimeout != null
                ? Long.valueOf(integer(fnTimeout, "function.timeoutMs", 1, MAX_MILLIS))
                : topTimeout;
    this.deadlineMs =
        fields.containsKey("deadlineMs")
            ? integer(fields.get("deadlineMs"), "deadlineMs", 1, MAX_MILLIS)
            : null;
    this.failurePolicy = failurePolicy(fields.get("failurePolicy"));
    this.order = order(fields.get("order"));
    JsonNode webhook = fields.get("webhook");
    this.webhookConfig =
        webhook == null || webhook.isNull() ? null : components.webhookConfig(webhook);
    this.metadata = metadata(fields.get("metadata"));
  }

  /** The caller's metadata, kept with the job as given; null when absent or null. */
  private static JsonNode metadata(JsonNode node) {
    if (node == null || node.isNull()) {
      return null;
    }
    if (!node.isObject()) {
      throw ApiException.badRequest("invalid_type", "metadata must be an object");
    }
    // Every read of the job returns it, so it stays small; the items are where the data goes.
    int size = node.toString().getBytes(StandardCharsets.UTF_8).length;
    if (size > MAX_METADATA_BYTES) {
      throw new ApiException(
          413,
          "metadata_too_large",
          "metadata is " + size + " bytes as compact JSON; the limit is " + MAX_METADATA_BYTES);
    }
    return node;
  }

  /**
   * The spec over these items, durable: every part is named.
   *
   * @param idempotencyKey the request's Idempotency-Key, or null
   * @param bodyHash the SHA-256 of the request body, hex, when a key is given
   */
  JobSpec<JsonNode, JsonNode, ?> toSpec(
      Iterator<JsonNode> items, String idempotencyKey, String bodyHash) {
    JobSpec.Builder<JsonNode, JsonNode, JsonNode, Void> b =
        functionConfig != null
            ? JobSpec.items(items).function(function, functionConfig)
            : JobSpec.items(items).function(function);
    if (transformConfig != null) {
      b = b.transform(Components.JQ, transformConfig);
    }
    if (webhookConfig != null) {
      b = b.consumer(Components.WEBHOOK, webhookConfig);
    }
    if (reduceConfig != null) {
      return options(b.reduce(reduce, reduceConfig), idempotencyKey, bodyHash);
    }
    return reduce != null
        ? options(b.reduce(reduce), idempotencyKey, bodyHash)
        : options(b, idempotencyKey, bodyHash);
  }

  private <A> JobSpec<JsonNode, JsonNode, A> options(
      JobSpec.Builder<JsonNode, JsonNode, JsonNode, A> spec,
      String idempotencyKey,
      String bodyHash) {
    if (maxConcurrency != null) {
      spec.maxConcurrency(maxConcurrency);
    }
    if (retry != null) {
      spec.retry(retry);
    }
    if (timeoutMs != null) {
      spec.attemptTimeout(Duration.ofMillis(timeoutMs));
    }
    if (deadlineMs != null) {
      spec.deadline(Duration.ofMillis(deadlineMs));
    }
    if (failurePolicy != null) {
      spec.failurePolicy(failurePolicy);
    }
    if (order != null) {
      spec.resultOrder(order);
    }
    if (metadata != null) {
      spec.metadata(metadata);
    }
    if (idempotencyKey != null) {
      spec.idempotencyKey(idempotencyKey, bodyHash);
    }
    return spec.build();
  }

  private void unsupported(String field, String what) {
    if (fields.containsKey(field) && !fields.get(field).isNull()) {
      throw ApiException.invalid(
          "unsupported", field + ": " + what + " are not available on this server yet");
    }
  }

  private static String function(JsonNode node, Set<String> functions) {
    if (!node.isObject()) {
      throw ApiException.badRequest(
          "invalid_type", "function must be an object: {\"name\": ...} or {\"url\": ...}");
    }
    boolean hasName = node.has("name");
    boolean hasUrl = node.has("url");
    if (hasName == hasUrl) {
      throw ApiException.invalid("invalid_value", "function needs exactly one of 'name' and 'url'");
    }
    // A typo is caught, not ignored: a named function takes its name and a timeout only.
    node.fieldNames()
        .forEachRemaining(
            k -> {
              if (!k.equals("name") && !k.equals("timeoutMs")) {
                throw ApiException.badRequest(
                    "unknown_field",
                    "unknown field 'function."
                        + k
                        + "'; a named function takes name and timeoutMs");
              }
            });
    JsonNode name = node.get("name");
    if (!name.isTextual()) {
      throw ApiException.badRequest("invalid_type", "function.name must be a string");
    }
    if (!functions.contains(name.asText())) {
      throw ApiException.invalid(
          "unknown_function",
          "no function is named '"
              + name.asText()
              + "'; this server offers "
              + functions.stream().sorted().toList());
    }
    return name.asText();
  }

  private static String reduce(JsonNode node) {
    if (node == null || node.isNull()) {
      return null;
    }
    if (!node.isTextual()) {
      throw ApiException.badRequest(
          "invalid_type",
          "reduce must be a string such as \"sum\", or {\"jq\": ..., \"init\": ...}");
    }
    if (!REDUCERS.contains(node.asText())) {
      throw ApiException.invalid(
          "unknown_reducer",
          "reduce: unknown reducer '" + node.asText() + "'; the reducers are " + REDUCERS);
    }
    return node.asText();
  }

  private static RetryPolicy retry(JsonNode node) {
    if (node == null || node.isNull()) {
      return null;
    }
    requireObject(node, "retry", Set.of("maxAttempts", "backoffMs", "maxBackoffMs"));
    RetryPolicy defaults = RetryPolicy.defaults();
    RetryPolicy.Builder b = RetryPolicy.builder();
    b.maxAttempts(
        node.has("maxAttempts")
            ? (int) integer(node.get("maxAttempts"), "retry.maxAttempts", 1, MAX_ATTEMPTS)
            : defaults.maxAttempts());
    long backoff =
        node.has("backoffMs")
            ? integer(node.get("backoffMs"), "retry.backoffMs", 0, MAX_MILLIS)
            : defaults.backoff().toMillis();
    long maxBackoff =
        node.has("maxBackoffMs")
            ? integer(node.get("maxBackoffMs"), "retry.maxBackoffMs", 0, MAX_MILLIS)
            : Math.max(backoff, defaults.maxBackoff().toMillis());
    if (maxBackoff < backoff) {
      throw ApiException.invalid(
          "invalid_value",
          "retry.maxBackoffMs ("
              + maxBackoff
              + ") must not be below retry.backoffMs ("
              + backoff
              + ")");
    }
    return b.backoff(Duration.ofMillis(backoff)).maxBackoff(Duration.ofMillis(maxBackoff)).build();
  }

  private static FailurePolicy failurePolicy(JsonNode node) {
    if (node == null || node.isNull()) {
      return null;
    }
    requireObject(
        node, "failurePolicy", Set.of("mode", "toleratedFailureCount", "toleratedFailurePercent"));
    FailureMode mode = FailureMode.ALL_SETTLED;
    JsonNode m = node.get("mode");
    if (m != null) {
      if (!m.isTextual()) {
        throw ApiException.badRequest("invalid_type", "failurePolicy.mode must be a string");
      }
      mode =
          switch (m.asText()) {
            case "failFast" -> FailureMode.FAIL_FAST;
            case "allSettled" -> FailureMode.ALL_SETTLED;
            default ->
                throw ApiException.invalid(
                    "invalid_value",
                    "failurePolicy.mode must be \"failFast\" or \"allSettled\", got " + m.asText());
          };
    }
    FailurePolicy policy = FailurePolicy.of(mode);
    JsonNode count = node.get("toleratedFailureCount");
    JsonNode percent = node.get("toleratedFailurePercent");
    if (count != null && percent != null) {
      throw ApiException.invalid(
          "invalid_value",
          "failurePolicy takes toleratedFailureCount or toleratedFailurePercent, not both");
    }
    if (count != null) {
      policy =
          policy.toleratingFailures(
              integer(count, "failurePolicy.toleratedFailureCount", 0, Long.MAX_VALUE));
    }
    if (percent != null) {
      if (!percent.isNumber()) {
        throw ApiException.badRequest(
            "invalid_type", "failurePolicy.toleratedFailurePercent must be a number");
      }
      double p = percent.asDouble();
      if (!(p >= 0 && p <= 100)) {
        throw ApiException.invalid(
            "invalid_value",
            "failurePolicy.toleratedFailurePercent must be between 0 and 100, got "
                + percent.asText());
      }
      policy = policy.toleratingPercent(p);
    }
    return policy;
  }

  private static ResultOrder order(JsonNode node) {
    if (node == null || node.isNull()) {
      return null;
    }
    if (!node.isTextual()) {
      throw ApiException.badRequest("invalid_type", "order must be a string");
    }
    return switch (node.asText()) {
      case "completion" -> ResultOrder.COMPLETION;
      case "input" -> ResultOrder.INPUT;
      default ->
          throw ApiException.invalid(
              "invalid_value",
              "order must be \"completion\" or \"input\", got \"" + node.asText() + "\"");
    };
  }

  /** The items per call of an HTTP function: 1 (no batching) when absent or null. */
  private static int batchSize(JsonNode node) {
    if (node == null || node.isNull()) {
      return 1;
    }
    return (int) integer(node, "batchSize", 1, HttpFunction.MAX_BATCH_SIZE);
  }

  private static void requireObject(JsonNode node, String field, Set<String> keys) {
    if (!node.isObject()) {
      throw ApiException.badRequest("invalid_type", field + " must be an object");
    }
    node.fieldNames()
        .forEachRemaining(
            k -> {
              if (!keys.contains(k)) {
                throw ApiException.badRequest(
                    "unknown_field",
                    "unknown field '"
                        + field
                        + "."
                        + k
                        + "'; the fields are "
                        + keys.stream().sorted().toList());
              }
            });
  }

  /**
   * An integer field: 400 when it is not an integral JSON number, 422 when out of range (a number
   * too large for a long is out of range, not a wrong type). Never expands a huge exponent.
   */
  static long integer(JsonNode node, String field, long min, long max) {
    if (node == null || !node.isNumber()) {
      throw ApiException.badRequest("invalid_type", field + " must be an integer");
    }
    if (node.isFloatingPointNumber() && !Double.isFinite(node.doubleValue()) && node.isDouble()) {
      throw outOfRange(node, field, min, max);
    }
    BigDecimal d = node.decimalValue();
    if (d.signum() != 0 && d.precision() - d.scale() > 19) {
      throw outOfRange(node, field, min, max);
    }
    if (d.signum() != 0 && d.stripTrailingZeros().scale() > 0) {
      throw ApiException.badRequest(
          "invalid_type", field + " must be an integer, got " + node.asText());
    }
    BigInteger v = d.toBigInteger();
    if (v.compareTo(BigInteger.valueOf(min)) < 0 || v.compareTo(BigInteger.valueOf(max)) > 0) {
      throw outOfRange(node, field, min, max);
    }
    return v.longValueExact();
  }

  private static ApiException outOfRange(JsonNode node, String field, long min, long max) {
    String shown = node.asText();
    if (shown.length() > 40) {
      shown = shown.substring(0, 40) + "...";
    }
    return ApiException.invalid(
        "invalid_value", field + " must be between " + min + " and " + max + ", got " + shown);
  }
}
