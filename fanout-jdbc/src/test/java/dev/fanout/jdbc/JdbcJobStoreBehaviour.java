package dev.fanout.jdbc;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.fanout.JobId;
import dev.fanout.JobState;
import dev.fanout.ResultOrder;
import dev.fanout.spi.ClaimedTask;
import dev.fanout.spi.Completion;
import dev.fanout.spi.JobRow;
import dev.fanout.spi.NewJob;
import dev.fanout.spi.StoreException;
import dev.fanout.spi.StoredResult;
import dev.fanout.spi.TaskState;
import dev.fanout.spi.Verdict;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.UUID;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.stream.IntStream;
import java.util.stream.LongStream;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * What the JDBC store must do beyond the store contract, on each database it supports: the schema
 * guard, durability across reopening, and the claim cap and sequence numbers under contention from
 * several stores at once, as a cluster would contend.
 */
abstract class JdbcJobStoreBehaviour {

  static final Instant T0 = Instant.parse("2026-01-01T00:00:00Z");

  TestDatabase database;
  JdbcJobStore store;

  /** Creates the empty database the test runs on. */
  abstract TestDatabase createDatabase();

  @BeforeEach
  void openStore() {
    database = createDatabase();
    store = database.open();
  }

  @AfterEach
  void closeStore() {
    if (store != null) {
      store.close();
    }
    if (database != null) {
      database.close();
    }
  }

  static JobId newJobId() {
    return JobId.of(UUID.randomUUID().toString());
  }

  /** Creates, fills and seals a job whose items are "0", "1", ... as JSON. */
  JobId sealedJob(int items, int maxConcurrency) {
    return sealedJob(items, maxConcurrency, ResultOrder.COMPLETION);
  }

  JobId sealedJob(int items, int maxConcurrency, ResultOrder order) {
    JobId id = newJobId();
    store.createJob(
        new NewJob(id, "{\"name\":\"test\"}", maxConcurrency, T0, null, null, null, order));
    List<String> batch = new ArrayList<>();
    long first = 0;
    for (int i = 0; i < items; i++) {
      batch.add(Integer.toString(i));
      if (batch.size() == 1000) {
        store.addItems(id, first, batch);
        first += batch.size();
        batch.clear();
      }
    }
    store.addItems(id, first, batch);
    store.seal(id, items);
    return id;
  }

  /** Runs one statement on the test database, outside the store. */
  void execute(String sql) throws SQLException {
    try (Connection connection = database.connect();
        Statement statement = connection.createStatement()) {
      statement.execute(sql);
    }
  }

  long countItems(JobId id, String state) throws SQLException {
    try (Connection connection = database.connect();
        PreparedStatement count =
            connection.prepareStatement(
                "SELECT COUNT(*) FROM fanout_item WHERE job_id = ? AND state = ?")) {
      count.setString(1, id.value());
      count.setString(2, state);
      try (ResultSet rows = count.executeQuery()) {
        rows.next();
        return rows.getLong(1);
      }
    }
  }

  @Test
  void a_job_survives_closing_and_reopening_the_store() {
    JobId id = sealedJob(3, 2);
    List<ClaimedTask> claimed = store.claim(id, "w1", 5, T0, T0.plusSeconds(30));
    store.complete(
        id,
        List.of(
            new Completion.Succeeded(
                0, claimed.get(0).fence(), claimed.get(0).attempt(), "\"a\"", 7)),
        T0);
    store.close();

    store = database.open();

    JobRow job = store.job(id).orElseThrow();
    assertThat(job.state()).isEqualTo(JobState.RUNNING);
    assertThat(job.succeeded()).isEqualTo(1);
    assertThat(job.running()).isEqualTo(1);
    assertThat(job.pending()).isEqualTo(1);
    assertThat(store.results(id, 0, 10))
        .containsExactly(new StoredResult(id, 1, 0, TaskState.SUCCEEDED, "\"a\"", null, 1, 7));
  }

