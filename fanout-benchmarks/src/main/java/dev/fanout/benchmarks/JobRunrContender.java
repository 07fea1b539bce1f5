package dev.fanout.benchmarks;

import com.zaxxer.hikari.HikariConfig;
import com.zaxxer.hikari.HikariDataSource;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.DatabaseMetaData;
import java.sql.SQLException;
import java.time.Duration;
import java.time.Instant;
import java.util.LinkedHashMap;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;
import java.util.stream.IntStream;
import java.util.stream.Stream;
import org.jobrunr.configuration.JobRunr;
import org.jobrunr.configuration.JobRunrConfiguration.JobRunrConfigurationResult;
import org.jobrunr.jobs.Job;
import org.jobrunr.jobs.filters.ApplyStateFilter;
import org.jobrunr.jobs.filters.JobServerFilter;
import org.jobrunr.jobs.states.FailedState;
import org.jobrunr.jobs.states.JobState;
import org.jobrunr.jobs.states.SucceededState;
import org.jobrunr.scheduling.JobScheduler;
import org.jobrunr.server.BackgroundJobServer;
import org.jobrunr.server.BackgroundJobServerConfiguration;
import org.jobrunr.server.configuration.BackgroundJobServerThreadType;
import org.jobrunr.storage.BackgroundJobServerStatus;
import org.jobrunr.storage.JobStats;
import org.jobrunr.storage.StorageProvider;
import org.jobrunr.storage.sql.h2.H2StorageProvider;
import org.jobrunr.storage.sql.postgres.PostgresStorageProvider;

/**
 * JobRunr as a benchmark contender: one in-process JobRunr (the scheduler and one background job
 * server) on a database of its own, running batches of {@link BenchJobs} jobs and timing each batch
 * from its first enqueue to its last success.
 *
 * <p>It runs JobRunr as its documentation sets it up, with the shipped defaults: {@code
 * JobRunr.configure()}, the SQL storage provider of the database over a HikariCP pool with
 * HikariCP's defaults, {@code usingStandardBackgroundJobServerConfiguration()} and no dashboard.
 * Only the worker count and the poll interval change, and only when asked. Jobs are submitted the
 * way a JobRunr user submits many, as one {@code enqueue(Stream, lambda)}, which JobRunr saves in
 * batches. The database is fresh: an H2 file in a temporary directory, or a new schema in the
 * PostgreSQL database {@code test}, so JobRunr creates its tables itself and no earlier run's jobs
 * are in the way.
 *
 * <p>Completion is seen in process, by a JobRunr filter that counts the run's jobs as their {@code
 * SUCCEEDED} state is saved, so waiting costs the database nothing and the benchmark's numbers are
 * JobRunr's own. The storage provider's job statistics then confirm the count.
 *
 * <p>JobRunr keeps its configuration in static fields, so only one contender may run in a JVM at a
 * time; {@link #close()} makes way for the next.
 */
final class JobRunrContender implements AutoCloseable {

  /** Where JobRunr keeps its jobs. */
  enum Database {
    H2,
    POSTGRES
  }

  /** What each job does with its item. */
  enum Work {
    NOOP,
    SLEEP_100_MS
  }

  /**
   * The JobRunr version the module is built with. The shaded benchmarks jar drops JobRunr's
   * manifest, and with it the package's implementation version, so the version is also kept here;
   * the test checks it against the jar.
   */
  static final String JOBRUNR_VERSION = "8.7.0";

  /** How long a run may go without one more job succeeding before it is declared stuck. */
  static final Duration STALL_TIMEOUT = Duration.ofSeconds(120);

  /** How long JobRunr's server may take to become master and run its startup tasks. */
  static final Duration STARTUP_TIMEOUT = Duration.ofSeconds(30);

  /** The name prefix of the thread JobRunr runs its startup tasks on (its NamedThreadFactory). */
  private static final String STARTUP_TASK_THREAD = "jobrunr-startup-task";

  /** JobRunr's configuration is static: a second contender would replace the first's. */
  private static final AtomicBoolean RUNNING = new AtomicBoolean();

  private final Database database;
  private final String databaseVersion;
  private final HikariDataSource dataSource;
  private final StorageProvider storageProvider;
  private final JobScheduler scheduler;
  private final BackgroundJobServer server;
  private final RunWatch watch;
  private final Path h2Directory;
  private final String schema;
  private boolean closed;
  private double lastWaitSeconds = Double.NaN;

  private JobRunrContender(
      Database database,
      String databaseVersion,
      HikariDataSource dataSource,
      StorageProvider storageProvider,
      JobScheduler scheduler,
      BackgroundJobServer server,
      RunWatch watch,
      Path h2Directory,
      String schema) {
    this.database = database;
    this.databaseVersion = databaseVersion;
    this.dataSource = dataSource;
    this.storageProvider = storageProvider;
    this.scheduler = scheduler;
    this.server = server;
    this.watch = watch;
    this.h2Directory = h2Directory;
    this.schema = schema;
  }

