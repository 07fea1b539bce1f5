package dev.fanout.jdbc.crash;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import dev.fanout.Engine;
import dev.fanout.FanOut;
import dev.fanout.JobHandle;
import dev.fanout.JobId;
import dev.fanout.JobOutcome;
import dev.fanout.JobSpec;
import dev.fanout.JobState;
import dev.fanout.TaskContext;
import dev.fanout.jdbc.JdbcJobStore;
import dev.fanout.spi.JobStore;
import dev.fanout.spi.StoreException;
import java.math.BigDecimal;
import java.sql.Connection;
import java.sql.SQLException;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.Semaphore;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicIntegerArray;
import java.util.concurrent.atomic.AtomicReference;
import java.util.function.Predicate;
import java.util.stream.Collectors;
import java.util.stream.IntStream;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;

/**
 * Cuts every connection between an engine and PostgreSQL in the middle of a job, for longer than a
 * lease, then lets it reconnect: the job must still end with each item recorded once and the exact
 * aggregate. The engine reaches the database through a {@link TcpProxy}; the test reads the rows
 * through connections of its own that the cut does not touch.
 *
 * <p>The cut must land with calls in flight, and a random moment often has none: a job's
 * concurrency slots stay taken until the results are recorded, so the pipeline drains between
 * claims. So once a quarter of the job has settled, calls are held before they return until one is
 * held, the connections are cut, and the held calls are let go into the cut.
 */
@Tag("crash")
class PostgresConnectionCutTest {

  private static final int ITEMS = 2_000;
  private static final int CONCURRENCY = 64;

  /**
   * Long enough that only the cut lets a lease run out: the outcome allows a second call only for
   * items running at the cut, and with one-second leases a stall of a loaded machine after the
   * restore let other items lapse and run twice as well.
   */
  private static final Duration LEASE = Duration.ofSeconds(3);

  private static final Duration MIN_CUT = LEASE.plusMillis(1_500);
  private static final String CUT_OFF = "cut-off-engine";
  private static final String HEALTHY = "healthy-engine";

  /** How many 10 ms looks a wait takes before it gives up on a hung job. */
  private static final int LOOKS = 6_000;

  private static PostgresSchema schema;

  /**
   * Creates the class's schema before its first test; skips (under CI, fails) every test when the
   * server is down, so each one shows as skipped.
   */
  @BeforeEach
  void createSchemaOnce() {
    if (schema == null) {
      schema = PostgresSchema.create("fanout_cut_");
    }
  }

  @AfterAll
  static void dropSchema() {
    if (schema != null) {
      schema.close();
      schema = null;
    }
  }

  @Test
  void a_job_whose_connections_are_cut_for_longer_than_a_lease_still_records_each_item_once()
      throws Exception {
    Work work = new Work();
    try (TcpProxy proxy = new TcpProxy(PostgresSchema.serverAddress());
        JdbcJobStore store = openVia(proxy);
        Engine engine = engine(store, CUT_OFF, work)) {
      JobHandle<JsonNode> job = engine.submit(spec());
      Cut cut = cutMidCall(proxy, work, job.id().value());
      holdAtLeast(cut, MIN_CUT);
      proxy.restore();

      awaitReachable(store, job.id());
      checkOutcome(job.outcome().get(LOOKS / 100, TimeUnit.SECONDS), job.id().value(), work, cut);
      System.out.printf(
          "connection cut on PostgreSQL: %d connections cut at %d of %d settled, %d items held;"
              + " %d connections refused during the cut; %d items called twice%n",
          cut.connections(),
          cut.job().settled(),
          ITEMS,
          cut.held().size(),
          proxy.refused(),
          work.repeated());
    }
  }