  @Test
  void an_input_ordered_job_goes_on_in_index_order_in_a_store_reopened_over_the_same_database() {
    JobId id = sealedJob(5, 5, ResultOrder.INPUT);
    List<ClaimedTask> claimed = store.claim(id, "w1", 5, T0, T0.plusSeconds(30));
    store.complete(
        id,
        List.of(succeeded(claimed.get(4)), failed(claimed.get(1)), succeeded(claimed.get(0))),
        T0);
    assertThat(store.results(id, 0, 10)).extracting(StoredResult::index).containsExactly(0L, 1L);
    store.close();

    // As after a crash: another store, the old leases run out, other workers take the items.
    store = database.open();
    assertThat(store.reclaimExpired(T0.plusSeconds(30))).isEqualTo(2);
    assertThat(store.results(id, 0, 10)).extracting(StoredResult::index).containsExactly(0L, 1L);
    List<ClaimedTask> again = store.claim(id, "w2", 5, T0.plusSeconds(31), T0.plusSeconds(60));
    assertThat(again).extracting(ClaimedTask::index).containsExactly(2L, 3L);
    store.complete(id, List.of(succeeded(again.get(1))), T0.plusSeconds(32));
    assertThat(store.results(id, 2, 10)).isEmpty();
    store.complete(id, List.of(succeeded(again.get(0))), T0.plusSeconds(33));
    assertThat(seqAndIndex(store.results(id, 0, 10)))
        .containsExactly(
            List.of(1L, 0L), List.of(2L, 1L), List.of(3L, 2L), List.of(4L, 3L), List.of(5L, 4L));
    store
        .finish(id, T0.plusSeconds(34), null, null, (job, values) -> failedVerdict())
        .orElseThrow();
    store.close();

    // The failed item runs again through yet another store, numbered after everything before.
    store = database.open();
    store.retryFailed(id).orElseThrow();
    ClaimedTask retried = store.claim(id, "w3", 5, T0.plusSeconds(40), T0.plusSeconds(70)).get(0);
    assertThat(retried.index()).isEqualTo(1);
    store.complete(id, List.of(succeeded(retried)), T0.plusSeconds(41));
    assertThat(seqAndIndex(store.results(id, 5, 10))).containsExactly(List.of(6L, 1L));
    assertThat(store.job(id).orElseThrow().lastSeq()).isEqualTo(6);
  }

  @Test
  void a_late_first_item_releases_thousands_of_held_results_in_one_call_across_pages() {
    int items = 3_000;
    JobId id = sealedJob(items, items, ResultOrder.INPUT);
    List<ClaimedTask> claimed = store.claim(id, "w1", items, T0, T0.plusSeconds(60));
    List<Completion> reports = new ArrayList<>();
    for (ClaimedTask task : claimed.reversed()) {
      if (task.index() != 0) {
        reports.add(
            task.index() % 100 == 7
                ? new Completion.Failed(task.index(), task.fence(), task.attempt(), "\"no\"", 1)
                : succeeded(task));
      }
    }
    store.complete(id, reports, T0);
    assertThat(store.results(id, 0, 10)).isEmpty();

    store.complete(id, List.of(succeeded(claimed.get(0))), T0.plusSeconds(1));

    List<StoredResult> all = readAll(id);
    assertNumberedInIndexOrder(all, items);
    assertThat(all).filteredOn(r -> r.status() == TaskState.FAILED).hasSize(30);
    assertThat(store.job(id).orElseThrow().lastSeq()).isEqualTo(items);
  }

