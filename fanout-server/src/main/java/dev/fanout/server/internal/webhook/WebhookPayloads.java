package dev.fanout.server.internal.webhook;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import com.fasterxml.jackson.databind.node.NullNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.UncheckedIOException;
import java.util.Objects;

/**
 * The bodies and delivery IDs of webhook deliveries, in one place so the server, its tests and the
 * documentation agree on one shape.
 *
 * <ul>
 *   <li>per result: the object of {@code GET /v1/jobs/{id}/results}, {@code {"seq", "index",
 *       "status", "value" or "error", "attempts", "durationMs"}}, plus {@code "jobId"}; delivery ID
 *       {@code <jobId>:<index>};
 *   <li>once the job is final: {@code {"event": "done", "job": {...}}} with the object of {@code
 *       GET /v1/jobs/{id}}; delivery ID {@code <jobId>:done}.
 * </ul>
 *
 * <p>A delivery ID names what is delivered, not the attempt, so a receiver de-duplicates retries
 * with it. (After {@code retry-failed}, an item's new result reuses {@code <jobId>:<index>} with a
 * new {@code seq}; receivers that keep both should key on {@code seq}.)
 */
public final class WebhookPayloads {
  /** The header naming the delivery. */
  public static final String DELIVERY_HEADER = "X-Fanout-Delivery";

  private static final JsonNodeFactory JSON = JsonNodeFactory.instance;
  private static final ObjectMapper MAPPER = new ObjectMapper();

  private WebhookPayloads() {}

  /**
   * The result object, as {@code GET /results} lists it.
   *
   * @param seq the result's sequence number (completion order, from 1)
   * @param index the item's 0-based index
   * @param status {@code SUCCEEDED} or {@code FAILED} (any other final state is shown like a
   *     failure, with an error)
   * @param valueOrError the value after the transform when succeeded (null for JSON null), else the
   *     error, as built by {@link #error}
   * @param attempts the attempts made
   * @param durationMs the time the item took, in milliseconds
   * @return a new object
   */
  public static ObjectNode result(
      long seq, long index, String status, JsonNode valueOrError, int attempts, long durationMs) {
    Objects.requireNonNull(status, "status");
    ObjectNode result = JSON.objectNode();
    result.put("seq", seq);
    result.put("index", index);
    result.put("status", status);
    if (status.equals("SUCCEEDED")) {
      result.set("value", valueOrError == null ? NullNode.instance : valueOrError);
    } else {
      result.set(
          "error", valueOrError == null ? error("function_error", null, null) : valueOrError);
    }
    result.put("attempts", attempts);
    result.put("durationMs", durationMs);
    return result;
  }

  /**
   * A result's error object, {@code {"code", "message", "httpStatus"}}, with every key present.
   *
   * @param code the stable error code, e.g. {@code function_error}, {@code transform_error}
   * @param message what happened, or null
   * @param httpStatus the function's HTTP status, or null when it did not answer
   * @return a new object
   */
  public static ObjectNode error(String code, String message, Integer httpStatus) {
    ObjectNode error = JSON.objectNode();
    error.put("code", Objects.requireNonNull(code, "code"));
    error.put("message", message);
    if (httpStatus == null) {
      error.putNull("httpStatus");
    } else {
      error.put("httpStatus", httpStatus.intValue());
    }
    return error;
  }

  /**
   * The body of one result's delivery, built from plain parameters.
   *
   * @param jobId the job's ID
   * @param seq the result's sequence number
   * @param index the item's index
   * @param status {@code SUCCEEDED} or {@code FAILED}
   * @param valueOrError the value, or the error object
   * @param attempts the attempts made
   * @param durationMs the time the item took, in milliseconds
   * @return a new object: the result object plus {@code jobId}
   */
  public static ObjectNode resultDelivery(
      String jobId,
      long seq,
      long index,
      String status,
      JsonNode valueOrError,
      int attempts,
      long durationMs) {
    return resultDelivery(jobId, result(seq, index, status, valueOrError, attempts, durationMs));
  }

  /**
   * The body of one result's delivery, from the object the server already shows in {@code GET
   * /results}, so the two cannot drift apart.
   *
   * @param jobId the job's ID
   * @param resultView the result object; not modified
   * @return a new object: {@code jobId} first, then the result's fields
   */
  public static ObjectNode resultDelivery(String jobId, ObjectNode resultView) {
    ObjectNode body = JSON.objectNode();
    body.put("jobId", Objects.requireNonNull(jobId, "jobId"));
    body.setAll(resultView.deepCopy());
    return body;
  }

  /**
   * The body of the final delivery.
   *
   * @param job the job object, as {@code GET /v1/jobs/{id}} shows it (without secrets)
   * @return a new object {@code {"event": "done", "job": job}}
   */
  public static ObjectNode doneDelivery(JsonNode job) {
    ObjectNode body = JSON.objectNode();
    body.put("event", "done");
    body.set("job", Objects.requireNonNull(job, "job"));
    return body;
  }

  /**
   * The delivery ID of one result.
   *
   * @param jobId the job's ID
   * @param index the item's index
   * @return {@code <jobId>:<index>}
   */
  public static String resultDeliveryId(String jobId, long index) {
    return jobId + ":" + index;
  }

  /**
   * The delivery ID of the final delivery of one run of the job: a job whose failed items are
   * retried finishes again, and that second {@code done} must not look like a repeat of the first.
   *
   * @param jobId the job's ID
   * @param finishedAtMillis when this run finished, in epoch milliseconds
   * @return {@code <jobId>:done:<finishedAtMillis>}
   */
  public static String doneDeliveryId(String jobId, long finishedAtMillis) {
    return jobId + ":done:" + finishedAtMillis;
  }

  /**
   * The exact bytes to send and sign (compact UTF-8 JSON).
   *
   * @param body a delivery body
   * @return its serialized form
   */
  public static byte[] toBytes(JsonNode body) {
    try {
      return MAPPER.writeValueAsBytes(body);
    } catch (JsonProcessingException e) {
      // A tree of plain nodes always serializes.
      throw new UncheckedIOException(e);
    }
  }
}
