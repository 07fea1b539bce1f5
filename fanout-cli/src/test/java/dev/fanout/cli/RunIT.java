package dev.fanout.cli;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.sun.net.httpserver.HttpServer;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Collectors;
import java.util.stream.IntStream;
import java.util.stream.LongStream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** {@code fanout run} from the real jar, as a user's shell runs it. */
class RunIT {
  private static final ObjectMapper JSON = new ObjectMapper();

  /** Squares its item with expr; {} arrives single-quoted, which sh removes. */
  private static final String SQUARE = "expr {} \\* {}";

  @TempDir Path dir;

  @Test
  void help_describes_run_with_examples_and_the_top_level_help_lists_it() throws Exception {
    FanoutJar.Run help = FanoutJar.run(dir, "run", "--help");
    assertThat(help.exitCode()).as(help.describe()).isZero();
    assertThat(help.out()).contains("Usage: fanout run", "--exec", "--data", "Examples:");

    FanoutJar.Run top = FanoutJar.run(dir, "--help");
    assertThat(top.out()).containsPattern("(?m)^\\s+run\\s");
  }

  @Test
  void exec_sums_the_squares_of_an_ndjson_file_and_exits_zero() throws Exception {
    write("numbers.ndjson", lines(1, 10));

    FanoutJar.Run run =
        FanoutJar.run(dir, "run", "--items", "numbers.ndjson", "--exec", SQUARE, "--reduce", "sum");

    assertThat(run.exitCode()).as(run.describe()).isZero();
    assertThat(run.out())
        .as(run.describe())
        .containsPattern("(?m)^job \\S+ SUCCEEDED in ")
        .contains("items: 10 total, 10 succeeded, 0 failed, 0 cancelled, 0 retries")
        .contains("aggregate: 385");
    // Not a terminal: plain progress lines on standard error, ending at 10/10.
    assertThat(run.err().lines().toList())
        .as(run.describe())
        .last()
        .asString()
        .startsWith("fanout run: 10/10 done (100%), 0 failed");
    assertThat(dir.resolve("fanout-data")).as("never the server's data folder").doesNotExist();
  }

  @Test
  void results_go_to_stdout_as_ndjson_one_per_item_and_the_summary_to_stderr() throws Exception {
    write("numbers.json", "[1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12]");

    FanoutJar.Run run =
        FanoutJar.run(
            dir,
            "run",
            "--items",
            "numbers.json",
            "--exec",
            SQUARE,
            "--results",
            "--max-concurrency",
            "4",
            "--progress",
            "none");

    assertThat(run.exitCode()).as(run.describe()).isZero();
    List<JsonNode> results = parseLines(run.out());
    assertThat(results)
        .extracting(r -> r.get("index").asLong())
        .containsExactlyInAnyOrderElementsOf(LongStream.range(0, 12).boxed().toList());
    assertThat(results).extracting(r -> r.get("seq").asLong()).doesNotHaveDuplicates();
    assertThat(results)
        .allSatisfy(
            r -> {
              long n = r.get("index").asLong() + 1;
              assertThat(r.get("status").asText()).isEqualTo("SUCCEEDED");
              assertThat(r.get("value").asLong()).isEqualTo(n * n);
              assertThat(r.get("attempts").asInt()).isEqualTo(1);
            });
    assertThat(run.err()).contains("items: 12 total, 12 succeeded");
  }

  @Test
  void items_from_stdin_and_output_json_give_the_job_in_the_apis_shape() throws Exception {
    FanoutJar.Run run =
        FanoutJar.runWithStdin(
            dir,
            "{\"n\": 3}\n\n{\"n\": 4}\n",
            "run",
            "--items",
            "-",
            "--exec",
            "cat",
            "--transform",
            ".n",
            "--reduce",
            "collect",
            "--output",
            "json",
            "--progress",
            "none");

    assertThat(run.exitCode()).as(run.describe()).isZero();
    assertThat(run.out().lines()).as("one JSON object").hasSize(1);
    JsonNode job = JSON.readTree(run.out());
    assertThat(job.get("status").asText()).isEqualTo("SUCCEEDED");
    assertThat(job.get("total").asLong()).isEqualTo(2);
    assertThat(job.get("succeeded").asLong()).isEqualTo(2);
    assertThat(job.get("failed").asLong()).isZero();
    assertThat(job.get("aggregate").toString()).isEqualTo("[3,4]");
    assertThat(job.get("id").asText()).isNotBlank();
    assertThat(job.get("finishedAt").isTextual()).isTrue();
  }