  /**
   * The race of {@link #concurrent_claimers_never_exceed_the_cap_and_settle_each_item_exactly_once}
   * on an input-ordered job, with a reader paging through the results from its last seq the whole
   * time: it must only ever see the next index, under the next seq.
   */
  @Test
  void concurrent_claimers_on_two_stores_number_an_input_ordered_job_in_index_order()
      throws Exception {
    int items = 3_000;
    int cap = 50;
    JobId id = sealedJob(items, cap, ResultOrder.INPUT);
    List<StoredResult> seen = new ArrayList<>();
    ClaimRace race = new ClaimRace(id, cap, List.of(store, database.open()));
    try {
      race.run(
          6,
          () -> {
            long after = seen.isEmpty() ? 0 : seen.getLast().seq();
            for (StoredResult r : store.results(id, after, 200)) {
              if (r.seq() != seen.size() + 1 || r.index() != seen.size()) {
                throw new AssertionError(
                    "after "
                        + seen.size()
                        + " results the reader got seq "
                        + r.seq()
                        + " for index "
                        + r.index());
              }
              seen.add(r);
            }
            return countItems(id, "RUNNING");
          });
    } finally {
      race.stores().get(1).close();
    }

    assertThat(seen.size()).isPositive();
    List<StoredResult> all = readAll(id);
    assertNumberedInIndexOrder(all, items);
    assertThat(all.subList(0, seen.size())).isEqualTo(seen);
    assertThat(store.job(id).orElseThrow().lastSeq()).isEqualTo(items);
  }

  /** Every item has a result, and item i has seq i + 1. */
  private static void assertNumberedInIndexOrder(List<StoredResult> all, int items) {
    assertThat(all)
        .extracting(StoredResult::index)
        .containsExactlyElementsOf(LongStream.range(0, items).boxed().toList());
    assertThat(all)
        .extracting(StoredResult::seq)
        .containsExactlyElementsOf(LongStream.rangeClosed(1, items).boxed().toList());
  }

  private List<StoredResult> readAll(JobId id) {
    List<StoredResult> results = new ArrayList<>();
    for (long after = 0; ; ) {
      List<StoredResult> page = store.results(id, after, 700);
      if (page.isEmpty()) {
        return results;
      }
      results.addAll(page);
      after = page.getLast().seq();
    }
  }

  private static List<List<Long>> seqAndIndex(List<StoredResult> results) {
    return results.stream().map(r -> List.of(r.seq(), r.index())).toList();
  }

  static Completion succeeded(ClaimedTask task) {
    return new Completion.Succeeded(task.index(), task.fence(), task.attempt(), task.item(), 1);
  }

  static Completion failed(ClaimedTask task) {
    return new Completion.Failed(task.index(), task.fence(), task.attempt(), "\"no\"", 1);
  }

  private static Verdict failedVerdict() {
    return new Verdict(JobState.FAILED, null, null);
  }

  @Test
  void times_read_back_in_utc_to_the_millisecond() {
    JobId id = newJobId();
    Instant created = Instant.parse("2026-03-04T05:06:07.123456789Z");
    Instant deadline = Instant.parse("2026-03-05T00:00:00.999Z");
    store.createJob(new NewJob(id, "{}", 1, created, deadline));

    JobRow job = store.job(id).orElseThrow();

    assertThat(job.createdAt()).isEqualTo(Instant.parse("2026-03-04T05:06:07.123Z"));
    assertThat(job.deadlineAt()).isEqualTo(deadline);
  }

  @Test
  void opening_refuses_a_schema_newer_than_the_library() throws SQLException {
    store.close();
    store = null;
    try (Connection connection = database.connect();
        Statement statement = connection.createStatement()) {
      statement.executeUpdate(
          """
          INSERT INTO "fanout_schema_history" ("installed_rank", "version", "description",
            "type", "script", "checksum", "installed_by", "execution_time", "success")
          VALUES (100, '999', 'from the future', 'SQL', 'V999__from_the_future.sql', 0,
            'test', 0, TRUE)""");
    }

    assertThatThrownBy(database::open)
        .isInstanceOf(StoreException.class)
        .hasMessageContaining("is at version 999")
        .hasMessageContaining("newer than version ")
        .hasMessageContaining(JdbcUrls.redact(database.url()));
  }

