package dev.fanout.jdbc;

import dev.fanout.JobId;
import dev.fanout.spi.ClaimedTask;
import dev.fanout.spi.StoreSignals;
import dev.fanout.spi.StoredResult;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;
import javax.sql.DataSource;

/**
 * What differs between the databases the store runs on. Everything else is plain SQL that both
 * accept, kept in {@link JdbcJobStore}; a new database is a new small class here, not a new branch
 * there.
 */
interface Dialect {

  /** The dialects the store knows, in the order {@link #forUrl} tries them. */
  List<Dialect> KNOWN = List.of(new H2Dialect(), new PostgresDialect());

  /**
   * Picks the dialect for a JDBC URL.
   *
   * @throws IllegalArgumentException naming the URL's scheme and the supported ones
   */
  static Dialect forUrl(String jdbcUrl) {
    for (Dialect dialect : KNOWN) {
      if (jdbcUrl.startsWith(dialect.urlPrefix())) {
        return dialect;
      }
    }
    throw new IllegalArgumentException(
        "unsupported JDBC URL scheme '"
            + JdbcUrls.scheme(jdbcUrl)
            + "' in "
            + JdbcUrls.redact(jdbcUrl)
            + "; the store supports "
            + String.join(" and ", KNOWN.stream().map(Dialect::urlPrefix).toList()));
  }

  /** The start of the JDBC URLs this dialect serves, such as {@code jdbc:h2:}. */
  String urlPrefix();

  /** The folder under {@code db/migration/} that holds this database's migrations. */
  String migrationFolder();

  /**
   * A job as the statements that find its items by index see it: its ID, and the number its items'
   * keys start from where the database keys each item by one number (see {@link #itemBaseSql()}).
   *
   * @param id the job
   * @param itemBase the key of the job's item 0; 0 where items are keyed by {@code (job_id, idx)}
   */
  record JobRef(JobId id, long itemBase) {}

  /**
   * An expression over {@code fanout_job}'s columns that gives a job's {@link JobRef#itemBase()}.
   * The default is for a database that keys items by {@code (job_id, idx)}.
   */
  default String itemBaseSql() {
    return "CAST(0 AS BIGINT)";
  }

  /** A condition that finds one item of a job, bound by {@link #bindItemAt}. */
  default String itemAtSql() {
    return "job_id = ? AND idx = ?";
  }

  /**
   * Binds {@link #itemAtSql()}'s parameters from {@code parameter} on.
   *
   * @return the next parameter's position
   */
  default int bindItemAt(PreparedStatement statement, int parameter, JobRef job, long index)
      throws SQLException {
    statement.setString(parameter, job.id().value());
    statement.setLong(parameter + 1, index);
    return parameter + 2;
  }

  /**
   * A condition on a job's items from index {@code from} on and below {@code to}, bound by {@link
   * #bindItemsBetween}.
   */
  default String itemsBetweenSql() {
    return "job_id = ? AND idx >= ? AND idx < ?";
  }

  /**
   * Binds {@link #itemsBetweenSql()}'s parameters from {@code parameter} on.
   *
   * @return the next parameter's position
   */
  default int bindItemsBetween(
      PreparedStatement statement, int parameter, JobRef job, long from, long to)
      throws SQLException {
    statement.setString(parameter, job.id().value());
    statement.setLong(parameter + 1, from);
    statement.setLong(parameter + 2, to);
    return parameter + 3;
  }

  /** The ORDER BY list that reads a job's items in index order along the key that finds them. */
  default String itemOrderSql() {
    return "job_id, idx";
  }

  /**
   * A condition on a job's items among {@code count} indexes, bound by {@link #bindItemsAmong}: row
   * values, not {@code job_id = ? AND idx IN (...)}, with which H2 scanned every item of the job.
   * Used where {@link #itemsByIndexArraySql()} is null.
   */
  default String itemsAmongSql(int count) {
    return "(job_id, idx) IN (" + String.join(", ", Collections.nCopies(count, "(?, ?)")) + ")";
  }

  /**
   * Binds {@link #itemsAmongSql}'s parameters from {@code parameter} on.
   *
   * @return the next parameter's position
   */
  default int bindItemsAmong(
      PreparedStatement statement, int parameter, JobRef job, List<Long> indexes)
      throws SQLException {
    for (long index : indexes) {
      parameter = bindItemAt(statement, parameter, job, index);
    }
    return parameter;
  }

