package dev.fanout.cli;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import com.fasterxml.jackson.databind.node.TextNode;
import dev.fanout.Engine;
import dev.fanout.FanOut;
import dev.fanout.JobHandle;
import dev.fanout.JobId;
import dev.fanout.JobSpec;
import dev.fanout.JobStatus;
import dev.fanout.RetryPolicy;
import dev.fanout.jdbc.JdbcJobStore;
import dev.fanout.server.internal.ApiException;
import dev.fanout.server.internal.api.Components;
import dev.fanout.server.internal.api.Views;
import dev.fanout.server.internal.call.HttpFunction;
import dev.fanout.server.internal.call.HttpFunctionConfig;
import dev.fanout.server.internal.call.UrlGuard;
import dev.fanout.server.internal.json.JqTransform;
import dev.fanout.server.internal.json.JsonReducer;
import dev.fanout.spi.InMemoryJobStore;
import dev.fanout.spi.JobRow;
import dev.fanout.spi.JobStore;
import dev.fanout.spi.StoreException;
import dev.fanout.spi.StoredResult;
import java.io.IOException;
import java.io.PrintWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.Callable;
import java.util.concurrent.atomic.AtomicBoolean;
import picocli.CommandLine.ArgGroup;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

/**
 * {@code fanout run}: a one-shot fan-out on this machine, with no server. It runs the same engine,
 * HTTP function, jq transform and JSON reducers as {@code fanout serve} (registered through the
 * server's {@link Components} factories), plus {@link ExecFunction} for {@code --exec}, which only
 * the local CLI offers.
 *
 * <p>The job is durable in form (its function, transform and reducer are named factories) so that
 * one code path serves both stores: an {@link InMemoryJobStore} by default, or H2 under {@code
 * --data DIR}, which makes it resumable. {@link ResumeKey} says how a re-run recognises its job.
 */
@Command(
    name = "run",
    description = {
      "Fan out over items on this machine, with no server: call a URL or run a shell command per"
          + " item, in parallel, and fold the results.",
      "Progress goes to standard error; the summary (or, with --results, each result as NDJSON)"
          + " to standard output.",
      "",
      "--exec COMMAND runs /bin/sh -c COMMAND per item. Every {} in COMMAND becomes the item's"
          + " JSON in single quotes (write {} unquoted); the item's JSON is also on standard input."
          + " Standard output, trailing newlines removed, is the result: JSON when it is valid"
          + " JSON, else a string, null when empty. A non-zero exit fails the attempt.",
      "",
      "In memory by default. --data DIR keeps the job in an H2 database under DIR: killed or"
          + " stopped, the same command with the same --data resumes it, and once it has finished"
          + " it prints the finished job again instead of running it twice."
    },
    footerHeading = "%nExamples:%n",
    footer = {
      "  seq 1 100 | fanout run --items - --exec 'echo $(( {} * {} ))' --reduce sum",
      "  fanout run --items urls.ndjson --function-url http://127.0.0.1:9000/score \\",
      "      --transform .score --reduce avg --max-concurrency 50 --data ./score-run"
    })
final class RunCommand implements Callable<Integer> {

  /** The reducers the engine folds without a factory. */
  private static final List<String> BUILT_IN_REDUCERS =
      List.of("sum", "count", "min", "max", "avg", "collect");

  /** The longest attempt timeout: as the server allows for a job. */
  private static final long MAX_TIMEOUT_MS = Duration.ofDays(30).toMillis();

  private static final int MAX_CONCURRENCY = 100_000;
  private static final int MAX_ATTEMPTS = 100;
  private static final int PAGE = 1_000;

  @Spec CommandSpec spec;

  @Option(
      names = "--items",
      required = true,
      paramLabel = "FILE",
      description =
          "The items: a JSON array file, an NDJSON file (one JSON value per line; blank lines are"
              + " skipped), or - for standard input.")
  String items;

  @ArgGroup(exclusive = true, multiplicity = "1")
  FunctionOption function;

