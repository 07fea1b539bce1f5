package dev.fanout.examples;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.fanout.Engine;
import dev.fanout.FanOut;
import dev.fanout.ItemResult;
import dev.fanout.JobFinishedListener;
import dev.fanout.JobHandle;
import dev.fanout.JobId;
import dev.fanout.JobOutcome;
import dev.fanout.JobSpec;
import dev.fanout.JobState;
import dev.fanout.JobStatus;
import dev.fanout.TaskFailedException;
import dev.fanout.TaskFunction;
import dev.fanout.jdbc.JdbcJobStore;
import dev.fanout.spi.JobRow;
import dev.fanout.spi.JobStore;
import dev.fanout.spi.StoreException;
import dev.fanout.spi.StoredResult;
import java.io.IOException;
import java.io.PrintStream;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.Consumer;
import java.util.stream.Stream;

/**
 * The cloud-backup scenario of the Durable Functions documentation, as a durable Fanout job: fan
 * out over every file under a folder, copy each into a backup folder at the same relative path
 * (checking a SHA-256), and fan in the total bytes.
 *
 * <pre>{@code
 * fanout-examples/run backup ~/photos /mnt/backup/photos
 * }</pre>
 *
 * <ul>
 *   <li>The items are the relative paths of the regular files under the source, found by a lazy
 *       walk that stores them in chunks as it goes; symbolic links are neither followed nor copied.
 *   <li>The function ({@value #FUNCTION}, a {@link FileCopier}) copies one file through a temporary
 *       file and an atomic rename, checks the copy's SHA-256, and skips a file the backup already
 *       holds with the same SHA-256.
 *   <li>A named consumer ({@value #CONSUMER}) prints each file as it settles; the reducer ({@value
 *       #REDUCER}) sums files and bytes.
 *   <li>The job lives in H2 under {@code DESTINATION/.fanout} (or {@code --data}). A run killed
 *       midway leaves it there unfinished; the same command then resumes it, and files already
 *       backed up are not copied again. Once it has finished, the same command walks the source
 *       anew in a new job, which copies only what is missing or differs.
 * </ul>
 */
public final class BackupExample {

  /** The exit status when every file was backed up. */
  public static final int EXIT_OK = 0;

  /** The exit status when some file failed, or the job could not run to its end. */
  public static final int EXIT_FAILED = 1;

  /** The exit status for a usage error: bad arguments, folders that overlap, a busy job folder. */
  public static final int EXIT_USAGE = 2;

  static final String FUNCTION = "backup.copy";
  static final String REDUCER = "backup.totals";
  static final String CONSUMER = "backup.print";

  private static final int FAILURES_SHOWN = 20;
  private static final ObjectMapper JSON = new ObjectMapper();

  private final BackupSettings settings;
  private final PrintStream out;
  private final FileCopier copier;
  private final Map<JobId, CompletableFuture<JobStatus>> delivered = new ConcurrentHashMap<>();
  private final AtomicBoolean closed = new AtomicBoolean();
  private JobStore store;
  private Engine engine;

  private BackupExample(BackupSettings settings, PrintStream out, FileCopier.Hooks hooks) {
    this.settings = settings;
    this.out = out;
    this.copier =
        new FileCopier(
            settings.source(),
            settings.destination(),
            settings.data(),
            new Throttle(settings.maxBytesPerSecond()),
            hooks);
  }

  /**
   * Backs up {@code SOURCE} into {@code DESTINATION} and exits with the status {@link #run}
   * returns; {@code --help} lists the options.
   *
   * @param args {@code SOURCE DESTINATION [--data DIR] [--concurrency N] [--max-rate BYTES]}
   */
  public static void main(String[] args) {
    // Only warnings, on standard error: standard output is the backup's report.
    if (System.getProperty("logback.configurationFile") == null) {
      System.setProperty("logback.configurationFile", "dev/fanout/examples/logback.xml");
    }
    System.exit(run(args, System.out, System.err));
  }

  /**
   * Runs a backup, printing each file as it settles and the totals at the end to {@code out}, and
   * problems to {@code err}. Ctrl-C or SIGTERM stops it; the same arguments then resume it.
   *
   * @param args as for {@link #main}
   * @param out where the report goes
   * @param err where problems go
   * @return {@link #EXIT_OK}, {@link #EXIT_FAILED} or {@link #EXIT_USAGE}
   */
  public static int run(String[] args, PrintStream out, PrintStream err) {
    return run(args, out, err, FileCopier.Hooks.NONE);
  }