  @Test
  void a_stale_report_is_dropped_after_its_lease_is_reclaimed() throws SQLException {
    JobId id = sealedJob(1, 1);
    ClaimedTask first = store.claim(id, "w1", 1, T0, T0.plusSeconds(10)).get(0);

    assertThat(store.reclaimExpired(T0.plusSeconds(10))).isEqualTo(1);
    ClaimedTask second = store.claim(id, "w2", 1, T0.plusSeconds(11), T0.plusSeconds(20)).get(0);

    assertThat(
            store.complete(
                id,
                List.of(new Completion.Succeeded(0, first.fence(), first.attempt(), "1", 1)),
                T0))
        .isEmpty();
    assertThat(second.attempt()).isEqualTo(2);
    assertThat(second.fence()).isGreaterThan(first.fence());
    assertThat(countItems(id, "RUNNING")).isEqualTo(1);
    assertThat(store.job(id).orElseThrow().running()).isEqualTo(1);
  }

  /**
   * A heartbeat renews a lease that has just run out while a reclaim, which read it as expired,
   * waits for the item's row: once it has the row, the reclaim sees the new lease and leaves the
   * item to its worker.
   */
  @Test
  void a_lease_renewed_while_a_reclaim_waits_for_the_item_stays_with_its_worker() throws Exception {
    JobId id = sealedJob(1, 1);
    ClaimedTask task = store.claim(id, "w1", 1, T0, T0.plusSeconds(10)).getFirst();
    try (Connection heartbeat = database.connect();
        ExecutorService reclaimer = Executors.newSingleThreadExecutor()) {
      heartbeat.setAutoCommit(false);
      try (PreparedStatement renew =
          heartbeat.prepareStatement(
              "UPDATE fanout_item SET lease_until = ? WHERE job_id = ? AND idx = 0")) {
        Timestamps.bind(renew, 1, T0.plusSeconds(60));
        renew.setString(2, id.value());
        assertThat(renew.executeUpdate()).isOne();
      }
      Future<Integer> reclaimed = reclaimer.submit(() -> store.reclaimExpired(T0.plusSeconds(30)));
      awaitBlockedSession(reclaimed);
      heartbeat.commit();

      assertThat(reclaimed.get(30, TimeUnit.SECONDS)).isZero();
    }
    assertThat(countItems(id, "RUNNING")).isOne();
    assertThat(
            store.complete(
                id,
                List.of(new Completion.Succeeded(0, task.fence(), task.attempt(), "1", 1)),
                T0.plusSeconds(31)))
        .hasSize(1);
  }

  /** Waits until a session of the database waits for a lock, while {@code waiter} runs. */
  private void awaitBlockedSession(Future<?> waiter) throws SQLException, InterruptedException {
    try (Connection connection = database.connect();
        PreparedStatement blocked = connection.prepareStatement(database.blockedSessionsSql())) {
      for (int tries = 0; tries < 1_000; tries++) {
        assertThat(waiter).as("the statement meant to wait for the lock").isNotDone();
        try (ResultSet rows = blocked.executeQuery()) {
          rows.next();
          if (rows.getLong(1) > 0) {
            return;
          }
        }
        Thread.sleep(10);
      }
    }
    throw new AssertionError("no session waited for the lock within 10 s");
  }

  @Test
  void renewing_keeps_a_lease_from_being_reclaimed() {
    JobId id = sealedJob(2, 2);
    store.claim(id, "w1", 2, T0, T0.plusSeconds(10));

    assertThat(store.renewLeases("w1", T0.plusSeconds(60))).isEqualTo(2);
    assertThat(store.renewLeases("someone-else", T0.plusSeconds(60))).isZero();

    assertThat(store.reclaimExpired(T0.plusSeconds(30))).isZero();
    assertThat(store.reclaimExpired(T0.plusSeconds(60))).isEqualTo(2);
  }