  /** Exactly one of the two. */
  static final class FunctionOption {
    @Option(
        names = "--function-url",
        paramLabel = "URL",
        required = true,
        description =
            "POST each item as JSON to this http(s) URL; a 2xx JSON answer is its result;"
                + " connect errors, 408, 429 and 5xx are retried.")
    String url;

    @Option(
        names = "--exec",
        paramLabel = "COMMAND",
        required = true,
        description = "Run COMMAND with /bin/sh -c for each item (see above).")
    String exec;
  }

  @Option(
      names = "--reduce",
      paramLabel = "REDUCER",
      description =
          "Fold the succeeded results, in input order: sum, count, min, max, avg, collect, concat,"
              + " merge, or '{\"jq\": \". + $item\", \"init\": 0}'.")
  String reduce;

  @Option(
      names = "--transform",
      paramLabel = "JQ",
      description = "A jq expression applied to each result, such as .score.")
  String transform;

  @Option(
      names = "--max-concurrency",
      paramLabel = "N",
      description =
          "Items running at once, 1 to "
              + MAX_CONCURRENCY
              + ". Default: the number of CPU cores with --exec, "
              + JobSpec.DEFAULT_MAX_CONCURRENCY
              + " with --function-url.")
  Integer maxConcurrency;

  @Option(
      names = "--max-attempts",
      paramLabel = "N",
      defaultValue = "3",
      description =
          "Attempts per item, 1 to "
              + MAX_ATTEMPTS
              + "; retries back off from 100 ms, doubling to 10 s. Default: ${DEFAULT-VALUE}.")
  int maxAttempts;

  @Option(
      names = "--timeout-ms",
      paramLabel = "MS",
      description =
          "Stop an attempt after MS milliseconds (a retryable failure); --exec kills the command"
              + " and its child processes. Default: none for --exec, 30 s for --function-url.")
  Long timeoutMs;

  @Option(
      names = "--data",
      paramLabel = "DIR",
      description =
          "Keep the job in an H2 database under DIR, so the same command resumes it after a crash."
              + " Never shared with a running fanout serve.")
  Path data;

  @Option(
      names = "--results",
      description =
          "Print each result to standard output as NDJSON, in completion order as they settle (the"
              + " shape of GET /v1/jobs/{id}/results); the summary then goes to standard error.")
  boolean results;

  @Mixin OutputOptions output;

  @Mixin ProgressOptions progress;

  // How often the command looks at the job; hidden, since only tests have a reason to change it.
  @Option(names = "--poll-interval-ms", hidden = true, defaultValue = "100")
  long pollIntervalMs;

  private final AtomicBoolean closed = new AtomicBoolean();
  private volatile boolean stopping;
  private volatile Progress display;
  private Engine engine;
  private Components components;
  private JobStore store;

  @Override
  public Integer call() throws Exception {
    Definition definition = define();
    Path spool = null;
    Thread stop = new Thread(this::stopped, "fanout-run-stop");
    Runtime.getRuntime().addShutdownHook(stop);
    try {
      open();
      JobHandle<?> job;
      if (data == null) {
        try (ItemReader reader = ItemReader.open(items, System.in)) {
          job = submit(definition, reader, null);
        }
      } else {
        ResumeKey key;
        if (items.equals("-")) {
          // Standard input can be read once, and the key needs the items before the job does.
          spool = Files.createTempFile(data, ".stdin-items-", ".ndjson");
          try (ItemReader reader = ItemReader.open(items, System.in)) {
            key = ResumeKey.of(definition.identity(), reader, spool);
          }
        } else {
          try (ItemReader reader = ItemReader.open(items, System.in)) {
            key = ResumeKey.of(definition.identity(), reader, null);
          }
        }
        Optional<JobHandle<?>> earlier = findOwnJob(key);
        if (earlier.isPresent()) {
          job = earlier.get();
          announce(job);
          engine.start();
          if (!job.status().state().isFinal() && job.status().maxConcurrency() != definition.cap) {
            job.setMaxConcurrency(definition.cap);
          }
        } else {
          try (ItemReader reader =
              ItemReader.open(spool != null ? spool.toString() : items, System.in)) {
            job = submit(definition, reader, key);
          }
        }
      }
      return follow(job);
    } catch (RuntimeException e) {
      if (stopping) {
        return ExitCodes.JOB_FAILED; // Ctrl-C or SIGTERM closed the engine under us
      }
      throw e;
    } finally {
      try {
        Runtime.getRuntime().removeShutdownHook(stop);
      } catch (IllegalStateException shuttingDown) {
        // The hook is running or has run; it closes everything itself.
      }
      close();
      if (spool != null) {
        Files.deleteIfExists(spool);
      }
    }
  }

