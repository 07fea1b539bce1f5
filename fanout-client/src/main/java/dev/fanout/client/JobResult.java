package dev.fanout.client;

import com.fasterxml.jackson.databind.JsonNode;
import dev.fanout.ItemStatus;
import java.time.Duration;
import java.util.Objects;

/**
 * One settled item, as {@code GET /v1/jobs/{id}/results} and the event stream show it.
 *
 * @param seq its place in completion order, from 1; unique within the job
 * @param index the item's 0-based position in the submitted items
 * @param status whether it succeeded
 * @param value the function's result after the transform when it succeeded (JSON null when the
 *     function answered nothing), else null
 * @param error why it failed when it failed, else null
 * @param attempts how many attempts ran
 * @param duration how long it took
 * @param json the server's object as it came, for printing it unchanged
 */
public record JobResult(
    long seq,
    long index,
    ItemStatus status,
    JsonNode value,
    Error error,
    int attempts,
    Duration duration,
    JsonNode json) {

  /** Checks the fields. */
  public JobResult {
    Objects.requireNonNull(status, "status");
    Objects.requireNonNull(duration, "duration");
    Objects.requireNonNull(json, "json");
  }

  /**
   * Tells whether the item succeeded.
   *
   * @return true when {@link #status()} is {@link ItemStatus#SUCCEEDED}
   */
  public boolean succeeded() {
    return status == ItemStatus.SUCCEEDED;
  }

  /**
   * Why an item failed.
   *
   * @param code a stable code such as {@code http_error}, {@code timeout} or {@code
   *     transform_error}
   * @param message for people, or null
   * @param httpStatus the HTTP function's answer status for {@code http_error}, else null
   */
  public record Error(String code, String message, Integer httpStatus) {

    /** Checks the code. */
    public Error {
      Objects.requireNonNull(code, "code");
    }
  }
}
