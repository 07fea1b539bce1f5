package dev.fanout.cli;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Path;
import java.util.List;
import java.util.regex.Pattern;
import java.util.stream.LongStream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class FanoutCliIT {

  private static final Pattern RESULT_LINE =
      Pattern.compile("(\\d+) -> (\\d+)( \\(after \\d+ transient failures?\\))?");

  @TempDir Path dir;

  @Test
  void help_lists_the_commands_with_an_example_and_exits_zero() throws Exception {
    FanoutJar.Run run = FanoutJar.run(dir, "--help");

    assertThat(run.exitCode()).as(run.describe()).isZero();
    assertThat(run.out())
        .contains("Usage: fanout")
        .containsPattern("(?m)^\\s+demo\\s")
        .containsPattern("(?m)^\\s+version\\s")
        .contains("Example:", "fanout demo --count");
    // A '%' not written as '%%' in a description makes picocli print a warning instead of it.
    assertThat(run.out() + run.err()).doesNotContain("picocli WARN");
    FanoutJar.Run demo = FanoutJar.run(dir, "demo", "--help");
    assertThat(demo.out() + demo.err())
        .contains("3% of first attempts fail transiently")
        .doesNotContain("picocli WARN");
  }

  @Test
  void version_flag_prints_the_project_version() throws Exception {
    FanoutJar.Run run = FanoutJar.run(dir, "--version");

    assertThat(run.exitCode()).as(run.describe()).isZero();
    assertThat(run.out()).isEqualTo("fanout " + System.getProperty("fanout.version") + "\n");
  }

  @Test
  void version_command_prints_the_same_line_as_the_flag() throws Exception {
    FanoutJar.Run run = FanoutJar.run(dir, "version");

    assertThat(run.exitCode()).as(run.describe()).isZero();
    assertThat(run.out()).isEqualTo("fanout " + System.getProperty("fanout.version") + "\n");
  }

  @Test
  void demo_serves_a_job_over_http_shows_each_square_and_checks_the_sum() throws Exception {
    FanoutJar.Run run = FanoutJar.run(dir, "demo", "--count", "20", "--max-concurrency", "20");

    assertThat(run.exitCode()).as(run.describe()).isZero();
    List<String> lines = run.out().lines().toList();
    assertThat(lines.get(0))
        .as(run.describe())
        .startsWith("Fanout demo server on http://127.0.0.1:");
    // The ID comes back before any result.
    assertThat(lines.get(1)).as(run.describe()).matches("submitted job \\S+: 20 numbers to square");
    assertThat(lines).as(run.describe()).contains("sum = 2870, n(n+1)(2n+1)/6 = 2870 (match)");
    assertThat(lines.stream().map(RESULT_LINE::matcher).filter(m -> m.matches()))
        .map(m -> Long.parseLong(m.group(1)))
        .containsExactlyInAnyOrderElementsOf(LongStream.rangeClosed(1, 20).boxed().toList());
    assertThat(lines)
        .anyMatch(l -> l.matches("the job over the API: http://127\\.0\\.0\\.1:\\d+/v1/jobs/\\S+"));
    assertThat(lines)
        .anyMatch(
            l -> l.matches("the job on the dashboard: http://127\\.0\\.0\\.1:\\d+/#/jobs/\\S+"));
    assertThat(run.err()).as("nothing logged at WARN or above").doesNotContain("WARN", "ERROR");
  }

  @Test
  void an_unknown_flag_exits_two_and_names_the_flag() throws Exception {
    FanoutJar.Run run = FanoutJar.run(dir, "demo", "--frobnicate");

    assertThat(run.exitCode()).as(run.describe()).isEqualTo(2);
    assertThat(run.err()).contains("--frobnicate");
    assertThat(run.out()).isEmpty();
  }

  @Test
  void an_unknown_command_exits_two_and_names_it() throws Exception {
    FanoutJar.Run run = FanoutJar.run(dir, "frobnicate");

    assertThat(run.exitCode()).as(run.describe()).isEqualTo(2);
    assertThat(run.err()).contains("frobnicate");
  }

  @Test
  void demo_with_a_count_below_one_is_a_usage_error() throws Exception {
    FanoutJar.Run run = FanoutJar.run(dir, "demo", "--count", "0");

    assertThat(run.exitCode()).as(run.describe()).isEqualTo(2);
    assertThat(run.err()).contains("--count must be between 1 and");
    assertThat(run.out()).as("no job was submitted").isEmpty();
  }

  @Test
  void no_command_prints_the_usage_and_exits_two() throws Exception {
    FanoutJar.Run run = FanoutJar.run(dir);

    assertThat(run.exitCode()).as(run.describe()).isEqualTo(2);
    assertThat(run.err()).contains("Usage: fanout");
  }
}