  /** {@link #run(String[], PrintStream, PrintStream)} with hooks in every copy. */
  static int run(String[] args, PrintStream out, PrintStream err, FileCopier.Hooks hooks) {
    if (List.of(args).contains("--help") || List.of(args).contains("-h")) {
      out.println(BackupSettings.USAGE);
      return EXIT_OK;
    }
    BackupSettings settings;
    try {
      settings = BackupSettings.parse(args);
    } catch (BackupSettings.UsageError e) {
      err.println("backup: " + e.getMessage());
      err.println("(backup --help lists the options)");
      return EXIT_USAGE;
    }
    BackupExample backup = new BackupExample(settings, out, hooks);
    Thread stop = new Thread(backup::stopped, "backup-stop");
    Runtime.getRuntime().addShutdownHook(stop);
    try {
      return backup.run(err);
    } finally {
      try {
        Runtime.getRuntime().removeShutdownHook(stop);
      } catch (IllegalStateException shuttingDown) {
        // The hook is running or has run, and closes everything itself.
      }
      backup.close();
    }
  }

  private int run(PrintStream err) {
    try {
      store = JdbcJobStore.h2(settings.data());
    } catch (StoreException e) {
      err.println(
          "backup: cannot open the job folder "
              + settings.data()
              + " (is another backup using it?): "
              + e.getMessage());
      return EXIT_USAGE;
    }
    // H2 lets one process in, so whatever is RUNNING here was left by a process that died: put it
    // back to run now rather than wait for its leases to run out.
    store.reclaimExpired(Instant.now().plus(Duration.ofDays(3650)));
    engine = FanOut.builder().store(store).build();
    engine.registerFunctionFactory(FUNCTION, String.class, this::function);
    engine.registerReducer(REDUCER, CopyResult.class, BackupTotals.reducer());
    engine.registerConsumer(CONSUMER, CopyResult.class, new Printer());

    ObjectNode identity =
        JSON.createObjectNode()
            .put("source", settings.source().toString())
            .put("destination", settings.destination().toString());
    Optional<JobHandle<?>> unfinished;
    try {
      unfinished = findUnfinished(identity);
    } catch (BackupSettings.UsageError e) {
      err.println("backup: " + e.getMessage());
      return EXIT_USAGE;
    }
    out.printf(
        "backup of %s into %s (job kept in %s)%n",
        settings.source(), settings.destination(), settings.data());
    JobHandle<?> job;
    if (unfinished.isPresent()) {
      job = unfinished.get();
      JobStatus s = job.status();
      out.printf(
          "resuming job %s: %d of %d files had settled before it stopped%n",
          s.id(), s.settled(), s.total().orElse(0));
      // Before the engine starts, while nothing can finish it: only an unfinished job takes it.
      job.setMaxConcurrency(settings.concurrency());
      engine.start();
    } else {
      try {
        job = submit(identity);
      } catch (UncheckedIOException e) {
        err.println("backup: cannot read the source: " + e.getCause());
        return EXIT_FAILED;
      }
    }
    return report(job, err);
  }

  /** Makes the job's function; a job names the folders it backs up in its configuration. */
  private TaskFunction<String, CopyResult> function(JobId job, JsonNode config) {
    if (!config.path("source").asText().equals(settings.source().toString())
        || !config.path("destination").asText().equals(settings.destination().toString())) {
      throw new IllegalArgumentException(
          "job " + job + " backs up other folders (" + config + ") than this run");
    }
    return (relative, context) -> copier.copy(relative);
  }

  /**
   * Finds this backup's unfinished job, left by a run that was killed; refuses a job folder that
   * holds another backup's, which this engine would otherwise run too; and deletes submissions a
   * killed run left half-stored.
   */
  private Optional<JobHandle<?>> findUnfinished(ObjectNode identity)
      throws BackupSettings.UsageError {
    JobHandle<?> own = null;
    JobId before = null;
    for (List<JobRow> page; !(page = store.listJobs(100, before)).isEmpty(); ) {
      for (JobRow row : page) {
        if (!row.sealed()) {
          store.deleteJob(row.id());
          continue;
        }
        if (row.state().isFinal()) {
          continue;
        }
        JobHandle<?> handle = engine.job(row.id()).orElse(null);
        JsonNode backup =
            handle == null ? null : handle.metadata().map(m -> m.path("backup")).orElse(null);
        if (identity.equals(backup)) {
          own = handle;
        } else {
          throw new BackupSettings.UsageError(
              "the job folder "
                  + settings.data()
                  + " holds the unfinished job "
                  + row.id()
                  + " of another backup ("
                  + backup
                  + "); run that backup to finish it, or give --data another folder");
        }
      }
      before = page.getLast().id();
    }
    return Optional.ofNullable(own);
  }

