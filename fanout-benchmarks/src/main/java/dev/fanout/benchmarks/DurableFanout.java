package dev.fanout.benchmarks;

import com.fasterxml.jackson.databind.JsonNode;
import dev.fanout.Engine;
import dev.fanout.FanOut;
import dev.fanout.JobOutcome;
import dev.fanout.JobSpec;
import dev.fanout.JobState;
import dev.fanout.TaskContext;
import dev.fanout.jdbc.JdbcJobStore;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.stream.IntStream;

/**
 * Fanout on a durable store as a contender: an engine with every default on a fresh H2 file or a
 * fresh PostgreSQL schema, with two registered functions, {@code noop} and {@code sleep100}.
 * Closing it stops the engine and deletes the database.
 */
final class DurableFanout implements AutoCloseable {
  /** The stores Fanout ships. */
  enum Store {
    H2("H2 (file)"),
    POSTGRES("PostgreSQL");

    final String label;

    Store(String label) {
      this.label = label;
    }
  }

  final Store store;
  private final JdbcJobStore jobStore;
  private final Engine engine;
  private final Path dir;
  private final String schema;

  private DurableFanout(Store store, JdbcJobStore jobStore, Path dir, String schema) {
    this.store = store;
    this.jobStore = jobStore;
    this.dir = dir;
    this.schema = schema;
    this.engine = FanOut.builder().store(jobStore).build();
    engine.register("noop", Integer.class, (Integer n, TaskContext ctx) -> n);
    engine.register(
        "sleep100",
        Integer.class,
        (Integer n, TaskContext ctx) -> {
          Thread.sleep(100);
          return n;
        });
    engine.start();
  }

  /** Opens a fresh database of the given kind and starts an engine on it. */
  static DurableFanout start(Store store) throws Exception {
    if (store == Store.H2) {
      Path dir = Files.createTempDirectory("fanout-bench-h2");
      return new DurableFanout(store, openStore(dir, null), dir, null);
    }
    String schema = Bench.createSchema("fanout_bench");
    return new DurableFanout(store, openStore(null, schema), null, schema);
  }

  /**
   * Opens the store every Fanout contender uses, with its defaults: the H2 file in {@code dir}, or
   * else the PostgreSQL {@code schema}.
   */
  static JdbcJobStore openStore(Path dir, String schema) {
    return dir != null
        ? JdbcJobStore.h2(dir)
        : JdbcJobStore.builder(Machine.POSTGRES).user(Machine.POSTGRES_USER).schema(schema).build();
  }

  /** The contender's name in the report. */
  String label() {
    return "Fanout, " + store.label;
  }

  /** What the report lists as this contender's settings. */
  String[] settings() {
    return new String[] {
      "engine",
      "`FanOut.builder().store(store).build()`: every default (lease 30 s, poll 1 s, claim batch"
          + " 256, node cap 10,000)",
      "store",
      store == Store.H2
          ? "`JdbcJobStore.h2(tempDir)`: an H2 file, `WRITE_DELAY=0`"
          : "`JdbcJobStore.builder(url).schema(s).build()`: HikariCP's default pool of 10",
    };
  }

  /**
   * Submits a job of {@code n} items to the named function and returns the seconds from submit to
   * its outcome; a job that does not succeed with every item counted fails the run.
   */
  double timeJob(String function, int n, Integer maxConcurrency) {
    List<Integer> items = IntStream.range(0, n).boxed().toList();
    JobSpec.Builder<Integer, JsonNode, JsonNode, JsonNode> spec =
        JobSpec.items(items).function(function).reduce("count");
    if (maxConcurrency != null) {
      spec.maxConcurrency(maxConcurrency);
    }
    long t0 = System.nanoTime();
    JobOutcome<JsonNode> outcome = Bench.await(engine.submit(spec.build()).outcome());
    double seconds = Bench.secondsSince(t0);
    if (outcome.state() != JobState.SUCCEEDED || outcome.aggregate().longValue() != n) {
      throw new IllegalStateException(
          label() + ": benchmark job ended " + outcome.state() + ": " + outcome.status());
    }
    return seconds;
  }

  /**
   * Submits {@code n} no-op items and returns the milliseconds until {@code submit} returned (the
   * acknowledgement: the job and every item are stored), then waits for the job to end.
   */
  double acknowledge(int n) {
    List<Integer> items = IntStream.range(0, n).boxed().toList();
    long t0 = System.nanoTime();
    var job = engine.submit(JobSpec.items(items).function("noop").build());
    double millis = (System.nanoTime() - t0) / 1e6;
    Bench.await(job.outcome());
    return millis;
  }

  @Override
  public void close() {
    try {
      try {
        engine.close();
      } finally {
        jobStore.close();
      }
    } finally {
      if (dir != null) {
        Bench.deleteTree(dir);
      }
      if (schema != null) {
        Bench.dropSchema(schema);
      }
    }
  }
}