  @Test
  void a_retry_waits_for_its_time_and_counts_as_a_retry() {
    JobId id = sealedJob(1, 1);
    ClaimedTask task = store.claim(id, "w1", 1, T0, T0.plusSeconds(10)).get(0);
    Instant later = T0.plusSeconds(5);
    store.complete(id, List.of(new Completion.Retry(0, task.fence(), "\"boom\"", later)), T0);

    assertThat(store.claim(id, "w1", 1, later.minusMillis(1), later.plusSeconds(10))).isEmpty();
    ClaimedTask again = store.claim(id, "w1", 1, later, later.plusSeconds(10)).get(0);

    assertThat(again.attempt()).isEqualTo(2);
    JobRow job = store.job(id).orElseThrow();
    assertThat(job.retries()).isEqualTo(1);
    assertThat(job.running()).isEqualTo(1);
    assertThat(job.pending()).isZero();
  }

  @Test
  void finish_folds_the_succeeded_results_in_index_order_across_pages() {
    int items = SucceededValues.PAGE_SIZE * 3 + 17;
    JobId id = sealedJob(items, items);
    List<ClaimedTask> claimed = store.claim(id, "w1", items, T0, T0.plusSeconds(60));
    List<Completion> reports = new ArrayList<>();
    // Report in reverse so that sequence order and index order differ; fail every tenth, and a
    // run longer than a page, so that a page of a store that reads every state holds no result.
    for (ClaimedTask task : claimed.reversed()) {
      reports.add(
          failsToFold(task.index())
              ? new Completion.Failed(task.index(), task.fence(), task.attempt(), "\"no\"", 1)
              : new Completion.Succeeded(
                  task.index(), task.fence(), task.attempt(), task.item(), 1));
    }
    store.complete(id, reports, T0);

    List<String> folded = new ArrayList<>();
    JobRow done =
        store
            .finish(
                id,
                T0.plusSeconds(1),
                null,
                null,
                (job, succeeded) -> {
                  succeeded.forEachRemaining(v -> folded.add(v.value()));
                  return new Verdict(JobState.SUCCEEDED, "\"sum\"", null);
                })
            .orElseThrow();

    assertThat(folded)
        .containsExactlyElementsOf(
            IntStream.range(0, items)
                .filter(i -> !failsToFold(i))
                .mapToObj(Integer::toString)
                .toList());
    assertThat(done.state()).isEqualTo(JobState.SUCCEEDED);
    assertThat(done.finishedAt()).isEqualTo(T0.plusSeconds(1));
    assertThat(done.aggregate()).isEqualTo("\"sum\"");
  }

  private static boolean failsToFold(long index) {
    long page = SucceededValues.PAGE_SIZE;
    return index % 10 == 3 || (index >= page - 100 && index < 2 * page + 100);
  }

  /**
   * Eight workers on two stores, as two processes would be, claim from one job of 5,000 items with
   * a cap of 50, holding some items across rounds so the cap is reached, retrying some and sending
   * stale reports for others. A watcher reads the RUNNING rows the whole time.
   */
  @Test
  void concurrent_claimers_never_exceed_the_cap_and_settle_each_item_exactly_once()
      throws Exception {
    int items = 5_000;
    int cap = 50;
    JobId id = sealedJob(items, cap);
    ClaimRace race = new ClaimRace(id, cap, List.of(store, database.open()));
    try {
      race.run(8, () -> countItems(id, "RUNNING"));
    } finally {
      race.stores().get(1).close();
    }

    assertThat(race.highestRunningSeen()).isBetween(1L, (long) cap);
    assertThat(race.highestHeldSeen()).isBetween(1, cap);
    JobRow job = store.job(id).orElseThrow();
    assertThat(job.succeeded()).isEqualTo(items);
    assertThat(job.pending() + job.running() + job.failed() + job.cancelled()).isZero();
    assertThat(job.lastSeq()).isEqualTo(items);
    assertThat(job.retries()).isEqualTo(race.retries());
    assertThat(countItems(id, "SUCCEEDED")).isEqualTo(items);

    List<StoredResult> results = new ArrayList<>();
    for (long after = 0; ; ) {
      List<StoredResult> page = store.results(id, after, 700);
      if (page.isEmpty()) {
        break;
      }
      results.addAll(page);
      after = page.getLast().seq();
    }
    assertThat(results).extracting(StoredResult::seq).isSorted().doesNotHaveDuplicates();
    assertThat(results)
        .extracting(StoredResult::index)
        .containsExactlyInAnyOrderElementsOf(LongStream.range(0, items).boxed().toList());
    assertThat(results.stream().map(StoredResult::seq).toList())
        .isEqualTo(race.settledSeqs().stream().sorted().toList());
  }

