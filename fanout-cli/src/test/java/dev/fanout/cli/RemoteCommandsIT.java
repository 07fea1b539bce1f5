package dev.fanout.cli;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.fanout.TaskContext;
import dev.fanout.client.FanoutClient;
import dev.fanout.server.FanoutServer;
import java.io.IOException;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicReference;
import java.util.stream.Collectors;
import java.util.stream.IntStream;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.api.io.TempDir;

/**
 * The remote commands from the real jar, in a child JVM, against a real server on a random port (in
 * this JVM, over an H2 file, with a token): each command's happy path, exit codes, {@code --output
 * json} parsed, usage errors, and {@code watch} on a non-terminal.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class RemoteCommandsIT {
  private static final String TOKEN = "cli-test-token-0123456789";
  private static final ObjectMapper JSON = new ObjectMapper();

  @TempDir Path dir;

  /** Holds the calls of {@code gated}; a test that uses it closes a fresh one and opens it. */
  private final AtomicReference<CountDownLatch> gate = new AtomicReference<>(new CountDownLatch(0));

  private final AtomicBoolean healed = new AtomicBoolean();
  private final AtomicInteger runs = new AtomicInteger();
  private FanoutServer server;
  private Map<String, String> env;

  @BeforeAll
  void start() throws IOException {
    server =
        FanoutServer.builder()
            .port(0)
            .dataDir(Files.createTempDirectory("fanout-cli-it"))
            .token(TOKEN)
            .pollInterval(Duration.ofMillis(20))
            .streamSettings(
                new FanoutServer.StreamSettings(
                    Duration.ofMillis(10), Duration.ofMillis(20), Duration.ofMillis(200)))
            .function(
                "gated",
                (JsonNode item, TaskContext ctx) -> {
                  gate.get().await();
                  return item;
                })
            .function(
                "flaky",
                (JsonNode item, TaskContext ctx) -> {
                  if (!healed.get() && item.asLong() % 2 == 1) {
                    throw new IllegalStateException("odd " + item.asLong());
                  }
                  return item;
                })
            .build()
            .start();
    env = Map.of("FANOUT_SERVER", server.url(), "FANOUT_TOKEN", TOKEN);
  }

  @AfterAll
  void stop() {
    gate.get().countDown();
    server.close();
  }

  /** Runs the jar in a folder of its own, with the server and token from the environment. */
  private FanoutJar.Run fanout(String... args) throws IOException, InterruptedException {
    return FanoutJar.run(workDir(), env, null, args);
  }

  private FanoutJar.Run fanoutWithStdin(Path stdin, String... args)
      throws IOException, InterruptedException {
    return FanoutJar.run(workDir(), env, stdin, args);
  }

  private Path workDir() throws IOException {
    return Files.createDirectories(dir.resolve("run-" + runs.incrementAndGet()));
  }

  private Path file(String name, String content) throws IOException {
    return Files.writeString(dir.resolve(name), content, StandardCharsets.UTF_8);
  }

  private static String ndjson(int n) {
    return IntStream.range(0, n).mapToObj(Integer::toString).collect(Collectors.joining("\n"));
  }

  private static JsonNode json(String line) throws IOException {
    return JSON.readTree(line);
  }

  private String submitted(String... args) throws Exception {
    FanoutJar.Run run = fanout(args);
    assertThat(run.exitCode()).as(run.describe()).isZero();
    String id = run.out().strip();
    assertThat(id).matches("[0-9a-f-]{36}");
    return id;
  }

  private JsonNode awaitFinal(String id) throws Exception {
    await()
        .atMost(Duration.ofSeconds(60))
        .pollInterval(50, TimeUnit.MILLISECONDS)
        .until(() -> JobReport.isFinal(statusJson(id).path("status").asText()));
    return statusJson(id);
  }

  private JsonNode statusJson(String id) throws Exception {
    FanoutJar.Run run = fanout("status", id, "--output", "json");
    return json(run.out());
  }

  @Test
  void submit_prints_the_job_id_and_status_shows_the_job_as_text_and_as_json() throws Exception {
    Path items = file("items.ndjson", ndjson(100));

    String id =
        submitted(
            "submit", "--function", "identity", "--items", items.toString(), "--reduce", "sum");

    JsonNode job = awaitFinal(id);
    assertThat(job.get("id").asText()).isEqualTo(id);
    assertThat(job.get("status").asText()).isEqualTo("SUCCEEDED");
    assertThat(job.get("total").asLong()).isEqualTo(100);
    assertThat(job.get("aggregate").asLong()).isEqualTo(4950);
    FanoutJar.Run text = fanout("status", id);
    assertThat(text.exitCode()).as(text.describe()).isZero();
    assertThat(text.out())
        .startsWith("job " + id + " SUCCEEDED")
        .contains("items: 100 total, 100 succeeded, 0 failed")
        .contains("aggregate: 4950");
  }

  @Test
  void submit_wait_streams_stdin_follows_the_job_and_prints_it_as_json() throws Exception {
    Path stdin = file("stdin.json", "[1, 2, 3, 4, 5]");

    FanoutJar.Run run =
        fanoutWithStdin(
            stdin,
            "submit",
            "--function",
            "identity",
            "--items",
            "-",
            "--transform",
            ". * 2",
            "--reduce",
            "{\"jq\": \". + $item\", \"init\": 1000}",
            "--max-concurrency",
            "2",
            "--max-attempts",
            "1",
            "--wait",
            "--output",
            "json",
            "--progress-interval-ms",
            "50");

    assertThat(run.exitCode()).as(run.describe()).isZero();
    JsonNode job = json(run.out());
    assertThat(job.get("status").asText()).isEqualTo("SUCCEEDED");
    assertThat(job.get("aggregate").asLong()).isEqualTo(1030);
    assertThat(job.get("maxConcurrency").asInt()).isEqualTo(2);
    assertThat(run.err()).contains("submitted job " + job.get("id").asText() + " (5 items)");
  }

  @Test
  void submit_wait_exits_1_when_the_job_fails_and_lists_the_failed_items() throws Exception {
    Path items = file("flaky.ndjson", ndjson(6));

    FanoutJar.Run run =
        fanout(
            "submit",
            "--function",
            "flaky",
            "--items",
            items.toString(),
            "--max-attempts",
            "1",
            "--reduce",
            "sum",
            "--wait",
            "--no-progress");

    assertThat(run.exitCode()).as(run.describe()).isEqualTo(1);
    assertThat(run.out())
        .contains(" FAILED")
        .contains("3 succeeded, 3 failed")
        .contains("aggregate: 6")
        .contains("failed items:")
        .contains("function_error");
  }

  @Test
  void jobs_lists_the_newest_first_as_text_and_as_one_json_object_per_line() throws Exception {
    Path items = file("one.ndjson", "1");
    String first = submitted("submit", "--function", "identity", "--items", items.toString());
    String second = submitted("submit", "--function", "identity", "--items", items.toString());
    awaitFinal(second);

    FanoutJar.Run text = fanout("jobs", "--limit", "2");
    assertThat(text.exitCode()).as(text.describe()).isZero();
    List<String> lines = text.out().lines().toList();
    assertThat(lines.get(0)).startsWith("ID").contains("STATUS");
    assertThat(lines.get(1)).startsWith(second);
    assertThat(lines.get(2)).startsWith(first);

    FanoutJar.Run json = fanout("jobs", "--limit", "2", "--output", "json");
    List<String> ids = new ArrayList<>();
    for (String line : json.out().lines().toList()) {
      ids.add(json(line).get("id").asText());
    }
    assertThat(ids).containsExactly(second, first);
  }

  @Test
  void cluster_lists_the_server_as_a_starred_node_as_text_and_as_json() throws Exception {
    // The server's row appears with its first heartbeat.
    try (FanoutClient client =
        FanoutClient.builder(URI.create(server.url())).token(TOKEN).build()) {
      await()
          .atMost(Duration.ofSeconds(30))
          .pollInterval(20, TimeUnit.MILLISECONDS)
          .until(() -> client.cluster().self().isPresent());
    }

    FanoutJar.Run text = fanout("cluster");
    assertThat(text.exitCode()).as(text.describe()).isZero();
    List<String> lines = text.out().lines().toList();
    assertThat(lines.get(0)).startsWith("ID").contains("STATE", "RUNNING/CAP", "LAST SEEN");
    assertThat(lines)
        .anySatisfy(l -> assertThat(l).startsWith(server.nodeId() + " *").contains("active"));

    FanoutJar.Run json = fanout("cluster", "--output", "json");
    assertThat(json.exitCode()).as(json.describe()).isZero();
    JsonNode cluster = json(json.out());
    assertThat(cluster.get("leaseSeconds").isNumber()).isTrue();
    List<String> selves = new ArrayList<>();
    cluster
        .get("nodes")
        .forEach(
            n -> {
              if (n.get("self").asBoolean()) {
                selves.add(n.get("id").asText());
              }
            });
    assertThat(selves).containsExactly(server.nodeId());

    FanoutJar.Run refused = fanout("cluster", "--token", "not-the-token-at-all");
    assertThat(refused.exitCode()).as(refused.describe()).isEqualTo(3);
  }

  @Test
  void pause_set_concurrency_resume_and_cancel_change_a_running_job() throws Exception {
    gate.set(new CountDownLatch(1));
    Path items = file("gated.ndjson", ndjson(20));
    String id =
        submitted(
            "submit", "--function", "gated", "--items", items.toString(), "--max-concurrency", "2");

    FanoutJar.Run paused = fanout("pause", id, "--output", "json");
    assertThat(paused.exitCode()).as(paused.describe()).isZero();
    assertThat(json(paused.out()).get("status").asText()).isEqualTo("PAUSED");

    FanoutJar.Run capped = fanout("set-concurrency", id, "7", "--output", "json");
    assertThat(capped.exitCode()).as(capped.describe()).isZero();
    assertThat(json(capped.out()).get("maxConcurrency").asInt()).isEqualTo(7);

    FanoutJar.Run resumed = fanout("resume", id);
    assertThat(resumed.exitCode()).as(resumed.describe()).isZero();
    assertThat(resumed.out()).startsWith("job " + id + " ").doesNotContain("PAUSED");

    FanoutJar.Run cancelled = fanout("cancel", id, "--output", "json");
    assertThat(cancelled.exitCode()).as(cancelled.describe()).isZero();
    assertThat(json(cancelled.out()).get("status").asText()).isEqualTo("CANCELLED");

    FanoutJar.Run status = fanout("status", id);
    assertThat(status.exitCode()).as("a CANCELLED job: " + status.describe()).isEqualTo(1);
    gate.get().countDown();
    FanoutJar.Run pausedAgain = fanout("pause", id);
    assertThat(pausedAgain.exitCode()).as(pausedAgain.describe()).isEqualTo(1);
    assertThat(pausedAgain.err()).contains("409 job_final");
  }

  @Test
  void retry_failed_runs_the_failed_items_again() throws Exception {
    Path items = file("retry.ndjson", ndjson(4));
    String id =
        submitted(
            "submit",
            "--function",
            "flaky",
            "--items",
            items.toString(),
            "--max-attempts",
            "1",
            "--reduce",
            "sum");
    assertThat(awaitFinal(id).get("status").asText()).isEqualTo("FAILED");
    healed.set(true);
    try {
      FanoutJar.Run retried = fanout("retry-failed", id, "--output", "json");
      assertThat(retried.exitCode()).as(retried.describe()).isZero();
      assertThat(json(retried.out()).get("id").asText()).isEqualTo(id);
      JsonNode job = awaitFinal(id);
      assertThat(job.get("status").asText()).isEqualTo("SUCCEEDED");
      assertThat(job.get("aggregate").asLong()).isEqualTo(6);
      FanoutJar.Run nothing = fanout("retry-failed", id);
      assertThat(nothing.exitCode()).isEqualTo(1);
      assertThat(nothing.err()).contains("nothing_to_retry");
    } finally {
      healed.set(false);
    }
  }

  @Test
  void results_prints_ndjson_and_follow_waits_for_the_end() throws Exception {
    Path items = file("results.ndjson", ndjson(50));
    String done = submitted("submit", "--function", "identity", "--items", items.toString());
    awaitFinal(done);

    FanoutJar.Run all = fanout("results", done);
    assertThat(all.exitCode()).as(all.describe()).isZero();
    List<JsonNode> results = new ArrayList<>();
    for (String line : all.out().lines().toList()) {
      results.add(json(line));
    }
    assertThat(results)
        .extracting(r -> r.get("seq").asLong())
        .containsExactlyElementsOf(IntStream.rangeClosed(1, 50).mapToObj(i -> (long) i).toList());
    assertThat(results)
        .allSatisfy(r -> assertThat(r.get("value").asLong()).isEqualTo(r.get("index").asLong()));

    String failing =
        submitted(
            "submit", "--function", "flaky", "--items", items.toString(), "--max-attempts", "1");
    FanoutJar.Run followed = fanout("results", failing, "--follow", "--status", "FAILED");
    assertThat(followed.exitCode()).as("the job FAILED: " + followed.describe()).isEqualTo(1);
    assertThat(followed.out().lines().toList())
        .hasSize(25)
        .allSatisfy(line -> assertThat(line).contains("\"FAILED\""));
  }

  @Test
  void watch_on_a_non_terminal_prints_plain_progress_lines_then_the_final_job() throws Exception {
    gate.set(new CountDownLatch(1));
    Path items = file("watched.ndjson", ndjson(30));
    String id = submitted("submit", "--function", "gated", "--items", items.toString());
    Path work = workDir();

    Process watch = FanoutJar.start(work, env, null, "watch", id, "--progress-interval-ms", "100");
    try {
      await()
          .atMost(Duration.ofSeconds(60))
          .until(() -> Files.readString(work.resolve("stderr.txt")).contains("fanout watch: 0/30"));
      gate.get().countDown();
      assertThat(watch.waitFor(60, TimeUnit.SECONDS)).isTrue();
    } finally {
      watch.destroyForcibly();
    }

    String err = Files.readString(work.resolve("stderr.txt"));
    assertThat(watch.exitValue()).as(err).isZero();
    assertThat(err.lines().filter(l -> l.startsWith("fanout watch: ")))
        .hasSizeGreaterThanOrEqualTo(2);
    assertThat(err).contains("fanout watch: 30/30 done (100%), 0 failed");
    assertThat(err).as("no bar: no carriage return, no escape code").doesNotContain("\r", "\u001b");
    assertThat(Files.readString(work.resolve("stdout.txt"))).startsWith("job " + id + " SUCCEEDED");
  }

  @Test
  void a_missing_or_wrong_token_or_no_server_exits_3() throws Exception {
    FanoutJar.Run wrong = fanout("jobs", "--token", "not-the-token-at-all");
    assertThat(wrong.exitCode()).as(wrong.describe()).isEqualTo(3);
    assertThat(wrong.err()).contains("refused the token").contains("--token");

    FanoutJar.Run none =
        FanoutJar.run(workDir(), Map.of("FANOUT_SERVER", server.url()), null, "jobs");
    assertThat(none.exitCode()).as(none.describe()).isEqualTo(3);
    assertThat(none.err()).contains("give one with --token or FANOUT_TOKEN");

    int closed;
    try (java.net.ServerSocket s = new java.net.ServerSocket(0)) {
      closed = s.getLocalPort();
    }
    FanoutJar.Run down =
        fanout(
            "status",
            "0192f1e4-7b1c-7d3e-9a4f-2b6c8d0e1f23",
            "--server",
            "http://127.0.0.1:" + closed);
    assertThat(down.exitCode()).as(down.describe()).isEqualTo(3);
    assertThat(down.err()).contains("127.0.0.1:" + closed).contains("connection refused");
  }

  @Test
  void an_unknown_job_exits_1_and_a_malformed_id_is_a_usage_error() throws Exception {
    FanoutJar.Run unknown = fanout("status", "0192f1e4-7b1c-7d3e-9a4f-2b6c8d0e1f23");
    assertThat(unknown.exitCode()).as(unknown.describe()).isEqualTo(1);
    assertThat(unknown.err()).contains("404 job_not_found");

    FanoutJar.Run malformed = fanout("cancel", "not-an-id");
    assertThat(malformed.exitCode()).as(malformed.describe()).isEqualTo(2);
    assertThat(malformed.err()).contains("not-an-id");
  }

  @Test
  void usage_errors_exit_2_naming_the_problem() throws Exception {
    Path good = file("good.ndjson", ndjson(3));

    FanoutJar.Run unknownFlag =
        fanout("submit", "--function", "identity", "--items", good.toString(), "--bogus");
    assertThat(unknownFlag.exitCode()).as(unknownFlag.describe()).isEqualTo(2);
    assertThat(unknownFlag.err()).contains("Unknown option: '--bogus'");

    FanoutJar.Run missing =
        fanout(
            "submit", "--function", "identity", "--items", dir.resolve("nope.ndjson").toString());
    assertThat(missing.exitCode()).as(missing.describe()).isEqualTo(2);
    assertThat(missing.err()).contains("nope.ndjson").contains("does not exist");

    FanoutJar.Run folder = fanout("submit", "--function", "identity", "--items", dir.toString());
    assertThat(folder.exitCode()).as(folder.describe()).isEqualTo(2);
    assertThat(folder.err()).contains("is a directory");

    Path bad = file("bad.ndjson", "1\n2\n{\"a\": nope}\n4\n");
    FanoutJar.Run malformed = fanout("submit", "--function", "identity", "--items", bad.toString());
    assertThat(malformed.exitCode()).as(malformed.describe()).isEqualTo(2);
    assertThat(malformed.err()).contains("bad.ndjson line 3");

    FanoutJar.Run badReduce =
        fanout(
            "submit", "--function", "identity", "--items", good.toString(), "--reduce", "median");
    assertThat(badReduce.exitCode()).as(badReduce.describe()).isEqualTo(2);
    assertThat(badReduce.err()).contains("median").contains("unknown_reducer");

    FanoutJar.Run both =
        fanout(
            "submit",
            "--function",
            "identity",
            "--function-url",
            "http://127.0.0.1:9/x",
            "--items",
            good.toString());
    assertThat(both.exitCode()).as(both.describe()).isEqualTo(2);
    assertThat(both.err()).contains("mutually exclusive");

    FanoutJar.Run jobs = fanout("jobs", "--output", "json");
    for (String line : jobs.out().lines().toList()) {
      assertThat(json(line).get("total").asLong())
          .as("no job from a refused submission")
          .isNotEqualTo(3);
    }
  }

  @Test
  void an_unreadable_items_file_is_a_usage_error() throws Exception {
    Path unreadable;
    if (System.getProperty("user.name").equals("root")) {
      // Root reads any file whatever its mode; this one opens but fails on the first read.
      unreadable = Path.of("/proc/self/mem");
      // JUnit's assumption, not AssertJ's: AssertJ builds a proxy class for it, through
      // sun.misc.Unsafe, which JDK 25 warns about on the test's output.
      assumeTrue(Files.exists(unreadable), "/proc/self/mem exists");
    } else {
      unreadable = file("locked.ndjson", "1\n");
      Files.setPosixFilePermissions(unreadable, PosixFilePermissions.fromString("---------"));
    }

    FanoutJar.Run run =
        fanout("submit", "--function", "identity", "--items", unreadable.toString());

    assertThat(run.exitCode()).as(run.describe()).isEqualTo(2);
    assertThat(run.err()).contains(unreadable.getFileName().toString()).contains("read");
  }

  @Test
  void every_remote_command_has_help_with_an_example() throws Exception {
    for (String command :
        List.of(
            "submit",
            "status",
            "jobs",
            "cluster",
            "watch",
            "results",
            "cancel",
            "pause",
            "resume",
            "set-concurrency",
            "retry-failed")) {
      FanoutJar.Run help = FanoutJar.run(workDir(), command, "--help");
      assertThat(help.exitCode()).as(help.describe()).isZero();
      assertThat(help.out())
          .as(command)
          .contains("Usage: fanout " + command)
          .contains("Example")
          .contains("fanout " + command + " ");
      assertThat(help.out() + help.err()).as(command).doesNotContain("picocli WARN");
    }
  }
}
