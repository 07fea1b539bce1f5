package dev.fanout.benchmarks;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.SQLException;
import java.sql.Statement;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collections;
import java.util.List;
import java.util.Locale;
import java.util.UUID;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.stream.Collectors;

/**
 * The side-by-side scenario runner: runs Fanout and its baselines (the raw JDK, a plain {@code
 * HttpClient} loop, JobRunr) scenario by scenario in one JVM, prints a table per scenario, and
 * writes {@code docs/benchmarks.md} with one chart per scenario. Started by {@code ./bench} at the
 * repository root, never through the product's {@code fanout} command, so JobRunr stays out of the
 * product's runtime.
 */
public final class Bench {
  private static final List<Scenario> SCENARIOS =
      List.of(
          new InMemoryNoOp(),
          new SleepingItems(),
          new DurableNoOp(),
          new HttpFunction(),
          new StreamedSubmission(),
          new ClusterScaleOut());

  private static final String USAGE =
      """
      usage: ./bench [--only N,N...] [--quick] [--fanout-only] [--docs DIR | --no-write]

        --only N,N...  run only these scenarios (1 to %d); a partial run writes nothing unless
                       --docs is given
        --quick        small sizes and single rounds: checks that every contender runs, measures
                       nothing worth reporting (the report says so)
        --fanout-only  skip the baselines, to profile or compare Fanout's own figures; the
                       report says so, and targets against a baseline are left out
        --docs DIR     write DIR/benchmarks.md and DIR/images/bench-N.png (default: docs, when
                       every scenario and contender runs at full size)
        --no-write     print the tables only

      A scenario that throws is reported as failed and the run goes on; ./bench then exits 1.
      Writing the report replaces every chart in DIR/images with this run's.

      scenarios:
      %s
      """;

  private Bench() {}

  /**
   * Runs the scenarios the arguments name and reports them.
   *
   * <p>Exits with status 1 when a scenario failed (the report is written all the same), 2 for bad
   * arguments.
   *
   * @param args see {@code ./bench --help}
   * @throws Exception when the report cannot be written, or an {@link Error} ends the run
   */
  public static void main(String[] args) throws Exception {
    Options options;
    try {
      options = Options.parse(args);
    } catch (IllegalArgumentException e) {
      System.err.println("bench: " + e.getMessage());
      System.err.print(usage());
      System.exit(2);
      return;
    }
    if (options.help) {
      System.out.print(usage());
      return;
    }
    List<Outcome> outcomes = run(options, String.join(" ", prepend("./bench", args)));
    if (outcomes.stream().anyMatch(Outcome::failed)) {
      System.exit(1);
    }
  }

  /** Runs the chosen scenarios and writes the report when the options say so. */
  static List<Outcome> run(Options options, String command) throws Exception {
    return run(options, command, SCENARIOS);
  }

  /**
   * Runs the chosen ones of {@code scenarios}. A scenario that throws is reported as failed and the
   * run goes on: an hour of figures is not thrown away for one broken contender, and the report
   * says which scenario failed and why.
   */
  static List<Outcome> run(Options options, String command, List<Scenario> scenarios)
      throws Exception {
    long t0 = System.nanoTime();
    Machine machine = Machine.describeNow();
    List<Outcome> outcomes = new ArrayList<>();
    for (Scenario scenario : scenarios) {
      if (!options.only.isEmpty() && !options.only.contains(scenario.number())) {
        continue;
      }
      System.out.printf(Locale.ROOT, "%n== %d. %s ==%n", scenario.number(), scenario.title());
      Outcome outcome;
      try {
        outcome = scenario.run(options);
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
        throw e;
      } catch (Exception e) {
        System.err.printf(Locale.ROOT, "scenario %d failed:%n", scenario.number());
        e.printStackTrace();
        outcome = Outcome.failed(scenario.number(), scenario.title(), e);
      }
      outcomes.add(outcome);
      System.out.print(Report.console(outcome));
    }
    machine.finished(System.nanoTime() - t0);
    Path docs = options.docsDirectory();
    if (docs != null) {
      Charts.writeAll(outcomes, docs.resolve("images"));
      Path notes = Path.of("fanout-benchmarks", "NOTES.md");
      String text = Files.exists(notes) ? Files.readString(notes, StandardCharsets.UTF_8) : "";
      Report.write(
          docs.resolve("benchmarks.md"),
          Report.markdown(machine, outcomes, command, options, text));
      System.out.println("\nwrote " + docs.resolve("benchmarks.md") + " and its charts");
    }
    return outcomes;
  }

  private static String usage() {
    return USAGE.formatted(
        SCENARIOS.size(),
        SCENARIOS.stream()
            .map(s -> "  " + s.number() + ". " + s.title())
            .collect(Collectors.joining("\n")));
  }

  private static List<String> prepend(String first, String[] rest) {
    List<String> all = new ArrayList<>();
    all.add(first);
    all.addAll(Arrays.asList(rest));
    return all;
  }

  /** One scenario of the runner. */
  interface Scenario {
    /** Its number in the issue and the report. */
    int number();

    /** Its title in the report. */
    String title();

    /** Runs every contender and returns what they measured. */
    Outcome run(Options options) throws Exception;
  }

