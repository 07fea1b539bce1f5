package dev.fanout.benchmarks;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.stream.Collectors;

/**
 * Renders the runner's outcomes: a plain table per scenario for the console, and the whole of
 * {@code docs/benchmarks.md}, which the runner owns.
 */
final class Report {
  private Report() {}

  /** The console form of one scenario: what a run prints as soon as the scenario ends. */
  static String console(Outcome outcome) {
    StringBuilder out = new StringBuilder();
    out.append('\n').append(outcome.number).append(". ").append(outcome.title).append('\n');
    for (Outcome.Metric metric : outcome.metrics) {
      out.append("  ").append(metric.name).append(" (").append(direction(metric)).append(")\n");
      int width =
          metric.figures.stream().mapToInt(f -> f.contender().length()).max().orElse(10) + 2;
      for (Outcome.Figure figure : metric.figures) {
        double ratio = metric.ratio(figure);
        out.append(
            String.format(
                Locale.ROOT,
                "    %-" + width + "s %16s   (%s to %s, %d runs)%s%n",
                figure.contender(),
                metric.format(figure.median()),
                metric.format(figure.min()),
                metric.format(figure.max()),
                figure.samples().size(),
                Double.isNaN(ratio)
                    ? ""
                    : String.format(Locale.ROOT, "   Fanout / this %.2f", ratio)));
      }
    }
    for (Outcome.Target target : outcome.targets) {
      out.append("  target ")
          .append(target.target())
          .append(": ")
          .append(target.measured())
          .append(target.met() ? "  MET" : "  MISSED")
          .append('\n');
    }
    return out.toString();
  }