  /**
   * What a claim decides on, as the job row locked by the caller says.
   *
   * @param job the job whose items are claimed
   * @param total the sealed job's number of items
   * @param pending how many of its items are PENDING
   * @param limit the most items to claim, at least one
   * @param owner the claiming worker
   * @param now only items whose {@code not_before} is NULL or not after it count
   * @param leaseUntil the lease end of the claimed items
   */
  record ClaimRequest(
      JobId job,
      long total,
      long pending,
      int limit,
      String owner,
      Instant now,
      Instant leaseUntil) {}

  /**
   * Claims a job's next PENDING items, lowest index first, under the job row's lock, which the
   * caller holds. Each claimed item becomes RUNNING with its attempts and fence incremented.
   *
   * @return the claimed items, in any order
   */
  List<ClaimedTask> claim(Connection connection, ClaimRequest request) throws SQLException;

  /**
   * Runs a claim statement that returns the claimed items as columns {@code idx, payload, attempts,
   * fence}, with parameters 1 the job ID, 2 now, 3 the most items, 4 the owner, 5 the lease end,
   * then {@code more} in order.
   */
  static List<ClaimedTask> runClaim(
      Connection connection, String sql, ClaimRequest request, int limit, long... more)
      throws SQLException {
    List<ClaimedTask> claimed = new ArrayList<>();
    try (PreparedStatement claim = connection.prepareStatement(sql)) {
      claim.setString(1, request.job().value());
      Timestamps.bind(claim, 2, request.now());
      claim.setInt(3, limit);
      claim.setString(4, request.owner());
      Timestamps.bind(claim, 5, request.leaseUntil());
      for (int i = 0; i < more.length; i++) {
        claim.setLong(6 + i, more[i]);
      }
      try (ResultSet rows = claim.executeQuery()) {
        while (rows.next()) {
          claimed.add(
              new ClaimedTask(
                  request.job(),
                  rows.getLong("idx"),
                  rows.getString("payload"),
                  rows.getInt("attempts"),
                  rows.getLong("fence")));
        }
      }
    }
    return claimed;
  }

  /**
   * The heartbeat: sets the lease end of the RUNNING items an owner holds; its update count is how
   * many. Parameters: 1 the owner, 2 the lease end, and, when {@link #renewsJobByJob()}, 3 a job
   * ID: the statement then renews that job's items only, and runs once per job that can have
   * RUNNING items.
   */
  String renewSql();

  /**
   * Whether {@link #renewSql()} takes a job ID and runs job by job: for a database without an index
   * of the RUNNING items by owner, where each job's RUNNING items lie in a short range of another
   * index instead.
   */
  default boolean renewsJobByJob() {
    return false;
  }

  /**
   * The IDs of the jobs that have RUNNING items whose lease ended, in ID order, as column {@code
   * job_id}. Parameter: 1 now. The default reads an index of the RUNNING items by lease end.
   */
  default String jobsWithExpiredLeasesSql() {
    return "SELECT DISTINCT job_id FROM fanout_item"
        + " WHERE state = 'RUNNING' AND lease_until <= ? ORDER BY job_id";
  }

  /**
   * Puts a job's RUNNING items whose lease ended back to PENDING with a new fence; its update count
   * is how many. Parameters: 1 the job ID, 2 now. It runs under the job row's lock.
   */
  default String reclaimSql() {
    return """
        UPDATE fanout_item
        SET state = 'PENDING', fence = fence + 1, owner = NULL, lease_until = NULL
        WHERE job_id = ? AND state = 'RUNNING' AND lease_until <= ?""";
  }

  /**
   * The row lock a transaction takes on a job row before it changes the job's items. It must
   * exclude every other such lock on the same row; it may let foreign-key checks through.
   */
  String jobRowLock();

  /**
   * An upsert of a consumer's acknowledgement that never moves it backwards and does nothing for an
   * unknown job. Parameters: 1 the job ID, 2 the consumer, 3 the sequence number.
   */
  String acknowledgeSql();

