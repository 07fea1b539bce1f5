package dev.fanout.benchmarks;

import java.util.ArrayList;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/**
 * What one scenario of the side-by-side runner measured: its figures per contender, grouped so that
 * each baseline is compared with the Fanout figure of its own group (Fanout on H2 with JobRunr on
 * H2, not with Fanout in memory), every contender's settings, and its targets.
 *
 * <p>A ratio is always Fanout's figure divided by the baseline's, whichever way the metric points:
 * for a time, under 1 means Fanout is faster; for a rate, over 1 means Fanout is faster. Each
 * metric says which way is better, so a reader never has to guess.
 */
final class Outcome {
  final int number;
  final String title;
  final String description;
  final List<Metric> metrics = new ArrayList<>();
  final Map<String, Map<String, String>> settings = new LinkedHashMap<>();
  final List<Target> targets = new ArrayList<>();
  final List<String> notes = new ArrayList<>();

  /** Whether the scenario threw before it finished: see {@link #failed(int, String, Throwable)}. */
  private boolean failed;

  Outcome(int number, String title, String description) {
    this.number = number;
    this.title = title;
    this.description = description;
  }

  /**
   * A scenario that threw before it finished: no figures, and one missed target that carries the
   * error, so the report's targets table shows it.
   */
  static Outcome failed(int number, String title, Throwable error) {
    String message = oneLine(String.valueOf(error));
    Outcome outcome =
        new Outcome(
            number,
            title,
            ("**This scenario failed before it finished**, so it has no figures: `%s`. The"
                    + " runner's console output has the stack trace.")
                .formatted(message.replace('`', '\'')));
    outcome.failed = true;
    outcome.target("the scenario runs to its end", "failed: " + message, false);
    return outcome;
  }

  /** Whether the scenario threw before it finished: see {@link #failed(int, String, Throwable)}. */
  boolean failed() {
    return failed;
  }

  /**
   * An error message fit for a table cell: its first line, without the column separator, and short,
   * since some messages carry a whole JSON response.
   */
  static String oneLine(String message) {
    String line = message.lines().findFirst().orElse("").replace('|', '/').strip();
    return line.length() <= 200 ? line : line.substring(0, 199) + "…";
  }

  /** Adds a metric and returns it, so that its figures can follow. */
  Metric metric(String name, String unit, boolean higherIsBetter) {
    Metric metric = new Metric(name, unit, higherIsBetter);
    metrics.add(metric);
    return metric;
  }

  /** Records a contender's settings, in the order given, for the report. */
  Outcome settings(String contender, Map<String, String> values) {
    settings.put(contender, new LinkedHashMap<>(values));
    return this;
  }

  /** Records a contender's settings given as name, value, name, value... */
  Outcome settings(String contender, String... namesAndValues) {
    if (namesAndValues.length % 2 != 0) {
      throw new IllegalArgumentException("settings come in name and value pairs");
    }
    Map<String, String> values = new LinkedHashMap<>();
    for (int i = 0; i < namesAndValues.length; i += 2) {
      values.put(namesAndValues[i], namesAndValues[i + 1]);
    }
    return settings(contender, values);
  }

  /** Records whether a target was met, with the figure that decided it. */
  Outcome target(String target, String measured, boolean met) {
    targets.add(new Target(target, measured, met));
    return this;
  }

  /** Adds a sentence to the scenario's notes in the report. */
  Outcome note(String note) {
    notes.add(note);
    return this;
  }

  /** One quantity measured for several contenders, such as a makespan or a rate. */
  static final class Metric {
    final String name;
    final String unit;
    final boolean higherIsBetter;
    final List<Figure> figures = new ArrayList<>();

    private Metric(String name, String unit, boolean higherIsBetter) {
      this.name = name;
      this.unit = unit;
      this.higherIsBetter = higherIsBetter;
    }

    /**
     * Adds a contender's samples. The first figure of a group that is Fanout's is the one the
     * group's baselines are divided into.
     */
    Metric add(String group, String contender, boolean fanout, List<Double> samples) {
      if (samples.isEmpty()) {
        throw new IllegalArgumentException(contender + " has no samples for " + name);
      }
      figures.add(new Figure(group, contender, fanout, List.copyOf(samples)));
      return this;
    }

    /** The Fanout figure of the given group, or null when the group has none. */
    Figure fanoutOf(String group) {
      return figures.stream()
          .filter(f -> f.fanout && f.group.equals(group))
          .findFirst()
          .orElse(null);
    }

    /** Fanout's median divided by this figure's, or NaN for Fanout itself or a lone baseline. */
    double ratio(Figure figure) {
      Figure fanout = fanoutOf(figure.group);
      if (figure.fanout || fanout == null) {
        return Double.NaN;
      }
      return fanout.median() / figure.median();
    }

    /** The figure of the named contender, or fails naming the contenders there are. */
    Figure figure(String contender) {
      return figures.stream()
          .filter(f -> f.contender.equals(contender))
          .findFirst()
          .orElseThrow(
              () ->
                  new IllegalArgumentException(
                      "no figure for '"
                          + contender
                          + "' in "
                          + name
                          + "; there are "
                          + figures.stream().map(f -> f.contender).toList()));
    }

    /** Formats a value of this metric with its unit, at a precision that suits its size. */
    String format(double value) {
      String number =
          Math.abs(value) >= 100
              ? String.format(Locale.ROOT, "%,.0f", value)
              : Math.abs(value) >= 10
                  ? String.format(Locale.ROOT, "%.1f", value)
                  : String.format(Locale.ROOT, "%.3f", value);
      return number + " " + unit;
    }
  }

  /** One contender's samples of one metric. */
  record Figure(String group, String contender, boolean fanout, List<Double> samples) {
    /** The median sample: robust to the one run a shared machine slows down. */
    double median() {
      List<Double> sorted = new ArrayList<>(samples);
      Collections.sort(sorted);
      int n = sorted.size();
      return n % 2 == 1 ? sorted.get(n / 2) : (sorted.get(n / 2 - 1) + sorted.get(n / 2)) / 2;
    }

    /**
     * The nearest-rank percentile: the smallest sample at or above which {@code p} percent of the
     * samples lie. With fewer than 100 samples the 99th is the slowest.
     */
    double percentile(double p) {
      if (!(p > 0 && p <= 100)) {
        throw new IllegalArgumentException("a percentile is in (0, 100], got " + p);
      }
      List<Double> sorted = new ArrayList<>(samples);
      Collections.sort(sorted);
      return sorted.get((int) Math.ceil(p / 100 * sorted.size()) - 1);
    }

    double min() {
      return Collections.min(samples);
    }

    double max() {
      return Collections.max(samples);
    }
  }

  /** A target of the issue, the figure that decides it, and whether it was met. */
  record Target(String target, String measured, boolean met) {}
}