  // ---------------------------------------------------------------- the job's definition

  /** What the options ask for, checked, as the engine's component names and configurations. */
  private record Definition(
      String function,
      ObjectNode functionConfig,
      ObjectNode transformConfig,
      String reducer,
      JsonNode reducerConfig,
      int cap,
      ObjectNode identity) {}

  private Definition define() {
    if (maxAttempts < 1 || maxAttempts > MAX_ATTEMPTS) {
      throw usage("--max-attempts must be between 1 and " + MAX_ATTEMPTS + ", got " + maxAttempts);
    }
    if (maxConcurrency != null && (maxConcurrency < 1 || maxConcurrency > MAX_CONCURRENCY)) {
      throw usage(
          "--max-concurrency must be between 1 and " + MAX_CONCURRENCY + ", got " + maxConcurrency);
    }
    long maxTimeout =
        function.url != null ? HttpFunctionConfig.MAX_TIMEOUT.toMillis() : MAX_TIMEOUT_MS;
    if (timeoutMs != null && (timeoutMs < 1 || timeoutMs > maxTimeout)) {
      throw usage(
          "--timeout-ms must be between 1 and "
              + maxTimeout
              + (function.url != null ? " with --function-url" : "")
              + ", got "
              + timeoutMs);
    }
    if (pollIntervalMs < 1) {
      throw usage("--poll-interval-ms must be at least 1, got " + pollIntervalMs);
    }
    if (data != null && Files.exists(data) && !Files.isDirectory(data)) {
      throw usage("--data " + data + " is a file; give a folder for the job's database");
    }
    // What identifies the job for a resume: everything that decides what runs and what is kept,
    // but not how fast (--max-concurrency) or how it is shown.
    ObjectNode identity = Json.object();
    String name;
    ObjectNode config;
    int cap;
    if (function.exec != null) {
      try {
        ShellCommand.check(function.exec);
      } catch (IllegalArgumentException e) {
        throw usage(e.getMessage());
      }
      name = ExecFunction.NAME;
      config = ExecFunction.config(function.exec);
      cap = maxConcurrency != null ? maxConcurrency : Runtime.getRuntime().availableProcessors();
      identity.put("exec", function.exec);
    } else {
      ObjectNode fn = Json.object().put("url", function.url);
      if (timeoutMs != null) {
        fn.put("timeoutMs", timeoutMs);
      }
      HttpFunctionConfig call;
      try {
        call = HttpFunctionConfig.parse(fn, UrlGuard.defaults());
      } catch (ApiException e) {
        throw usage("--function-url: " + e.getMessage());
      }
      cap = maxConcurrency != null ? maxConcurrency : JobSpec.DEFAULT_MAX_CONCURRENCY;
      name = Components.HTTP;
      config = Json.object();
      config.set("function", call.toJson());
      config.put("maxConcurrency", cap);
      identity.put("functionUrl", call.url().toString());
    }
    ObjectNode transformConfig = null;
    if (transform != null) {
      try {
        JqTransform.compile(transform, "--transform");
      } catch (ApiException e) {
        throw usage(e.getMessage());
      }
      transformConfig = Json.object().put("expression", transform);
      identity.put("transform", transform);
    }
    String reducer = null;
    JsonNode reducerConfig = null;
    if (reduce != null) {
      if (BUILT_IN_REDUCERS.contains(reduce)) {
        reducer = reduce;
      } else {
        reducerConfig = reduce.strip().startsWith("{") ? parseReduce() : TextNode.valueOf(reduce);
        try {
          JsonReducer.parse(reducerConfig);
        } catch (ApiException e) {
          throw usage("--" + e.getMessage());
        }
        reducer = Components.REDUCE;
      }
      identity.put("reduce", reduce);
    }
    identity.put("maxAttempts", maxAttempts);
    if (timeoutMs != null) {
      identity.put("timeoutMs", timeoutMs);
    }
    return new Definition(name, config, transformConfig, reducer, reducerConfig, cap, identity);
  }