  @Test
  void the_item_reaches_the_command_quoted_and_on_stdin_whatever_it_holds() throws Exception {
    String tricky = "it's \"$HOME\" `id` $(id) ; rm -rf / \\ * é\nline two";
    String items = JSON.writeValueAsString(List.of(Map.of("text", tricky), "{}", 42));
    write("tricky.json", items);

    FanoutJar.Run run =
        FanoutJar.run(
            dir,
            "run",
            "--items",
            "tricky.json",
            // The argument and stdin, side by side: both must be the item.
            "--exec",
            "printf '%s' {} > arg-$FANOUT_ITEM_INDEX.json; cat > in-$FANOUT_ITEM_INDEX.json; cat"
                + " arg-$FANOUT_ITEM_INDEX.json",
            "--results",
            "--progress",
            "none");

    assertThat(run.exitCode()).as(run.describe()).isZero();
    JsonNode expected = JSON.readTree(items);
    for (int i = 0; i < 3; i++) {
      assertThat(JSON.readTree(Files.readString(dir.resolve("arg-" + i + ".json"))))
          .isEqualTo(expected.get(i));
      assertThat(Files.readString(dir.resolve("in-" + i + ".json"), StandardCharsets.UTF_8))
          .isEqualTo(JSON.writeValueAsString(expected.get(i)) + "\n");
    }
    assertThat(parseLines(run.out()))
        .allSatisfy(
            r -> assertThat(r.get("value")).isEqualTo(expected.get(r.get("index").asInt())));
  }

  @Test
  void a_failing_command_fails_its_item_after_its_attempts_and_the_run_exits_one()
      throws Exception {
    write("numbers.ndjson", lines(1, 6));

    FanoutJar.Run run =
        FanoutJar.run(
            dir,
            "run",
            "--items",
            "numbers.ndjson",
            "--exec",
            "if [ {} -eq 4 ]; then echo 'no fours' >&2; exit 3; fi; echo {}",
            "--reduce",
            "sum",
            "--max-attempts",
            "2",
            "--progress",
            "none");

    assertThat(run.exitCode()).as(run.describe()).isEqualTo(1);
    assertThat(run.out())
        .contains("FAILED")
        .contains("items: 6 total, 5 succeeded, 1 failed, 0 cancelled, 1 retries")
        .contains("aggregate: 17")
        .contains(
            "item 3: exit_status: the command exited with status 3; stderr: no fours (2"
                + " attempts)");

    FanoutJar.Run json =
        FanoutJar.run(
            dir,
            "run",
            "--items",
            "numbers.ndjson",
            "--exec",
            "test {} -ne 4 && echo {}",
            "--max-attempts",
            "1",
            "--output",
            "json",
            "--progress",
            "none");
    assertThat(json.exitCode()).as(json.describe()).isEqualTo(1);
    JsonNode job = JSON.readTree(json.out());
    assertThat(job.get("status").asText()).isEqualTo("FAILED");
    assertThat(job.get("failed").asLong()).isEqualTo(1);
    assertThat(job.get("succeeded").asLong()).isEqualTo(5);
  }

  @Test
  void a_timed_out_attempt_kills_the_command_and_the_processes_it_started() throws Exception {
    write("one.ndjson", "1\n");

    FanoutJar.Run run =
        FanoutJar.run(
            dir,
            "run",
            "--items",
            "one.ndjson",
            "--exec",
            // A grandchild: sleep runs in the background, and the shell waits for it.
            "sleep 120 & echo $! > sleeper.pid; wait",
            // Long enough for a loaded machine to start the shell and let it write the pid file:
            // a timeout before that would kill the shell first and leave no pid to check.
            "--timeout-ms",
            "3000",
            "--max-attempts",
            "1",
            "--progress",
            "none");

    assertThat(run.exitCode()).as(run.describe()).isEqualTo(1);
    assertThat(run.out()).contains("item 0: timeout: ");
    long pid = Long.parseLong(Files.readString(dir.resolve("sleeper.pid")).strip());
    await()
        .atMost(Duration.ofSeconds(30))
        .untilAsserted(
            () ->
                assertThat(ProcessHandle.of(pid).map(ProcessHandle::isAlive).orElse(false))
                    .as("the background sleep was killed")
                    .isFalse());
  }

