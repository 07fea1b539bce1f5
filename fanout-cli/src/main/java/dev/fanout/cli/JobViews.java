package dev.fanout.cli;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.NullNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.fanout.JobStatus;
import dev.fanout.spi.StoredResult;
import dev.fanout.spi.TaskState;
import java.time.Instant;

/**
 * A local job and its results in the shapes of the HTTP API ({@code GET /v1/jobs/{id}} and {@code
 * GET /v1/jobs/{id}/results}, docs/api.md), so {@code fanout run --output json} and {@code
 * --results} print what a remote command prints for a job on a server.
 */
final class JobViews {
  private JobViews() {}

  /**
   * A job as {@code GET /v1/jobs/{id}} shows it.
   *
   * @param s its status
   * @param aggregate its aggregate (JSON null until final, or when it has none)
   * @param metadata its metadata, or JSON null
   * @return the view
   */
  static ObjectNode job(JobStatus s, JsonNode aggregate, JsonNode metadata) {
    ObjectNode view = Json.object();
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
    view.set("aggregate", aggregate == null ? NullNode.instance : aggregate);
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
   * httpStatus}, and {@code exitStatus} for a failed {@code --exec} command), {@code attempts},
   * {@code durationMs}.
   *
   * @param r the stored result
   * @return the view
   */
  static ObjectNode result(StoredResult r) {
    ObjectNode view = Json.object();
    view.put("seq", r.seq());
    view.put("index", r.index());
    view.put("status", r.status().name());
    if (r.status() == TaskState.SUCCEEDED) {
      view.set("value", Json.parse(r.value()));
    } else {
      JsonNode stored = r.error() == null ? Json.object() : Json.parse(r.error());
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

  private static void time(ObjectNode view, String field, Instant t) {
    if (t == null) {
      view.putNull(field);
    } else {
      view.put(field, t.toString());
    }
  }
}