  /**
   * A statement that refreshes the planner's statistics of {@code fanout_item}, run after a large
   * job is sealed, or empty when the database plans well without. Before its statistics catch up
   * with a million new PENDING rows, PostgreSQL sorts all of them for every claim instead of
   * reading the first few from the index.
   */
  Optional<String> refreshItemStatisticsSql();

  /**
   * Driver properties the pool passes to every new connection.
   *
   * @param connectTimeout how long opening a connection may take
   */
  Map<String, String> driverProperties(Duration connectTimeout);

  /** SQL the pool runs on every new connection, if any. */
  Optional<String> connectionInitSql();

  /**
   * A query for a job's items among an array of indexes (parameters: job ID, index array), as
   * columns {@code idx, state, fence, attempts}, or null where the database has no arrays and a
   * list of row values is used instead.
   */
  default String itemsByIndexArraySql() {
    return null;
  }

  /**
   * Cancels a job's PENDING and RUNNING items, with new fences so late reports are dropped, and
   * counts them cancelled. It runs under the job row's lock, which the caller holds.
   */
  default void cancelUnsettled(Connection connection, JobId id) throws SQLException {
    try (PreparedStatement cancel = connection.prepareStatement(cancelItemsSql())) {
      cancel.setString(1, id.value());
      cancel.executeUpdate();
    }
    try (PreparedStatement count =
        connection.prepareStatement(
            """
            UPDATE fanout_job
            SET cancelled = cancelled + pending + running, pending = 0, running = 0
            WHERE id = ?""")) {
      count.setString(1, id.value());
      count.executeUpdate();
    }
  }

  /** The statement of {@link #cancelUnsettled} that cancels the items; parameter: 1 the job ID. */
  default String cancelItemsSql() {
    return """
        UPDATE fanout_item
        SET state = 'CANCELLED', fence = fence + 1, lease_until = NULL
        WHERE job_id = ? AND state IN ('PENDING', 'RUNNING')""";
  }

  /** The most items one {@link JdbcJobStore#addItems} transaction should take. */
  default int itemBatchSize() {
    return 1_000;
  }

  /**
   * Inserts new PENDING items {@code firstIndex, firstIndex + 1, ...} of a job inside the caller's
   * transaction, which holds the job's lock. The default sends one INSERT per item in JDBC batches
   * of {@code chunk}.
   */
  default void insertItems(
      Connection connection, JobRef job, long firstIndex, List<String> items, int chunk)
      throws SQLException {
    try (PreparedStatement insert =
        connection.prepareStatement(
            "INSERT INTO fanout_item (job_id, idx, state, payload, attempts, fence)"
                + " VALUES (?, ?, 'PENDING', ?, 0, 0)")) {
      long index = firstIndex;
      for (String item : items) {
        insert.setString(1, job.id().value());
        insert.setLong(2, index++);
        insert.setString(3, Objects.requireNonNull(item, "item"));
        insert.addBatch();
        if ((index - firstIndex) % chunk == 0) {
          insert.executeBatch();
        }
      }
      insert.executeBatch();
    }
  }

  /** One item to settle: its result, and the fence its claim held. */
  record Settle(StoredResult result, long fence) {}

  /**
   * Whether the store records a batch of reports before reading the reported items, relying on the
   * guarded writes' counts and going back to a savepoint when one report is stale. Worth it where
   * the read costs more than the savepoint: on H2 the read was a tenth of the writer's time;
   * PostgreSQL would pay a round trip for the savepoint.
   */
  default boolean recordsBeforeReading() {
    return false;
  }

  /**
   * Writes settled items inside the caller's transaction, each guarded by the fence its claim held,
   * by having no seq yet (so, RUNNING under that claim) and by the attempt its result records.
   *
   * @return how many rows it changed, exactly: where the store has not read the items first, it
   *     takes a count as large as the list as its proof that no report in it was stale
   */
  int settle(Connection connection, JobRef job, List<Settle> settles) throws SQLException;

  /**
   * The signals of a store on this database: within this process unless the database can carry them
   * between processes.
   *
   * @param pool the store's pool, which a carrier may take a listening connection from
   * @param redactedUrl the database's URL without a password, for log messages
   * @return the signals; closed with the store when {@link AutoCloseable}
   */
  default StoreSignals signals(DataSource pool, String redactedUrl) {
    return StoreSignals.local();
  }
}
