package dev.fanout.server.internal.api;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import com.fasterxml.jackson.databind.node.NullNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.fanout.JobStatus;
import dev.fanout.spi.NodeRow;
import dev.fanout.spi.StoredResult;
import dev.fanout.spi.TaskState;
import java.time.Duration;
import java.time.Instant;
import java.util.function.Function;

/**
 * A job and a result in the shapes of the v1 API ({@code GET /v1/jobs/{id}}, {@code GET
 * /v1/jobs/{id}/results}; docs/api.md): one place for them, so the server and {@code fanout run
 * --output json} print the same fields.
 */
public final class Views {
  private static final JsonNodeFactory NODES = JsonNodeFactory.instance;

  private Views() {}

  /**
   * A job as {@code GET /v1/jobs/{id}} shows it.
   *
   * @param s its status
   * @param withAggregate whether the view has an {@code aggregate} field (the job list has none)
   * @param aggregate the aggregate, or null for JSON null
   * @param metadata its metadata, or null for JSON null
   * @return the view
   */
  public static ObjectNode job(
      JobStatus s, boolean withAggregate, JsonNode aggregate, JsonNode metadata) {
    ObjectNode view = NODES.objectNode();
    view.put("id", s.id().toString());
    view.put("status", s.state().name());
    if (s.total().isPresent()) {
      view.put("total", s.total().getAsLong());
    } else {
      view.putNull("total");
    }
    view.put("pending", s.pending());
    view.put("running", s.running());
    view.put("succeeded", s.succeeded());
    view.put("failed", s.failed());
    view.put("cancelled", s.cancelled());
    view.put("retries", s.retries());
    view.put("maxConcurrency", s.maxConcurrency());
    if (withAggregate) {
      view.set("aggregate", aggregate == null ? NullNode.instance : aggregate);
    }
    time(view, "createdAt", s.createdAt());
    time(view, "startedAt", s.startedAt());
    time(view, "finishedAt", s.finishedAt());
    if (s.error() == null) {
      view.putNull("error");
    } else {
      view.put("error", s.error());
    }
    view.set("metadata", metadata == null ? NullNode.instance : metadata);
    return view;
  }

  /**
   * A settled item as {@code GET /v1/jobs/{id}/results} lists it: {@code seq}, {@code index},
   * {@code status}, {@code value} or {@code error} ({@code code}, {@code message}, {@code
   * httpStatus}, and {@code exitStatus} when the stored error has one, as a failed {@code fanout
   * run --exec} command's does), {@code attempts}, {@code durationMs}.
   *
   * @param r the stored result
   * @param parse reads stored JSON text
   * @return the view
   */
  public static ObjectNode result(StoredResult r, Function<String, JsonNode> parse) {
    ObjectNode view = NODES.objectNode();
    view.put("seq", r.seq());
    view.put("index", r.index());
    view.put("status", r.status().name());
    if (r.status() == TaskState.SUCCEEDED) {
      view.set("value", r.value() == null ? NullNode.instance : parse.apply(r.value()));
    } else {
      JsonNode stored = r.error() == null ? NODES.objectNode() : parse.apply(r.error());
      ObjectNode error = view.putObject("error");
      error.put(
          "code",
          stored
              .path("code")
              .asText(r.status() == TaskState.CANCELLED ? "cancelled" : "function_error"));
      error.put("message", stored.path("message").asText(null));
      JsonNode httpStatus = stored.get("httpStatus");
      error.set(
          "httpStatus", httpStatus != null && httpStatus.isInt() ? httpStatus : NullNode.instance);
      JsonNode exitStatus = stored.get("exitStatus");
      if (exitStatus != null && exitStatus.isInt()) {
        error.set("exitStatus", exitStatus);
      }
    }
    view.put("attempts", r.attempts());
    view.put("durationMs", r.durationMillis());
    return view;
  }

  /**
   * A node as {@code GET /v1/cluster} lists it: {@code id}, {@code host}, {@code version}, {@code
   * startedAt}, {@code lastSeen}, {@code state}, {@code concurrency}, {@code running}, {@code
   * self}.
   *
   * <p>The state is {@code stopped} when the node shut down cleanly; {@code lost} when its last
   * heartbeat is older than the lease, since by then its leases have run out and its items go to
   * other nodes (it may be dead, or cut off from the store); else {@code active}. The lease is the
   * reading server's own: the cluster's nodes are meant to share one.
   *
   * @param node the node's row
   * @param self the reading server's node ID
   * @param lease the reading server's lease duration
   * @param now the time to judge the heartbeat by
   * @return the view
   */
  public static ObjectNode node(NodeRow node, String self, Duration lease, Instant now) {
    ObjectNode view = NODES.objectNode();
    view.put("id", node.id());
    view.put("host", node.host());
    view.put("version", node.version());
    time(view, "startedAt", node.startedAt());
    time(view, "lastSeen", node.lastSeen());
    view.put("state", nodeState(node, lease, now));
    view.put("concurrency", node.concurrency());
    view.put("running", node.running());
    view.put("self", node.id().equals(self));
    return view;
  }

  /**
   * A node's state as {@link #node} names it.
   *
   * @param node the node's row
   * @param lease the lease duration
   * @param now the time to judge the heartbeat by
   * @return {@code stopped}, {@code lost} or {@code active}
   */
  static String nodeState(NodeRow node, Duration lease, Instant now) {
    if (node.stopped()) {
      return "stopped";
    }
    return node.lastSeen().plus(lease).isBefore(now) ? "lost" : "active";
  }

  private static void time(ObjectNode view, String field, Instant t) {
    if (t == null) {
      view.putNull(field);
    } else {
      view.put(field, t.toString());
    }
  }
}