  /** The runner's command line. */
  static final class Options {
    final List<Integer> only = new ArrayList<>();
    boolean quick;
    boolean fanoutOnly;
    boolean noWrite;
    boolean help;
    Path docs;

    static Options parse(String... args) {
      Options o = new Options();
      for (int i = 0; i < args.length; i++) {
        switch (args[i]) {
          case "--quick" -> o.quick = true;
          case "--fanout-only" -> o.fanoutOnly = true;
          case "--no-write" -> o.noWrite = true;
          case "--help", "-h" -> o.help = true;
          case "--only" -> {
            if (i + 1 >= args.length) {
              throw new IllegalArgumentException("--only needs scenario numbers, such as 1,4");
            }
            for (String n : args[++i].split(",")) {
              int number;
              try {
                number = Integer.parseInt(n.strip());
              } catch (NumberFormatException e) {
                throw new IllegalArgumentException(
                    "--only takes scenario numbers, such as 1,4; not '" + n + "'");
              }
              if (number < 1 || number > SCENARIOS.size()) {
                throw new IllegalArgumentException(
                    "there is no scenario " + number + "; they are 1 to " + SCENARIOS.size());
              }
              o.only.add(number);
            }
          }
          case "--docs" -> {
            if (i + 1 >= args.length) {
              throw new IllegalArgumentException("--docs needs a directory");
            }
            o.docs = Path.of(args[++i]);
          }
          default -> throw new IllegalArgumentException("unknown option '" + args[i] + "'");
        }
      }
      if (o.noWrite && o.docs != null) {
        throw new IllegalArgumentException("--no-write and --docs contradict each other");
      }
      return o;
    }

    /**
     * Where the report goes: {@code --docs}, or {@code docs} for a run of every scenario and
     * contender at full size, or nowhere (null), since a partial report would replace a whole one.
     */
    Path docsDirectory() {
      if (docs != null || noWrite) {
        return docs;
      }
      boolean everyScenario =
          only.isEmpty() || new java.util.HashSet<>(only).size() == SCENARIOS.size();
      return everyScenario && !quick && !fanoutOnly ? Path.of("docs") : null;
    }

    /** Whether the baselines run too. */
    boolean baselines() {
      return !fanoutOnly;
    }

    /** A size for a full run, or the small one of a {@code --quick} run. */
    int size(int full, int quick) {
      return this.quick ? quick : full;
    }
  }

  // Shared by the scenarios: the databases and files every durable contender needs.

  /** Creates a PostgreSQL schema of its own for one contender and returns its name. */
  static String createSchema(String prefix) throws SQLException {
    String schema = prefix + "_" + UUID.randomUUID().toString().substring(0, 8);
    executeOnPostgres("CREATE SCHEMA " + schema);
    return schema;
  }

  /** Drops a schema made by {@link #createSchema}; a failure is printed, not thrown. */
  static void dropSchema(String schema) {
    try {
      executeOnPostgres("DROP SCHEMA IF EXISTS " + schema + " CASCADE");
    } catch (SQLException e) {
      System.err.println("could not drop schema " + schema + ": " + e.getMessage());
    }
  }

  /** Runs one statement on the machine's PostgreSQL, outside any contender's schema. */
  static void executeOnPostgres(String sql) throws SQLException {
    try (Connection c = DriverManager.getConnection(Machine.POSTGRES, Machine.POSTGRES_USER, "");
        Statement s = c.createStatement()) {
      s.execute(sql);
    }
  }

  /** The JDBC URL of a schema made by {@link #createSchema}, user included. */
  static String schemaUrl(String schema) {
    return Machine.POSTGRES + "?user=" + Machine.POSTGRES_USER + "&currentSchema=" + schema;
  }

  /** Deletes a directory and everything in it. */
  static void deleteTree(Path dir) {
    if (!Files.exists(dir)) {
      return;
    }
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
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  /** Starts a class of this jar in a JVM of its own, with the given JVM options first. */
  static Process startJava(List<String> jvmOptions, Class<?> main, String... args)
      throws IOException {
    List<String> command = new ArrayList<>();
    command.add(Path.of(System.getProperty("java.home"), "bin", "java").toString());
    command.addAll(jvmOptions);
    command.add("-cp");
    command.add(System.getProperty("java.class.path"));
    command.add(main.getName());
    command.addAll(Arrays.asList(args));
    return new ProcessBuilder(command).redirectError(ProcessBuilder.Redirect.INHERIT).start();
  }

  /** No job of any scenario takes this long; a run that does is stuck, and says so. */
  static final Duration TIMEOUT = Duration.ofMinutes(20);

  /** Waits for a job's outcome, or fails the run when the job is stuck. */
  static <T> T await(CompletableFuture<T> outcome) {
    try {
      return outcome.get(TIMEOUT.toMinutes(), TimeUnit.MINUTES);
    } catch (TimeoutException e) {
      throw new IllegalStateException(
          "a benchmark job did not end within " + TIMEOUT.toMinutes() + " minutes", e);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new IllegalStateException("interrupted while waiting for a benchmark job", e);
    } catch (ExecutionException e) {
      throw new IllegalStateException("a benchmark job failed", e.getCause());
    }
  }

  /** Seconds since {@code t0}, a {@link System#nanoTime} reading. */
  static double secondsSince(long t0) {
    return (System.nanoTime() - t0) / 1e9;
  }
}
