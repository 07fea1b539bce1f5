package dev.fanout.server.crash;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

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
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.concurrent.TimeUnit;
import java.util.stream.Collectors;
import java.util.stream.IntStream;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A server on H2 killed with SIGKILL in the middle of a job, then started again on the same data
 * folder: the job finishes, with every item recorded once and the aggregate exact.
 */
class ServerCrashTest {
  private static final ObjectMapper JSON = new ObjectMapper();

  /**
   * Enough that the job still runs a second or more after its 300th result (50 calls of 5 to 15 ms
   * at once settle about 5,000 a second): the kill waits for that moment by polling, which a loaded
   * machine may delay by a few hundred milliseconds.
   */
  private static final int ITEMS = 6_000;

  @TempDir Path data;

  private final HttpClient client = HttpClient.newHttpClient();
  private final List<Process> processes = new ArrayList<>();

  @AfterEach
  void killAll() {
    processes.forEach(Process::destroyForcibly);
  }

  private record Server(Process process, String url) {}

  private Server startServer(String name) throws IOException {
    Path java = Path.of(System.getProperty("java.home"), "bin", "java");
    Process p =
        new ProcessBuilder(
                java.toString(),
                "-XX:TieredStopAtLevel=1",
                "-Xmx256m",
                "-cp",
                System.getProperty("java.class.path"),
                ServerMain.class.getName(),
                data.resolve("store").toString())
            .redirectError(data.resolve(name + ".log").toFile())
            .start();
    processes.add(p);
    BufferedReader out =
        new BufferedReader(new InputStreamReader(p.getInputStream(), StandardCharsets.UTF_8));
    // Logs may come first on standard output; the URL is the first line that is one.
    String url = out.readLine();
    while (url != null && !url.startsWith("http://")) {
      url = out.readLine();
    }
    if (url == null) {
      throw new AssertionError(
          name + " did not start:\n" + Files.readString(data.resolve(name + ".log")));
    }
    // Keep draining its output, so a full pipe never blocks the server.
    Thread.ofVirtual()
        .start(
            () -> {
              try {
                while (out.readLine() != null) {
                  // discard
                }
              } catch (IOException e) {
                // the process died; that ends its output
              }
            });
    return new Server(p, url);
  }

  private JsonNode get(String url) throws IOException, InterruptedException {
    HttpResponse<String> r =
        client.send(
            HttpRequest.newBuilder(URI.create(url)).build(), HttpResponse.BodyHandlers.ofString());
    return JSON.readTree(r.body());
  }

  @Test
  void a_killed_server_resumes_its_job_and_records_every_item_once() throws Exception {
    Server first = startServer("first");
    String items =
        IntStream.range(0, ITEMS).mapToObj(Integer::toString).collect(Collectors.joining(","));
    HttpResponse<String> accepted =
        client.send(
            HttpRequest.newBuilder(URI.create(first.url() + "/v1/jobs"))
                .header("Content-Type", "application/json")
                .POST(
                    HttpRequest.BodyPublishers.ofString(
                        "{\"function\": {\"name\": \"slowDouble\"}, \"items\": ["
                            + items
                            + "], \"reduce\": \"sum\", \"maxConcurrency\": 50}"))
                .build(),
            HttpResponse.BodyHandlers.ofString());
    assertThat(accepted.statusCode()).as(accepted.body()).isEqualTo(202);
    String id = JSON.readTree(accepted.body()).get("id").asText();
    String job = "/v1/jobs/" + id;

    // Kill while items are leased and running, with some already recorded.
    await()
        .atMost(Duration.ofSeconds(60))
        .pollInterval(Duration.ofMillis(20))
        .until(
            () -> {
              JsonNode s = get(first.url() + job);
              return s.get("succeeded").asLong() >= 300 && s.get("running").asLong() > 0;
            });
    first.process().destroyForcibly();
    assertThat(first.process().waitFor(30, TimeUnit.SECONDS)).isTrue();

    Server second = startServer("second");
    await()
        .atMost(Duration.ofSeconds(90))
        .pollInterval(Duration.ofMillis(50))
        .until(() -> get(second.url() + job).get("status").asText().equals("SUCCEEDED"));
    JsonNode done = get(second.url() + job);
    assertThat(done.get("succeeded").asLong()).isEqualTo(ITEMS);
    assertThat(done.get("aggregate").asLong()).isEqualTo((long) ITEMS * (ITEMS - 1));

    Set<Long> indexes = new HashSet<>();
    List<Long> seqs = new ArrayList<>();
    long after = 0;
    for (; ; ) {
      JsonNode page = get(second.url() + job + "/results?limit=1000&after=" + after);
      for (JsonNode r : page.get("results")) {
        assertThat(indexes.add(r.get("index").asLong())).as("index recorded twice: " + r).isTrue();
        assertThat(r.get("value").asLong()).isEqualTo(2 * r.get("index").asLong());
        seqs.add(r.get("seq").asLong());
      }
      after = page.get("next").asLong();
      if (page.get("done").asBoolean()) {
        break;
      }
    }
    assertThat(indexes).hasSize(ITEMS);
    assertThat(seqs).containsExactlyElementsOf(LongStreams.range(1, ITEMS));

    // SIGTERM: the server stops on its own, promptly.
    second.process().destroy();
    assertThat(second.process().waitFor(30, TimeUnit.SECONDS)).isTrue();
  }

  /** 1..n as a list. */
  private static final class LongStreams {
    static List<Long> range(long from, long to) {
      List<Long> out = new ArrayList<>();
      for (long i = from; i <= to; i++) {
        out.add(i);
      }
      return out;
    }
  }
}
