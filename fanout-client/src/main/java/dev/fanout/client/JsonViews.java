package dev.fanout.client;

import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.cfg.JsonNodeFeature;
import com.fasterxml.jackson.databind.node.NullNode;
import dev.fanout.ItemStatus;
import dev.fanout.JobId;
import dev.fanout.JobState;
import dev.fanout.JobStatus;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.OptionalLong;

/** Reads the API's JSON objects into the client's records. */
final class JsonViews {
  /**
   * Decimals stay as written (an exact sum stays exact), and trailing zeros are kept, so a value
   * printed again is the value the server sent.
   */
  static final ObjectMapper JSON =
      new ObjectMapper()
          .enable(DeserializationFeature.USE_BIG_DECIMAL_FOR_FLOATS)
          .configure(JsonNodeFeature.STRIP_TRAILING_BIGDECIMAL_ZEROES, false);

  private JsonViews() {}

  static JobView job(JsonNode json) {
    return new JobView(
        status(json), orNull(json.get("aggregate")), orNull(json.get("metadata")), json);
  }

  static JobStatus status(JsonNode json) {
    JobEvent.Progress counts = progress(json);
    return new JobStatus(
        counts.id(),
        counts.state(),
        counts.total(),
        counts.pending(),
        counts.running(),
        counts.succeeded(),
        counts.failed(),
        counts.cancelled(),
        counts.retries(),
        json.path("maxConcurrency").asInt(),
        Instant.parse(text(json, "createdAt")),
        instant(json.get("startedAt")),
        instant(json.get("finishedAt")),
        json.hasNonNull("error") ? json.get("error").asText() : null);
  }

  static JobEvent.Progress progress(JsonNode json) {
    return new JobEvent.Progress(
        JobId.of(text(json, "id")),
        JobState.valueOf(text(json, "status")),
        total(json),
        json.path("pending").asLong(),
        json.path("running").asLong(),
        json.path("succeeded").asLong(),
        json.path("failed").asLong(),
        json.path("cancelled").asLong(),
        json.path("retries").asLong());
  }

  static JobResult result(JsonNode json) {
    ItemStatus status = ItemStatus.valueOf(text(json, "status"));
    JobResult.Error error = null;
    if (status == ItemStatus.FAILED) {
      JsonNode e = json.path("error");
      error =
          new JobResult.Error(
              e.path("code").asText("function_error"),
              e.hasNonNull("message") ? e.get("message").asText() : null,
              e.hasNonNull("httpStatus") ? e.get("httpStatus").asInt() : null);
    }
    return new JobResult(
        json.path("seq").asLong(),
        json.path("index").asLong(),
        status,
        status == ItemStatus.SUCCEEDED ? orNull(json.get("value")) : null,
        error,
        json.path("attempts").asInt(),
        Duration.ofMillis(json.path("durationMs").asLong()),
        json);
  }

  static ClusterView cluster(JsonNode json) {
    List<NodeView> nodes = new ArrayList<>();
    for (JsonNode n : json.path("nodes")) {
      String state = text(n, "state");
      NodeView.State parsed;
      try {
        parsed = NodeView.State.valueOf(state.toUpperCase(Locale.ROOT));
      } catch (IllegalArgumentException e) {
        throw new IllegalStateException(
            "the server's answer has an unknown node state '" + state + "'", e);
      }
      nodes.add(
          new NodeView(
              text(n, "id"),
              text(n, "host"),
              text(n, "version"),
              Instant.parse(text(n, "startedAt")),
              Instant.parse(text(n, "lastSeen")),
              parsed,
              n.path("concurrency").asInt(),
              n.path("running").asInt(),
              n.path("self").asBoolean()));
    }
    long leaseMillis = json.path("leaseSeconds").decimalValue().movePointRight(3).longValue();
    return new ClusterView(nodes, Duration.ofMillis(leaseMillis), json);
  }

  private static OptionalLong total(JsonNode json) {
    JsonNode total = json.get("total");
    return total == null || total.isNull() ? OptionalLong.empty() : OptionalLong.of(total.asLong());
  }

  private static String text(JsonNode json, String field) {
    JsonNode v = json.get(field);
    if (v == null || !v.isTextual()) {
      throw new IllegalStateException(
          "the server's answer has no text field '" + field + "': " + abbreviate(json.toString()));
    }
    return v.asText();
  }

  private static Instant instant(JsonNode v) {
    return v == null || v.isNull() ? null : Instant.parse(v.asText());
  }

  private static JsonNode orNull(JsonNode v) {
    return v == null ? NullNode.getInstance() : v;
  }

  static String abbreviate(String s) {
    return s.length() > 300 ? s.substring(0, 300) + "..." : s;
  }
}
