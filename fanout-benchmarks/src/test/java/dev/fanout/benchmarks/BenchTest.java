package dev.fanout.benchmarks;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.api.Assertions.within;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.awt.image.BufferedImage;
import java.io.ByteArrayOutputStream;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.Callable;
import javax.imageio.ImageIO;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The runner itself: its command line, its arithmetic, its report, and a {@code --quick} run of two
 * real scenarios end to end (in memory, and over HTTP with the function in a child JVM).
 */
class BenchTest {
  @TempDir Path tmp;

  @Test
  void refusesBadOptionsNamingTheProblem() {
    assertThatThrownBy(() -> Bench.Options.parse("--fast"))
        .hasMessageContaining("unknown option '--fast'");
    assertThatThrownBy(() -> Bench.Options.parse("--only", "9"))
        .hasMessageContaining("there is no scenario 9; they are 1 to 6");
    assertThatThrownBy(() -> Bench.Options.parse("--only", "one"))
        .hasMessageContaining("not 'one'");
    assertThatThrownBy(() -> Bench.Options.parse("--only")).hasMessageContaining("--only needs");
    assertThatThrownBy(() -> Bench.Options.parse("--docs")).hasMessageContaining("--docs needs");
    assertThatThrownBy(() -> Bench.Options.parse("--no-write", "--docs", "x"))
        .hasMessageContaining("contradict");
    Bench.Options options = Bench.Options.parse("--quick", "--only", "2, 3");
    assertThat(options.only).containsExactly(2, 3);
    assertThat(options.size(100, 7)).isEqualTo(7);
  }

  @Test
  void writesTheReportOnlyForAWholeRunOrWhenTold() {
    assertThat(Bench.Options.parse().docsDirectory()).isEqualTo(Path.of("docs"));
    assertThat(Bench.Options.parse("--only", "1,2,3,4,5,6").docsDirectory())
        .isEqualTo(Path.of("docs"));
    assertThat(Bench.Options.parse("--only", "1,4").docsDirectory()).isNull();
    assertThat(Bench.Options.parse("--only", "1,1,1,1,1,1").docsDirectory()).isNull();
    assertThat(Bench.Options.parse("--quick").docsDirectory()).isNull();
    assertThat(Bench.Options.parse("--fanout-only").docsDirectory()).isNull();
    assertThat(Bench.Options.parse("--no-write").docsDirectory()).isNull();
    assertThat(Bench.Options.parse("--quick", "--docs", "out").docsDirectory())
        .isEqualTo(Path.of("out"));
  }

  @Test
  void streamedSubmissionBodyIsValidJsonAtEverySize() throws Exception {
    ObjectMapper json = new ObjectMapper();
    for (int n : new int[] {0, 1, 2, 9_999, 10_000, 10_001, 25_000}) {
      byte[] body;
      try (InputStream in = new StreamedSubmission.Items(n)) {
        // Read in odd-sized pieces, so chunk boundaries fall inside numbers and separators.
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        byte[] piece = new byte[777];
        for (int r; (r = in.read(piece, 0, piece.length)) != -1; ) {
          out.write(piece, 0, r);
        }
        assertThat(in.read()).isEqualTo(-1);
        body = out.toByteArray();
      }
      JsonNode job = json.readTree(body);
      assertThat(job.get("function").get("name").asText()).isEqualTo("identity");
      JsonNode items = job.get("items");
      assertThat(items.size()).as("items of n = %d", n).isEqualTo(n);
      for (int i = 0; i < n; i++) {
        assertThat(items.get(i).asInt()).isEqualTo(i);
      }
    }
  }

  @Test
  void ratiosDivideFanoutByTheBaselineOfTheSameGroup() {
    Outcome outcome = new Outcome(9, "t", "d");
    Outcome.Metric metric = outcome.metric("makespan", "ms", false);
    metric.add("h2", "Fanout, H2", true, List.of(300.0, 100.0, 200.0));
    metric.add("pg", "Fanout, PostgreSQL", true, List.of(50.0, 70.0));
    metric.add("h2", "JobRunr, H2", false, List.of(1000.0));
    metric.add("pg", "JobRunr, PostgreSQL", false, List.of(30.0));
    metric.add("alone", "lonely baseline", false, List.of(1.0));

    assertThat(metric.figure("Fanout, H2").median()).isEqualTo(200.0);
    assertThat(metric.figure("Fanout, PostgreSQL").median()).isEqualTo(60.0);
    assertThat(metric.ratio(metric.figure("JobRunr, H2"))).isCloseTo(0.2, within(1e-9));
    assertThat(metric.ratio(metric.figure("JobRunr, PostgreSQL"))).isCloseTo(2.0, within(1e-9));
    assertThat(metric.ratio(metric.figure("Fanout, H2"))).isNaN();
    assertThat(metric.ratio(metric.figure("lonely baseline"))).isNaN();
    assertThatThrownBy(() -> metric.figure("nobody")).hasMessageContaining("Fanout, H2");
    assertThatThrownBy(() -> metric.add("h2", "empty", false, List.of()))
        .hasMessageContaining("no samples");
  }