  /**
   * Starts JobRunr with its shipped defaults except the worker count when workerCount > 0 (0 =
   * JobRunr's default), on a fresh H2 file database in a temp dir or a fresh PostgreSQL schema in
   * database {@code test}. pollIntervalSeconds 0 = JobRunr's default; tests pass a short one.
   *
   * @throws IllegalArgumentException if a count is negative, or JobRunr rejects the poll interval
   *     (it accepts no less than 5 s on SQL databases)
   * @throws IllegalStateException if another contender is still open in this JVM
   * @throws SQLException if PostgreSQL cannot be reached or the schema not created
   * @throws IOException if the H2 directory cannot be created
   */
  static JobRunrContender start(Database database, int workerCount, int pollIntervalSeconds)
      throws Exception {
    if (workerCount < 0) {
      throw new IllegalArgumentException("workerCount must be >= 0 (0 = JobRunr's default)");
    }
    if (pollIntervalSeconds < 0) {
      throw new IllegalArgumentException(
          "pollIntervalSeconds must be >= 0 (0 = JobRunr's default)");
    }
    if (!RUNNING.compareAndSet(false, true)) {
      throw new IllegalStateException(
          "another JobRunrContender is open; JobRunr's configuration is global, so close it first");
    }
    Path h2Directory = null;
    String schema = null;
    HikariDataSource dataSource = null;
    BackgroundJobServer server = null;
    try {
      HikariConfig pool = new HikariConfig();
      pool.setPoolName("jobrunr-bench");
      if (database == Database.H2) {
        h2Directory = Files.createTempDirectory("jobrunr-bench-");
        pool.setJdbcUrl("jdbc:h2:file:" + h2Directory.resolve("jobrunr").toAbsolutePath());
      } else {
        schema = Bench.createSchema("jobrunr_bench");
        // JobRunr creates its tables unqualified, so the connection's schema is where they land.
        pool.setJdbcUrl(Bench.schemaUrl(schema));
      }
      dataSource = new HikariDataSource(pool);
      String databaseVersion;
      try (Connection c = dataSource.getConnection()) {
        DatabaseMetaData meta = c.getMetaData();
        databaseVersion = meta.getDatabaseProductName() + " " + meta.getDatabaseProductVersion();
      }
      StorageProvider storageProvider =
          database == Database.H2
              ? new H2StorageProvider(dataSource)
              : new PostgresStorageProvider(dataSource);

      BackgroundJobServerConfiguration serverConfiguration =
          BackgroundJobServerConfiguration.usingStandardBackgroundJobServerConfiguration();
      if (workerCount > 0) {
        serverConfiguration.andWorkerCount(workerCount);
      }
      if (pollIntervalSeconds > 0) {
        serverConfiguration.andPollIntervalInSeconds(pollIntervalSeconds);
      }
      RunWatch watch = new RunWatch();
      JobRunrConfigurationResult jobRunr =
          JobRunr.configure()
              .useStorageProvider(storageProvider)
              .withJobFilter(watch)
              .useBackgroundJobServer(serverConfiguration)
              .initialize();
      server = jobRunr.getBackgroundJobServer();
      awaitReady(server);
      return new JobRunrContender(
          database,
          databaseVersion,
          dataSource,
          storageProvider,
          jobRunr.getJobScheduler(),
          server,
          watch,
          h2Directory,
          schema);
    } catch (Exception | Error e) {
      try {
        if (server != null) {
          server.stop();
        }
        cleanUp(dataSource, h2Directory, schema);
      } catch (RuntimeException cleanUpFailure) {
        e.addSuppressed(cleanUpFailure);
      }
      RUNNING.set(false);
      throw e;
    }
  }