  private JsonNode parseReduce() {
    try {
      return Json.MAPPER.readTree(reduce);
    } catch (IOException e) {
      throw usage("--reduce: not a reducer name nor a JSON object: " + reduce);
    }
  }

  // ---------------------------------------------------------------- engine and store

  private void open() {
    if (data == null) {
      store = new InMemoryJobStore();
    } else {
      try {
        store = JdbcJobStore.h2(data);
      } catch (StoreException e) {
        // Most often another fanout run (or serve) holds the database: H2 lets one process in.
        throw usage("--data " + data + ": cannot open the job database: " + e.getMessage(), e);
      }
      // This process holds the database alone, so whatever is RUNNING was left by one that died:
      // put it back to run now rather than wait for its leases to run out.
      store.reclaimExpired(java.time.Instant.now().plus(Duration.ofDays(3650)));
    }
    engine = FanOut.builder().store(store).pollInterval(Duration.ofMillis(pollIntervalMs)).build();
    // A local run is no node of a cluster: its calls carry no X-Fanout-Node.
    components = new Components(UrlGuard.defaults(), HttpFunction.DEFAULT_BATCH_LINGER, null);
    components.register(engine);
    engine.registerFunctionFactory(ExecFunction.NAME, JsonNode.class, ExecFunction.factory());
  }

  private JobHandle<?> submit(Definition d, Iterator<JsonNode> source, ResumeKey key) {
    JobSpec.Builder<JsonNode, JsonNode, JsonNode, Void> b =
        JobSpec.items(source).function(d.function(), d.functionConfig());
    if (d.transformConfig() != null) {
      b = b.transform(Components.JQ, d.transformConfig());
    }
    b.maxConcurrency(d.cap()).retry(RetryPolicy.builder().maxAttempts(maxAttempts).build());
    if (timeoutMs != null) {
      b.attemptTimeout(Duration.ofMillis(timeoutMs));
    }
    if (key != null) {
      ObjectNode run = Json.object().put("key", key.key()).put("command", commandText());
      b.metadata(Json.object().set("fanoutRun", run));
      b.idempotencyKey(key.key(), key.itemsDigest());
    }
    JobSpec<?, ?, ?> jobSpec;
    if (d.reducer() == null) {
      jobSpec = b.build();
    } else if (d.reducerConfig() == null) {
      jobSpec = b.reduce(d.reducer()).build();
    } else {
      jobSpec = b.reduce(d.reducer(), d.reducerConfig()).build();
    }
    try {
      return engine.submit(jobSpec);
    } catch (IllegalArgumentException e) {
      throw usage(e.getMessage());
    }
  }

  /**
   * Finds the job this command left in {@code --data} before; refuses a folder holding another
   * command's unfinished job, which this run would otherwise work on too; and deletes submissions
   * that a killed run left half-stored (this process holds the database alone, so nobody else is
   * storing them).
   */
  private Optional<JobHandle<?>> findOwnJob(ResumeKey key) {
    JobHandle<?> own = null;
    JobId before = null;
    for (List<JobRow> page; !(page = store.listJobs(PAGE, before)).isEmpty(); ) {
      for (JobRow row : page) {
        if (!row.sealed()) {
          store.deleteJob(row.id());
          continue;
        }
        JobHandle<?> handle = engine.job(row.id()).orElse(null);
        if (handle == null) {
          continue;
        }
        JsonNode run = handle.metadata().map(m -> m.path("fanoutRun")).orElse(Json.object());
        if (run.path("key").asText().equals(key.key())) {
          own = handle;
        } else if (!row.state().isFinal()) {
          throw usage(
              "--data "
                  + data
                  + " holds the unfinished job "
                  + row.id()
                  + " of another command"
                  + (run.hasNonNull("command") ? " (" + run.get("command").asText() + ")" : "")
                  + "; re-run that command to finish it, or use another --data folder");
        }
      }
      before = page.get(page.size() - 1).id();
    }
    return Optional.ofNullable(own);
  }

