package dev.fanout.cli;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** {@code fanout serve} from the real jar: it serves a job over HTTP and stops on SIGTERM. */
class ServeIT {
  private static final Pattern LISTENING = Pattern.compile("Fanout listening on (http://\\S+)");

  @TempDir Path dir;

  @Test
  void serve_runs_a_job_over_http_and_stops_on_sigterm() throws Exception {
    Process process =
        new ProcessBuilder(
                Path.of(System.getProperty("java.home"), "bin", "java").toString(),
                "-jar",
                FanoutJar.jar().toString(),
                "serve",
                "--port",
                "0",
                "--data",
                dir.resolve("data").toString())
            .directory(dir.toFile())
            .redirectError(dir.resolve("stderr.txt").toFile())
            .start();
    try {
      BufferedReader out =
          new BufferedReader(
              new InputStreamReader(process.getInputStream(), StandardCharsets.UTF_8));
      String line = out.readLine();
      assertThat(line).as(Files.readString(dir.resolve("stderr.txt"))).isNotNull();
      Matcher m = LISTENING.matcher(line);
      assertThat(m.matches()).as(line).isTrue();
      String url = m.group(1);

      HttpClient client = HttpClient.newHttpClient();
      HttpResponse<String> accepted =
          client.send(
              HttpRequest.newBuilder(URI.create(url + "/v1/jobs"))
                  .header("Content-Type", "application/json")
                  .POST(
                      HttpRequest.BodyPublishers.ofString(
                          "{\"function\": {\"name\": \"identity\"}, \"items\": [1, 2, 3],"
                              + " \"reduce\": \"sum\"}"))
                  .build(),
              HttpResponse.BodyHandlers.ofString());
      assertThat(accepted.statusCode()).as(accepted.body()).isEqualTo(202);
      String location = accepted.headers().firstValue("Location").orElseThrow();
      await()
          .atMost(Duration.ofSeconds(30))
          .until(
              () ->
                  client
                      .send(
                          HttpRequest.newBuilder(URI.create(url + location)).build(),
                          HttpResponse.BodyHandlers.ofString())
                      .body()
                      .contains("\"aggregate\":6"));

      process.destroy();
      assertThat(process.waitFor(30, TimeUnit.SECONDS)).as("stopped after SIGTERM").isTrue();
      assertThat(Files.readString(dir.resolve("stderr.txt"))).as("no warnings").isEmpty();
    } finally {
      process.destroyForcibly();
    }
  }

  @Test
  void serving_other_machines_without_a_token_is_a_usage_error() throws Exception {
    FanoutJar.Run run = FanoutJar.run(dir, "serve", "--bind", "0.0.0.0", "--port", "0");

    assertThat(run.exitCode()).as(run.describe()).isEqualTo(2);
    assertThat(run.err()).contains("--token").contains("--no-auth");
  }
}
