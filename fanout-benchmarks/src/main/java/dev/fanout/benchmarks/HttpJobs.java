package dev.fanout.benchmarks;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.util.Set;
import java.util.stream.Collectors;
import java.util.stream.IntStream;

/**
 * What the HTTP scenarios do as a client of {@code fanout serve}: submit a job, then read it until
 * it is final, as a caller in any language would.
 */
final class HttpJobs {
  private static final Set<String> FINAL = Set.of("SUCCEEDED", "FAILED", "CANCELLED");
  private static final ObjectMapper JSON = new ObjectMapper();
  private static final HttpClient CLIENT =
      HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1).build();

  private HttpJobs() {}

  /** A JSON array of the integers 0 to n - 1. */
  static String items(int n) {
    return IntStream.range(0, n)
        .mapToObj(Integer::toString)
        .collect(Collectors.joining(",", "[", "]"));
  }

  /** Posts a job and returns its ID, or fails with the answer when it is not {@code 202}. */
  static String submit(String base, HttpRequest.BodyPublisher body) throws Exception {
    HttpResponse<String> r =
        CLIENT.send(
            HttpRequest.newBuilder(URI.create(base + "/v1/jobs"))
                .header("Content-Type", "application/json")
                .POST(body)
                .build(),
            HttpResponse.BodyHandlers.ofString());
    if (r.statusCode() != 202) {
      throw new IllegalStateException("submit answered " + r.statusCode() + ": " + r.body());
    }
    return JSON.readTree(r.body()).get("id").asText();
  }

  /**
   * Waits until the job is final and returns it, through reads that the server answers once the job
   * is final ({@code ?waitMs=}), as a client that only wants the end waits: it learns of the end as
   * soon as the server does, and costs the server one read per wait, not one per poll.
   */
  static JsonNode awaitFinal(String base, String id) throws Exception {
    return readUntilFinal(URI.create(base + "/v1/jobs/" + id + "?waitMs=30000"), id, 0);
  }

  /**
   * Reads the job every {@code pollMillis} until it is final and returns it; the poll adds at most
   * that much to a measured time. For a cluster, whose node learns of a job that another node
   * finished only at its next look at the store, where a read goes to the store at once.
   */
  static JsonNode awaitFinal(String base, String id, long pollMillis) throws Exception {
    return readUntilFinal(URI.create(base + "/v1/jobs/" + id), id, pollMillis);
  }

  private static JsonNode readUntilFinal(URI uri, String id, long pauseMillis) throws Exception {
    HttpRequest get = HttpRequest.newBuilder(uri).build();
    long deadline = System.nanoTime() + Bench.TIMEOUT.toNanos();
    for (; ; ) {
      JsonNode job = JSON.readTree(CLIENT.send(get, HttpResponse.BodyHandlers.ofString()).body());
      if (FINAL.contains(job.get("status").asText())) {
        return job;
      }
      if (System.nanoTime() > deadline) {
        throw new IllegalStateException(
            "job " + id + " is not final after " + Bench.TIMEOUT.toMinutes() + " minutes: " + job);
      }
      if (pauseMillis > 0) {
        Thread.sleep(pauseMillis);
      }
    }
  }

  /**
   * Submits a job, waits for it to end ({@link #awaitFinal(String, String)}), and returns the
   * seconds from sending the submission to reading the final state; a job that did not succeed with
   * every item fails the run.
   */
  static double timeJob(String base, String body, long items) throws Exception {
    long t0 = System.nanoTime();
    String id = submit(base, HttpRequest.BodyPublishers.ofString(body));
    JsonNode job = awaitFinal(base, id);
    double seconds = Bench.secondsSince(t0);
    requireSucceeded(job, items);
    return seconds;
  }

  /** As {@link #timeJob(String, String, long)}, reading the job every {@code pollMillis}. */
  static double timeJob(String base, String body, long items, long pollMillis) throws Exception {
    long t0 = System.nanoTime();
    String id = submit(base, HttpRequest.BodyPublishers.ofString(body));
    JsonNode job = awaitFinal(base, id, pollMillis);
    double seconds = Bench.secondsSince(t0);
    requireSucceeded(job, items);
    return seconds;
  }

  /** Fails naming the job when it did not succeed with exactly {@code items} items. */
  static void requireSucceeded(JsonNode job, long items) {
    if (!job.get("status").asText().equals("SUCCEEDED") || job.get("succeeded").asLong() != items) {
      throw new IllegalStateException("benchmark job did not succeed with " + items + ": " + job);
    }
  }

  /** Reads the first line a child process prints, or fails when it ends without one. */
  static String firstLine(Process process, String what) throws IOException {
    BufferedReader out =
        new BufferedReader(new InputStreamReader(process.getInputStream(), StandardCharsets.UTF_8));
    String line = out.readLine();
    if (line == null) {
      throw new IOException(what + " did not start");
    }
    return line.strip();
  }
}