  @Test
  void a_cut_off_engine_loses_its_items_to_another_and_its_late_reports_are_dropped()
      throws Exception {
    Work work = new Work();
    try (TcpProxy proxy = new TcpProxy(PostgresSchema.serverAddress());
        FaultyStore cutOffStore = new FaultyStore(openVia(proxy));
        JdbcJobStore healthyStore = schema.target().open()) {
      String jobId;
      Cut cut;
      JobOutcome<JsonNode> outcome;
      try (Engine cutOff = engine(cutOffStore, CUT_OFF, work)) {
        JobHandle<JsonNode> job = cutOff.submit(spec());
        jobId = job.id().value();
        cut = cutMidCall(proxy, work, jobId);
        assertThat(cutOffStore.dropped())
            .as("items whose reports were dropped, at the cut")
            .isEmpty();
        try (Engine healthy = engine(healthyStore, HEALTHY, work)) {
          healthy.start();
          // The healthy engine reclaims the expired leases; only then may the cut-off one return.
          await(
              "the healthy engine reclaimed the cut-off engine's items",
              jobId,
              j -> j.runningItems().stream().noneMatch(i -> StoredJob.ownedBy(i, CUT_OFF)));
          holdAtLeast(cut, MIN_CUT);
          proxy.restore();
          awaitReachable(cutOffStore, job.id());
          outcome = job.outcome().get(LOOKS / 100, TimeUnit.SECONDS);
        }
        // The cut-off engine's writer retries its held-back reports after a backoff of its own,
        // which may end after the job did: wait until the store has answered all of them.
        for (int look = 0;
            look < LOOKS && !cutOffStore.answered().containsAll(work.returned(CUT_OFF));
            look++) {
          Thread.sleep(10);
        }
        assertThat(cutOffStore.answered())
            .as("items the store answered the cut-off engine's reports for")
            .containsAll(work.returned(CUT_OFF));
      }
      Set<Long> runningAtCut = runningAt(cut);
      Set<Long> dropped = cutOffStore.dropped();
      // Mostly the items in flight at the cut; on a loaded machine an item claimed after the
      // restore may lose its lease too, and its report is then dropped just the same.
      assertThat(dropped)
          .as("items of the cut-off engine whose late reports the fences dropped")
          .isNotEmpty()
          .containsAnyElementsOf(runningAtCut);
      checkOutcome(outcome, jobId, work, cut);
      System.out.printf(
          "connection cut on PostgreSQL with a healthy engine: %d items held at the cut;"
              + " %d late reports dropped; %d items called twice%n",
          cut.held().size(), dropped.size(), work.repeated());
    }
  }

  /**
   * Waits until the store answers again: a pool that lost every connection opens new ones with a
   * backoff of its own, which on a loaded machine outlasts the test's short connect timeout.
   */
  private static void awaitReachable(JobStore store, JobId id) throws InterruptedException {
    for (int look = 0; ; look++) {
      try {
        store.job(id);
        return;
      } catch (StoreException e) {
        if (look == LOOKS) {
          throw e;
        }
        Thread.sleep(10);
      }
    }
  }

  /** The items RUNNING when the cut came, whoever held them. */
  private static Set<Long> runningAt(Cut cut) {
    return cut.job().runningItems().stream()
        .map(StoredJob.RunningItem::index)
        .collect(Collectors.toSet());
  }

  /** What a cut found: when it came, what it closed, and the job as it left it. */
  private record Cut(Instant at, int connections, StoredJob job, Set<Long> held) {}

  /**
   * Once a quarter of the job has settled, cuts the connections while a call is held before it
   * returns, lets the held calls go, and waits until the engine's leases have all run out.
   */
  private static Cut cutMidCall(TcpProxy proxy, Work work, String jobId) throws Exception {
    await("a quarter of the job settled", jobId, j -> j.settled() >= ITEMS / 4);
    CountDownLatch gate = work.holdOne();
    Instant at = Instant.now();
    int connections = proxy.cut();
    work.letGo(gate);
    // Nothing can change the job while the cut lasts, so this is the job as the cut left it.
    StoredJob job =
        await(
            "the cut-off engine's leases ran out",
            jobId,
            j -> j.runningItems().stream().noneMatch(i -> i.leaseUntil().isAfter(Instant.now())));
    Set<Long> held =
        job.runningItems().stream()
            .filter(i -> StoredJob.ownedBy(i, CUT_OFF) && i.leaseUntil().isAfter(at))
            .map(StoredJob.RunningItem::index)
            .collect(Collectors.toSet());
    assertThat(connections).as("live connections the cut closed").isPositive();
    assertThat(job.isFinal()).as("the job was running at the cut: %s", job).isFalse();
    assertThat(job.total() - job.settled()).as("unsettled items at the cut").isPositive();
    assertThat(held).as("items leased to the engine past the cut: %s", job).isNotEmpty();
    assertThat(proxy.refused()).as("connections tried during the cut").isPositive();
    return new Cut(at, connections, job, held);
  }

  private static void holdAtLeast(Cut cut, Duration length) throws InterruptedException {
    long left = cut.at().plus(length).toEpochMilli() - System.currentTimeMillis();
    if (left > 0) {
      Thread.sleep(left);
    }
  }

