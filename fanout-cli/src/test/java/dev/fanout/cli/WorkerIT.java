package dev.fanout.cli;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import dev.fanout.JobId;
import dev.fanout.JobState;
import dev.fanout.client.FanoutClient;
import dev.fanout.client.NodeView;
import dev.fanout.jdbc.JdbcJobStore;
import dev.fanout.server.FanoutServer;
import dev.fanout.spi.JobRow;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.SQLException;
import java.time.Duration;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Collectors;
import java.util.stream.IntStream;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@code fanout worker} from the real jar: a server on PostgreSQL accepts a job and goes away; the
 * worker, a child process on the same database, runs every item and folds the aggregate, then stops
 * on SIGTERM.
 */
class WorkerIT {
  private static final Pattern ID = Pattern.compile("\"id\"\\s*:\\s*\"([^\"]+)\"");

  @TempDir Path dir;
  private TestSchema schema;

  @BeforeEach
  void createSchema() {
    schema = TestSchema.create("fanout_worker_it_");
  }

  @AfterEach
  void dropSchema() throws SQLException {
    schema.close();
  }

  private String url() {
    return schema.url();
  }

  @Test
  void a_worker_runs_the_jobs_a_server_accepted_and_stops_on_sigterm() throws Exception {
    String id;
    // Short leases and no grace: the few items the server had started come back within a second.
    try (FanoutServer server =
        FanoutServer.builder()
            .port(0)
            .jdbcUrl(url())
            .leaseDuration(Duration.ofSeconds(1))
            .shutdownGrace(Duration.ZERO)
            .build()
            .start()) {
      String items =
          IntStream.range(0, 40).mapToObj(Integer::toString).collect(Collectors.joining(","));
      HttpResponse<String> accepted =
          HttpClient.newHttpClient()
              .send(
                  HttpRequest.newBuilder(URI.create(server.url() + "/v1/jobs"))
                      .header("Content-Type", "application/json")
                      .POST(
                          HttpRequest.BodyPublishers.ofString(
                              "{\"function\": {\"name\": \"demo\"}, \"items\": ["
                                  + items
                                  + "], \"reduce\": \"sum\", \"maxConcurrency\": 4}"))
                      .build(),
                  HttpResponse.BodyHandlers.ofString());
      assertThat(accepted.statusCode()).as(accepted.body()).isEqualTo(202);
      Matcher m = ID.matcher(accepted.body());
      assertThat(m.find()).isTrue();
      id = m.group(1);
    }

    Process worker = FanoutJar.start(dir, Map.of(), null, "worker", "--db", url());
    try (JdbcJobStore store = JdbcJobStore.open(url())) {
      await()
          .atMost(Duration.ofSeconds(60))
          .until(() -> store.job(JobId.of(id)).map(r -> r.state().isFinal()).orElse(false));
      JobRow row = store.job(JobId.of(id)).orElseThrow();
      assertThat(row.state()).as(log()).isEqualTo(JobState.SUCCEEDED);
      // demo squares each number: 0² + ... + 39².
      assertThat(row.aggregate()).isEqualTo("20540");
      assertThat(Files.readString(dir.resolve("stdout.txt"), StandardCharsets.UTF_8))
          .contains("Fanout worker running");

      worker.destroy(); // SIGTERM
      assertThat(worker.waitFor(30, TimeUnit.SECONDS)).as("stopped after SIGTERM").isTrue();
    } finally {
      worker.destroyForcibly();
    }
  }

  @Test
  void fanout_cluster_shows_the_server_and_a_worker_which_is_stopped_after_sigterm()
      throws Exception {
    try (FanoutServer server =
            FanoutServer.builder()
                .port(0)
                .jdbcUrl(url())
                .nodeId("it-server")
                .shutdownGrace(Duration.ZERO)
                .build()
                .start();
        FanoutClient client = FanoutClient.builder(URI.create(server.url())).build()) {
      Process worker =
          FanoutJar.start(
              dir,
              Map.of(),
              null,
              "worker",
              "--db",
              url(),
              "--node-id",
              "it-worker",
              "--concurrency",
              "3");
      try {
        await()
            .atMost(Duration.ofSeconds(60))
            .pollInterval(100, TimeUnit.MILLISECONDS)
            .until(
                () -> client.cluster().nodes().stream().anyMatch(n -> n.id().equals("it-worker")));

        FanoutJar.Run text =
            FanoutJar.run(
                Files.createDirectories(dir.resolve("cluster")),
                Map.of("FANOUT_SERVER", server.url()),
                null,
                "cluster");
        assertThat(text.exitCode()).as(text.describe()).isZero();
        assertThat(text.out().lines())
            .anySatisfy(l -> assertThat(l).startsWith("it-server *").contains("active"))
            .anySatisfy(
                l -> assertThat(l).startsWith("it-worker ").contains("active", "0/3", "s ago"));

        worker.destroy(); // SIGTERM: the worker leaves the cluster as it stops
        assertThat(worker.waitFor(30, TimeUnit.SECONDS)).as("stopped after SIGTERM").isTrue();
        NodeView stopped =
            client.cluster().nodes().stream()
                .filter(n -> n.id().equals("it-worker"))
                .findFirst()
                .orElseThrow();
        assertThat(stopped.state()).as(log()).isEqualTo(NodeView.State.STOPPED);
        assertThat(stopped.self()).isFalse();
      } finally {
        worker.destroyForcibly();
      }
    }
  }

  @Test
  void a_worker_without_a_database_is_a_usage_error() throws Exception {
    FanoutJar.Run run = FanoutJar.run(dir, "worker");

    assertThat(run.exitCode()).as(run.describe()).isEqualTo(ExitCodes.USAGE);
    assertThat(run.err()).contains("--db");
  }

  private String log() throws java.io.IOException {
    return Files.readString(dir.resolve("stderr.txt"), StandardCharsets.UTF_8);
  }
}