  /**
   * The whole of {@code docs/benchmarks.md} for one run.
   *
   * @param notes the hand-written profiles and fixes, inlined after the results (may be empty)
   */
  static String markdown(
      Machine machine,
      List<Outcome> outcomes,
      String command,
      Bench.Options options,
      String notes) {
    StringBuilder md = new StringBuilder();
    md.append("# Benchmarks\n\n");
    md.append(
        "<!-- Written by the scenario runner (fanout-benchmarks, dev.fanout.benchmarks.Bench)."
            + " Do not edit: run ./bench again, or edit fanout-benchmarks/NOTES.md. -->\n\n");
    if (options.quick) {
      md.append(
          "**This is a `--quick` smoke run with small sizes: its figures say that the runner"
              + " works, not how fast anything is.**\n\n");
    }
    if (options.fanoutOnly) {
      md.append(
          "**This run left the baselines out (`--fanout-only`): it shows Fanout's own figures"
              + " only.**\n\n");
    }
    md.append(
        """
        Fanout side by side with the raw JDK and with JobRunr, every contender measured in the same \
        run on the same machine, alternating where a scenario has rounds, because these machines are \
        shared and noisy. Every contender runs with its shipped defaults; where a baseline also gets \
        a tuned run, both are shown. A figure is the median of its runs, with the fastest and the \
        slowest beside it. A ratio is Fanout's figure divided by the baseline's: for a time, under 1 \
        means Fanout took less; for a rate, over 1 means Fanout did more.

        ## Reproduce

        ```bash
        ./bench                 # every scenario; writes this file and docs/images/bench-*.png
        ./bench --only 1,4      # some scenarios: prints their tables, writes nothing
        ./bench --help          # every option
        ```

        `./bench` finds a JDK 21+ as `./fanout` does, builds `fanout-benchmarks/target/benchmarks.jar` \
        when the sources are newer, and runs the runner in a JVM of its own with a fixed 2 GiB heap \
        (`-Xms2g -Xmx2g`, so a million in-flight items never resize it mid-run). It needs PostgreSQL \
        on 127.0.0.1:5432 (database `test`, user `postgres`); every contender gets a schema of its own, \
        dropped afterwards. The JMH benchmarks (`NoOpThroughput`, `SleepMakespan`) stay in the same jar \
        for profiling; `docs/benchmark-history.md` has their commands and the earlier measurements.

        """);
    md.append("This run: `").append(command).append("`\n\n");

    md.append("## Machine\n\n| | |\n| --- | --- |\n");
    for (Map.Entry<String, String> e : machine.describe().entrySet()) {
      md.append("| ").append(e.getKey()).append(" | ").append(e.getValue()).append(" |\n");
    }

    md.append("\n## Targets\n\n| scenario | target | measured | |\n| --- | --- | --- | --- |\n");
    for (Outcome outcome : outcomes) {
      for (Outcome.Target target : outcome.targets) {
        md.append("| ")
            .append(outcome.number)
            .append(". ")
            .append(outcome.title)
            .append(" | ")
            .append(target.target())
            .append(" | ")
            .append(target.measured())
            .append(" | ")
            .append(target.met() ? "met" : "**missed**")
            .append(" |\n");
      }
    }

    for (Outcome outcome : outcomes) {
      md.append("\n## ").append(outcome.number).append(". ").append(outcome.title).append("\n\n");
      md.append(outcome.description.strip()).append("\n\n");
      if (!outcome.metrics.isEmpty()) {
        md.append("![")
            .append(outcome.title)
            .append("](images/")
            .append(Charts.fileName(outcome))
            .append(")\n");
      }
      for (Outcome.Metric metric : outcome.metrics) {
        md.append("\n**")
            .append(metric.name)
            .append("** (")
            .append(direction(metric))
            .append(
                ")\n\n| contender | median | fastest to slowest | runs | Fanout / contender |\n")
            .append("| --- | --- | --- | --- | --- |\n");
        for (Outcome.Figure figure : metric.figures) {
          double ratio = metric.ratio(figure);
          md.append("| ")
              .append(figure.fanout() ? "**" + figure.contender() + "**" : figure.contender())
              .append(" | ")
              .append(metric.format(figure.median()))
              .append(" | ")
              .append(metric.format(figure.min()))
              .append(" to ")
              .append(metric.format(figure.max()))
              .append(" | ")
              .append(figure.samples().size())
              .append(" | ")
              .append(Double.isNaN(ratio) ? "" : String.format(Locale.ROOT, "%.2f", ratio))
              .append(" |\n");
        }
      }
      if (!outcome.targets.isEmpty()) {
        md.append("\nTargets: ")
            .append(
                outcome.targets.stream()
                    .map(
                        t ->
                            t.target()
                                + ": "
                                + t.measured()
                                + (t.met() ? " (met)" : " (**missed**)"))
                    .collect(Collectors.joining("; ")))
            .append(".\n");
      }
      if (!outcome.settings.isEmpty()) {
        md.append("\nSettings:\n\n");
        for (Map.Entry<String, Map<String, String>> e : outcome.settings.entrySet()) {
          md.append("- **")
              .append(e.getKey())
              .append("**: ")
              .append(
                  e.getValue().entrySet().stream()
                      .map(s -> s.getKey() + " " + s.getValue())
                      .collect(Collectors.joining("; ")))
              .append(".\n");
        }
      }
      for (String note : outcome.notes) {
        md.append('\n').append(note.strip()).append('\n');
      }
    }
    if (!notes.isBlank()) {
      md.append("\n").append(notes.strip()).append('\n');
    }
    return md.toString();
  }

  /** Writes a file through a temporary sibling, so a failed run never leaves half a report. */
  static void write(Path file, String text) throws IOException {
    Files.createDirectories(file.toAbsolutePath().getParent());
    Path partial = file.resolveSibling(file.getFileName() + ".partial");
    Files.writeString(partial, text, StandardCharsets.UTF_8);
    Files.move(
        partial,
        file,
        java.nio.file.StandardCopyOption.REPLACE_EXISTING,
        java.nio.file.StandardCopyOption.ATOMIC_MOVE);
  }

  private static String direction(Outcome.Metric metric) {
    return metric.unit + ", " + (metric.higherIsBetter ? "higher" : "lower") + " is better";
  }
}
