package dev.fanout.benchmarks;

import com.fasterxml.jackson.databind.JsonNode;
import dev.fanout.Engine;
import dev.fanout.FanOut;
import dev.fanout.JobHandle;
import dev.fanout.JobOutcome;
import dev.fanout.JobSpec;
import dev.fanout.JobState;
import dev.fanout.TaskContext;
import dev.fanout.jdbc.JdbcJobStore;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Locale;
import java.util.UUID;
import java.util.stream.IntStream;

/**
 * The durable store's scenarios, whole jobs timed from {@code submit} to outcome on H2 and on
 * PostgreSQL, with the shipped defaults of every setting:
 *
 * <ol>
 *   <li>100,000 no-op items: tasks per second (target at least 10,000);
 *   <li>the acknowledgement time of 10,000-item submissions: median and p99 of 21 (target median
 *       under 150 ms);
 *   <li>10,000 items that sleep 100 ms with {@code maxConcurrency(10_000)}: makespan (target under
 *       1 s).
 * </ol>
 *
 * <p>A whole-job scenario is seconds long, so a plain timed run says more than JMH's iteration
 * machinery would; each scenario runs after a warm-up job on the same engine. Run it with {@code
 * java -cp fanout-benchmarks/target/benchmarks.jar dev.fanout.benchmarks.DurableScenarios [h2]
 * [postgres]}; PostgreSQL is 127.0.0.1:5432, database {@code test}, in a schema of its own that is
 * dropped afterwards.
 */
public final class DurableScenarios {
  private static final String POSTGRES = "jdbc:postgresql://127.0.0.1:5432/test";

  private DurableScenarios() {}

  /**
   * Runs the scenarios on the stores named in {@code args} (both by default) and prints a table.
   *
   * @param args {@code h2}, {@code postgres}, or both
   * @throws Exception when a store cannot be opened
   */
  public static void main(String[] args) throws Exception {
    List<String> stores = args.length == 0 ? List.of("h2", "postgres") : List.of(args);
    List<String> rows = new ArrayList<>();
    for (String name : stores) {
      switch (name) {
        case "h2" -> {
          Path dir = Files.createTempDirectory("fanout-bench-h2");
          try (JdbcJobStore store = JdbcJobStore.h2(dir)) {
            rows.addAll(run("H2 (file)", store));
          } finally {
            deleteTree(dir);
          }
        }
        case "postgres" -> {
          String schema = "fanout_bench_" + UUID.randomUUID().toString().substring(0, 8);
          try (JdbcJobStore store =
              JdbcJobStore.builder(POSTGRES).user("postgres").schema(schema).build()) {
            rows.addAll(run("PostgreSQL", store));
          } finally {
            dropSchema(schema);
          }
        }
        default ->
            throw new IllegalArgumentException("unknown store '" + name + "': h2 or postgres");
      }
    }
    System.out.println();
    System.out.println("| store | scenario | result | target |");
    System.out.println("| --- | --- | --- | --- |");
    rows.forEach(System.out::println);
  }

  private static List<String> run(String label, JdbcJobStore store) {
    List<String> rows = new ArrayList<>();
    try (Engine engine = FanOut.builder().store(store).build()) {
      engine.register("noop", Integer.class, (Integer n, TaskContext ctx) -> n);
      engine.register(
          "sleep100",
          Integer.class,
          (Integer n, TaskContext ctx) -> {
            Thread.sleep(100);
            return n;
          });
      engine.start();

      // Warm-up: JIT, connection pool, statement caches.
      timeJob(engine, "noop", 20_000, null);

      double seconds = timeJob(engine, "noop", 100_000, null);
      rows.add(
          row(
              label,
              "100,000 no-op items",
              "%,.0f tasks/s".formatted(100_000 / seconds),
              ">= 10,000 tasks/s"));
      System.out.printf(Locale.ROOT, "%s: 100k no-op in %.2f s%n", label, seconds);

      List<Double> acks = new ArrayList<>();
      for (int i = 0; i < 21; i++) {
        List<Integer> items = IntStream.range(0, 10_000).boxed().toList();
        long t0 = System.nanoTime();
        JobHandle<Void> job = engine.submit(JobSpec.items(items).function("noop").build());
        acks.add((System.nanoTime() - t0) / 1e6);
        job.outcome().join();
      }
      Collections.sort(acks);
      rows.add(
          row(
              label,
              "acknowledge a 10,000-item submission (21 runs)",
              "median %.0f ms, p99 %.0f ms".formatted(acks.get(10), acks.get(20)),
              "median < 150 ms"));
      System.out.printf(
          Locale.ROOT, "%s: ack median %.1f ms, max %.1f ms%n", label, acks.get(10), acks.get(20));

      double makespan = timeJob(engine, "sleep100", 10_000, 10_000);
      rows.add(
          row(
              label,
              "10,000 items sleeping 100 ms, maxConcurrency 10,000",
              "%.0f ms".formatted(makespan * 1000),
              "< 1,000 ms (ideal 100)"));
      System.out.printf(Locale.ROOT, "%s: 10k x 100 ms in %.0f ms%n", label, makespan * 1000);
    }
    return rows;
  }

  /** Submits a job of {@code n} items and returns the seconds from submit to outcome. */
  private static double timeJob(Engine engine, String function, int n, Integer maxConcurrency) {
    List<Integer> items = IntStream.range(0, n).boxed().toList();
    JobSpec.Builder<Integer, JsonNode, JsonNode, JsonNode> spec =
        JobSpec.items(items).function(function).reduce("count");
    if (maxConcurrency != null) {
      spec.maxConcurrency(maxConcurrency);
    }
    long t0 = System.nanoTime();
    JobOutcome<JsonNode> outcome = engine.submit(spec.build()).outcome().join();
    double seconds = (System.nanoTime() - t0) / 1e9;
    if (outcome.state() != JobState.SUCCEEDED || outcome.aggregate().longValue() != n) {
      throw new IllegalStateException(
          "benchmark job ended " + outcome.state() + ": " + outcome.status());
    }
    return seconds;
  }

  private static String row(String store, String scenario, String result, String target) {
    return "| " + store + " | " + scenario + " | " + result + " | " + target + " |";
  }

  private static void dropSchema(String schema) {
    try (Connection c = DriverManager.getConnection(POSTGRES, "postgres", "");
        Statement s = c.createStatement()) {
      s.execute("DROP SCHEMA IF EXISTS " + schema + " CASCADE");
    } catch (SQLException e) {
      System.err.println("could not drop schema " + schema + ": " + e.getMessage());
    }
  }

  private static void deleteTree(Path dir) throws IOException {
    try (var paths = Files.walk(dir)) {
      paths
          .sorted(Collections.reverseOrder())
          .forEach(
              p -> {
                try {
                  Files.delete(p);
                } catch (IOException e) {
                  throw new UncheckedIOException(e);
                }
              });
    }
  }
}