  @Test
  void percentilesTakeTheNearestRank() {
    List<Double> hundred = new ArrayList<>();
    for (int i = 100; i >= 1; i--) {
      hundred.add((double) i);
    }
    Outcome.Figure many = new Outcome.Figure("g", "c", true, hundred);
    assertThat(many.percentile(99)).isEqualTo(99.0);
    assertThat(many.percentile(50)).isEqualTo(50.0);
    assertThat(many.percentile(100)).isEqualTo(100.0);
    Outcome.Figure few = new Outcome.Figure("g", "c", true, List.of(3.0, 1.0, 2.0));
    assertThat(few.percentile(99)).isEqualTo(3.0);
    assertThat(few.percentile(1)).isEqualTo(1.0);
    assertThatThrownBy(() -> few.percentile(0)).hasMessageContaining("(0, 100]");
  }

  @Test
  void reportListsMachineTargetsFiguresAndSettings() {
    Outcome outcome = new Outcome(3, "Durable things", "What it does.");
    outcome
        .metric("throughput", "tasks/s", true)
        .add("pg", "Fanout, PostgreSQL", true, List.of(12_000.0, 14_000.0, 13_000.0))
        .add("pg", "JobRunr, PostgreSQL", false, List.of(650.0));
    outcome.target("at least 10 × JobRunr", "20.0 ×", true);
    outcome.target("at least 20,000 tasks/s", "13,000 tasks/s", false);
    outcome.settings("JobRunr, PostgreSQL", "workers", "32", "poll interval", "15 s");
    String md =
        Report.markdown(
            Machine.describeNow(),
            List.of(outcome),
            "./bench --only 3",
            Bench.Options.parse(),
            "## Notes\n\nhand-written");

    assertThat(md)
        .contains(
            "| CPU |",
            "| JDK |",
            "| PostgreSQL |",
            "| JobRunr | " + JobRunrContender.JOBRUNR_VERSION)
        .contains("| 3. Durable things | at least 10 × JobRunr | 20.0 × | met |")
        .contains("| 3. Durable things | at least 20,000 tasks/s | 13,000 tasks/s | **missed** |")
        .contains(
            "| **Fanout, PostgreSQL** | 13,000 tasks/s | 12,000 tasks/s to 14,000 tasks/s | 3 |")
        .contains("| JobRunr, PostgreSQL | 650 tasks/s | 650 tasks/s to 650 tasks/s | 1 | 20.00 |")
        .contains("- **JobRunr, PostgreSQL**: workers 32; poll interval 15 s.")
        .contains("![Durable things](images/bench-3.png)")
        .contains("This run: `./bench --only 3`")
        .endsWith("hand-written\n")
        .doesNotContain("smoke run");
    assertThat(Report.console(outcome)).contains("Fanout / this 20.00", "MISSED", "MET");
  }