  private JobHandle<?> submit(ObjectNode identity) {
    Path source = settings.source();
    AtomicLong others = new AtomicLong();
    Stream<String> files;
    try {
      // Not following links: a link to a folder could lead out of the source, or in circles.
      files =
          Files.find(
                  source,
                  Integer.MAX_VALUE,
                  (path, attrs) -> {
                    if (attrs.isRegularFile()) {
                      return true;
                    }
                    if (!attrs.isDirectory()) {
                      others.incrementAndGet();
                    }
                    return false;
                  })
              .map(path -> source.relativize(path).toString());
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
    JobSpec<String, JsonNode, JsonNode> spec =
        JobSpec.items(files)
            .function(FUNCTION, identity)
            .consumer(CONSUMER)
            .reduce(REDUCER)
            .maxConcurrency(settings.concurrency())
            .metadata(JSON.createObjectNode().set("backup", identity))
            .build();
    // Returns once every path is stored: the walk runs here, and the job is durable from now on.
    JobHandle<JsonNode> job = engine.submit(spec);
    long skipped = others.get();
    out.printf(
        "submitted job %s: %d files%s%n",
        job.id(),
        job.status().total().orElse(0),
        skipped == 0
            ? ""
            : "; skipped "
                + skipped
                + (skipped == 1 ? " entry that is" : " entries that are")
                + " not a regular file (symbolic links and the like)");
    return job;
  }

  private int report(JobHandle<?> job, PrintStream err) {
    JobOutcome<?> outcome = job.outcome().join();
    // The consumer hears of the end after the last file it printed: the summary comes after them.
    delivered(job.id()).join();
    JobStatus s = outcome.status();
    Duration took = Duration.between(s.createdAt(), s.finishedAt());
    out.printf("job %s %s in %.1f s%n", s.id(), s.state(), took.toMillis() / 1000.0);
    BackupTotals totals = totals(outcome.aggregate());
    out.printf(
        "files: %d (%d copied, %d replaced, %d unchanged), %d failed%n",
        totals.files(), totals.copied(), totals.replaced(), totals.unchanged(), s.failed());
    out.printf("bytes: %d in all, %d written%n", totals.bytes(), totals.bytesWritten());
    out.printf("this run wrote %d files, %d bytes%n", copier.filesWritten(), copier.bytesWritten());
    if (s.failed() > 0) {
      out.println("failed files:");
      for (StoredResult r : store.failures(s.id(), 0, FAILURES_SHOWN)) {
        JsonNode error = parse(r.error());
        out.printf(
            "  %s: %s (%d attempts)%n",
            error.path("code").asText("error"), error.path("message").asText(), r.attempts());
      }
      if (s.failed() > FAILURES_SHOWN) {
        out.printf("  ... and %d more%n", s.failed() - FAILURES_SHOWN);
      }
    }
    if (s.state() != JobState.SUCCEEDED && s.error() != null && s.failed() == 0) {
      err.println("backup: " + s.error());
    }
    return s.state() == JobState.SUCCEEDED ? EXIT_OK : EXIT_FAILED;
  }

  private static BackupTotals totals(Object aggregate) {
    if (!(aggregate instanceof JsonNode json) || json.isNull()) {
      return BackupTotals.NONE;
    }
    try {
      return JSON.treeToValue(json, BackupTotals.class);
    } catch (JsonProcessingException e) {
      throw new IllegalStateException("the job's aggregate is not a backup's: " + json, e);
    }
  }

  private static JsonNode parse(String json) {
    try {
      return JSON.readTree(json == null ? "null" : json);
    } catch (JsonProcessingException e) {
      return JSON.getNodeFactory().textNode(json);
    }
  }

  private CompletableFuture<JobStatus> delivered(JobId id) {
    return delivered.computeIfAbsent(id, k -> new CompletableFuture<>());
  }

  /** The named consumer: prints each file as its item settles, and hears of the job's end. */
  private final class Printer implements Consumer<ItemResult<CopyResult>>, JobFinishedListener {
    @Override
    public void accept(ItemResult<CopyResult> r) {
      if (!r.succeeded()) {
        String message = r.error().getMessage();
        // A stored failure reads "<exception class>: <message>"; the message names the file.
        if (r.error() instanceof TaskFailedException f && message.startsWith(f.type() + ": ")) {
          message = message.substring(f.type().length() + 2);
        }
        out.println("failed    " + message);
        return;
      }
      CopyResult c = r.value();
      switch (c.outcome()) {
        case COPIED -> out.printf("copied    %s (%d bytes)%n", c.path(), c.bytes());
        case REPLACED ->
            out.printf("replaced  %s (%d bytes; the backup differed)%n", c.path(), c.bytes());
        case UNCHANGED -> out.printf("unchanged %s%n", c.path());
      }
    }

    @Override
    public void onJobFinished(JobStatus status) {
      delivered(status.id()).complete(status);
    }
  }

  /** Ctrl-C or SIGTERM: stop copying; the items left unsettled wait in the store. */
  private void stopped() {
    if (engine != null && !closed.get()) {
      System.err.println("backup: stopped; run the same command again to finish the backup");
    }
    close();
  }

  private void close() {
    if (!closed.compareAndSet(false, true)) {
      return;
    }
    if (engine != null) {
      engine.close();
    }
    if (store != null) {
      store.close();
    }
  }
}