  private static void checkOutcome(JobOutcome<JsonNode> outcome, String jobId, Work work, Cut cut)
      throws Exception {
    assertThat(outcome.state()).as("%s", outcome.status()).isEqualTo(JobState.SUCCEEDED);
    assertThat(outcome.aggregate().decimalValue())
        .as("the aggregate, sum of 2 * index")
        .isEqualByComparingTo(BigDecimal.valueOf((long) ITEMS * (ITEMS - 1)));
    StoredJob stored;
    List<StoredJob.Result> results;
    try (Connection connection = schema.target().connect()) {
      stored = StoredJob.read(connection, jobId);
      results = StoredJob.results(connection, jobId);
    }
    assertThat(stored.countsAgreeWithItems()).as("counts agree: %s", stored).isTrue();
    assertThat(StoredJob.notRecordedOnceAsTwiceTheIndex(results, ITEMS))
        .as("items not recorded exactly once as 2 * index")
        .isEmpty();
    // A call repeats only for an item whose lease the cut let run out; none runs three times.
    Set<Long> runningAtCut = runningAt(cut);
    List<String> miscalled = new ArrayList<>();
    for (int index = 0; index < ITEMS; index++) {
      int calls = work.calls.get(index);
      int allowed = runningAtCut.contains((long) index) ? 2 : 1;
      if (calls == 0 || calls > allowed) {
        miscalled.add(index + ": " + calls + " calls, " + allowed + " allowed");
      }
    }
    assertThat(miscalled).as("items called never, or more than the cut explains").isEmpty();
  }

  /** Reads the job directly every 10 ms until {@code done} holds, and returns it as it read. */
  private static StoredJob await(String what, String jobId, Predicate<StoredJob> done)
      throws SQLException, InterruptedException {
    StoredJob job = null;
    for (int look = 0; look < LOOKS; look++) {
      try (Connection connection = schema.target().connect()) {
        job = StoredJob.read(connection, jobId);
      }
      if (done.test(job)) {
        return job;
      }
      Thread.sleep(10);
    }
    throw new AssertionError(
        "waited in vain until "
            + what
            + "; the job reads "
            + job
            + "\n"
            + PostgresSchema.activity());
  }

  private static JdbcJobStore openVia(TcpProxy proxy) {
    return JdbcJobStore.builder(PostgresSchema.serverUrlVia(proxy.address()))
        .user(PostgresSchema.USER)
        .schema(schema.name())
        .connectTimeout(Duration.ofMillis(500))
        .build();
  }

  private static Engine engine(JobStore store, String workerId, Work work) {
    Engine engine =
        FanOut.builder()
            .store(store)
            .workerId(workerId)
            .leaseDuration(LEASE)
            .pollInterval(Duration.ofMillis(20))
            .build();
    engine.register(
        "work", Integer.class, (Integer index, TaskContext context) -> work.call(index, workerId));
    return engine;
  }

  private static JobSpec<Integer, JsonNode, JsonNode> spec() {
    return JobSpec.items(IntStream.range(0, ITEMS).boxed().toList())
        .function("work")
        .reduce("sum")
        .maxConcurrency(CONCURRENCY)
        .build();
  }

  /**
   * The function every engine here runs: counts its calls per item, keeps per engine the items of
   * the calls that returned (each one a report to record), and can hold calls before they return.
   */
  private static final class Work {
    final AtomicIntegerArray calls = new AtomicIntegerArray(ITEMS);
    private final Map<String, Set<Long>> returned = new ConcurrentHashMap<>();
    private final Semaphore held = new Semaphore(0);
    private final AtomicReference<CountDownLatch> gate = new AtomicReference<>();

    Long call(Integer index, String workerId) throws InterruptedException {
      calls.incrementAndGet(index);
      Thread.sleep(1 + ThreadLocalRandom.current().nextInt(10));
      CountDownLatch closed = gate.get();
      if (closed != null) {
        held.release();
        closed.await();
      }
      returned.computeIfAbsent(workerId, w -> ConcurrentHashMap.newKeySet()).add((long) index);
      return index * 2L;
    }

    /** The items of the calls of one engine that returned: the items it has made reports for. */
    Set<Long> returned(String workerId) {
      return Set.copyOf(returned.getOrDefault(workerId, Set.of()));
    }

    /** Holds calls before they return, and waits until one is held. */
    CountDownLatch holdOne() throws InterruptedException {
      CountDownLatch closed = new CountDownLatch(1);
      gate.set(closed);
      held.acquire();
      return closed;
    }

    /** Lets the held calls return, and calls to come pass. */
    void letGo(CountDownLatch closed) {
      gate.set(null);
      closed.countDown();
    }

    int repeated() {
      int repeated = 0;
      for (int index = 0; index < ITEMS; index++) {
        repeated += calls.get(index) > 1 ? 1 : 0;
      }
      return repeated;
    }
  }
}