  /**
   * Enqueues n jobs (job i calls the work with argument i) and waits until all n have SUCCEEDED;
   * returns seconds from just before the first enqueue to the moment the last one succeeded. Can be
   * called more than once on the same instance (warm-up then measured run).
   *
   * <p>JobRunr's server does not hear of new jobs; it finds them at its next poll, and from then on
   * fetches more whenever workers fall idle. So a run's time includes up to one poll interval of
   * waiting (15 s by default), which dominates small runs.
   *
   * @throws IllegalStateException naming the count if any job fails, none progress for {@link
   *     #STALL_TIMEOUT}, or the storage's statistics disagree with the count seen in process
   */
  double run(int n, Work work) throws Exception {
    if (n <= 0) {
      throw new IllegalArgumentException("n must be > 0");
    }
    if (closed) {
      throw new IllegalStateException("closed");
    }
    JobStats before = storageProvider.getJobStats();
    Run run = new Run(n, Instant.now());
    watch.current = run;
    long started = System.nanoTime();
    try {
      Stream<Integer> items = IntStream.range(0, n).boxed();
      switch (work) {
        case NOOP -> scheduler.enqueue(items, item -> BenchJobs.noop(item));
        case SLEEP_100_MS -> scheduler.enqueue(items, item -> BenchJobs.sleep100Ms(item));
      }
      run.await(STALL_TIMEOUT);
    } finally {
      watch.current = null;
    }
    double seconds = (run.finished - started) / 1e9;
    long firstStart = run.firstStarted.get();
    lastWaitSeconds = firstStart == 0 ? Double.NaN : (firstStart - started) / 1e9;

    // The filter may hear of the last states a moment before JobRunr's statistics count them.
    long succeeded;
    long failed;
    long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
    do {
      JobStats after = storageProvider.getJobStats();
      succeeded = after.getSucceeded() - before.getSucceeded();
      failed = after.getFailed() - before.getFailed();
      if (succeeded == n && failed == 0) {
        break;
      }
      Thread.sleep(100);
    } while (System.nanoTime() < deadline);
    if (succeeded != n || failed != 0) {
      throw new IllegalStateException(
          String.format(
              "JobRunr's filter saw all %d jobs succeed, but its storage counts %d more succeeded"
                  + " and %d more failed",
              n, succeeded, failed));
    }
    return seconds;
  }

  /**
   * Seconds from the last {@link #run}'s first enqueue to its first job starting: the wait for
   * JobRunr's next poll, part of the run's time. NaN when no job started.
   */
  double lastWaitSeconds() {
    return lastWaitSeconds;
  }

  /**
   * Every setting of this run as ordered name-value pairs for the report, each as JobRunr itself
   * reports it where it can: the worker count and poll interval come from the running server, not
   * from what {@link #start} was given.
   */
  LinkedHashMap<String, String> settings() {
    BackgroundJobServerStatus status = server.getServerStatus();
    Boolean virtual = watch.virtualWorkers;
    LinkedHashMap<String, String> settings = new LinkedHashMap<>();
    settings.put("JobRunr version", jobRunrVersion());
    settings.put("storage provider", storageProvider.getClass().getName());
    settings.put(
        "database",
        database
            + " ("
            + databaseVersion
            + (schema == null
                ? ", a file database at H2's default URL settings, so commits reach the file up to"
                    + " 500 ms later (`WRITE_DELAY`), where Fanout's H2 store writes each one"
                : ", schema " + schema)
            + ")");
    settings.put(
        "connection pool", "HikariCP, " + dataSource.getMaximumPoolSize() + " connections");
    settings.put("worker count", Integer.toString(status.getWorkerPoolSize()));
    settings.put("poll interval", server.getConfiguration().getPollInterval().toSeconds() + " s");
    settings.put(
        "virtual threads",
        virtual != null
            ? virtual + " (seen on a worker)"
            : (BackgroundJobServerThreadType.getDefaultThreadType()
                    == BackgroundJobServerThreadType.VirtualThreads)
                + " (JobRunr's default thread type; no job run yet)");
    settings.put("JSON mapper", server.getJsonMapper().getClass().getName());
    settings.put("job submission", "JobScheduler.enqueue(Stream, lambda)");
    settings.put("dashboard", "off");
    return settings;
  }

  /** The storage's job counts now, for tests that check them against the runs. */
  JobStats jobStats() {
    return storageProvider.getJobStats();
  }

  /** The H2 database's directory, or null on PostgreSQL. */
  Path h2Directory() {
    return h2Directory;
  }

  /** The PostgreSQL schema, or null on H2. */
  String schema() {
    return schema;
  }

  /** The version in JobRunr's manifest, or the built-with version where the manifest is gone. */
  static String jobRunrVersion() {
    String version = JobRunr.class.getPackage().getImplementationVersion();
    return version != null ? version : JOBRUNR_VERSION;
  }

  /**
   * Stops the background job server, closes the pool, deletes the H2 directory or drops the
   * PostgreSQL schema.
   *
   * @throws IllegalStateException if the schema or the directory could not be removed
   */
  @Override
  public void close() {
    if (closed) {
      return;
    }
    closed = true;
    try {
      // Stopped on our own instances rather than by JobRunr.destroy(): the static configuration
      // may one day belong to someone else, these never do.
      try {
        awaitStartupTasks();
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
      }
      server.stop();
      storageProvider.close();
      cleanUp(dataSource, h2Directory, schema);
    } finally {
      RUNNING.set(false);
    }
  }