  @Test
  void aFailingScenarioIsReportedAndTheOthersKeepTheirFiguresAndCharts() throws Exception {
    Path docs = tmp.resolve("docs");
    Path images = Files.createDirectories(docs.resolve("images"));
    // Charts an earlier run left: one for the scenario that now fails, one for a scenario this
    // run does not have. Neither may pass for this run's.
    Files.write(images.resolve("bench-2.png"), new byte[] {1});
    Files.write(images.resolve("bench-5.png"), new byte[] {1});
    Bench.Scenario works =
        new FakeScenario(
            1,
            () -> {
              Outcome outcome = new Outcome(1, "Works", "It works.");
              outcome.metric("time", "ms", false).add("g", "Fanout", true, List.of(5.0, 7.0));
              return outcome;
            });
    Bench.Scenario breaks =
        new FakeScenario(
            2,
            () -> {
              throw new IllegalStateException(
                  "the contender `x` did not start | see its log\n  at line two");
            });

    List<Outcome> outcomes =
        Bench.run(
            Bench.Options.parse("--docs", docs.toString()), "./bench", List.of(breaks, works));

    assertThat(outcomes).extracting(o -> o.number).containsExactly(2, 1);
    assertThat(outcomes.get(0).failed()).isTrue();
    assertThat(outcomes.get(1).failed()).isFalse();
    String md = Files.readString(docs.resolve("benchmarks.md"), StandardCharsets.UTF_8);
    assertThat(md)
        .contains(
            "| 2. Breaks | the scenario runs to its end | failed: java.lang.IllegalStateException:"
                + " the contender `x` did not start / see its log | **missed** |")
        .contains("**This scenario failed before it finished**")
        .contains("| **Fanout** | 6.000 ms | 5.000 ms to 7.000 ms | 2 |")
        .contains("![Works](images/bench-1.png)")
        .doesNotContain("images/bench-2.png", "line two", "Settings:");
    assertThat(images.resolve("bench-1.png")).isNotEmptyFile();
    assertThat(images.resolve("bench-2.png")).doesNotExist();
    assertThat(images.resolve("bench-5.png")).doesNotExist();
  }

  /** A scenario whose run is given, for the runner's own tests. */
  private record FakeScenario(int number, Callable<Outcome> body) implements Bench.Scenario {
    @Override
    public String title() {
      return number == 2 ? "Breaks" : "Works";
    }

    @Override
    public Outcome run(Bench.Options options) throws Exception {
      return body.call();
    }
  }

  @Test
  void quickRunOfTwoScenariosWritesTheReportAndItsCharts() throws Exception {
    Path docs = tmp.resolve("docs");
    List<Outcome> outcomes =
        Bench.run(Bench.Options.parse("--quick", "--only", "1,4", "--docs", docs.toString()), "t");

    assertThat(outcomes).extracting(o -> o.number).containsExactly(1, 4);
    Outcome inMemory = outcomes.get(0);
    assertThat(inMemory.metrics.get(0).figures)
        .extracting(Outcome.Figure::contender)
        .containsExactly(
            "Fanout (defaults)",
            "JDK: virtual thread per task + allOf",
            "JDK: ForkJoinPool + allOf");
    assertThat(inMemory.metrics.get(0).figures)
        .allSatisfy(f -> assertThat(f.samples()).hasSize(2).allMatch(ms -> ms > 0));
    Outcome http = outcomes.get(1);
    assertThat(http.metrics.get(0).figures)
        .extracting(Outcome.Figure::contender)
        .containsExactly(
            "Fanout, `fanout serve` on H2, 20 ms",
            "JDK: HttpClient loop, 20 ms",
            "Fanout, `fanout serve` on H2, 100 ms",
            "JDK: HttpClient loop, 100 ms");
    // 1,000 calls at 1,000 at once cannot finish in less than one call's latency.
    assertThat(http.metrics.get(0).figures)
        .allSatisfy(
            f ->
                assertThat(f.min())
                    .isGreaterThan(Double.parseDouble(f.group().replace(" ms", ""))));
    assertThat(http.metrics.get(1).figures).allSatisfy(f -> assertThat(f.min()).isGreaterThan(0));
    assertThat(http.targets)
        .extracting(Outcome.Target::target)
        .containsExactly(
            "20 ms function: makespan at most 1.25 × the plain loop",
            "20 ms function: CPU time per item at most 1.25 × the plain loop",
            "100 ms function (the HTTP service's issue): makespan at most 1.25 × the plain loop");

    String md = Files.readString(docs.resolve("benchmarks.md"), StandardCharsets.UTF_8);
    assertThat(md)
        .contains(
            "smoke run",
            "## 1. In memory",
            "## 4. 10,000 calls of a 20 ms (and a 100 ms) HTTP function")
        .contains("time at most 1.5 × JDK: ForkJoinPool + allOf")
        .contains("100 ms function (the HTTP service's issue): makespan at most 1.25 ×");
    for (int n : new int[] {1, 4}) {
      BufferedImage chart = ImageIO.read(docs.resolve("images/bench-" + n + ".png").toFile());
      assertThat(chart.getWidth()).isEqualTo(820);
      assertThat(chart.getHeight()).isGreaterThan(110);
    }
    assertThat(docs.resolve("images/bench-2.png")).doesNotExist();
  }
}