  private void announce(JobHandle<?> job) {
    JobStatus s = job.status();
    PrintWriter err = spec.commandLine().getErr();
    if (s.state().isFinal()) {
      err.println(
          "fanout run: job "
              + s.id()
              + " in "
              + data
              + " already finished; showing it again (use another --data folder to run it anew)");
    } else {
      err.println(
          "fanout run: resuming job "
              + s.id()
              + " in "
              + data
              + ": "
              + s.settled()
              + " of "
              + s.total().orElse(0)
              + " items had settled");
    }
    err.flush();
  }

  // ---------------------------------------------------------------- waiting and printing

  private int follow(JobHandle<?> job) throws InterruptedException {
    JobId id = job.id();
    PrintWriter out = spec.commandLine().getOut();
    PrintWriter summary = results ? spec.commandLine().getErr() : out;
    JobStatus s = job.status();
    long after = 0;
    try (Progress shown = progress.open(System.err, "fanout run", s.settled(), results)) {
      display = shown;
      while (true) {
        s = job.status();
        shown.update(s.settled(), s.failed(), s.total().orElse(-1));
        // Read after the status: once it is final, every result is already stored.
        if (results) {
          after = printResults(id, after, out);
        }
        if (s.state().isFinal()) {
          break;
        }
        Thread.sleep(pollIntervalMs);
      }
    }
    JsonNode aggregate = store.job(id).map(JobRow::aggregate).map(Json::parse).orElse(null);
    ObjectNode view = Views.job(s, true, aggregate, job.metadata().orElse(null));
    List<JsonNode> failures = new ArrayList<>();
    for (StoredResult r : store.failures(id, 0, JobReport.FAILURES_SHOWN)) {
      failures.add(Views.result(r, Json::parse));
    }
    JobReport.print(summary, output, view, failures);
    return JobReport.exitCode(view);
  }

  private long printResults(JobId id, long after, PrintWriter out) {
    for (List<StoredResult> page; !(page = store.results(id, after, PAGE)).isEmpty(); ) {
      for (StoredResult r : page) {
        out.println(Views.result(r, Json::parse).toString());
      }
      after = page.get(page.size() - 1).seq();
      out.flush();
    }
    return after;
  }

  // ---------------------------------------------------------------- stopping

  /** Ctrl-C or SIGTERM: stop the attempts (killing their commands) and close the database. */
  private void stopped() {
    stopping = true;
    Progress shown = display;
    if (shown != null) {
      shown.close(); // ends the bar's line, so the message below starts on its own
    }
    close();
    if (data != null) {
      System.err.println(
          "fanout run: stopped; run the same command with --data " + data + " to resume");
    }
  }

  private void close() {
    if (!closed.compareAndSet(false, true)) {
      return;
    }
    if (engine != null) {
      engine.close();
    }
    if (components != null) {
      components.close();
    }
    if (store != null) {
      store.close();
    }
  }

  private String commandText() {
    StringBuilder s = new StringBuilder("fanout");
    // The root's arguments: the subcommand's name is among them.
    for (String arg : spec.commandLine().getParseResult().originalArgs()) {
      s.append(' ').append(arg.matches("[A-Za-z0-9_./:=@%+,-]+") ? arg : ShellCommand.quote(arg));
    }
    return s.toString();
  }

  private static CliException usage(String message) {
    return CliException.usage(message);
  }

  private static CliException usage(String message, Throwable cause) {
    return CliException.usage(message, cause);
  }
}
