package dev.fanout.benchmarks;

import java.awt.Color;
import java.awt.Font;
import java.awt.Paint;
import java.io.IOException;
import java.io.OutputStream;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.text.DecimalFormat;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import org.jfree.chart.ChartFactory;
import org.jfree.chart.ChartUtils;
import org.jfree.chart.JFreeChart;
import org.jfree.chart.axis.LogAxis;
import org.jfree.chart.axis.NumberAxis;
import org.jfree.chart.axis.NumberTickUnit;
import org.jfree.chart.axis.ValueAxis;
import org.jfree.chart.labels.ItemLabelAnchor;
import org.jfree.chart.labels.ItemLabelPosition;
import org.jfree.chart.labels.StandardCategoryItemLabelGenerator;
import org.jfree.chart.plot.CategoryPlot;
import org.jfree.chart.plot.PlotOrientation;
import org.jfree.chart.renderer.category.BarRenderer;
import org.jfree.chart.renderer.category.StandardBarPainter;
import org.jfree.chart.ui.TextAnchor;
import org.jfree.data.category.DefaultCategoryDataset;

/**
 * One PNG bar chart per scenario, of its first metric's medians, Fanout's bars in one colour and
 * the baselines' in another. Drawn headless, so the runner works on a machine without a display.
 */
final class Charts {
  private static final Color FANOUT = new Color(0x1f, 0x6f, 0xb5);
  private static final Color BASELINE = new Color(0x9a, 0x9a, 0x9a);

  private Charts() {}

  /** The chart's file name, relative to the images directory. */
  static String fileName(Outcome outcome) {
    return "bench-" + outcome.number + ".png";
  }

  /**
   * Draws the chart of every outcome that has figures into {@code dir}, and deletes the charts of
   * every other scenario there: a report shows the charts of its own run, never one left by an
   * earlier run of a scenario that this run skipped or that failed.
   */
  static void writeAll(List<Outcome> outcomes, Path dir) throws IOException {
    Set<String> drawn = new HashSet<>();
    for (Outcome outcome : outcomes) {
      if (!outcome.metrics.isEmpty()) {
        drawn.add(write(outcome, dir).getFileName().toString());
      }
    }
    if (!Files.isDirectory(dir)) {
      return;
    }
    try (DirectoryStream<Path> charts = Files.newDirectoryStream(dir, "bench-*.png")) {
      for (Path chart : charts) {
        if (!drawn.contains(chart.getFileName().toString())) {
          Files.delete(chart);
        }
      }
    }
  }

  /** Draws the scenario's chart into {@code dir}, replacing an older one. */
  static Path write(Outcome outcome, Path dir) throws IOException {
    System.setProperty("java.awt.headless", "true");
    Outcome.Metric metric = outcome.metrics.get(0);
    DefaultCategoryDataset data = new DefaultCategoryDataset();
    List<Boolean> fanout = new ArrayList<>();
    double min = Double.MAX_VALUE;
    double max = 0;
    for (Outcome.Figure figure : metric.figures) {
      data.addValue(figure.median(), metric.name, figure.contender());
      fanout.add(figure.fanout());
      min = Math.min(min, figure.median());
      max = Math.max(max, figure.median());
    }
    JFreeChart chart =
        ChartFactory.createBarChart(
            outcome.number + ". " + outcome.title,
            null,
            metric.name
                + ", "
                + metric.unit
                + " ("
                + (metric.higherIsBetter ? "higher" : "lower")
                + " is better)",
            data,
            PlotOrientation.HORIZONTAL,
            false,
            false,
            false);
    chart.getTitle().setFont(new Font(Font.SANS_SERIF, Font.BOLD, 15));
    chart.setBackgroundPaint(Color.WHITE);
    CategoryPlot plot = chart.getCategoryPlot();
    plot.setBackgroundPaint(Color.WHITE);
    plot.setRangeGridlinePaint(new Color(0xdd, 0xdd, 0xdd));
    // Baselines that take minutes next to Fanout's milliseconds would leave Fanout's bar
    // invisible on a linear axis, so a wide spread is drawn on a logarithmic one.
    if (min > 0 && max / min > 50) {
      LogAxis log = new LogAxis(plot.getRangeAxis().getLabel());
      log.setBase(10);
      log.setSmallestValue(min / 2);
      // Ticks at the powers of ten only: 1, 10, 100, 1,000...
      log.setTickUnit(new NumberTickUnit(1.0, new DecimalFormat("#,##0.###")));
      log.setNumberFormatOverride(new DecimalFormat("#,##0.###"));
      plot.setRangeAxis(log);
    } else {
      ValueAxis axis = plot.getRangeAxis();
      ((NumberAxis) axis).setNumberFormatOverride(new DecimalFormat("#,##0.###"));
    }
    BarRenderer renderer =
        new BarRenderer() {
          private static final long serialVersionUID = 1L;

          @Override
          public Paint getItemPaint(int row, int column) {
            return fanout.get(column) ? FANOUT : BASELINE;
          }
        };
    renderer.setBarPainter(new StandardBarPainter());
    renderer.setShadowVisible(false);
    // Labels in the report's own format: whole numbers from 10 up, three decimals below.
    renderer.setDefaultItemLabelGenerator(
        new StandardCategoryItemLabelGenerator(
            "{2}", new DecimalFormat(max >= 10 ? "#,##0" : "#,##0.###")));
    renderer.setDefaultItemLabelsVisible(true);
    renderer.setDefaultPositiveItemLabelPosition(
        new ItemLabelPosition(ItemLabelAnchor.OUTSIDE3, TextAnchor.CENTER_LEFT));
    plot.getRangeAxis().setUpperMargin(0.15);
    renderer.setMaximumBarWidth(0.12);
    plot.setRenderer(renderer);
    Files.createDirectories(dir);
    Path file = dir.resolve(fileName(outcome));
    int height = 110 + 42 * metric.figures.size();
    try (OutputStream out = Files.newOutputStream(file)) {
      ChartUtils.writeChartAsPNG(out, chart, 820, height);
    }
    return file;
  }
}
