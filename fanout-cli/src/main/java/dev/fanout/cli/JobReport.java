package dev.fanout.cli;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.PrintWriter;
import java.time.Duration;
import java.time.Instant;
import java.time.format.DateTimeParseException;
import java.util.List;

/**
 * Prints a job, given as the JSON object {@code GET /v1/jobs/{id}} answers (docs/api.md), as text
 * or as that same JSON: a remote command passes the server's answer through, and {@code fanout run}
 * builds the same shape locally, so scripts parse one shape whichever printed it.
 */
final class JobReport {
  /** How many failed items the text form lists; the rest are counted. */
  static final int FAILURES_SHOWN = 5;

  private JobReport() {}

  /**
   * Prints a job.
   *
   * @param out where to print; flushed
   * @param output the format
   * @param job the job in the API's shape
   * @param failures some of its failed results in the API's result shape (for the text form), at
   *     most {@link #FAILURES_SHOWN} are shown; may be empty
   */
  static void print(
      PrintWriter out, OutputOptions output, ObjectNode job, List<? extends JsonNode> failures) {
    if (output.json()) {
      out.println(job.toString());
    } else {
      out.print(text(job, failures));
    }
    out.flush();
  }

  /**
   * The text form: a headline, the counts, the aggregate once final, the job's error, and the first
   * failed items.
   *
   * @param job the job in the API's shape
   * @param failures some failed results
   * @return the lines, each ending in a newline
   */
  static String text(JsonNode job, List<? extends JsonNode> failures) {
    StringBuilder s = new StringBuilder();
    String status = job.path("status").asText("?");
    boolean finished = isFinal(status);
    s.append("job ").append(job.path("id").asText("?")).append(' ').append(status);
    Duration took = between(job.path("createdAt"), job.path("finishedAt"));
    if (took != null) {
      s.append(" in ").append(seconds(took));
    }
    s.append('\n');
    s.append("items: ");
    JsonNode total = job.path("total");
    s.append(total.isNumber() ? total.asText() : "unknown").append(" total, ");
    if (!finished) {
      s.append(job.path("pending").asLong()).append(" pending, ");
      s.append(job.path("running").asLong()).append(" running, ");
    }
    s.append(job.path("succeeded").asLong()).append(" succeeded, ");
    s.append(job.path("failed").asLong()).append(" failed, ");
    s.append(job.path("cancelled").asLong()).append(" cancelled, ");
    s.append(job.path("retries").asLong()).append(" retries\n");
    JsonNode aggregate = job.path("aggregate");
    if (finished && !aggregate.isMissingNode() && !aggregate.isNull()) {
      s.append("aggregate: ").append(aggregate.toString()).append('\n');
    }
    JsonNode error = job.path("error");
    if (error.isTextual()) {
      s.append("error: ").append(error.asText()).append('\n');
    }
    long failed = job.path("failed").asLong();
    if (!failures.isEmpty()) {
      int shown = Math.min(FAILURES_SHOWN, failures.size());
      s.append(
          failed > shown
              ? "failed items (the first " + shown + " of " + failed + "):\n"
              : "failed items:\n");
      for (JsonNode f : failures.subList(0, shown)) {
        JsonNode e = f.path("error");
        s.append("  item ")
            .append(f.path("index").asLong())
            .append(": ")
            .append(e.path("code").asText("error"))
            .append(": ")
            .append(e.path("message").asText(""))
            .append(" (")
            .append(f.path("attempts").asInt())
            .append(f.path("attempts").asInt() == 1 ? " attempt)\n" : " attempts)\n");
      }
    }
    return s.toString();
  }

  /**
   * Tells whether a status is final.
   *
   * @param status the API's status name
   * @return true for SUCCEEDED, FAILED and CANCELLED
   */
  static boolean isFinal(String status) {
    return status.equals("SUCCEEDED") || status.equals("FAILED") || status.equals("CANCELLED");
  }

  /**
   * The exit code a command that waited for a job ends with.
   *
   * @param job the final job in the API's shape
   * @return {@link ExitCodes#OK} for SUCCEEDED, else {@link ExitCodes#JOB_FAILED}
   */
  static int exitCode(JsonNode job) {
    return job.path("status").asText().equals("SUCCEEDED") ? ExitCodes.OK : ExitCodes.JOB_FAILED;
  }

  private static Duration between(JsonNode from, JsonNode to) {
    if (!from.isTextual() || !to.isTextual()) {
      return null;
    }
    try {
      return Duration.between(Instant.parse(from.asText()), Instant.parse(to.asText()));
    } catch (DateTimeParseException e) {
      return null;
    }
  }

  /**
   * A duration for people: milliseconds below a second, else seconds with one decimal.
   *
   * @param d the duration
   * @return e.g. {@code 850 ms} or {@code 12.3 s}
   */
  static String seconds(Duration d) {
    long millis = d.toMillis();
    if (millis < 1000) {
      return millis + " ms";
    }
    return String.format(java.util.Locale.ROOT, "%.1f s", millis / 1000.0);
  }
}