  @Test
  void a_database_error_at_run_time_becomes_a_store_exception_naming_the_operation()
      throws SQLException {
    JobId id = sealedJob(1, 1);
    execute("DROP TABLE fanout_ack");

    assertThatThrownBy(() -> store.acknowledged(id, "reader"))
        .isInstanceOf(StoreException.class)
        .hasMessageStartingWith("cannot read the acknowledgement of reader for job " + id + ":")
        .hasCauseInstanceOf(SQLException.class);
    assertThat(store.job(id)).isPresent();
  }

  @Test
  void a_schema_named_in_the_builder_holds_the_tables() throws SQLException {
    String schema = database.spareSchema();
    JobId id = newJobId();
    try (JdbcJobStore named = database.builder().schema(schema).build()) {
      named.createJob(new NewJob(id, "{}", 1, T0, null));
      assertThat(named.job(id)).isPresent();
    }

    assertThat(store.job(id)).isEmpty();
    try (Connection connection = database.connect();
        PreparedStatement tables =
            connection.prepareStatement(
                "SELECT COUNT(*) FROM information_schema.tables"
                    + " WHERE table_schema = ? AND LOWER(table_name) LIKE 'fanout\\_%'")) {
      tables.setString(1, schema);
      try (ResultSet rows = tables.executeQuery()) {
        rows.next();
        // job, item, ack, node, and Flyway's history
        assertThat(rows.getInt(1)).as("fanout_ tables in %s", schema).isEqualTo(5);
      }
    }
  }

  @Test
  void the_store_opens_beside_an_applications_own_tables() throws SQLException {
    String schema = database.spareSchema();
    try (Connection connection = database.connect();
        Statement statement = connection.createStatement()) {
      statement.execute("CREATE SCHEMA " + quoted(schema));
      statement.execute("CREATE TABLE " + quoted(schema) + ".orders (id INTEGER PRIMARY KEY)");
    }

    try (JdbcJobStore beside = database.builder().schema(schema).build()) {
      JobId id = newJobId();
      beside.createJob(new NewJob(id, "{}", 1, T0, null));
      assertThat(beside.job(id)).isPresent();
    }
  }

  /** Flyway quotes the schema it creates, so on H2 its name keeps its lower case. */
  private static String quoted(String identifier) {
    return '"' + identifier + '"';
  }

  @Test
  void purge_deletes_a_job_larger_than_one_purge_range_with_all_its_items() throws SQLException {
    int items = (int) JdbcJobStore.PURGE_RANGE * 2 + 7;
    JobId id = sealedJob(items, 10);
    store.claim(id, "w1", 10, T0, T0.plusSeconds(30));
    store.finish(id, T0.plusSeconds(1), JobState.CANCELLED, null, (job, values) -> cancelled());
    JobId kept = sealedJob(3, 1);

    assertThat(store.purge(T0.plusSeconds(2), 10)).isEqualTo(1);

    assertThat(store.job(id)).isEmpty();
    assertThat(countItems(id, "CANCELLED") + countItems(id, "RUNNING")).isZero();
    assertThat(countItems(kept, "PENDING")).isEqualTo(3);
  }