  /**
   * Waits until the server is master and has run its startup tasks, so the first run measures jobs
   * and not JobRunr's start.
   *
   * @throws IllegalStateException if that takes longer than {@link #STARTUP_TIMEOUT}
   */
  private static void awaitReady(BackgroundJobServer server) throws InterruptedException {
    long deadline = System.nanoTime() + STARTUP_TIMEOUT.toNanos();
    while (!server.isMaster()) {
      if (System.nanoTime() > deadline) {
        throw new IllegalStateException(
            "JobRunr's server did not become master within " + STARTUP_TIMEOUT.toSeconds() + " s");
      }
      Thread.sleep(10);
    }
    awaitStartupTasks();
  }

  /**
   * Joins JobRunr's startup-task thread if it still runs. JobRunr starts it once the server is
   * master and gives no handle to wait on, so it is found by its name; a server stopped under it
   * logs an ERROR from the task, and a run started under it shares the CPUs with it.
   */
  private static void awaitStartupTasks() throws InterruptedException {
    long deadline = System.nanoTime() + STARTUP_TIMEOUT.toNanos();
    for (Thread thread : Thread.getAllStackTraces().keySet()) {
      if (thread.getName().startsWith(STARTUP_TASK_THREAD)) {
        long left = deadline - System.nanoTime();
        if (left > 0) {
          thread.join(Duration.ofNanos(left));
        }
      }
    }
  }

  /** Closes the pool, then removes what start created; every step runs even if one fails. */
  private static void cleanUp(HikariDataSource dataSource, Path h2Directory, String schema) {
    RuntimeException failure = null;
    if (dataSource != null) {
      dataSource.close();
    }
    if (h2Directory != null) {
      try {
        Bench.deleteTree(h2Directory);
      } catch (UncheckedIOException e) {
        failure = e;
      }
    }
    if (schema != null) {
      try {
        Bench.executeOnPostgres("DROP SCHEMA IF EXISTS " + schema + " CASCADE");
      } catch (SQLException e) {
        failure = new IllegalStateException("could not drop the schema " + schema, e);
      }
    }
    if (failure != null) {
      throw failure;
    }
  }

  /** One call of {@link #run}: how many of its jobs succeeded so far, and when the last did. */
  private static final class Run {
    private final int expected;
    private final Instant createdFrom;
    private final AtomicInteger succeeded = new AtomicInteger();
    private final CountDownLatch over = new CountDownLatch(1);
    private volatile long finished;
    private final AtomicLong firstStarted = new AtomicLong();
    private volatile String failure;

    Run(int expected, Instant createdFrom) {
      this.expected = expected;
      this.createdFrom = createdFrom;
    }

    /** Whether a job belongs to this run; a late job of an earlier run was created before it. */
    boolean owns(Job job) {
      return !job.getCreatedAt().isBefore(createdFrom);
    }

    void succeeded() {
      if (succeeded.incrementAndGet() == expected) {
        finished = System.nanoTime();
        over.countDown();
      }
    }

    void failed(Job job, FailedState state) {
      failure = "job " + job.getId() + " failed: " + state.getExceptionMessage();
      over.countDown();
    }

    /** Waits for the last job, or a failure, or {@code stall} without progress. */
    void await(Duration stall) throws InterruptedException {
      int seen = succeeded.get();
      long progressed = System.nanoTime();
      // The filter counts in memory, so checking once a second costs nothing but this thread.
      while (!over.await(1, TimeUnit.SECONDS)) {
        int now = succeeded.get();
        if (now != seen) {
          seen = now;
          progressed = System.nanoTime();
        } else if (System.nanoTime() - progressed > stall.toNanos()) {
          throw new IllegalStateException(
              String.format(
                  "%d of %d JobRunr jobs succeeded, then none for %d s",
                  now, expected, stall.toSeconds()));
        }
      }
      if (failure != null) {
        throw new IllegalStateException(
            String.format(
                "%d of %d JobRunr jobs succeeded before one failed: %s",
                succeeded.get(), expected, failure));
      }
    }
  }

  /**
   * The JobRunr filter that reports to the current run: each job's first start and its final state.
   * The run then waits for JobRunr's own statistics to count the same jobs.
   */
  private static final class RunWatch implements ApplyStateFilter, JobServerFilter {
    volatile Run current;
    volatile Boolean virtualWorkers;

    @Override
    public void onStateApplied(Job job, JobState oldState, JobState newState) {
      Run run = current;
      if (run == null || !run.owns(job)) {
        return;
      }
      if (newState instanceof SucceededState) {
        run.succeeded();
      } else if (newState instanceof FailedState failed) {
        run.failed(job, failed);
      }
    }

    @Override
    public void onProcessing(Job job) {
      // Runs on the worker thread itself, the one place that says what kind of thread JobRunr used.
      if (virtualWorkers == null) {
        virtualWorkers = Thread.currentThread().isVirtual();
      }
      Run run = current;
      if (run != null && run.owns(job)) {
        run.firstStarted.compareAndSet(0, System.nanoTime());
      }
    }
  }
}
