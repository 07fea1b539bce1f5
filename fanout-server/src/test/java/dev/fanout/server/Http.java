package dev.fanout.server;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.Flow;
import org.awaitility.Awaitility;

/** A small JSON client for the tests: real HTTP to the server under test, on loopback. */
final class Http {
  static final ObjectMapper JSON = new ObjectMapper();

  private final HttpClient client =
      HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(5)).build();
  private final String base;
  private final String token;

  Http(String base, String token) {
    this.base = base;
    this.token = token;
  }

  /** A response: the status, the headers we look at, and the body as text and as JSON. */
  record Response(int status, HttpResponse<String> raw) {
    JsonNode json() {
      try {
        return JSON.readTree(raw.body());
      } catch (IOException e) {
        throw new UncheckedIOException("not JSON: " + raw.body(), e);
      }
    }

    String body() {
      return raw.body();
    }

    String errorCode() {
      return json().path("error").path("code").asText();
    }
  }

  Response get(String path) {
    return send(request(path).GET());
  }

  Response delete(String path) {
    return send(request(path).DELETE());
  }

  Response post(String path, String body) {
    return send(
        request(path)
            .header("Content-Type", "application/json")
            .POST(HttpRequest.BodyPublishers.ofString(body)));
  }

  Response patch(String path, String body) {
    return send(
        request(path)
            .header("Content-Type", "application/json")
            .method("PATCH", HttpRequest.BodyPublishers.ofString(body)));
  }

  Response send(HttpRequest.Builder request) {
    try {
      HttpResponse<String> r = client.send(request.build(), HttpResponse.BodyHandlers.ofString());
      return new Response(r.statusCode(), r);
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new IllegalStateException(e);
    }
  }

  HttpRequest.Builder request(String path) {
    HttpRequest.Builder b =
        HttpRequest.newBuilder(URI.create(base + path)).timeout(Duration.ofSeconds(30));
    if (token != null) {
      b.header("Authorization", "Bearer " + token);
    }
    return b;
  }

  /** Submits a job and returns its id, failing unless the answer is 202. */
  String submit(String body) {
    return submit(body, Duration.ofSeconds(30));
  }

  /**
   * Submits a job with its own timeout: a million items are stored before the 202, which takes over
   * 20 s on a slow two-core machine and longer when it is busy. The timeout guards against a hang;
   * it is not a speed assertion.
   */
  String submit(String body, Duration timeout) {
    Response r =
        send(
            request("/v1/jobs")
                .timeout(timeout)
                .header("Content-Type", "application/json")
                .POST(HttpRequest.BodyPublishers.ofString(body)));
    if (r.status() != 202) {
      throw new AssertionError("submit answered " + r.status() + ": " + r.body());
    }
    return r.json().get("id").asText();
  }

  /** Waits up to 30 s for a job to be final and returns it as the API shows it. */
  JsonNode awaitFinal(String id) {
    Awaitility.await()
        .atMost(Duration.ofSeconds(30))
        .until(
            () ->
                Set.of("SUCCEEDED", "FAILED", "CANCELLED")
                    .contains(get("/v1/jobs/" + id).json().get("status").asText()));
    return get("/v1/jobs/" + id).json();
  }

  /** Every result of a job, paging through the results route until it says done. */
  List<JsonNode> allResults(String id) {
    List<JsonNode> all = new ArrayList<>();
    long after = 0;
    for (; ; ) {
      JsonNode page = get("/v1/jobs/" + id + "/results?limit=1000&after=" + after).json();
      page.get("results").forEach(all::add);
      after = page.get("next").asLong();
      if (page.get("done").asBoolean()) {
        return all;
      }
    }
  }

  /**
   * Opens an event stream and adds its lines to {@code lines} as they arrive.
   *
   * <p>The lines go to a subscriber rather than to a read of the body chained with {@code
   * thenAccept}: when the headers are in before the chain is made, which a busy machine allows,
   * such a read runs on the caller's thread and holds it until the stream ends, so a test never
   * gets to the step that would end it.
   *
   * @return completes when the server ends the stream, exceptionally when the connection fails or
   *     the server answers anything but 200
   */
  CompletableFuture<Void> eventStream(String path, List<String> lines) {
    return client
        .sendAsync(
            request(path).timeout(Duration.ofMinutes(5)).GET().build(),
            HttpResponse.BodyHandlers.fromLineSubscriber(new LineCollector(lines)))
        .thenApply(
            r -> {
              if (r.statusCode() != 200) {
                // Else a refused stream would only show as lines that never come.
                throw new IllegalStateException(
                    "GET " + path + " answered " + r.statusCode() + ": " + lines);
              }
              return null;
            });
  }

  /** Takes every line as it comes; an error reaches the caller through the response's future. */
  private record LineCollector(List<String> lines) implements Flow.Subscriber<String> {
    @Override
    public void onSubscribe(Flow.Subscription subscription) {
      subscription.request(Long.MAX_VALUE);
    }

    @Override
    public void onNext(String line) {
      lines.add(line);
    }

    @Override
    public void onError(Throwable error) {}

    @Override
    public void onComplete() {}
  }

  HttpClient client() {
    return client;
  }

  String base() {
    return base;
  }
}