  @Test
  void items_come_back_exactly_as_stored_whatever_characters_they_hold() {
    // Each of these is special to some bulk format: field and row separators, escapes, quotes,
    // PostgreSQL COPY's null marker and end-of-data line, and text beyond one byte per character.
    List<String> awkward =
        List.of(
            "\"a\tb\"",
            "\"line\nbreak\r\n\"",
            "\"back\\\\slash \\\\N \\\\.\"",
            "\\N",
            "\\.",
            "{\"k\": \"v, w\"}",
            "[\"\\u0001\", \"\u00e9\u4e2d\ud83d\ude00\"]",
            "\"'quoted' \\\"double\\\"\"",
            " padded ",
            "");
    JobId id = newJobId();
    store.createJob(
        new NewJob(id, "{\"name\":\"test\"}", 100, T0, null, null, null, ResultOrder.COMPLETION));
    List<String> items = new ArrayList<>();
    for (int i = 0; i < 1_500; i++) {
      // Long enough rows that one batch crosses the store's write buffers.
      items.add(
          i % awkward.size() == 0
              ? "\"" + "x".repeat(200) + i + "\""
              : awkward.get(i % awkward.size()));
    }
    store.addItems(id, 0, items.subList(0, 1_200));
    store.addItems(id, 1_200, items.subList(1_200, items.size()));
    store.seal(id, items.size());

    List<ClaimedTask> claimed = new ArrayList<>();
    for (List<ClaimedTask> page;
        !(page = store.claim(id, "w1", 100, T0, T0.plusSeconds(30))).isEmpty(); ) {
      claimed.addAll(page);
      store.complete(id, page.stream().map(t -> succeeded(t)).toList(), T0);
    }

    assertThat(claimed)
        .extracting(ClaimedTask::index)
        .containsExactlyElementsOf(LongStream.range(0, items.size()).boxed().toList());
    assertThat(claimed).extracting(ClaimedTask::item).containsExactlyElementsOf(items);
  }

  @Test
  void a_batch_of_items_that_fails_part_way_stores_none_of_them() throws SQLException {
    JobId id = newJobId();
    store.createJob(
        new NewJob(id, "{\"name\":\"test\"}", 10, T0, null, null, null, ResultOrder.COMPLETION));
    // Long enough that rows before the bad one have reached the database when it fails.
    List<String> items = new ArrayList<>(Collections.nCopies(700, "\"" + "z".repeat(500) + "\""));
    items.set(650, null);

    assertThatThrownBy(() -> store.addItems(id, 0, items)).isInstanceOf(NullPointerException.class);

    assertThat(countItems(id, "PENDING")).isZero();
    assertThat(store.job(id).orElseThrow().total()).isZero();
    store.addItems(id, 0, List.of("1", "2"));
    store.seal(id, 2);
    assertThat(store.claim(id, "w1", 10, T0, T0.plusSeconds(30)))
        .extracting(ClaimedTask::item)
        .containsExactly("1", "2");
  }

  @Test
  void items_cannot_be_added_to_a_deleted_job() throws SQLException {
    JobId id = newJobId();
    store.createJob(
        new NewJob(id, "{\"name\":\"test\"}", 10, T0, null, null, null, ResultOrder.COMPLETION));
    store.addItems(id, 0, List.of("1"));
    assertThat(store.deleteJob(id)).isTrue();

    assertThatThrownBy(() -> store.addItems(id, 1, List.of("2"))).hasMessageContaining(id.value());
    assertThat(countItems(id, "PENDING")).isZero();
  }

  private static Verdict cancelled() {
    return new Verdict(JobState.CANCELLED, null, null);
  }
}