  @Test
  void function_url_posts_each_item_to_a_local_server() throws Exception {
    Set<String> bodies = ConcurrentHashMap.newKeySet();
    HttpServer stub =
        HttpServer.create(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0), 0);
    stub.createContext(
        "/score",
        exchange -> {
          try (InputStream in = exchange.getRequestBody();
              OutputStream out = exchange.getResponseBody()) {
            String body = new String(in.readAllBytes(), StandardCharsets.UTF_8);
            bodies.add(body);
            long n = JSON.readTree(body).get("n").asLong();
            byte[] answer = ("{\"score\": " + (n * 10) + "}").getBytes(StandardCharsets.UTF_8);
            exchange.getResponseHeaders().add("Content-Type", "application/json");
            exchange.sendResponseHeaders(200, answer.length);
            out.write(answer);
          }
        });
    stub.start();
    try {
      write(
          "items.ndjson",
          IntStream.rangeClosed(1, 20)
              .mapToObj(i -> "{\"n\": " + i + "}\n")
              .collect(Collectors.joining()));
      String url = "http://127.0.0.1:" + stub.getAddress().getPort() + "/score";

      FanoutJar.Run run =
          FanoutJar.run(
              dir,
              "run",
              "--items",
              "items.ndjson",
              "--function-url",
              url,
              "--transform",
              ".score",
              "--reduce",
              "sum",
              "--output",
              "json",
              "--progress",
              "none");

      assertThat(run.exitCode()).as(run.describe()).isZero();
      assertThat(JSON.readTree(run.out()).get("aggregate").asLong()).isEqualTo(2100);
      assertThat(bodies).hasSize(20).contains("{\"n\":1}", "{\"n\":20}");
    } finally {
      stub.stop(0);
    }
  }

  @Test
  void a_malformed_ndjson_line_is_a_usage_error_naming_the_file_and_line() throws Exception {
    write("items.ndjson", "1\n2\n{\"three\": }\n4\n");

    FanoutJar.Run run = FanoutJar.run(dir, "run", "--items", "items.ndjson", "--exec", "echo {}");

    assertThat(run.exitCode()).as(run.describe()).isEqualTo(2);
    assertThat(run.err()).contains("fanout run: items.ndjson line 3, column ");
    assertThat(run.out()).as("no job was run").isEmpty();
  }

  @Test
  void a_missing_or_unreadable_items_file_is_a_usage_error_naming_it() throws Exception {
    FanoutJar.Run missing = FanoutJar.run(dir, "run", "--items", "nope.json", "--exec", "echo {}");
    assertThat(missing.exitCode()).as(missing.describe()).isEqualTo(2);
    assertThat(missing.err()).contains("the items file nope.json does not exist");

    // Tests run as root, who reads any file: a folder is what cannot be read as items here.
    Files.createDirectory(dir.resolve("folder.json"));
    FanoutJar.Run unreadable =
        FanoutJar.run(dir, "run", "--items", "folder.json", "--exec", "echo {}");
    assertThat(unreadable.exitCode()).as(unreadable.describe()).isEqualTo(2);
    assertThat(unreadable.err()).contains("the items file folder.json is a directory");
  }

  @Test
  void an_unknown_flag_is_a_usage_error_naming_it() throws Exception {
    write("one.ndjson", "1\n");

    FanoutJar.Run run =
        FanoutJar.run(dir, "run", "--items", "one.ndjson", "--exec", "echo {}", "--frobnicate");

    assertThat(run.exitCode()).as(run.describe()).isEqualTo(2);
    assertThat(run.err()).contains("--frobnicate");
  }

  @Test
  void the_function_is_exactly_one_of_exec_and_function_url() throws Exception {
    write("one.ndjson", "1\n");

    FanoutJar.Run neither = FanoutJar.run(dir, "run", "--items", "one.ndjson");
    assertThat(neither.exitCode()).as(neither.describe()).isEqualTo(2);
    assertThat(neither.err()).contains("--function-url").contains("--exec");

    FanoutJar.Run both =
        FanoutJar.run(
            dir,
            "run",
            "--items",
            "one.ndjson",
            "--exec",
            "echo {}",
            "--function-url",
            "http://127.0.0.1:9/x");
    assertThat(both.exitCode()).as(both.describe()).isEqualTo(2);
    assertThat(both.err()).contains("mutually exclusive");
  }

  @Test
  void bad_values_are_usage_errors_naming_the_option() throws Exception {
    write("one.ndjson", "1\n");
    Map<List<String>, String> cases =
        Map.of(
            List.of("--exec", "echo '{}'"), "write {} without quotes",
            List.of("--exec", "echo {}", "--reduce", "median"),
                "--reduce \"median\" is not a reducer",
            List.of("--exec", "echo {}", "--transform", ".[[["), "--transform",
            List.of("--exec", "echo {}", "--max-attempts", "0"), "--max-attempts must be between",
            List.of("--function-url", "ftp://127.0.0.1/x"), "--function-url");
    for (Map.Entry<List<String>, String> c : cases.entrySet()) {
      List<String> args = new ArrayList<>(List.of("run", "--items", "one.ndjson"));
      args.addAll(c.getKey());

      FanoutJar.Run run = FanoutJar.run(dir, args.toArray(String[]::new));

      assertThat(run.exitCode()).as(run.describe()).isEqualTo(2);
      assertThat(run.err()).as(run.describe()).contains(c.getValue());
    }
  }

  /**
   * The run is killed with SIGKILL midway; the same command resumes it. Each command appends its
   * item and the JVM's pid ($PPID) to a log, so the test can count what each run executed.
   */
  @Test
  void data_makes_the_run_resumable_after_sigkill() throws Exception {
    int total = 40;
    write("numbers.ndjson", lines(1, total));
    String exec = "sleep 0.2; echo \"$PPID {}\" >> ran.log; expr {} \\* {}";
    String[] args = {
      "run",
      "--items",
      "numbers.ndjson",
      "--exec",
      exec,
      "--reduce",
      "sum",
      "--data",
      "state",
      "--max-concurrency",
      "4",
      "--progress",
      "plain",
      "--progress-interval-ms",
      "50"
    };

    Path err = dir.resolve("first-stderr.txt");
    Process first =
        new ProcessBuilder(FanoutJar.command(args))
            .directory(dir.toFile())
            .redirectInput(ProcessBuilder.Redirect.from(write("empty.txt", "").toFile()))
            .redirectOutput(dir.resolve("first-stdout.txt").toFile())
            .redirectError(err.toFile())
            .start();
    Pattern done = Pattern.compile("fanout run: (\\d+)/" + total + " done");
    try {
      await().atMost(Duration.ofMinutes(2)).until(() -> lastDone(Files.readString(err), done) >= 8);
    } finally {
      first.destroyForcibly(); // SIGKILL: no shutdown hook runs
    }
    assertThat(first.waitFor(30, TimeUnit.SECONDS)).isTrue();
    assertThat(lastDone(Files.readString(err), done))
        .as("killed midway, not after the end")
        .isLessThan(total);

    // Another command cannot take the folder while that job is unfinished.
    FanoutJar.Run other =
        FanoutJar.run(
            dir, "run", "--items", "numbers.ndjson", "--exec", "echo {}", "--data", "state");
    assertThat(other.exitCode()).as(other.describe()).isEqualTo(2);
    assertThat(other.err()).contains("holds the unfinished job").contains("expr {}");

    List<String> argsWithResults = new ArrayList<>(List.of(args));
    argsWithResults.add("--results");
    FanoutJar.Run second = FanoutJar.run(dir, argsWithResults.toArray(String[]::new));

    assertThat(second.exitCode()).as(second.describe()).isZero();
    Matcher resumed =
        Pattern.compile("resuming job \\S+ in state: (\\d+) of " + total + " items had settled")
            .matcher(second.err());
    assertThat(resumed.find()).as(second.describe()).isTrue();
    int settledBefore = Integer.parseInt(resumed.group(1));
    assertThat(settledBefore).isBetween(8, total - 1);
    // Every item exactly once in the results, and the exact sum.
    List<JsonNode> results = parseLines(second.out());
    assertThat(results)
        .extracting(r -> r.get("index").asLong())
        .containsExactlyInAnyOrderElementsOf(LongStream.range(0, total).boxed().toList());
    assertThat(second.err()).contains("aggregate: " + (total * (total + 1) * (2 * total + 1) / 6));
    // The second run executed exactly the items that had not settled, each once. Commands the
    // killed JVM had started may still finish after it died; they carry its pid.
    List<String> log = Files.readAllLines(dir.resolve("ran.log"));
    List<String> ranBySecond =
        log.stream()
            .map(l -> l.split(" "))
            .filter(p -> !p[0].equals(Long.toString(first.pid())))
            .map(p -> p[1])
            .toList();
    assertThat(ranBySecond).hasSize(total - settledBefore).doesNotHaveDuplicates();

    // Once finished, the same command shows the job again and runs nothing.
    int logged = Files.readAllLines(dir.resolve("ran.log")).size();
    FanoutJar.Run third = FanoutJar.run(dir, args);
    assertThat(third.exitCode()).as(third.describe()).isZero();
    assertThat(third.err()).contains("already finished");
    assertThat(third.out()).contains("aggregate: 22140");
    assertThat(Files.readAllLines(dir.resolve("ran.log"))).hasSize(logged);
  }

  private static int lastDone(String stderr, Pattern done) {
    int last = -1;
    Matcher m = done.matcher(stderr);
    while (m.find()) {
      last = Integer.parseInt(m.group(1));
    }
    return last;
  }

  private static List<JsonNode> parseLines(String ndjson) throws IOException {
    List<JsonNode> out = new ArrayList<>();
    for (String line : ndjson.lines().toList()) {
      out.add(JSON.readTree(line));
    }
    return out;
  }

  private static String lines(int from, int to) {
    return IntStream.rangeClosed(from, to).mapToObj(i -> i + "\n").collect(Collectors.joining());
  }

  private Path write(String name, String content) throws IOException {
    return Files.writeString(dir.resolve(name), content, StandardCharsets.UTF_8);
  }
}
