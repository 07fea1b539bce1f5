package dev.fanout.jdbc;

import com.zaxxer.hikari.HikariConfig;
import com.zaxxer.hikari.HikariDataSource;
import com.zaxxer.hikari.pool.HikariPool;
import dev.fanout.JobId;
import dev.fanout.JobState;
import dev.fanout.ResultOrder;
import dev.fanout.spi.ClaimedTask;
import dev.fanout.spi.Completion;
import dev.fanout.spi.IdempotencyKeyTakenException;
import dev.fanout.spi.JobCounts;
import dev.fanout.spi.JobRow;
import dev.fanout.spi.JobStore;
import dev.fanout.spi.NewJob;
import dev.fanout.spi.NodeRow;
import dev.fanout.spi.Recorded;
import dev.fanout.spi.StoreException;
import dev.fanout.spi.StoreSignals;
import dev.fanout.spi.StoredResult;
import dev.fanout.spi.TaskState;
import dev.fanout.spi.Verdict;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Savepoint;
import java.sql.Statement;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Comparator;
import java.util.EnumMap;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;
import java.util.Properties;
import java.util.Set;
import java.util.concurrent.atomic.AtomicReference;
import org.flywaydb.core.api.MigrationVersion;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The durable {@link JobStore}: jobs, items and results in tables of an embedded H2 file or a
 * PostgreSQL database that a cluster of engines shares.
 *
 * <p>Open one with {@link #h2(Path)} for a single process, {@link #open(String)} for any supported
 * JDBC URL, or {@link #builder(String)} to set credentials, schema, pool size or timeouts. Opening
 * creates or migrates the tables (all named {@code fanout_*}) and fails fast with a {@link
 * StoreException} when the database cannot be reached or has a schema newer than this library.
 *
 * <p>Every method runs in one short transaction. Each one that moves a job's items first locks the
 * job's row, which serializes them per job across every process: that is what keeps a job's RUNNING
 * items within its {@code maxConcurrency}, its result sequence numbers unique and increasing, and
 * the counts on its row exact, so reading a job never scans its items. The store keeps JSON as text
 * and never parses it, and takes every time from its arguments, never from the database clock.
 * Times are kept to the millisecond.
 *
 * <pre>{@code
 * try (JobStore store = JdbcJobStore.builder("jdbc:postgresql://db:5432/app")
 *     .user("fanout")
 *     .password(secret)
 *     .schema("fanout")
 *     .build()) {
 *   // hand the store to the durable engine
 * }
 * }</pre>
 */
public final class JdbcJobStore implements JobStore {

  private static final Logger LOG = LoggerFactory.getLogger(JdbcJobStore.class);

  /**
   * Rows per JDBC batch, and IDs per IN list: big enough to amortize round trips, small enough for
   * every driver.
   */
  private static final int CHUNK = 500;

  /** Sealing a job this large refreshes the planner's statistics, where the dialect needs it. */
  static final long LARGE_JOB = 10_000;

  /** How long close() waits for a statistics refresh it could not cancel. */
  private static final Duration REFRESH_STOP_WAIT = Duration.ofSeconds(10);

  /** How often close() cancels a statistics refresh again while it waits for it. */
  private static final Duration REFRESH_CANCEL_INTERVAL = Duration.ofMillis(50);

  /** Items purge() deletes per transaction. */
  static final long PURGE_RANGE = 10_000;

  /**
   * Rows numberInOrder reads in its first page, doubled per page up to {@link #MAX_ORDER_PAGE}: a
   * walk usually stops within a few rows, and a long one takes few round trips.
   */
  private static final int FIRST_ORDER_PAGE = 64;

  private static final int MAX_ORDER_PAGE = 1024;

  private final HikariDataSource pool;
  private final Dialect dialect;

  /** Puts an item back to PENDING for its retry; guarded as a settle is. */
  private final String retrySql;

  /**
   * A page of {@link #numberInOrder}'s walk: a job's items from an index on, in index order;
   * parameters: the range, then the page size.
   */
  static String orderPageSql(Dialect dialect) {
    return "SELECT idx, seq, state FROM fanout_item WHERE "
        + dialect.itemsBetweenSql()
        + " ORDER BY "
        + dialect.itemOrderSql()
        + " FETCH FIRST ? ROWS ONLY";
  }

  /**
   * Numbers a run of {@link #numberInOrder}'s held items; parameters: what to add to an item's
   * index for its seq, then the run's range.
   */
  static String orderNumberSql(Dialect dialect) {
    return "UPDATE fanout_item SET seq = idx + CAST(? AS BIGINT) WHERE "
        + dialect.itemsBetweenSql();
  }

  /** {@link #retrySql} on a database; parameters: not before, error, the item, the fence. */
  static String retrySql(Dialect dialect) {
    return """
        UPDATE fanout_item
        SET state = 'PENDING', fence = fence + 1, not_before = ?, error = ?,
            owner = NULL, lease_until = NULL
        WHERE %s AND fence = ? AND seq IS NULL"""
        .formatted(dialect.itemAtSql());
  }

  // The statistics refresh in flight, so that close() can cancel it rather than pull the pool's
  // connection from under it, which the pool reports as a broken connection with its stack trace.
  private final Object refreshLock = new Object();
  private final AtomicReference<Statement> refreshStatement = new AtomicReference<>();
  private Thread refresher; // guarded by refreshLock
  private volatile boolean closing;
  private final Transactions transactions;
  private final StoreSignals signals;

  private JdbcJobStore(HikariDataSource pool, Dialect dialect, String redactedUrl) {
    this.pool = pool;
    this.dialect = dialect;
    this.retrySql = retrySql(dialect);
    this.transactions = new Transactions(pool);
    this.signals = dialect.signals(pool, redactedUrl);
  }

  /**
   * Opens, creating it if missing, the embedded H2 database {@code fanout} in a folder. Several
   * threads of one process may use it at once; another process cannot open it while this one has it
   * open. Commits are written to the file before they return, so a crash loses none.
   *
   * @param dataDir the folder; created with its parents when missing
   * @return the open store
   * @throws StoreException when the folder cannot be created, the database is in use by another
   *     process, or its schema is newer than this library
   */
  public static JdbcJobStore h2(Path dataDir) {
    Objects.requireNonNull(dataDir, "dataDir");
    Path folder = dataDir.toAbsolutePath();
    try {
      Files.createDirectories(folder);
    } catch (IOException e) {
      throw new StoreException("cannot create the job store folder " + folder + ": " + e, e);
    }
    return builder(h2Url(folder)).build();
  }

  /**
   * Opens the store at a JDBC URL, with the user and password the URL itself carries, if any. An H2
   * URL is used as given: add {@code ;WRITE_DELAY=0} to it, as {@link #h2(Path)} does, unless
   * losing the last half second of commits when the process dies is acceptable, and {@code
   * ;QUERY_CACHE_SIZE=128}, which saves parsing statements again.
   *
   * @param jdbcUrl a {@code jdbc:h2:} or {@code jdbc:postgresql:} URL
   * @return the open store
   * @throws IllegalArgumentException when the URL's scheme is not a supported one
   * @throws StoreException when the database cannot be reached or its schema is newer than this
   *     library
   */
  public static JdbcJobStore open(String jdbcUrl) {
    return builder(jdbcUrl).build();
  }

  /**
   * Starts configuring a store at a JDBC URL.
   *
   * @param jdbcUrl a {@code jdbc:h2:} or {@code jdbc:postgresql:} URL
   * @return a builder; each option may be set once
   * @throws IllegalArgumentException when the URL's scheme is not a supported one
   */
  public static Builder builder(String jdbcUrl) {
    Objects.requireNonNull(jdbcUrl, "jdbcUrl");
    return new Builder(jdbcUrl, Dialect.forUrl(jdbcUrl));
  }

  /** The URL of the H2 file database {@code fanout} in a folder. */
  static String h2Url(Path folder) {
    // WRITE_DELAY=0 writes each commit to the file before it returns (H2 delays it 500 ms by
    // default), so a killed process loses no completion it acknowledged. The pool and close()
    // own the database's life, not a JVM shutdown hook that could close it under running work.
    // QUERY_CACHE_SIZE: H2 keeps each connection's last 8 parsed statements by default, fewer than
    // one claim-and-record transaction uses (a settle's text differs by its number of rows), so
    // the writer parsed most of its statements anew; parsing was 4 % of scenario 4's CPU.
    return "jdbc:h2:file:"
        + folder.resolve("fanout").toString().replace('\\', '/')
        + ";WRITE_DELAY=0;DB_CLOSE_ON_EXIT=FALSE;QUERY_CACHE_SIZE=128";
  }

  // ---------------------------------------------------------------------------------------------
  // Jobs

  @Override
  public void createJob(NewJob job) {
    Objects.requireNonNull(job, "job");
    // A key's holder may be deleted (a submission that failed midway) between our failed insert
    // and the look-up that names it; then the key is free and the insert is tried again.
    for (int tries = 1; ; tries++) {
      try {
        insertJob(job);
        return;
      } catch (Collision collision) {
        if (job.idempotencyKey() == null) {
          throw new IllegalStateException(
              "a job with ID " + job.id() + " exists already", collision.getCause());
        }
        Optional<IdempotencyKeyTakenException> taken = keyHolder(job);
        if (taken.isPresent()) {
          throw taken.get();
        }
        if (tries == 3) {
          throw new StoreException(
              "cannot create job "
                  + job.id()
                  + ": its idempotency key is taken and freed again"
                  + " over and over",
              collision.getCause());
        }
      }
    }
  }

  /** A unique violation on insert: the ID, or the idempotency key, is taken. */
  private static final class Collision extends RuntimeException {
    private static final long serialVersionUID = 1L;

    Collision(SQLException cause) {
      super(cause);
    }
  }

  private void insertJob(NewJob job) {
    transactions.inTransaction(
        "create job " + job.id(),
        connection -> {
          try (PreparedStatement insert =
              connection.prepareStatement(
                  """
                  INSERT INTO fanout_job (id, sealed, state, paused, spec, total, max_concurrency,
                    pending, running, succeeded, failed, cancelled, retries, last_seq,
                    created_at, deadline_at, idempotency_key, fingerprint, result_order)
                  VALUES (?, FALSE, 'ACCEPTED', FALSE, ?, 0, ?, 0, 0, 0, 0, 0, 0, 0, ?, ?, ?, ?,
                    ?)""")) {
            insert.setString(1, job.id().value());
            insert.setString(2, job.spec());
            insert.setInt(3, job.maxConcurrency());
            Timestamps.bind(insert, 4, job.createdAt());
            Timestamps.bind(insert, 5, job.deadlineAt());
            insert.setString(6, job.idempotencyKey());
            insert.setString(7, job.fingerprint());
            insert.setString(8, job.resultOrder().name());
            insert.executeUpdate();
          } catch (SQLException e) {
            if (isUniqueViolation(e)) {
              // Thrown, not returned, so the transaction rolls back: PostgreSQL has aborted it.
              throw new Collision(e);
            }
            throw e;
          }
          return null;
        });
  }

  /** Both orders: see {@link #numberInOrder}. */
  @Override
  public boolean supportsResultOrder(ResultOrder order) {
    return order != null;
  }

  /** The job holding another job's idempotency key, if any job still does. */
  private Optional<IdempotencyKeyTakenException> keyHolder(NewJob job) {
    return transactions.inTransaction(
        "find the holder of an idempotency key",
        connection -> {
          try (PreparedStatement select =
              connection.prepareStatement(
                  "SELECT id, fingerprint FROM fanout_job WHERE idempotency_key = ?")) {
            select.setString(1, job.idempotencyKey());
            try (ResultSet row = select.executeQuery()) {
              if (!row.next() || row.getString("id").equals(job.id().value())) {
                return Optional.empty();
              }
              return Optional.of(
                  new IdempotencyKeyTakenException(
                      job.idempotencyKey(),
                      JobId.of(row.getString("id")),
                      row.getString("fingerprint")));
            }
          }
        });
  }

  @Override
  public void addItems(JobId id, long firstIndex, List<String> items) {
    Objects.requireNonNull(id, "id");
    Objects.requireNonNull(items, "items");
    transactions.inTransaction(
        "add items to job " + id,
        connection -> {
          LockedJob job = requireUnsealed(connection, id, "add items to");
          if (firstIndex != job.total()) {
            throw new IllegalStateException(
                "job "
                    + id
                    + " has "
                    + job.total()
                    + " items, so its next batch must start at index "
                    + job.total()
                    + ", not "
                    + firstIndex);
          }
          if (items.isEmpty()) {
            return null;
          }
          dialect.insertItems(connection, job.ref(id), firstIndex, items, CHUNK);
          try (PreparedStatement count =
              connection.prepareStatement(
                  "UPDATE fanout_job SET total = total + ?, pending = pending + ? WHERE id = ?")) {
            count.setLong(1, items.size());
            count.setLong(2, items.size());
            count.setString(3, id.value());
            count.executeUpdate();
          }
          return null;
        });
  }

  @Override
  public int itemBatchSize() {
    return dialect.itemBatchSize();
  }

  @Override
  public void seal(JobId id, long total) {
    Objects.requireNonNull(id, "id");
    transactions.inTransaction(
        "seal job " + id,
        connection -> {
          LockedJob job = requireUnsealed(connection, id, "seal");
          if (job.total() != total) {
            throw new IllegalStateException(
                "job " + id + " has " + job.total() + " items stored, not " + total);
          }
          try (PreparedStatement seal =
              connection.prepareStatement("UPDATE fanout_job SET sealed = TRUE WHERE id = ?")) {
            seal.setString(1, id.value());
            seal.executeUpdate();
          }
          return null;
        });
    if (total >= LARGE_JOB) {
      dialect.refreshItemStatisticsSql().ifPresent(this::refreshStatisticsInBackground);
    }
  }

  /**
   * Best effort, after the seal committed: a failure here costs speed, never correctness. Runs the
   * statistics refresh after seal() has returned: it takes longer than writing a 10,000-item job,
   * and the submitter waits for seal(). One refresh at a time is enough, since the next sees every
   * job sealed meanwhile.
   */
  private void refreshStatisticsInBackground(String sql) {
    synchronized (refreshLock) {
      if (!closing && (refresher == null || !refresher.isAlive())) {
        refresher = Thread.ofVirtual().name("fanout-analyze").start(() -> refreshStatistics(sql));
      }
    }
  }

  private void refreshStatistics(String sql) {
    try {
      transactions.inTransaction(
          "refresh the item statistics",
          connection -> {
            try (Statement statement = connection.createStatement()) {
              refreshStatement.set(statement);
              try {
                // Set before closing is read, as close() sets closing before it reads the
                // statement: one of the two always sees the other.
                if (!closing) {
                  statement.execute(sql);
                }
              } finally {
                refreshStatement.set(null);
              }
            }
            return null;
          });
    } catch (StoreException e) {
      if (closing) {
        LOG.debug("The statistics refresh stopped as the store closed: {}", e.getMessage());
      } else {
        LOG.warn("Claims may be slow until the database analyzes fanout_item itself", e);
      }
    }
  }

  /**
   * Cancels a statistics refresh in flight and waits for its thread, before the pool closes. A
   * cancel sent before the statement reaches the database does nothing, and the statement may then
   * wait for a lock (another node's ANALYZE holds the same one), so the cancel is repeated until
   * the thread ends.
   */
  private void stopRefresh() {
    Thread thread;
    synchronized (refreshLock) {
      closing = true;
      thread = refresher;
    }
    if (thread == null) {
      return;
    }
    long deadline = System.nanoTime() + REFRESH_STOP_WAIT.toNanos();
    try {
      while (thread.isAlive()) {
        Statement statement = refreshStatement.get();
        if (statement != null) {
          try {
            statement.cancel();
          } catch (SQLException e) {
            LOG.debug("Cannot cancel the statistics refresh: {}", e.getMessage());
          }
        }
        long left = deadline - System.nanoTime();
        if (left <= 0) {
          LOG.warn(
              "The statistics refresh did not stop within {}; closing the pool under it",
              REFRESH_STOP_WAIT);
          return;
        }
        thread.join(Duration.ofNanos(Math.min(left, REFRESH_CANCEL_INTERVAL.toNanos())));
      }
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
  }

  @Override
  public Optional<JobRow> job(JobId id) {
    Objects.requireNonNull(id, "id");
    return transactions.inTransaction("read job " + id, connection -> readJob(connection, id));
  }

  @Override
  public List<JobRow> listJobs(int limit, JobId before) {
    if (limit <= 0) {
      return List.of();
    }
    return transactions.inTransaction(
        "list jobs",
        connection -> {
          String sql = "SELECT " + JobColumns.ALL + " FROM fanout_job";
          Instant cursorCreatedAt = null;
          if (before != null) {
            // A cursor deleted since the last page still tells, by its ID, where it stood.
            Optional<Instant> at =
                readJob(connection, before)
                    .map(JobRow::createdAt)
                    .or(() -> JobStore.createdAtOf(before));
            if (at.isEmpty()) {
              return List.of(); // a cursor naming no job and no time: stop rather than start over
            }
            cursorCreatedAt = at.get();
            sql += " WHERE (created_at, id) < (?, ?)";
          }
          sql += " ORDER BY created_at DESC, id DESC FETCH FIRST ? ROWS ONLY";
          try (PreparedStatement select = connection.prepareStatement(sql)) {
            int parameter = 1;
            if (before != null) {
              Timestamps.bind(select, parameter++, cursorCreatedAt);
              select.setString(parameter++, before.value());
            }
            select.setInt(parameter, limit);
            List<JobRow> jobs = new ArrayList<>();
            try (ResultSet rows = select.executeQuery()) {
              while (rows.next()) {
                jobs.add(JobColumns.read(rows));
              }
            }
            return jobs;
          }
        });
  }

  @Override
  public List<JobId> activeJobs() {
    return transactions.inTransaction("list active jobs", JdbcJobStore::activeJobs);
  }

  /**
   * The sealed jobs that are not final, oldest first: the only ones that can have RUNNING items.
   */
  private static List<JobId> activeJobs(Connection connection) throws SQLException {
    try (PreparedStatement select =
            connection.prepareStatement(
                "SELECT id FROM fanout_job WHERE sealed AND "
                    + JobColumns.NOT_FINAL
                    + " ORDER BY created_at, id");
        ResultSet rows = select.executeQuery()) {
      List<JobId> ids = new ArrayList<>();
      while (rows.next()) {
        ids.add(JobId.of(rows.getString("id")));
      }
      return ids;
    }
  }

  @Override
  public boolean setPaused(JobId id, boolean paused) {
    Objects.requireNonNull(id, "id");
    return transactions.inTransaction(
        (paused ? "pause" : "resume") + " job " + id,
        connection -> {
          try (PreparedStatement update =
              connection.prepareStatement(
                  "UPDATE fanout_job SET paused = ? WHERE id = ? AND " + JobColumns.NOT_FINAL)) {
            update.setBoolean(1, paused);
            update.setString(2, id.value());
            return update.executeUpdate() == 1;
          }
        });
  }

  @Override
  public boolean setMaxConcurrency(JobId id, int maxConcurrency) {
    Objects.requireNonNull(id, "id");
    if (maxConcurrency < 1) {
      throw new IllegalArgumentException("maxConcurrency must be >= 1, got " + maxConcurrency);
    }
    return transactions.inTransaction(
        "change the concurrency of job " + id,
        connection -> {
          // A lower cap than the items RUNNING now takes effect as they settle: claim() compares.
          try (PreparedStatement update =
              connection.prepareStatement(
                  "UPDATE fanout_job SET max_concurrency = ? WHERE id = ? AND "
                      + JobColumns.NOT_FINAL)) {
            update.setInt(1, maxConcurrency);
            update.setString(2, id.value());
            return update.executeUpdate() == 1;
          }
        });
  }

  // ---------------------------------------------------------------------------------------------
  // Items

  @Override
  public List<ClaimedTask> claim(
      JobId id, String owner, int limit, Instant now, Instant leaseUntil) {
    Objects.requireNonNull(id, "id");
    Objects.requireNonNull(owner, "owner");
    Objects.requireNonNull(now, "now");
    Objects.requireNonNull(leaseUntil, "leaseUntil");
    if (limit <= 0) {
      return List.of();
    }
    return transactions.inTransaction(
        "claim items of job " + id,
        connection -> {
          // Under the job row's lock no other claim, completion or reclaim of this job runs, so
          // the RUNNING count read here stays true until this transaction commits.
          Optional<LockedJob> locked = lockJob(connection, id);
          if (locked.isEmpty()) {
            return List.of();
          }
          return claimLocked(connection, id, locked.get(), owner, limit, now, leaseUntil, true);
        });
  }

  /** Claims under a lock the caller holds; {@code job} is what the claim may decide on. */
  private List<ClaimedTask> claimLocked(
      Connection connection,
      JobId id,
      LockedJob job,
      String owner,
      int limit,
      Instant now,
      Instant leaseUntil,
      boolean writeCounts)
      throws SQLException {
    if (!job.claimable()) {
      return List.of();
    }
    long room = job.maxConcurrency() - job.running();
    if (room <= 0) {
      return List.of();
    }
    List<ClaimedTask> claimed =
        dialect.claim(
            connection,
            new Dialect.ClaimRequest(
                id,
                job.total(),
                job.pending(),
                (int) Math.min(limit, room),
                owner,
                now,
                leaseUntil));
    if (claimed.isEmpty()) {
      return List.of();
    }
    if (!writeCounts) {
      claimed.sort(Comparator.comparingLong(ClaimedTask::index));
      return claimed;
    }
    try (PreparedStatement count =
        connection.prepareStatement(
            """
            UPDATE fanout_job
            SET running = running + ?, pending = pending - ?,
                state = CASE WHEN state = 'ACCEPTED' THEN 'RUNNING' ELSE state END,
                started_at = COALESCE(started_at, ?)
            WHERE id = ?""")) {
      count.setLong(1, claimed.size());
      count.setLong(2, claimed.size());
      Timestamps.bind(count, 3, now);
      count.setString(4, id.value());
      count.executeUpdate();
    }
    // Neither RETURNING nor FINAL TABLE promises an order.
    claimed.sort(Comparator.comparingLong(ClaimedTask::index));
    return claimed;
  }

  @Override
  public int renewLeases(String owner, Instant leaseUntil) {
    Objects.requireNonNull(owner, "owner");
    Objects.requireNonNull(leaseUntil, "leaseUntil");
    return transactions.inTransaction(
        "renew the leases of " + owner,
        connection -> {
          try (PreparedStatement renew = connection.prepareStatement(dialect.renewSql())) {
            renew.setString(1, owner);
            Timestamps.bind(renew, 2, leaseUntil);
            if (!dialect.renewsJobByJob()) {
              return renew.executeUpdate();
            }
            int renewed = 0;
            for (JobId job : activeJobs(connection)) {
              renew.setString(3, job.value());
              renewed += renew.executeUpdate();
            }
            return renewed;
          }
        });
  }

  @Override
  public int reclaimExpired(Instant now) {
    Objects.requireNonNull(now, "now");
    int reclaimed =
        transactions.inTransaction(
            "reclaim expired leases",
            connection -> {
              List<JobId> jobs = new ArrayList<>();
              try (PreparedStatement expired =
                  connection.prepareStatement(dialect.jobsWithExpiredLeasesSql())) {
                Timestamps.bind(expired, 1, now);
                try (ResultSet rows = expired.executeQuery()) {
                  while (rows.next()) {
                    jobs.add(JobId.of(rows.getString("job_id")));
                  }
                }
              }
              // The jobs are locked in ID order, the only order in which any transaction takes
              // more than one job lock, so two reclaims cannot deadlock each other.
              int total = 0;
              for (JobId job : jobs) {
                if (lockJob(connection, job).isEmpty()) {
                  continue;
                }
                int count;
                try (PreparedStatement reclaim =
                    connection.prepareStatement(dialect.reclaimSql())) {
                  reclaim.setString(1, job.value());
                  Timestamps.bind(reclaim, 2, now);
                  count = reclaim.executeUpdate();
                }
                moveCounts(connection, job, count);
                total += count;
              }
              return total;
            });
    if (reclaimed > 0) {
      LOG.info("Reclaimed {} items whose leases ended at or before {}", reclaimed, now);
    }
    return reclaimed;
  }

  private static void moveCounts(Connection connection, JobId job, int runningToPending)
      throws SQLException {
    try (PreparedStatement count =
        connection.prepareStatement(
            "UPDATE fanout_job SET running = running - ?, pending = pending + ? WHERE id = ?")) {
      count.setLong(1, runningToPending);
      count.setLong(2, runningToPending);
      count.setString(3, job.value());
      count.executeUpdate();
    }
  }

  @Override
  public List<StoredResult> complete(JobId id, List<Completion> completions, Instant now) {
    Objects.requireNonNull(id, "id");
    Objects.requireNonNull(completions, "completions");
    Objects.requireNonNull(now, "now");
    if (completions.isEmpty()) {
      return List.of();
    }
    return transactions.inTransaction(
        "record results of job " + id,
        connection -> {
          Optional<LockedJob> locked = lockJob(connection, id);
          if (locked.isEmpty()) {
            return List.of();
          }
          return recordingLocked(
                  connection,
                  locked.get(),
                  completions,
                  unread -> completeLocked(connection, id, locked.get(), completions, true, unread))
              .settled();
        });
  }

  /**
   * Records a batch of reports under the job's lock, which the caller holds: where the dialect
   * allows it ({@link Dialect#recordsBeforeReading()}), without reading the reported items first,
   * and the careful way after all when one report turns out stale. Each write is guarded by the
   * reported fence (and a settle by the reported attempt) and checked by the rows it changed. A
   * stale report (its item was reclaimed or retried since its claim) is rare: the writes go back to
   * a savepoint taken after the lock, and the batch is recorded again, reading the items, in the
   * same transaction. Never a rollback of the whole transaction: on H2 that can lose the next
   * holder's update of the job row (see {@code H2RollbackRace} in the benchmarks).
   *
   * @param record records the batch; its argument says whether it may leave the items unread
   */
  private Settled recordingLocked(
      Connection connection, LockedJob job, List<Completion> completions, Recording record)
      throws SQLException {
    // A second report for an item is stale, and known to be; so is every report for a job that
    // has ended (cancelled, or failed fast).
    if (!dialect.recordsBeforeReading() || job.state().isFinal() || !distinctItems(completions)) {
      return record.run(false);
    }
    Savepoint beforeWrites = connection.setSavepoint();
    try {
      return record.run(true);
    } catch (StaleReport e) {
      connection.rollback(beforeWrites);
      return record.run(false);
    }
  }

  /** One way of recording a batch under the job's lock; see {@link #recordingLocked}. */
  @FunctionalInterface
  private interface Recording {
    Settled run(boolean itemsUnread) throws SQLException;
  }

  private static boolean distinctItems(List<Completion> completions) {
    Set<Long> seen = new HashSet<>(completions.size() * 2);
    for (Completion completion : completions) {
      if (!seen.add(completion.index())) {
        return false;
      }
    }
    return true;
  }

  /**
   * Thrown while a batch is recorded with its items unread when one of its reports is stale, to go
   * back to the savepoint; see {@link #recordingLocked}.
   */
  private static final class StaleReport extends RuntimeException {
    private static final long serialVersionUID = 1L;

    StaleReport() {
      super("a report is stale", null, false, false);
    }
  }

  @Override
  public Recorded completeAndClaim(
      JobId id,
      List<Completion> completions,
      Instant now,
      String owner,
      int claimLimit,
      Instant leaseUntil) {
    Objects.requireNonNull(id, "id");
    Objects.requireNonNull(completions, "completions");
    Objects.requireNonNull(now, "now");
    Objects.requireNonNull(owner, "owner");
    Objects.requireNonNull(leaseUntil, "leaseUntil");
    return transactions.inTransaction(
        "record results of job " + id + " and claim its next items",
        connection ->
            completeAndClaimLocked(
                connection, id, completions, now, owner, claimLimit, leaseUntil));
  }

  private Recorded completeAndClaimLocked(
      Connection connection,
      JobId id,
      List<Completion> completions,
      Instant now,
      String owner,
      int claimLimit,
      Instant leaseUntil)
      throws SQLException {
    Optional<LockedJob> locked = lockJob(connection, id);
    if (locked.isEmpty()) {
      return new Recorded(List.of(), List.of(), false);
    }
    LockedJob before = locked.get();
    Settled settled =
        completions.isEmpty()
            ? new Settled(List.of(), 0, 0, 0, before.lastSeq())
            : recordingLocked(
                connection,
                before,
                completions,
                unread -> completeLocked(connection, id, before, completions, false, unread));
    // The row as the completions left it: the claim sees the slots they freed.
    LockedJob after =
        new LockedJob(
            before.sealed(),
            before.state(),
            before.paused(),
            before.maxConcurrency(),
            before.total(),
            before.pending() + settled.retried(),
            before.running() - settled.freed(),
            settled.lastSeq(),
            before.inputOrder(),
            before.nextInOrder(),
            before.itemBase());
    List<ClaimedTask> claimed =
        claimLimit > 0
            ? claimLocked(connection, id, after, owner, claimLimit, now, leaseUntil, false)
            : List.of();
    writeCounts(connection, id, settled, claimed.size(), now);
    boolean drained =
        after.sealed()
            && after.pending() - claimed.size() == 0
            && after.running() + claimed.size() == 0;
    return new Recorded(settled.settled(), claimed, drained);
  }

  /**
   * Moves a job's counts by what one completeAndClaim recorded and claimed, in one statement: the
   * job's lock is held from the first statement to the commit, so every round trip saved shortens
   * the time other nodes wait for it.
   */
  private static void writeCounts(
      Connection connection, JobId id, Settled settled, int claimed, Instant now)
      throws SQLException {
    if (settled.freed() == 0 && claimed == 0) {
      return;
    }
    try (PreparedStatement count =
        connection.prepareStatement(
            """
            UPDATE fanout_job
            SET running = running - ? + ?, pending = pending + ? - ?,
                succeeded = succeeded + ?, failed = failed + ?, retries = retries + ?,
                last_seq = ?,
                state = CASE WHEN ? AND state = 'ACCEPTED' THEN 'RUNNING' ELSE state END,
                started_at = CASE WHEN ? THEN COALESCE(started_at, ?) ELSE started_at END
            WHERE id = ?""")) {
      count.setLong(1, settled.freed());
      count.setLong(2, claimed);
      count.setLong(3, settled.retried());
      count.setLong(4, claimed);
      count.setLong(5, settled.succeeded());
      count.setLong(6, settled.failed());
      count.setLong(7, settled.retried());
      count.setLong(8, settled.lastSeq());
      count.setBoolean(9, claimed > 0);
      count.setBoolean(10, claimed > 0);
      Timestamps.bind(count, 11, now);
      count.setString(12, id.value());
      count.executeUpdate();
    }
  }

  /** What {@link #completeLocked} recorded. */
  private record Settled(
      List<StoredResult> settled, int retried, int succeeded, int failed, long lastSeq) {

    /** The RUNNING items the reports released: settled or put back to PENDING. */
    int freed() {
      return settled.size() + retried;
    }
  }

  /** Records reports under a lock the caller holds; {@code job} is the row as locked. */
  private Settled completeLocked(
      Connection connection,
      JobId id,
      LockedJob job,
      List<Completion> completions,
      boolean writeCounts,
      boolean unread)
      throws SQLException {
    // Only holders of the job lock change an item's state or fence, so what is read here
    // stays true for the rest of the transaction. Unread, every report is taken as held, with
    // the attempt it carries; the writes check it, each row under its own guard, and a miss
    // goes back to a savepoint (see recordingLocked).
    Map<Long, ItemHolder> holders =
        unread ? Map.of() : readHolders(connection, job.ref(id), completions, dialect);
    long lastSeq = job.lastSeq();
    // An input-ordered job's items settle held, under a placeholder seq; see numberInOrder.
    boolean inputOrder = job.inputOrder();
    boolean frontierSettled = false;
    List<StoredResult> settled = new ArrayList<>();
    int retried = 0;
    int succeeded = 0;
    int failed = 0;
    List<Dialect.Settle> settles = new ArrayList<>();
    // Guarded by fence and "not settled" rather than by state, as PostgreSQL's settle is: a
    // state condition invites PostgreSQL to scan the job's RUNNING items by a partial index when
    // its statistics are stale. Unread (H2 only, which finds the row by its primary key either
    // way), the state is checked here, as reading the items would have.
    try (PreparedStatement retry =
        connection.prepareStatement(unread ? retrySql + " AND state = 'RUNNING'" : retrySql)) {
      for (Completion completion : completions) {
        ItemHolder holder = unread ? null : holders.get(completion.index());
        if (!unread && (holder == null || !holder.heldUnder(completion.fence()))) {
          continue; // stale: the item changed hands since this claim
        }
        switch (completion) {
          case Completion.Succeeded s -> {
            StoredResult result =
                new StoredResult(
                    id,
                    inputOrder ? 0 : ++lastSeq,
                    s.index(),
                    TaskState.SUCCEEDED,
                    s.value(),
                    null,
                    holder == null ? s.attempt() : holder.attempts,
                    s.durationMillis());
            settles.add(settle(result, s.fence(), inputOrder));
            settled.add(result);
            succeeded++;
          }
          case Completion.Failed f -> {
            StoredResult result =
                new StoredResult(
                    id,
                    inputOrder ? 0 : ++lastSeq,
                    f.index(),
                    TaskState.FAILED,
                    null,
                    f.error(),
                    holder == null ? f.attempt() : holder.attempts,
                    f.durationMillis());
            settles.add(settle(result, f.fence(), inputOrder));
            settled.add(result);
            failed++;
          }
          case Completion.Retry r -> {
            Timestamps.bind(retry, 1, r.notBefore());
            retry.setString(2, r.error());
            int parameter = dialect.bindItemAt(retry, 3, job.ref(id), r.index());
            retry.setLong(parameter, r.fence());
            retry.addBatch();
            retried++;
          }
        }
        if (holder != null) {
          holder.released = true; // a second report for the item in this batch is stale by now
        }
        frontierSettled |=
            completion.index() == job.nextInOrder() && !(completion instanceof Completion.Retry);
      }
      boolean allSettled =
          settles.isEmpty() || dialect.settle(connection, job.ref(id), settles) == settles.size();
      int[] retries = retry.executeBatch();
      if (unread) {
        // Unread, only a count of one is proof: a driver's "no info" (-2) would not be.
        if (!allSettled || Arrays.stream(retries).anyMatch(count -> count != 1)) {
          throw new StaleReport();
        }
      } else {
        if (!allSettled) {
          throw new SQLException(
              "an item of job " + id + " changed while the job was locked; nothing was recorded");
        }
        requireAllApplied(retries, id);
      }
    }
    if (settled.isEmpty() && retried == 0) {
      return new Settled(List.of(), 0, 0, 0, lastSeq);
    }
    // Only the first unnumbered item holds the others back, so only its settling frees any.
    if (inputOrder && frontierSettled) {
      lastSeq = numberInOrder(connection, job.ref(id), job.nextInOrder(), lastSeq);
    }
    Settled done = new Settled(settled, retried, succeeded, failed, lastSeq);
    if (!writeCounts) {
      return done; // the caller writes them with its claim's
    }
    try (PreparedStatement count =
        connection.prepareStatement(
            """
            UPDATE fanout_job
            SET running = running - ?, pending = pending + ?, succeeded = succeeded + ?,
                failed = failed + ?, retries = retries + ?, last_seq = ?
            WHERE id = ?""")) {
      count.setLong(1, settled.size() + retried);
      count.setLong(2, retried);
      count.setLong(3, succeeded);
      count.setLong(4, failed);
      count.setLong(5, retried);
      count.setLong(6, lastSeq);
      count.setString(7, id.value());
      count.executeUpdate();
    }
    return done;
  }

  /**
   * What a settle writes: the result with its seq, or, in an input-ordered job, with the
   * placeholder {@code -1 - index} that marks it held.
   */
  private static Dialect.Settle settle(StoredResult result, long fence, boolean held) {
    if (!held) {
      return new Dialect.Settle(result, fence);
    }
    return new Dialect.Settle(
        new StoredResult(
            result.jobId(),
            -1 - result.index(),
            result.index(),
            result.status(),
            result.value(),
            result.error(),
            result.attempts(),
            result.durationMillis()),
        fence);
  }

  /**
   * Numbers an input-ordered job's held items in index order, from {@code from} (the job's {@code
   * next_in_order}) up to its first item that has not settled, and stores the new {@code
   * next_in_order} and {@code last_seq}. Items numbered in an earlier round (before a retry of the
   * failed ones) and cancelled items are passed over. Runs under the job lock, which every change
   * of an item's state takes first, so what it reads stays true until the transaction ends.
   *
   * <p>Each item is read here once per round, when the items before it have all settled: the walk
   * starts where the last one stopped, at an item that had not settled then. Consecutive held items
   * are numbered by one UPDATE over their index range, so a job whose items mostly settle in order
   * pays one statement per call.
   *
   * @return the job's new last seq
   */
  private long numberInOrder(Connection connection, Dialect.JobRef job, long from, long lastSeq)
      throws SQLException {
    JobId id = job.id();
    long next = from;
    long seq = lastSeq;
    List<long[]> runs = new ArrayList<>(); // [first index, first seq, count]
    long[] run = null;
    int pageSize = FIRST_ORDER_PAGE;
    boolean blocked = false;
    try (PreparedStatement page = connection.prepareStatement(orderPageSql(dialect))) {
      while (!blocked) {
        int parameter = dialect.bindItemsBetween(page, 1, job, next, Long.MAX_VALUE);
        page.setInt(parameter, pageSize);
        int read = 0;
        try (ResultSet rows = page.executeQuery()) {
          while (rows.next()) {
            read++;
            long idx = rows.getLong("idx");
            String state = rows.getString("state");
            if ("PENDING".equals(state) || "RUNNING".equals(state)) {
              blocked = true;
              break;
            }
            long itemSeq = rows.getLong("seq");
            // A cancelled item has no result to number; on H2 it has a placeholder seq too.
            if (!rows.wasNull() && itemSeq < 0 && !"CANCELLED".equals(state)) {
              if (run != null && run[0] + run[2] == idx) {
                run[2]++;
              } else {
                run = new long[] {idx, seq + 1, 1};
                runs.add(run);
              }
              seq++;
            }
            next = idx + 1;
          }
        }
        if (read < pageSize) {
          break; // the end of the job, or the first item that has not settled
        }
        pageSize = Math.min(pageSize * 2, MAX_ORDER_PAGE);
      }
    }
    if (!runs.isEmpty()) {
      try (PreparedStatement number = connection.prepareStatement(orderNumberSql(dialect))) {
        for (long[] r : runs) {
          number.setLong(1, r[1] - r[0]);
          dialect.bindItemsBetween(number, 2, job, r[0], r[0] + r[2]);
          number.addBatch();
        }
        int[] counts = number.executeBatch();
        for (int i = 0; i < counts.length; i++) {
          // SUCCESS_NO_INFO (-2) is no definite miss; any other count than the run's is one.
          if (counts[i] >= 0 && counts[i] != runs.get(i)[2]) {
            throw new SQLException(
                "an item of job " + id + " changed while the job was locked; nothing was recorded");
          }
        }
      }
    }
    try (PreparedStatement frontier =
        connection.prepareStatement(
            "UPDATE fanout_job SET next_in_order = ?, last_seq = ? WHERE id = ?")) {
      frontier.setLong(1, next);
      frontier.setLong(2, seq);
      frontier.setString(3, id.value());
      frontier.executeUpdate();
    }
    return seq;
  }

  /** Fails the transaction if an update guarded by fence and seq missed: the lock was broken. */
  private static void requireAllApplied(int[] counts, JobId id) throws SQLException {
    for (int count : counts) {
      // Drivers may report SUCCESS_NO_INFO (-2) for a batch entry; only a 0 is a definite miss.
      if (count == 0) {
        throw new SQLException(
            "an item of job " + id + " changed while the job was locked; nothing was recorded");
      }
    }
  }

  /** Who holds each reported item now: RUNNING items only, by index. */
  private static Map<Long, ItemHolder> readHolders(
      Connection connection, Dialect.JobRef job, List<Completion> completions, Dialect dialect)
      throws SQLException {
    List<Long> indexes = completions.stream().map(Completion::index).distinct().toList();
    Map<Long, ItemHolder> holders = new HashMap<>();
    String byArray = dialect.itemsByIndexArraySql();
    if (byArray != null) {
      try (PreparedStatement select = connection.prepareStatement(byArray)) {
        select.setString(1, job.id().value());
        select.setArray(2, connection.createArrayOf("bigint", indexes.toArray(Long[]::new)));
        readHolderRows(select, holders);
      }
      return holders;
    }
    for (int from = 0; from < indexes.size(); from += CHUNK) {
      List<Long> chunk = indexes.subList(from, Math.min(indexes.size(), from + CHUNK));
      try (PreparedStatement select =
          connection.prepareStatement(
              "SELECT idx, state, fence, attempts FROM fanout_item WHERE "
                  + dialect.itemsAmongSql(chunk.size()))) {
        dialect.bindItemsAmong(select, 1, job, chunk);
        readHolderRows(select, holders);
      }
    }
    return holders;
  }

  private static void readHolderRows(PreparedStatement select, Map<Long, ItemHolder> holders)
      throws SQLException {
    try (ResultSet rows = select.executeQuery()) {
      while (rows.next()) {
        if (!"RUNNING".equals(rows.getString("state"))) {
          continue; // settled, pending or cancelled: no report for it applies
        }
        holders.put(
            rows.getLong("idx"), new ItemHolder(rows.getLong("fence"), rows.getInt("attempts")));
      }
    }
  }

  /** A RUNNING item's claim as read under the job lock. */
  private static final class ItemHolder {
    final long fence;
    final int attempts;
    boolean released;

    ItemHolder(long fence, int attempts) {
      this.fence = fence;
      this.attempts = attempts;
    }

    boolean heldUnder(long reportedFence) {
      return !released && fence == reportedFence;
    }
  }

  @Override
  public Optional<JobRow> finish(
      JobId id, Instant now, JobState forced, String forcedError, Folder folder) {
    Objects.requireNonNull(id, "id");
    Objects.requireNonNull(now, "now");
    Objects.requireNonNull(folder, "folder");
    if (forced != null && forced != JobState.CANCELLED && forced != JobState.FAILED) {
      throw new IllegalArgumentException(
          "a job can be forced to end only as CANCELLED or FAILED, got " + forced);
    }
    return transactions.inTransaction(
        "finish job " + id,
        connection -> {
          // The lock is held until the verdict is stored: no claim, completion or second finish
          // of this job runs in between, in this process or any other.
          Optional<LockedJob> locked = lockJob(connection, id);
          if (locked.isEmpty() || locked.get().isFinal()) {
            return Optional.empty();
          }
          LockedJob job = locked.get();
          if (forced == null && !(job.sealed() && job.pending() == 0 && job.running() == 0)) {
            return Optional.empty();
          }
          if (forced != null) {
            dialect.cancelUnsettled(connection, id);
          }
          if (job.inputOrder()) {
            // Nothing unsettled is left to hold them back: the job ends with every result numbered.
            numberInOrder(connection, job.ref(id), job.nextInOrder(), job.lastSeq());
          }
          JobRow settled = readJob(connection, id).orElseThrow();
          Verdict verdict =
              folder.fold(settled, new SucceededValues(connection, job.ref(id), dialect));
          Objects.requireNonNull(verdict, "the folder returned no verdict");
          JobState state = forced != null ? forced : verdict.state();
          String error = verdict.error() != null ? verdict.error() : forcedError;
          try (PreparedStatement end =
              connection.prepareStatement(
                  """
                  UPDATE fanout_job
                  SET state = ?, paused = FALSE, aggregate = ?, error = ?, finished_at = ?
                  WHERE id = ?""")) {
            end.setString(1, state.name());
            end.setString(2, verdict.aggregate());
            end.setString(3, error);
            Timestamps.bind(end, 4, now);
            end.setString(5, id.value());
            end.executeUpdate();
          }
          return readJob(connection, id);
        });
  }

  @Override
  public Optional<JobRow> retryFailed(JobId id) {
    Objects.requireNonNull(id, "id");
    return transactions.inTransaction(
        "retry the failed items of job " + id,
        connection -> {
          // Under the job lock no finish, claim or completion of this job runs in between.
          Optional<LockedJob> locked = lockJob(connection, id);
          if (locked.isEmpty()
              || (locked.get().state() != JobState.SUCCEEDED
                  && locked.get().state() != JobState.FAILED)) {
            return Optional.empty();
          }
          if (locked.get().inputOrder()) {
            // The new round is numbered from its lowest index on; the results before it stand.
            try (PreparedStatement frontier =
                connection.prepareStatement(
                    """
                    UPDATE fanout_job SET next_in_order = COALESCE(
                      (SELECT MIN(idx) FROM fanout_item WHERE job_id = ? AND state = 'FAILED'),
                      next_in_order)
                    WHERE id = ?""")) {
              frontier.setString(1, id.value());
              frontier.setString(2, id.value());
              frontier.executeUpdate();
            }
          }
          // A settle is guarded by "seq IS NULL" and the fence, so clearing the seq and bumping
          // the fence makes each item settle once more, and only by a claim made from now on.
          int reset;
          try (PreparedStatement items =
              connection.prepareStatement(
                  """
                  UPDATE fanout_item
                  SET state = 'PENDING', attempts = 0, fence = fence + 1, owner = NULL,
                      lease_until = NULL, not_before = NULL, seq = NULL, result = NULL,
                      error = NULL, duration_millis = NULL
                  WHERE job_id = ? AND state = 'FAILED'""")) {
            items.setString(1, id.value());
            reset = items.executeUpdate();
          }
          if (reset == 0) {
            return Optional.empty();
          }
          try (PreparedStatement job =
              connection.prepareStatement(
                  """
                  UPDATE fanout_job
                  SET state = 'RUNNING', paused = FALSE, pending = pending + ?, failed = failed - ?,
                      finished_at = NULL, aggregate = NULL, error = NULL
                  WHERE id = ?""")) {
            job.setLong(1, reset);
            job.setLong(2, reset);
            job.setString(3, id.value());
            job.executeUpdate();
          }
          return readJob(connection, id);
        });
  }

  // ---------------------------------------------------------------------------------------------
  // Results

  @Override
  public List<StoredResult> results(JobId id, long afterSeq, int limit) {
    Objects.requireNonNull(id, "id");
    if (limit <= 0) {
      return List.of();
    }
    return transactions.inTransaction(
        "read results of job " + id,
        connection -> readResults(connection, id, afterSeq, limit, false));
  }

  private static List<StoredResult> readResults(
      Connection connection, JobId id, long afterSeq, int limit, boolean onlyFailed)
      throws SQLException {
    // The ORDER BY names the index's leading columns, fixed by the WHERE, so that H2 too reads
    // the index in order instead of sorting every result of the job. Failures are read in the
    // order of PostgreSQL's partial index of failures and of the sequence index H2 walks instead.
    String where =
        onlyFailed
            ? " WHERE job_id = ? AND state = 'FAILED' AND seq > ? ORDER BY job_id, seq"
            : " WHERE job_id = ? AND seq > ? ORDER BY job_id, seq";
    try (PreparedStatement select =
        connection.prepareStatement(
            "SELECT seq, idx, state, result, error, attempts, duration_millis FROM fanout_item"
                + where
                + " FETCH FIRST ? ROWS ONLY")) {
      select.setString(1, id.value());
      // Held items carry negative placeholders: never below 0, whatever the caller passes.
      select.setLong(2, Math.max(0, afterSeq));
      select.setInt(3, limit);
      List<StoredResult> results = new ArrayList<>();
      try (ResultSet rows = select.executeQuery()) {
        while (rows.next()) {
          results.add(
              new StoredResult(
                  id,
                  rows.getLong("seq"),
                  rows.getLong("idx"),
                  TaskState.valueOf(rows.getString("state")),
                  rows.getString("result"),
                  rows.getString("error"),
                  rows.getInt("attempts"),
                  rows.getLong("duration_millis")));
        }
      }
      return results;
    }
  }

  /**
   * Reads only the failed items: on PostgreSQL through a partial index of each job's failures by
   * sequence number, on H2 along the sequence index (H2 has no partial indexes, and a full index of
   * failures cost every item two more index moves).
   */
  @Override
  public List<StoredResult> failures(JobId id, long afterSeq, int limit) {
    Objects.requireNonNull(id, "id");
    if (limit <= 0) {
      return List.of();
    }
    return transactions.inTransaction(
        "read failures of job " + id,
        connection -> readResults(connection, id, afterSeq, limit, true));
  }

  @Override
  public long acknowledged(JobId id, String consumer) {
    Objects.requireNonNull(id, "id");
    Objects.requireNonNull(consumer, "consumer");
    return transactions.inTransaction(
        "read the acknowledgement of " + consumer + " for job " + id,
        connection -> {
          try (PreparedStatement select =
              connection.prepareStatement(
                  "SELECT seq FROM fanout_ack WHERE job_id = ? AND consumer = ?")) {
            select.setString(1, id.value());
            select.setString(2, consumer);
            try (ResultSet rows = select.executeQuery()) {
              return rows.next() ? rows.getLong("seq") : 0L;
            }
          }
        });
  }

  @Override
  public void acknowledge(JobId id, String consumer, long seq) {
    Objects.requireNonNull(id, "id");
    Objects.requireNonNull(consumer, "consumer");
    transactions.inTransaction(
        "record the acknowledgement of " + consumer + " for job " + id,
        connection -> {
          try (PreparedStatement upsert = connection.prepareStatement(dialect.acknowledgeSql())) {
            upsert.setString(1, id.value());
            upsert.setString(2, consumer);
            upsert.setLong(3, seq);
            upsert.executeUpdate();
          }
          return null;
        });
  }

  // ---------------------------------------------------------------------------------------------
  // The cluster: delivery leases and nodes

  @Override
  public boolean leaseDelivery(
      JobId id, String consumer, String holder, Instant now, Instant until) {
    Objects.requireNonNull(id, "id");
    Objects.requireNonNull(consumer, "consumer");
    Objects.requireNonNull(holder, "holder");
    return transactions.inTransaction(
        "lease the delivery of job " + id + " to " + consumer,
        connection -> {
          if (takeDeliveryLease(connection, id, consumer, holder, now, until)) {
            return true;
          }
          // No row yet (nothing acknowledged), or another holder: make sure of the row, once.
          try (PreparedStatement upsert = connection.prepareStatement(dialect.acknowledgeSql())) {
            upsert.setString(1, id.value());
            upsert.setString(2, consumer);
            upsert.setLong(3, 0);
            upsert.executeUpdate();
          } catch (SQLException e) {
            // H2's MERGE lets two first inserts of the row race, and one fails: the row is there
            // now, which is all this wanted. (PostgreSQL's upsert never fails so.)
            if (!isUniqueViolation(e)) {
              throw e;
            }
          }
          return takeDeliveryLease(connection, id, consumer, holder, now, until);
        });
  }

  /**
   * One conditional update: free, run out, or ours. Under PostgreSQL's READ COMMITTED two nodes
   * racing for it queue on the row, and the second re-checks the condition against the first's
   * commit, so exactly one wins.
   */
  private static boolean takeDeliveryLease(
      Connection connection, JobId id, String consumer, String holder, Instant now, Instant until)
      throws SQLException {
    try (PreparedStatement update =
        connection.prepareStatement(
            """
            UPDATE fanout_ack SET holder = ?, lease_until = ?
            WHERE job_id = ? AND consumer = ?
              AND (holder IS NULL OR holder = ? OR lease_until <= ?)""")) {
      update.setString(1, holder);
      Timestamps.bind(update, 2, until);
      update.setString(3, id.value());
      update.setString(4, consumer);
      update.setString(5, holder);
      Timestamps.bind(update, 6, now);
      return update.executeUpdate() == 1;
    }
  }

  @Override
  public void releaseDelivery(JobId id, String consumer, String holder) {
    Objects.requireNonNull(id, "id");
    transactions.inTransaction(
        "release the delivery of job " + id + " to " + consumer,
        connection -> {
          try (PreparedStatement update =
              connection.prepareStatement(
                  "UPDATE fanout_ack SET holder = NULL, lease_until = NULL"
                      + " WHERE job_id = ? AND consumer = ? AND holder = ?")) {
            update.setString(1, id.value());
            update.setString(2, consumer);
            update.setString(3, holder);
            update.executeUpdate();
          }
          return null;
        });
  }

  @Override
  public void heartbeat(NodeRow node) {
    Objects.requireNonNull(node, "node");
    transactions.inTransaction(
        "record the heartbeat of node " + node.id(),
        connection -> {
          // Update first: a node beats many times and starts once. A stopped row takes only the
          // beat of a later start under the same ID: a late beat of the run that left must not
          // make it look alive again.
          try (PreparedStatement update =
              connection.prepareStatement(
                  """
                  UPDATE fanout_node SET host = ?, version = ?, started_at = ?, last_seen = ?,
                    concurrency = ?, running = ?, stopped = FALSE
                  WHERE id = ? AND (NOT stopped OR started_at < ?)""")) {
            bindNode(update, node, 1);
            update.setString(7, node.id());
            Timestamps.bind(update, 8, node.startedAt());
            if (update.executeUpdate() == 1) {
              return null;
            }
          }
          // Only the node itself writes its row, so this races with nobody.
          try (PreparedStatement insert =
              connection.prepareStatement(
                  """
                  INSERT INTO fanout_node (host, version, started_at, last_seen, concurrency,
                    running, id, stopped)
                  SELECT ?, ?, ?, ?, ?, ?, CAST(? AS VARCHAR(255)), FALSE
                  WHERE NOT EXISTS (SELECT 1 FROM fanout_node WHERE id = ?)""")) {
            bindNode(insert, node, 1);
            insert.setString(7, node.id());
            insert.setString(8, node.id());
            insert.executeUpdate();
          }
          return null;
        });
  }

  private static void bindNode(PreparedStatement statement, NodeRow node, int first)
      throws SQLException {
    statement.setString(first, node.host());
    statement.setString(first + 1, node.version());
    Timestamps.bind(statement, first + 2, node.startedAt());
    Timestamps.bind(statement, first + 3, node.lastSeen());
    statement.setInt(first + 4, node.concurrency());
    statement.setInt(first + 5, node.running());
  }

  @Override
  public void leave(String nodeId, Instant at) {
    Objects.requireNonNull(nodeId, "nodeId");
    transactions.inTransaction(
        "mark node " + nodeId + " stopped",
        connection -> {
          try (PreparedStatement update =
              connection.prepareStatement(
                  "UPDATE fanout_node SET stopped = TRUE, running = 0, last_seen = ? WHERE id = ?")) {
            Timestamps.bind(update, 1, at);
            update.setString(2, nodeId);
            update.executeUpdate();
          }
          return null;
        });
  }

  @Override
  public List<NodeRow> nodes() {
    return transactions.inTransaction(
        "list the nodes",
        connection -> {
          try (PreparedStatement select =
                  connection.prepareStatement(
                      "SELECT id, host, version, started_at, last_seen, concurrency, running,"
                          + " stopped FROM fanout_node ORDER BY started_at, id");
              ResultSet rows = select.executeQuery()) {
            List<NodeRow> nodes = new ArrayList<>();
            while (rows.next()) {
              nodes.add(
                  new NodeRow(
                      rows.getString("id"),
                      rows.getString("host"),
                      rows.getString("version"),
                      Timestamps.read(rows, "started_at"),
                      Timestamps.read(rows, "last_seen"),
                      rows.getInt("concurrency"),
                      rows.getInt("running"),
                      rows.getBoolean("stopped")));
            }
            return nodes;
          }
        });
  }

  @Override
  public int forgetNodes(Instant lastSeenBefore) {
    Objects.requireNonNull(lastSeenBefore, "lastSeenBefore");
    return transactions.inTransaction(
        "forget nodes last seen before " + lastSeenBefore,
        connection -> {
          try (PreparedStatement delete =
              connection.prepareStatement("DELETE FROM fanout_node WHERE last_seen < ?")) {
            Timestamps.bind(delete, 1, lastSeenBefore);
            return delete.executeUpdate();
          }
        });
  }

  /**
   * Within this process on H2; through LISTEN/NOTIFY on PostgreSQL, so every process sharing the
   * database hears them.
   */
  @Override
  public StoreSignals signals() {
    return signals;
  }

  // ---------------------------------------------------------------------------------------------
  // Deleting

  @Override
  public boolean deleteJob(JobId id) {
    Objects.requireNonNull(id, "id");
    return transactions.inTransaction(
        "delete job " + id,
        connection -> lockJob(connection, id).isPresent() && delete(connection, id));
  }

  /** One grouped query over the job rows: a scrape costs one statement, whatever the job count. */
  @Override
  public JobCounts countJobs() {
    return transactions.inTransaction(
        "count jobs",
        connection -> {
          try (PreparedStatement select =
                  connection.prepareStatement(
                      "SELECT state, paused, COUNT(*),"
                          + " SUM(total - running - succeeded - failed - cancelled)"
                          + " FROM fanout_job WHERE sealed GROUP BY state, paused");
              ResultSet rows = select.executeQuery()) {
            Map<JobState, Long> jobs = new EnumMap<>(JobState.class);
            long pending = 0;
            while (rows.next()) {
              JobState stored = JobState.valueOf(rows.getString(1));
              // Paused is a flag on top of ACCEPTED or RUNNING, as in JobColumns.read.
              JobState state = rows.getBoolean(2) && !stored.isFinal() ? JobState.PAUSED : stored;
              jobs.merge(state, rows.getLong(3), Long::sum);
              if (!stored.isFinal()) {
                pending += rows.getLong(4);
              }
            }
            return new JobCounts(jobs, pending);
          }
        });
  }

  @Override
  public int purge(Instant cutoff, int limit) {
    return purge(cutoff, cutoff, limit);
  }

  @Override
  public int purge(Instant finishedBefore, Instant unsealedBefore, int limit) {
    Objects.requireNonNull(finishedBefore, "finishedBefore");
    Objects.requireNonNull(unsealedBefore, "unsealedBefore");
    if (limit <= 0) {
      return 0;
    }
    String expired = "(finished_at < ? OR (sealed = FALSE AND created_at < ?))";
    List<JobId> candidates =
        transactions.inTransaction(
            "find jobs to purge",
            connection -> {
              try (PreparedStatement select =
                  connection.prepareStatement(
                      "SELECT id FROM fanout_job WHERE "
                          + expired
                          + " ORDER BY created_at, id FETCH FIRST ? ROWS ONLY")) {
                Timestamps.bind(select, 1, finishedBefore);
                Timestamps.bind(select, 2, unsealedBefore);
                select.setInt(3, limit);
                List<JobId> ids = new ArrayList<>();
                try (ResultSet rows = select.executeQuery()) {
                  while (rows.next()) {
                    ids.add(JobId.of(rows.getString("id")));
                  }
                }
                return ids;
              }
            });
    int purged = 0;
    for (JobId id : candidates) {
      if (purgeJob(id, expired, finishedBefore, unsealedBefore)) {
        purged++;
      }
    }
    return purged;
  }

  /**
   * Deletes one expired job: its items a range of indexes per transaction, then the job itself, so
   * no transaction grows with the size of the job. Each transaction locks the job and checks again
   * that it is expired; the job is final or abandoned, so nothing else changes its items in
   * between, and a reader of its results sees them disappear, as they are due to.
   *
   * @return true when this call deleted the job
   */
  private boolean purgeJob(
      JobId id, String expired, Instant finishedBefore, Instant unsealedBefore) {
    for (long from = 0; ; from += PURGE_RANGE) {
      long start = from;
      Optional<Boolean> outcome =
          transactions.inTransaction(
              "purge job " + id,
              connection -> {
                Optional<ExpiredJob> job =
                    lockIfExpired(connection, id, expired, finishedBefore, unsealedBefore);
                if (job.isEmpty()) {
                  return Optional.of(false); // sealed, resumed or deleted since it was listed
                }
                if (start < job.get().total()) {
                  try (PreparedStatement items =
                      connection.prepareStatement(
                          "DELETE FROM fanout_item WHERE " + dialect.itemsBetweenSql())) {
                    dialect.bindItemsBetween(items, 1, job.get().ref(), start, start + PURGE_RANGE);
                    items.executeUpdate();
                  }
                  return Optional.empty(); // more to delete
                }
                return Optional.of(delete(connection, id));
              });
      if (outcome.isPresent()) {
        return outcome.get();
      }
    }
  }

  /** A job that {@link #lockIfExpired} locked: how many items it has, and where they lie. */
  private record ExpiredJob(long total, Dialect.JobRef ref) {}

  /** Locks a job when it is still expired, and reads how many items it has. */
  private Optional<ExpiredJob> lockIfExpired(
      Connection connection,
      JobId id,
      String expired,
      Instant finishedBefore,
      Instant unsealedBefore)
      throws SQLException {
    try (PreparedStatement recheck =
        connection.prepareStatement(
            "SELECT total, "
                + dialect.itemBaseSql()
                + " AS item_base FROM fanout_job WHERE id = ? AND "
                + expired
                + " "
                + dialect.jobRowLock())) {
      recheck.setString(1, id.value());
      Timestamps.bind(recheck, 2, finishedBefore);
      Timestamps.bind(recheck, 3, unsealedBefore);
      try (ResultSet rows = recheck.executeQuery()) {
        return rows.next()
            ? Optional.of(
                new ExpiredJob(
                    rows.getLong("total"), new Dialect.JobRef(id, rows.getLong("item_base"))))
            : Optional.empty();
      }
    }
  }

  /** Deletes a locked job with everything that refers to it, children first. */
  private static boolean delete(Connection connection, JobId id) throws SQLException {
    for (String table : List.of("fanout_ack", "fanout_item")) {
      try (PreparedStatement delete =
          connection.prepareStatement("DELETE FROM " + table + " WHERE job_id = ?")) {
        delete.setString(1, id.value());
        delete.executeUpdate();
      }
    }
    try (PreparedStatement delete =
        connection.prepareStatement("DELETE FROM fanout_job WHERE id = ?")) {
      delete.setString(1, id.value());
      return delete.executeUpdate() == 1;
    }
  }

  @Override
  public void close() {
    stopRefresh();
    // Then the signals: their listening connection is the pool's.
    if (signals instanceof AutoCloseable closeable) {
      try {
        closeable.close();
      } catch (Exception e) {
        LOG.warn("closing the store's signals failed", e);
      }
    }
    pool.close();
  }

  // ---------------------------------------------------------------------------------------------
  // Reading and locking a job row

  /** The columns of a locked job row that the item-moving methods decide on. */
  private record LockedJob(
      boolean sealed,
      JobState state,
      boolean paused,
      int maxConcurrency,
      long total,
      long pending,
      long running,
      long lastSeq,
      boolean inputOrder,
      long nextInOrder,
      long itemBase) {

    /** The job as statements that find its items by index need it. */
    Dialect.JobRef ref(JobId id) {
      return new Dialect.JobRef(id, itemBase);
    }

    boolean isFinal() {
      return state.isFinal();
    }

    boolean claimable() {
      return sealed && !paused && !isFinal();
    }
  }

  /** Locks a job's row until the transaction ends, and reads what decisions need from it. */
  private Optional<LockedJob> lockJob(Connection connection, JobId id) throws SQLException {
    try (PreparedStatement select =
        connection.prepareStatement(
            "SELECT sealed, state, paused, max_concurrency, total, pending, running, last_seq,"
                + " result_order, next_in_order, "
                + dialect.itemBaseSql()
                + " AS item_base FROM fanout_job WHERE id = ? "
                + dialect.jobRowLock())) {
      select.setString(1, id.value());
      try (ResultSet row = select.executeQuery()) {
        if (!row.next()) {
          return Optional.empty();
        }
        return Optional.of(
            new LockedJob(
                row.getBoolean("sealed"),
                JobState.valueOf(row.getString("state")),
                row.getBoolean("paused"),
                row.getInt("max_concurrency"),
                row.getLong("total"),
                row.getLong("pending"),
                row.getLong("running"),
                row.getLong("last_seq"),
                ResultOrder.INPUT.name().equals(row.getString("result_order")),
                row.getLong("next_in_order"),
                row.getLong("item_base")));
      }
    }
  }

  private LockedJob requireUnsealed(Connection connection, JobId id, String action)
      throws SQLException {
    LockedJob job =
        lockJob(connection, id)
            .orElseThrow(
                () ->
                    new IllegalStateException("cannot " + action + " job " + id + ": no such job"));
    if (job.sealed()) {
      throw new IllegalStateException("cannot " + action + " job " + id + ": it is sealed");
    }
    if (job.isFinal()) {
      throw new IllegalStateException(
          "cannot " + action + " job " + id + ": it ended as " + job.state());
    }
    return job;
  }

  private static Optional<JobRow> readJob(Connection connection, JobId id) throws SQLException {
    try (PreparedStatement select =
        connection.prepareStatement("SELECT " + JobColumns.ALL + " FROM fanout_job WHERE id = ?")) {
      select.setString(1, id.value());
      try (ResultSet row = select.executeQuery()) {
        return row.next() ? Optional.of(JobColumns.read(row)) : Optional.empty();
      }
    }
  }

  /** SQLState 23505 is a unique violation in both H2 and PostgreSQL. */
  private static boolean isUniqueViolation(SQLException e) {
    return "23505".equals(e.getSQLState());
  }

  // ---------------------------------------------------------------------------------------------
  // Configuration

  /**
   * Configures a {@link JdbcJobStore}. Each option may be set once; a second setting or a value out
   * of range fails at once with a message naming the option.
   */
  public static final class Builder {

    /** Hikari refuses connection timeouts below this. */
    private static final Duration MIN_CONNECT_TIMEOUT = Duration.ofMillis(250);

    private final String jdbcUrl;
    private final Dialect dialect;
    private String user;
    private String password;
    private String schema;
    private Integer maxPoolSize;
    private Duration connectTimeout;

    private Builder(String jdbcUrl, Dialect dialect) {
      this.jdbcUrl = jdbcUrl;
      this.dialect = dialect;
    }

    /**
     * Sets the database user.
     *
     * @param user the user name
     * @return this builder
     * @throws IllegalStateException when the user was set already
     */
    public Builder user(String user) {
      requireUnset(this.user, "user");
      this.user = Objects.requireNonNull(user, "user");
      return this;
    }

    /**
     * Sets the database password. It never appears in messages or logs.
     *
     * @param password the password
     * @return this builder
     * @throws IllegalStateException when the password was set already
     */
    public Builder password(String password) {
      requireUnset(this.password, "password");
      this.password = Objects.requireNonNull(password, "password");
      return this;
    }

    /**
     * Sets the schema that holds the store's tables; it is created when missing. Without it the
     * tables go to the connection's current schema (on PostgreSQL, the first of the search path,
     * which the URL's {@code currentSchema} parameter sets).
     *
     * @param schema the schema's name
     * @return this builder
     * @throws IllegalArgumentException when the name is blank
     * @throws IllegalStateException when the schema was set already
     */
    public Builder schema(String schema) {
      requireUnset(this.schema, "schema");
      Objects.requireNonNull(schema, "schema");
      if (schema.isBlank()) {
        throw new IllegalArgumentException("schema must not be blank");
      }
      this.schema = schema;
      return this;
    }

    /**
     * Sets the most connections the store holds open; 10 unless set. An engine's workers share
     * them, so more connections than cores rarely help.
     *
     * @param maxPoolSize at least 1
     * @return this builder
     * @throws IllegalArgumentException when less than 1
     * @throws IllegalStateException when the pool size was set already
     */
    public Builder maxPoolSize(int maxPoolSize) {
      requireUnset(this.maxPoolSize, "maxPoolSize");
      if (maxPoolSize < 1) {
        throw new IllegalArgumentException("maxPoolSize must be >= 1, got " + maxPoolSize);
      }
      this.maxPoolSize = maxPoolSize;
      return this;
    }

    /**
     * Sets how long opening the store waits for the database, and each operation waits for a pooled
     * connection, before failing with a {@link StoreException}; 5 seconds unless set.
     *
     * @param connectTimeout at least 250 milliseconds
     * @return this builder
     * @throws IllegalArgumentException when shorter than 250 milliseconds
     * @throws IllegalStateException when the timeout was set already
     */
    public Builder connectTimeout(Duration connectTimeout) {
      requireUnset(this.connectTimeout, "connectTimeout");
      Objects.requireNonNull(connectTimeout, "connectTimeout");
      if (connectTimeout.compareTo(MIN_CONNECT_TIMEOUT) < 0) {
        throw new IllegalArgumentException(
            "connectTimeout must be at least 250ms, got " + connectTimeout);
      }
      this.connectTimeout = connectTimeout;
      return this;
    }

    /**
     * Connects, creates or migrates the tables, and returns the open store.
     *
     * @return the store; close it to release its connections
     * @throws StoreException when the database cannot be reached within the connect timeout (the
     *     message names the URL, without a password, and the cause), or its schema is newer than
     *     this library
     */
    public JdbcJobStore build() {
      String redactedUrl = JdbcUrls.redact(jdbcUrl);
      if (schema != null) {
        // Connections are opened with the schema set, which H2 refuses while it does not exist;
        // so it is created first, on a pool of its own without the schema.
        try (HikariDataSource bootstrap = startPool(null, 1, redactedUrl)) {
          new Transactions(bootstrap)
              .inTransaction(
                  "create the schema " + schema + " at " + redactedUrl,
                  connection -> {
                    try (Statement create = connection.createStatement()) {
                      create.execute(
                          "CREATE SCHEMA IF NOT EXISTS \"" + schema.replace("\"", "\"\"") + "\"");
                    }
                    return null;
                  });
        }
      }
      HikariDataSource pool =
          startPool(schema, maxPoolSize != null ? maxPoolSize : 10, redactedUrl);
      try {
        MigrationVersion version = new SchemaMigrator(pool, dialect, schema, redactedUrl).migrate();
        LOG.info("Opened the job store at {} (schema version {})", redactedUrl, version);
        return new JdbcJobStore(pool, dialect, redactedUrl);
      } catch (RuntimeException e) {
        pool.close();
        throw e;
      }
    }

    /** Starts a pool and opens its first connection, or fails within the connect timeout. */
    private HikariDataSource startPool(String poolSchema, int size, String redactedUrl) {
      Duration timeout = connectTimeout != null ? connectTimeout : Duration.ofSeconds(5);
      HikariConfig config = new HikariConfig();
      config.setPoolName("fanout-store");
      config.setJdbcUrl(jdbcUrl);
      if (user != null) {
        config.setUsername(user);
      }
      if (password != null) {
        config.setPassword(password);
      }
      if (poolSchema != null) {
        config.setSchema(poolSchema);
      }
      config.setMaximumPoolSize(size);
      config.setConnectionTimeout(timeout.toMillis());
      // Fail open() itself, within the timeout, instead of handing out a pool that cannot connect.
      config.setInitializationFailTimeout(timeout.toMillis());
      config.setAutoCommit(false);
      config.setTransactionIsolation("TRANSACTION_READ_COMMITTED");
      Properties properties = new Properties();
      properties.putAll(dialect.driverProperties(timeout));
      config.setDataSourceProperties(properties);
      dialect.connectionInitSql().ifPresent(config::setConnectionInitSql);
      try {
        return new HikariDataSource(config);
      } catch (HikariPool.PoolInitializationException e) {
        throw new StoreException(
            "cannot connect to the job store at " + redactedUrl + ": " + rootMessage(e), e);
      } catch (RuntimeException e) {
        throw new StoreException(
            "cannot open the job store at " + redactedUrl + ": " + rootMessage(e), e);
      }
    }

    private static void requireUnset(Object current, String option) {
      if (current != null) {
        throw new IllegalStateException(option + " was already set");
      }
    }

    /** The innermost cause's message, which says why (refused, unknown host, bad password). */
    private static String rootMessage(Throwable e) {
      Throwable root = e;
      while (root.getCause() != null && root.getCause() != root) {
        root = root.getCause();
      }
      String message = root.getMessage();
      return message == null ? root.getClass().getSimpleName() : message;
    }
  }
}
