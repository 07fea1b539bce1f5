package dev.fanout.spi;

import static java.util.concurrent.TimeUnit.NANOSECONDS;
import static java.util.concurrent.TimeUnit.SECONDS;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.api.Assertions.tuple;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import dev.fanout.JobId;
import dev.fanout.JobState;
import dev.fanout.ResultOrder;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collections;
import java.util.Iterator;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Queue;
import java.util.Random;
import java.util.Set;
import java.util.SplittableRandom;
import java.util.TreeMap;
import java.util.UUID;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicIntegerArray;
import java.util.concurrent.atomic.AtomicLong;
import java.util.stream.IntStream;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * The contract every {@link JobStore} must keep, one sentence of its Javadoc per test (or a few).
 * Extend it once per store and return a fresh, empty store from {@link #newStore()}.
 *
 * <p>Every time is a fixed {@link Instant} passed in, so nothing here depends on the wall clock;
 * the wall clock only bounds how long the concurrency tests may run. JSON values are plain strings
 * and integers, which read back byte for byte even from a store that normalizes JSON.
 */
public abstract class JobStoreContract {
  /** The origin of every time in this suite; tests speak in seconds after it. */
  protected static final Instant T0 = Instant.parse("2030-01-01T00:00:00Z");

  private static final Instant FAR_LEASE = at(100_000);
  private static final Duration RACE_TIMEOUT = Duration.ofSeconds(120);

  private JobStore store;

  /**
   * Supplies the store under test. Called once before each test; the suite closes it after.
   *
   * @return a store that holds no jobs, items, results or acknowledgements
   */
  protected abstract JobStore newStore();

  /**
   * The store of the running test, for subclasses that add store-specific tests.
   *
   * @return the store
   */
  protected final JobStore store() {
    return store;
  }

  @BeforeEach
  final void openStore() {
    store = newStore();
  }

  @AfterEach
  final void closeStore() {
    if (store != null) {
      store.close();
    }
  }

  // ---------------------------------------------------------------- createJob

  @Test
  void a_created_job_reads_back_unsealed_and_accepted_with_its_definition() {
    JobId id = jobId(1);
    store.createJob(new NewJob(id, "\"spec-1\"", 7, at(5), at(3_600)));

    JobRow row = row(id);
    assertThat(row.id()).isEqualTo(id);
    assertThat(row.sealed()).isFalse();
    assertThat(row.state()).isEqualTo(JobState.ACCEPTED);
    assertThat(row.spec()).isEqualTo("\"spec-1\"");
    assertThat(row.total()).isZero();
    assertThat(row.maxConcurrency()).isEqualTo(7);
    assertThat(Counts.of(row)).isEqualTo(new Counts(0, 0, 0, 0, 0));
    assertThat(row.retries()).isZero();
    assertThat(row.lastSeq()).isZero();
    assertThat(row.createdAt()).isEqualTo(at(5));
    assertThat(row.startedAt()).isNull();
    assertThat(row.finishedAt()).isNull();
    assertThat(row.deadlineAt()).isEqualTo(at(3_600));
    assertThat(row.aggregate()).isNull();
    assertThat(row.error()).isNull();
  }

  @Test
  void a_job_without_a_deadline_reads_a_null_deadline() {
    JobId id = jobId(1);
    store.createJob(new NewJob(id, "\"spec\"", 1, at(0), null));

    assertThat(row(id).deadlineAt()).isNull();
  }

  @Test
  void creating_a_job_with_an_existing_id_throws_and_keeps_the_original() {
    JobId id = jobId(1);
    store.createJob(new NewJob(id, "\"first\"", 3, at(0), null));
    store.addItems(id, 0, items(0, 2));

    assertThatThrownBy(() -> store.createJob(new NewJob(id, "\"second\"", 9, at(50), null)))
        .isInstanceOf(IllegalStateException.class);

    JobRow row = row(id);
    assertThat(row.spec()).isEqualTo("\"first\"");
    assertThat(row.maxConcurrency()).isEqualTo(3);
    assertThat(row.createdAt()).isEqualTo(at(0));
    assertThat(row.total()).isEqualTo(2);
  }

  @Test
  void an_unknown_job_reads_empty() {
    assertThat(store.job(jobId(404))).isEmpty();
  }

  // ---------------------------------------------------------------- addItems

  @Test
  void added_items_count_as_pending_while_the_job_is_still_unsealed() {
    JobId id = jobId(1);
    store.createJob(new NewJob(id, "\"spec\"", 2, at(0), null));
    store.addItems(id, 0, items(0, 3));
    store.addItems(id, 3, items(3, 2));

    JobRow row = row(id);
    assertThat(row.sealed()).isFalse();
    assertThat(row.total()).isEqualTo(5);
    assertThat(Counts.of(row)).isEqualTo(new Counts(5, 0, 0, 0, 0));
  }

  @Test
  void items_keep_their_index_and_json_across_batches() {
    JobId id = jobId(1);
    store.createJob(new NewJob(id, "\"spec\"", 10, at(0), null));
    store.addItems(id, 0, List.of("\"a\"", "\"b\""));
    store.addItems(id, 2, List.of("\"c\""));
    store.seal(id, 3);

    List<ClaimedTask> claimed = store.claim(id, "w", 10, at(10), FAR_LEASE);

    assertThat(claimed).extracting(ClaimedTask::index).containsExactly(0L, 1L, 2L);
    assertThat(claimed).extracting(ClaimedTask::item).containsExactly("\"a\"", "\"b\"", "\"c\"");
    assertThat(claimed).extracting(ClaimedTask::jobId).containsOnly(id);
  }

  @Test
  void adding_items_to_an_unknown_job_throws() {
    assertThatThrownBy(() -> store.addItems(jobId(404), 0, items(0, 1)))
        .isInstanceOf(IllegalStateException.class);
    assertThat(store.job(jobId(404))).isEmpty();
  }

  @Test
  void adding_items_to_a_sealed_job_throws_and_adds_nothing() {
    JobId id = sealedJob(1, 2, 10);

    assertThatThrownBy(() -> store.addItems(id, 2, items(2, 1)))
        .isInstanceOf(IllegalStateException.class);

    JobRow row = row(id);
    assertThat(row.total()).isEqualTo(2);
    assertThat(Counts.of(row)).isEqualTo(new Counts(2, 0, 0, 0, 0));
    assertThat(store.claim(id, "w", 10, at(10), FAR_LEASE))
        .extracting(ClaimedTask::index)
        .containsExactly(0L, 1L);
  }

  // ---------------------------------------------------------------- seal

  @Test
  void sealing_makes_the_job_visible_with_exact_counts() {
    JobId id = jobId(1);
    store.createJob(new NewJob(id, "\"spec\"", 2, at(0), null));
    store.addItems(id, 0, items(0, 4));
    store.seal(id, 4);

    JobRow row = row(id);
    assertThat(row.sealed()).isTrue();
    assertThat(row.state()).isEqualTo(JobState.ACCEPTED);
    assertThat(row.total()).isEqualTo(4);
    assertThat(Counts.of(row)).isEqualTo(new Counts(4, 0, 0, 0, 0));
    assertThat(store.activeJobs()).containsExactly(id);
  }

  @Test
  void sealing_with_another_count_throws_and_leaves_the_job_unsealed() {
    JobId id = jobId(1);
    store.createJob(new NewJob(id, "\"spec\"", 2, at(0), null));
    store.addItems(id, 0, items(0, 3));

    assertThatThrownBy(() -> store.seal(id, 4)).isInstanceOf(IllegalStateException.class);
    assertThatThrownBy(() -> store.seal(id, 2)).isInstanceOf(IllegalStateException.class);
    assertThat(row(id).sealed()).isFalse();
    assertThat(store.activeJobs()).isEmpty();

    store.seal(id, 3);
    assertThat(row(id).sealed()).isTrue();
  }

  @Test
  void sealing_an_unknown_job_throws() {
    assertThatThrownBy(() -> store.seal(jobId(404), 0)).isInstanceOf(IllegalStateException.class);
    assertThat(store.job(jobId(404))).isEmpty();
  }

  @Test
  void sealing_a_sealed_job_throws() {
    JobId id = sealedJob(1, 2, 10);

    assertThatThrownBy(() -> store.seal(id, 2)).isInstanceOf(IllegalStateException.class);
    assertThat(row(id).sealed()).isTrue();
  }

  @Test
  void unsealed_jobs_are_invisible_to_claim_and_active_jobs() {
    JobId id = jobId(1);
    store.createJob(new NewJob(id, "\"spec\"", 10, at(0), null));
    store.addItems(id, 0, items(0, 3));

    assertThat(store.claim(id, "w", 10, at(10), FAR_LEASE)).isEmpty();
    assertThat(store.activeJobs()).isEmpty();
    JobRow row = row(id);
    assertThat(row.state()).isEqualTo(JobState.ACCEPTED);
    assertThat(row.startedAt()).isNull();
    assertThat(Counts.of(row)).isEqualTo(new Counts(3, 0, 0, 0, 0));
  }

  // ---------------------------------------------------------------- claim

  @Test
  void claim_takes_the_lowest_indexes_first_up_to_the_limit() {
    JobId id = sealedJob(1, 5, 10);

    assertThat(indexes(store.claim(id, "w", 2, at(10), FAR_LEASE))).containsExactly(0L, 1L);
    assertThat(indexes(store.claim(id, "w", 2, at(10), FAR_LEASE))).containsExactly(2L, 3L);
    assertThat(indexes(store.claim(id, "w", 2, at(10), FAR_LEASE))).containsExactly(4L);
    assertThat(store.claim(id, "w", 2, at(10), FAR_LEASE)).isEmpty();
  }

  @Test
  void claimed_items_become_running_with_their_first_attempt() {
    JobId id = sealedJob(1, 3, 10);

    List<ClaimedTask> claimed = store.claim(id, "w", 2, at(10), FAR_LEASE);

    assertThat(claimed).extracting(ClaimedTask::attempt).containsExactly(1, 1);
    assertThat(claimed).extracting(ClaimedTask::item).containsExactly("0", "1");
    assertThat(Counts.of(row(id))).isEqualTo(new Counts(1, 2, 0, 0, 0));
  }

  @Test
  void the_first_claim_starts_the_job_and_later_claims_keep_its_start_time() {
    JobId id = sealedJob(1, 3, 10);
    assertThat(row(id).startedAt()).isNull();

    store.claim(id, "w", 1, at(10), FAR_LEASE);
    JobRow started = row(id);
    assertThat(started.state()).isEqualTo(JobState.RUNNING);
    assertThat(started.startedAt()).isEqualTo(at(10));

    store.claim(id, "w", 1, at(20), FAR_LEASE);
    JobRow later = row(id);
    assertThat(later.state()).isEqualTo(JobState.RUNNING);
    assertThat(later.startedAt()).isEqualTo(at(10));
  }

  @Test
  void claim_returns_nothing_for_an_unknown_job() {
    assertThat(store.claim(jobId(404), "w", 10, at(10), FAR_LEASE)).isEmpty();
    assertThat(store.job(jobId(404))).isEmpty();
  }

  @Test
  void claim_returns_nothing_for_a_paused_job() {
    JobId id = sealedJob(1, 3, 10);
    assertThat(store.setPaused(id, true)).isTrue();

    assertThat(store.claim(id, "w", 10, at(10), FAR_LEASE)).isEmpty();

    JobRow row = row(id);
    assertThat(row.state()).isEqualTo(JobState.PAUSED);
    assertThat(row.startedAt()).isNull();
    assertThat(Counts.of(row)).isEqualTo(new Counts(3, 0, 0, 0, 0));
  }

  @Test
  void claim_returns_nothing_for_a_final_job() {
    JobId id = sealedJob(1, 3, 10);
    assertThat(store.finish(id, at(10), JobState.CANCELLED, "\"stop\"", folder(succeeded())))
        .isPresent();

    assertThat(store.claim(id, "w", 10, at(20), FAR_LEASE)).isEmpty();

    JobRow row = row(id);
    assertThat(row.state()).isEqualTo(JobState.CANCELLED);
    assertThat(row.startedAt()).isNull();
    assertThat(Counts.of(row)).isEqualTo(new Counts(0, 0, 0, 0, 3));
  }

  @Test
  void claim_never_exceeds_max_concurrency() {
    JobId id = sealedJob(1, 10, 3);

    assertThat(indexes(store.claim(id, "a", 2, at(10), FAR_LEASE))).containsExactly(0L, 1L);
    assertThat(indexes(store.claim(id, "b", 5, at(10), FAR_LEASE))).containsExactly(2L);
    assertThat(store.claim(id, "a", 5, at(11), FAR_LEASE)).isEmpty();
    assertThat(store.claim(id, "c", 1, at(12), FAR_LEASE)).isEmpty();

    assertThat(Counts.of(row(id))).isEqualTo(new Counts(7, 3, 0, 0, 0));
  }

  @Test
  void a_settled_or_retried_item_frees_its_slot_and_the_lowest_index_goes_next() {
    JobId id = sealedJob(1, 5, 2);
    List<ClaimedTask> first = store.claim(id, "w", 5, at(10), FAR_LEASE);
    assertThat(indexes(first)).containsExactly(0L, 1L);

    store.complete(id, List.of(succeeded(first.get(0))), at(11));
    assertThat(indexes(store.claim(id, "w", 5, at(12), FAR_LEASE))).containsExactly(2L);

    store.complete(id, List.of(retry(first.get(1), at(5))), at(13));
    List<ClaimedTask> again = store.claim(id, "w", 5, at(14), FAR_LEASE);
    assertThat(indexes(again)).containsExactly(1L);
    assertThat(again.get(0).attempt()).isEqualTo(2);

    assertThat(store.claim(id, "w", 5, at(15), FAR_LEASE)).isEmpty();
    assertThat(Counts.of(row(id))).isEqualTo(new Counts(2, 2, 1, 0, 0));
  }

  @Test
  void simultaneous_claims_hand_out_at_most_max_concurrency_distinct_items() throws Exception {
    int threads = 16;
    int cap = 5;
    for (int round = 0; round < 20; round++) {
      JobId id = sealedJob(1 + round, 100, cap);

      List<List<ClaimedTask>> claims =
          runConcurrently(threads, t -> store.claim(id, "w" + t, 3, at(10), FAR_LEASE));

      List<Long> claimed = claims.stream().flatMap(List::stream).map(ClaimedTask::index).toList();
      assertThat(claimed)
          .as("round %d", round)
          .hasSizeLessThanOrEqualTo(cap)
          .doesNotHaveDuplicates();
      assertThat(row(id).running()).as("round %d", round).isEqualTo(claimed.size());
    }
  }

  @Test
  void concurrent_workers_never_exceed_max_concurrency_and_every_index_settles_once()
      throws Exception {
    int itemCount = 400;
    int cap = 3;
    int workers = 8;
    JobId id = sealedJob(1, itemCount, cap);
    Instant now = at(10);
    AtomicInteger inFlight = new AtomicInteger();
    AtomicInteger peak = new AtomicInteger();
    AtomicInteger settled = new AtomicInteger();
    AtomicIntegerArray settlements = new AtomicIntegerArray(itemCount);
    Set<Long> held = ConcurrentHashMap.newKeySet();
    Set<Long> seqs = ConcurrentHashMap.newKeySet();
    Queue<String> violations = new ConcurrentLinkedQueue<>();

    runConcurrently(
        workers + 1,
        t -> {
          if (t == workers) {
            // A watcher: the store's own count must respect the cap at every read too.
            while (settled.get() < itemCount && !Thread.currentThread().isInterrupted()) {
              long running = row(id).running();
              if (running > cap) {
                violations.add("job() read " + running + " RUNNING items");
              }
              Thread.yield();
            }
            return null;
          }
          SplittableRandom random = new SplittableRandom(t);
          while (settled.get() < itemCount && !Thread.currentThread().isInterrupted()) {
            List<ClaimedTask> claimed =
                store.claim(id, "worker-" + t, 1 + random.nextInt(3), now, FAR_LEASE);
            if (claimed.isEmpty()) {
              Thread.yield();
              continue;
            }
            // The store's RUNNING count is never below inFlight: it rises before the claim
            // returns and falls only after the reports below are applied.
            int current = inFlight.addAndGet(claimed.size());
            peak.accumulateAndGet(current, Math::max);
            if (current > cap) {
              violations.add(current + " items in flight after a claim");
            }
            List<Completion> reports = new ArrayList<>();
            for (ClaimedTask task : claimed) {
              if (!held.add(task.index())) {
                violations.add("index " + task.index() + " was handed to two workers at once");
              }
              reports.add(
                  task.index() % 5 == 0 && task.attempt() == 1
                      ? retry(task, at(0))
                      : succeeded(task));
            }
            for (ClaimedTask task : claimed) {
              held.remove(task.index());
            }
            inFlight.addAndGet(-claimed.size());
            for (StoredResult result : store.complete(id, reports, now)) {
              settlements.incrementAndGet((int) result.index());
              if (!seqs.add(result.seq())) {
                violations.add("seq " + result.seq() + " was given out twice");
              }
              settled.incrementAndGet();
            }
          }
          return null;
        });

    assertThat(violations).isEmpty();
    assertThat(peak.get()).isBetween(1, cap);
    for (int i = 0; i < itemCount; i++) {
      assertThat(settlements.get(i)).as("settlements of index %d", i).isEqualTo(1);
    }
    JobRow row = row(id);
    assertThat(Counts.of(row)).isEqualTo(new Counts(0, 0, itemCount, 0, 0));
    assertThat(row.retries()).isEqualTo(itemCount / 5);
    assertThat(row.lastSeq()).isEqualTo(Collections.max(seqs));
    List<StoredResult> results = store.results(id, 0, itemCount + 1);
    assertThat(results)
        .extracting(StoredResult::seq)
        .isSorted()
        .containsExactlyInAnyOrderElementsOf(seqs);
    assertThat(results)
        .filteredOn(r -> r.index() % 5 == 0)
        .extracting(StoredResult::attempts)
        .containsOnly(2);
  }

  // ---------------------------------------------------------------- renewLeases

  @Test
  void renewing_extends_only_the_owners_leases() {
    JobId id = sealedJob(1, 4, 10);
    List<ClaimedTask> a = store.claim(id, "a", 2, at(10), at(60));
    List<ClaimedTask> b = store.claim(id, "b", 2, at(10), at(60));

    assertThat(store.renewLeases("a", at(120))).isEqualTo(2);

    // Between the old lease end and the new one: only b's items have expired.
    assertThat(store.reclaimExpired(at(90))).isEqualTo(2);
    assertThat(Counts.of(row(id))).isEqualTo(new Counts(2, 2, 0, 0, 0));
    assertThat(store.complete(id, List.of(succeeded(b.get(0)), succeeded(b.get(1))), at(91)))
        .isEmpty();
    assertThat(store.complete(id, List.of(succeeded(a.get(0)), succeeded(a.get(1))), at(92)))
        .extracting(StoredResult::index)
        .containsExactly(0L, 1L);
  }

  @Test
  void renewing_covers_the_owners_running_items_in_every_job_and_nothing_else() {
    JobId first = sealedJob(1, 2, 10);
    JobId second = sealedJob(2, 1, 10);
    List<ClaimedTask> firstClaims = store.claim(first, "a", 2, at(10), at(60));
    store.claim(second, "a", 1, at(10), at(60));
    store.complete(first, List.of(succeeded(firstClaims.get(0))), at(11));

    assertThat(store.renewLeases("a", at(120))).isEqualTo(2);
    assertThat(store.renewLeases("nobody", at(120))).isZero();
    assertThat(store.reclaimExpired(at(90))).isZero();
    assertThat(store.reclaimExpired(at(120))).isEqualTo(2);
  }

  @Test
  void a_worker_that_lost_its_lease_renews_nothing() {
    JobId id = sealedJob(1, 1, 10);
    store.claim(id, "a", 1, at(10), at(60));
    assertThat(store.reclaimExpired(at(60))).isEqualTo(1);
    assertThat(store.renewLeases("a", at(500))).isZero();

    store.claim(id, "b", 1, at(61), at(100));
    assertThat(store.renewLeases("a", at(500))).isZero();

    // b's lease still ends at 100: a's renewal did not touch it.
    assertThat(store.reclaimExpired(at(100))).isEqualTo(1);
  }

  @Test
  void renewing_and_reclaiming_cover_the_running_items_of_a_paused_job() {
    // A store may look RUNNING items up job by job among the sealed jobs that are not final; a
    // paused job is one of them, and its running items still hold leases.
    JobId id = sealedJob(1, 2, 10);
    store.claim(id, "a", 2, at(10), at(60));
    assertThat(store.setPaused(id, true)).isTrue();

    assertThat(store.renewLeases("a", at(120))).isEqualTo(2);
    assertThat(store.reclaimExpired(at(90))).isZero();
    assertThat(store.reclaimExpired(at(120))).isEqualTo(2);
    assertThat(Counts.of(row(id))).isEqualTo(new Counts(2, 0, 0, 0, 0));
  }

  // ---------------------------------------------------------------- reclaimExpired

  @Test
  void reclaim_puts_back_only_items_whose_lease_ended_at_or_before_now() {
    JobId id = sealedJob(1, 3, 10);
    store.claim(id, "w", 1, at(10), at(50));
    List<ClaimedTask> later = store.claim(id, "w", 1, at(10), at(60));

    assertThat(store.reclaimExpired(at(49))).isZero();
    assertThat(Counts.of(row(id))).isEqualTo(new Counts(1, 2, 0, 0, 0));

    assertThat(store.reclaimExpired(at(50))).isEqualTo(1);
    assertThat(Counts.of(row(id))).isEqualTo(new Counts(2, 1, 0, 0, 0));

    assertThat(store.reclaimExpired(at(55))).isZero();
    assertThat(store.complete(id, List.of(succeeded(later.get(0))), at(56)))
        .extracting(StoredResult::index)
        .containsExactly(1L);
  }

  @Test
  void a_reclaimed_item_is_claimed_again_with_the_next_attempt_and_a_greater_fence() {
    JobId id = sealedJob(1, 1, 10);
    ClaimedTask first = store.claim(id, "a", 1, at(10), at(50)).get(0);
    assertThat(first.attempt()).isEqualTo(1);

    assertThat(store.reclaimExpired(at(50))).isEqualTo(1);
    ClaimedTask second = store.claim(id, "b", 1, at(51), at(100)).get(0);

    assertThat(second.index()).isZero();
    assertThat(second.attempt()).isEqualTo(2);
    assertThat(second.fence()).isGreaterThan(first.fence());
    assertThat(row(id).startedAt()).isEqualTo(at(10));
  }

  @Test
  void a_completion_with_the_fence_from_before_a_reclaim_is_dropped() {
    JobId id = sealedJob(1, 1, 10);
    ClaimedTask lost = store.claim(id, "a", 1, at(10), at(50)).get(0);
    assertThat(store.reclaimExpired(at(50))).isEqualTo(1);

    // The old holder reports while the item waits to be claimed again...
    assertThat(store.complete(id, List.of(succeeded(lost)), at(51))).isEmpty();
    assertThat(Counts.of(row(id))).isEqualTo(new Counts(1, 0, 0, 0, 0));

    // ... and again after another worker claimed it.
    ClaimedTask current = store.claim(id, "b", 1, at(52), at(100)).get(0);
    assertThat(store.complete(id, List.of(succeeded(lost)), at(53))).isEmpty();
    assertThat(store.complete(id, List.of(retry(lost, at(0))), at(53))).isEmpty();
    assertThat(Counts.of(row(id))).isEqualTo(new Counts(0, 1, 0, 0, 0));

    List<StoredResult> recorded = store.complete(id, List.of(succeeded(current)), at(54));
    assertThat(recorded).singleElement().extracting(StoredResult::attempts).isEqualTo(2);
    assertThat(store.results(id, 0, 10)).isEqualTo(recorded);
    assertThat(row(id).retries()).isZero();
  }

  @Test
  void completions_racing_reclaims_still_record_each_index_exactly_once() throws Exception {
    int itemCount = 300;
    int workers = 6;
    JobId id = sealedJob(1, itemCount, itemCount);
    Instant lease = at(100);
    AtomicInteger settled = new AtomicInteger();
    AtomicLong reclaimed = new AtomicLong();
    AtomicIntegerArray settlements = new AtomicIntegerArray(itemCount);
    Set<Long> seqs = ConcurrentHashMap.newKeySet();
    Queue<String> violations = new ConcurrentLinkedQueue<>();

    runConcurrently(
        workers + 1,
        t -> {
          if (t == workers) {
            // Every lease ends at 100, so each call takes back whatever is RUNNING right now.
            // It stops at three quarters so the workers are sure to finish.
            for (int i = 0; i < 100_000 && settled.get() < itemCount * 3 / 4; i++) {
              if (Thread.currentThread().isInterrupted()) {
                break;
              }
              reclaimed.addAndGet(store.reclaimExpired(lease));
              Thread.yield();
            }
            return null;
          }
          SplittableRandom random = new SplittableRandom(t);
          while (settled.get() < itemCount && !Thread.currentThread().isInterrupted()) {
            List<ClaimedTask> claimed =
                store.claim(id, "worker-" + t, 1 + random.nextInt(4), at(50), lease);
            if (claimed.isEmpty()) {
              Thread.yield();
              continue;
            }
            List<Completion> reports = claimed.stream().map(task -> succeeded(task)).toList();
            for (StoredResult result : store.complete(id, reports, at(60))) {
              settlements.incrementAndGet((int) result.index());
              if (!seqs.add(result.seq())) {
                violations.add("seq " + result.seq() + " was given out twice");
              }
              settled.incrementAndGet();
            }
          }
          return null;
        });

    assertThat(violations).isEmpty();
    for (int i = 0; i < itemCount; i++) {
      assertThat(settlements.get(i))
          .as("settlements of index %d (%d reclaims)", i, reclaimed.get())
          .isEqualTo(1);
    }
    JobRow row = row(id);
    assertThat(Counts.of(row)).isEqualTo(new Counts(0, 0, itemCount, 0, 0));
    assertThat(store.results(id, 0, itemCount + 1))
        .extracting(StoredResult::index)
        .doesNotHaveDuplicates()
        .hasSize(itemCount);
  }

  // ---------------------------------------------------------------- complete

  @Test
  void settled_items_get_increasing_sequence_numbers_in_report_order() {
    JobId id = sealedJob(1, 5, 10);
    List<ClaimedTask> claimed = store.claim(id, "w", 5, at(10), FAR_LEASE);

    List<StoredResult> first =
        store.complete(
            id,
            List.of(succeeded(claimed.get(3)), failed(claimed.get(1)), succeeded(claimed.get(0))),
            at(11));
    List<StoredResult> second =
        store.complete(id, List.of(succeeded(claimed.get(4)), failed(claimed.get(2))), at(12));

    assertThat(first).extracting(StoredResult::index).containsExactly(3L, 1L, 0L);
    assertThat(second).extracting(StoredResult::index).containsExactly(4L, 2L);
    List<Long> seqs =
        Stream.concat(first.stream(), second.stream()).map(StoredResult::seq).toList();
    assertThat(seqs.get(0)).isEqualTo(1L);
    assertThat(seqs).isSorted().doesNotHaveDuplicates();
    assertThat(row(id).lastSeq()).isEqualTo(seqs.get(seqs.size() - 1));
  }

  @Test
  void a_stored_result_carries_its_status_value_or_error_attempts_and_duration() {
    JobId id = sealedJob(1, 3, 10);
    List<ClaimedTask> claimed = store.claim(id, "w", 3, at(10), FAR_LEASE);

    List<StoredResult> first =
        store.complete(
            id,
            List.of(
                new Completion.Succeeded(
                    0, claimed.get(0).fence(), claimed.get(0).attempt(), "100", 1_500),
                new Completion.Failed(
                    1, claimed.get(1).fence(), claimed.get(1).attempt(), "\"boom\"", 2_500),
                retry(claimed.get(2), at(20))),
            at(12));
    ClaimedTask again = store.claim(id, "w", 1, at(21), FAR_LEASE).get(0);
    List<StoredResult> second =
        store.complete(
            id,
            List.of(new Completion.Succeeded(2, again.fence(), again.attempt(), "400", 12_000)),
            at(22));

    assertThat(first)
        .containsExactly(
            new StoredResult(id, 1, 0, TaskState.SUCCEEDED, "100", null, 1, 1_500),
            new StoredResult(
                id, first.get(1).seq(), 1, TaskState.FAILED, null, "\"boom\"", 1, 2_500));
    assertThat(second)
        .containsExactly(
            new StoredResult(
                id, second.get(0).seq(), 2, TaskState.SUCCEEDED, "400", null, 2, 12_000));
    assertThat(store.results(id, 0, 10)).containsExactly(first.get(0), first.get(1), second.get(0));
    JobRow row = row(id);
    assertThat(Counts.of(row)).isEqualTo(new Counts(0, 0, 2, 1, 0));
    assertThat(row.retries()).isEqualTo(1);
    assertThat(row.lastSeq()).isEqualTo(second.get(0).seq());
  }

  /**
   * A result records its item's own attempt count, even from a report that names another: a store
   * that takes the attempt from the report must check it.
   */
  @Test
  void a_settled_item_records_its_own_attempt_count_whatever_the_report_says() {
    JobId id = sealedJob(1, 2, 10);
    List<ClaimedTask> claimed = store.claim(id, "w", 2, at(10), FAR_LEASE);

    List<StoredResult> settled =
        store.complete(
            id,
            List.of(
                new Completion.Succeeded(0, claimed.get(0).fence(), 7, "0", 5),
                new Completion.Failed(1, claimed.get(1).fence(), 3, "\"no\"", 5)),
            at(11));

    assertThat(settled).extracting(StoredResult::attempts).containsExactly(1, 1);
    assertThat(store.results(id, 0, 10)).extracting(StoredResult::attempts).containsExactly(1, 1);
    assertThat(Counts.of(row(id))).isEqualTo(new Counts(0, 0, 1, 1, 0));
  }

  /**
   * A report that names a PENDING item's current fence is no claim's: an item never claimed has
   * fence 0, and one put back by a retry has the fence after its last claim's. Both are dropped.
   */
  @Test
  void a_report_naming_a_pending_item_s_own_fence_is_dropped() {
    JobId id = sealedJob(1, 3, 10);
    ClaimedTask zero = store.claim(id, "w", 1, at(10), FAR_LEASE).get(0);
    store.complete(id, List.of(retry(zero, at(10))), at(11));

    // One call each: a store that writes a batch before reading its items drops a whole batch
    // when any one report in it misses, so only a report alone shows what its own guard lets by.
    List<Completion> forged =
        List.of(
            new Completion.Succeeded(0, zero.fence() + 1, zero.attempt(), "0", 5),
            new Completion.Retry(1, 0, "\"never claimed\"", at(20)),
            new Completion.Failed(2, 0, 1, "\"never claimed\"", 5));
    for (Completion report : forged) {
      assertThat(store.complete(id, List.of(report), at(12))).as("%s", report).isEmpty();
    }

    assertThat(Counts.of(row(id))).isEqualTo(new Counts(3, 0, 0, 0, 0));
    assertThat(row(id).retries()).isEqualTo(1);
    assertThat(store.claim(id, "w", 3, at(30), FAR_LEASE))
        .extracting(ClaimedTask::index, ClaimedTask::attempt)
        .containsExactlyInAnyOrder(tuple(0L, 2), tuple(1L, 1), tuple(2L, 1));
  }

  @Test
  void a_report_with_a_stale_fence_is_dropped_and_not_returned() {
    JobId id = sealedJob(1, 2, 10);
    List<ClaimedTask> claimed = store.claim(id, "w", 2, at(10), FAR_LEASE);
    ClaimedTask zero = claimed.get(0);

    List<StoredResult> results =
        store.complete(
            id,
            List.of(
                new Completion.Succeeded(0, zero.fence() - 1, zero.attempt(), "0", 5),
                new Completion.Failed(0, zero.fence() + 1, zero.attempt(), "\"stale\"", 5),
                new Completion.Retry(0, zero.fence() - 1, "\"stale\"", at(20)),
                succeeded(claimed.get(1))),
            at(11));

    assertThat(results).extracting(StoredResult::index).containsExactly(1L);
    assertThat(Counts.of(row(id))).isEqualTo(new Counts(0, 1, 1, 0, 0));
    assertThat(row(id).retries()).isZero();
    assertThat(store.complete(id, List.of(succeeded(zero)), at(12)))
        .extracting(StoredResult::index)
        .containsExactly(0L);
  }

  @Test
  void a_duplicate_report_in_one_batch_settles_the_item_once() {
    JobId id = sealedJob(1, 1, 10);
    ClaimedTask task = store.claim(id, "w", 1, at(10), FAR_LEASE).get(0);

    List<StoredResult> results =
        store.complete(id, List.of(succeeded(task), failed(task), succeeded(task)), at(11));

    assertThat(results)
        .singleElement()
        .extracting(StoredResult::status)
        .isEqualTo(TaskState.SUCCEEDED);
    assertThat(store.complete(id, List.of(succeeded(task)), at(12))).isEmpty();
    JobRow row = row(id);
    assertThat(Counts.of(row)).isEqualTo(new Counts(0, 0, 1, 0, 0));
    assertThat(store.results(id, 0, 10)).isEqualTo(results);
  }

  @Test
  void reports_for_unknown_items_or_jobs_are_dropped() {
    JobId id = sealedJob(1, 1, 10);
    ClaimedTask task = store.claim(id, "w", 1, at(10), FAR_LEASE).get(0);

    assertThat(
            store.complete(
                id,
                List.of(new Completion.Succeeded(7, task.fence(), task.attempt(), "7", 1)),
                at(11)))
        .isEmpty();
    assertThat(store.complete(jobId(404), List.of(succeeded(task)), at(11))).isEmpty();
    assertThat(Counts.of(row(id))).isEqualTo(new Counts(0, 1, 0, 0, 0));
    assertThat(store.job(jobId(404))).isEmpty();
  }

  /**
   * A store that keys items by a number per job (H2's: the job's number times 2³² plus the index)
   * must not let an index past the job's range reach the next job's items, whose claim may carry
   * the same fence and attempt.
   */
  @Test
  void a_report_with_an_index_out_of_range_reaches_no_other_job() {
    JobId first = sealedJob(1, 1, 10);
    JobId second = sealedJob(2, 1, 10);
    store.claim(first, "w", 1, at(10), FAR_LEASE);
    ClaimedTask other = store.claim(second, "w", 1, at(10), FAR_LEASE).get(0);

    for (long index : new long[] {1L << 32, -1, Long.MAX_VALUE}) {
      assertThat(
              store.complete(
                  first,
                  List.of(
                      new Completion.Succeeded(index, other.fence(), other.attempt(), "\"x\"", 1)),
                  at(11)))
          .isEmpty();
      assertThat(
              store.complete(
                  first,
                  List.of(new Completion.Retry(index, other.fence(), "\"again\"", at(30))),
                  at(11)))
          .isEmpty();
    }

    assertThat(Counts.of(row(first))).isEqualTo(new Counts(0, 1, 0, 0, 0));
    assertThat(Counts.of(row(second))).isEqualTo(new Counts(0, 1, 0, 0, 0));
    assertThat(store.complete(second, List.of(succeeded(other)), at(12))).hasSize(1);
  }

  @Test
  void a_retry_puts_the_item_back_to_pending_with_a_new_fence_and_counts_it() {
    JobId id = sealedJob(1, 2, 10);
    List<ClaimedTask> claimed = store.claim(id, "w", 2, at(10), FAR_LEASE);

    List<StoredResult> results =
        store.complete(
            id, List.of(retry(claimed.get(0), at(30)), retry(claimed.get(1), at(30))), at(11));

    assertThat(results).isEmpty();
    JobRow row = row(id);
    assertThat(Counts.of(row)).isEqualTo(new Counts(2, 0, 0, 0, 0));
    assertThat(row.retries()).isEqualTo(2);
    assertThat(row.lastSeq()).isZero();
    assertThat(store.results(id, 0, 10)).isEmpty();
    // The retry handed the item back, so its old fence is stale now.
    assertThat(store.complete(id, List.of(succeeded(claimed.get(0))), at(12))).isEmpty();
    assertThat(store.renewLeases("w", FAR_LEASE)).isZero();
  }

  @Test
  void a_retried_item_is_claimable_only_after_its_not_before() {
    JobId id = sealedJob(1, 3, 10);
    ClaimedTask first = store.claim(id, "w", 1, at(10), FAR_LEASE).get(0);
    store.complete(id, List.of(retry(first, at(30))), at(11));

    assertThat(indexes(store.claim(id, "w", 1, at(20), FAR_LEASE))).containsExactly(1L);
    assertThat(store.claim(id, "w", 1, at(29), FAR_LEASE))
        .extracting(ClaimedTask::index)
        .containsExactly(2L);
    assertThat(store.claim(id, "w", 5, at(29), FAR_LEASE)).isEmpty();

    List<ClaimedTask> afterwards = store.claim(id, "w", 5, at(31), FAR_LEASE);
    assertThat(afterwards)
        .singleElement()
        .satisfies(
            task -> {
              assertThat(task.index()).isZero();
              assertThat(task.attempt()).isEqualTo(2);
              assertThat(task.fence()).isGreaterThan(first.fence());
            });
  }

  @Test
  void running_items_of_a_paused_job_can_still_complete() {
    JobId id = sealedJob(1, 3, 10);
    List<ClaimedTask> claimed = store.claim(id, "w", 2, at(10), FAR_LEASE);
    assertThat(store.setPaused(id, true)).isTrue();

    assertThat(store.complete(id, List.of(succeeded(claimed.get(0))), at(11))).hasSize(1);
    assertThat(store.complete(id, List.of(retry(claimed.get(1), at(0))), at(12))).isEmpty();

    JobRow row = row(id);
    assertThat(row.state()).isEqualTo(JobState.PAUSED);
    assertThat(Counts.of(row)).isEqualTo(new Counts(2, 0, 1, 0, 0));
    assertThat(store.claim(id, "w", 5, at(13), FAR_LEASE)).isEmpty();
  }

  // ---------------------------------------------------------------- completeAndClaim

  @Test
  void complete_and_claim_hands_the_freed_slots_to_the_lowest_pending_indexes() {
    JobId id = sealedJob(1, 6, 2);
    List<ClaimedTask> first = store.claim(id, "w", 5, at(10), FAR_LEASE);

    Recorded recorded =
        store.completeAndClaim(id, List.of(succeeded(first.get(1))), at(11), "w", 5, FAR_LEASE);

    assertThat(recorded.settled()).extracting(StoredResult::index).containsExactly(1L);
    assertThat(recorded.settled().get(0).seq()).isEqualTo(1L);
    // The cap of 2 leaves one slot, the one the settled item freed.
    assertThat(indexes(recorded.claimed())).containsExactly(2L);
    assertThat(recorded.claimed().get(0).attempt()).isEqualTo(1);
    assertThat(recorded.drained()).isFalse();
    assertThat(Counts.of(row(id))).isEqualTo(new Counts(3, 2, 1, 0, 0));
    assertThat(store.renewLeases("w", FAR_LEASE)).isEqualTo(2);
  }

  @Test
  void complete_and_claim_claims_a_retry_that_is_already_due_with_its_next_attempt() {
    JobId id = sealedJob(1, 1, 5);
    ClaimedTask task = store.claim(id, "w", 1, at(10), FAR_LEASE).get(0);

    Recorded recorded =
        store.completeAndClaim(id, List.of(retry(task, at(11))), at(12), "w", 1, FAR_LEASE);

    assertThat(recorded.settled()).isEmpty();
    assertThat(recorded.claimed())
        .singleElement()
        .satisfies(
            again -> {
              assertThat(again.index()).isZero();
              assertThat(again.attempt()).isEqualTo(2);
              assertThat(again.fence()).isGreaterThan(task.fence());
            });
    JobRow row = row(id);
    assertThat(Counts.of(row)).isEqualTo(new Counts(0, 1, 0, 0, 0));
    assertThat(row.retries()).isEqualTo(1);
  }

  @Test
  void complete_and_claim_leaves_a_retry_that_is_not_yet_due() {
    JobId id = sealedJob(1, 1, 5);
    ClaimedTask task = store.claim(id, "w", 1, at(10), FAR_LEASE).get(0);

    Recorded recorded =
        store.completeAndClaim(id, List.of(retry(task, at(30))), at(12), "w", 5, FAR_LEASE);

    assertThat(recorded.claimed()).isEmpty();
    assertThat(recorded.drained()).isFalse();
    assertThat(Counts.of(row(id))).isEqualTo(new Counts(1, 0, 0, 0, 0));
  }

  @Test
  void complete_and_claim_of_a_paused_job_records_but_claims_nothing() {
    JobId id = sealedJob(1, 4, 2);
    List<ClaimedTask> claimed = store.claim(id, "w", 2, at(10), FAR_LEASE);
    assertThat(store.setPaused(id, true)).isTrue();

    Recorded recorded =
        store.completeAndClaim(id, List.of(succeeded(claimed.get(0))), at(11), "w", 5, FAR_LEASE);

    assertThat(recorded.settled()).hasSize(1);
    assertThat(recorded.claimed()).isEmpty();
    assertThat(Counts.of(row(id))).isEqualTo(new Counts(2, 1, 1, 0, 0));
  }

  @Test
  void complete_and_claim_with_a_limit_of_zero_only_records() {
    JobId id = sealedJob(1, 3, 1);
    ClaimedTask task = store.claim(id, "w", 1, at(10), FAR_LEASE).get(0);

    Recorded recorded =
        store.completeAndClaim(id, List.of(succeeded(task)), at(11), "w", 0, FAR_LEASE);

    assertThat(recorded.settled()).hasSize(1);
    assertThat(recorded.claimed()).isEmpty();
    assertThat(Counts.of(row(id))).isEqualTo(new Counts(2, 0, 1, 0, 0));
  }

  @Test
  void complete_and_claim_counts_only_the_slots_that_fresh_reports_free() {
    JobId id = sealedJob(1, 5, 2);
    List<ClaimedTask> claimed = store.claim(id, "w", 2, at(10), FAR_LEASE);
    ClaimedTask zero = claimed.get(0);
    Completion stale = new Completion.Succeeded(0, zero.fence() - 1, zero.attempt(), "0", 5);

    Recorded recorded = store.completeAndClaim(id, List.of(stale), at(11), "w", 5, FAR_LEASE);

    assertThat(recorded.settled()).isEmpty();
    assertThat(recorded.claimed()).isEmpty();
    assertThat(Counts.of(row(id))).isEqualTo(new Counts(3, 2, 0, 0, 0));
  }

  /**
   * One stale report among fresh ones of other items: the fresh ones are recorded, numbered without
   * a gap and free their slots for the claim in the same call, in either result order. (A store may
   * first record a batch as if every report held, and fall back when one does not.)
   */
  @ParameterizedTest
  @EnumSource(ResultOrder.class)
  void a_stale_report_among_fresh_ones_leaves_them_recorded_numbered_and_their_slots_refilled(
      ResultOrder order) {
    assumeTrue(store.supportsResultOrder(order));
    JobId id = sealedJob(jobId(1), at(0), 6, 3, order);
    List<ClaimedTask> claimed = store.claim(id, "w", 3, at(10), FAR_LEASE);
    ClaimedTask zero = claimed.get(0);

    Recorded recorded =
        store.completeAndClaim(
            id,
            List.of(
                new Completion.Succeeded(0, zero.fence() - 1, zero.attempt(), "\"stale\"", 5),
                succeeded(claimed.get(1)),
                retry(claimed.get(2), at(20))),
            at(11),
            "w",
            5,
            FAR_LEASE);

    assertThat(recorded.settled())
        .singleElement()
        .satisfies(
            r -> {
              assertThat(r.index()).isEqualTo(1);
              assertThat(r.attempts()).isEqualTo(1);
              assertThat(r.value()).isEqualTo("1");
            });
    // Item 2 waits for its backoff, so the two freed slots go to the next fresh items.
    assertThat(indexes(recorded.claimed())).containsExactly(3L, 4L);
    assertThat(Counts.of(row(id))).isEqualTo(new Counts(2, 3, 1, 0, 0));
    assertThat(row(id).retries()).isEqualTo(1);

    // Item 0's own claim still holds it: its report settles it, and both are numbered 1 and 2.
    store.complete(id, List.of(succeeded(zero)), at(12));
    List<List<Long>> expected =
        order == ResultOrder.INPUT
            ? List.of(List.of(1L, 0L), List.of(2L, 1L))
            : List.of(List.of(1L, 1L), List.of(2L, 0L));
    assertThat(seqAndIndex(store.results(id, 0, 10))).isEqualTo(expected);
  }

  /**
   * A stale retry among fresh reports of other items: the item it names stays with its own claim,
   * and the fresh reports are recorded with their attempts. (A store that first records a batch as
   * if every report held learns of the stale retry only from the rows its update changed.)
   */
  @Test
  void a_stale_retry_among_fresh_reports_leaves_its_item_running_and_records_the_rest() {
    JobId id = sealedJob(1, 4, 4);
    List<ClaimedTask> claimed = store.claim(id, "w", 4, at(10), FAR_LEASE);
    ClaimedTask three = claimed.get(3);

    Recorded recorded =
        store.completeAndClaim(
            id,
            List.of(
                succeeded(claimed.get(0)),
                new Completion.Retry(3, three.fence() - 1, "\"stale\"", at(20)),
                failed(claimed.get(1))),
            at(11),
            "w",
            5,
            FAR_LEASE);

    assertThat(recorded.settled())
        .extracting(StoredResult::index, StoredResult::status, StoredResult::attempts)
        .containsExactlyInAnyOrder(
            tuple(0L, TaskState.SUCCEEDED, 1), tuple(1L, TaskState.FAILED, 1));
    assertThat(recorded.claimed()).isEmpty();
    assertThat(Counts.of(row(id))).isEqualTo(new Counts(0, 2, 1, 1, 0));
    assertThat(row(id).retries()).isZero();

    // Item 3's own claim still holds it, so its own retry applies.
    store.complete(id, List.of(retry(three, at(20))), at(12));
    assertThat(Counts.of(row(id))).isEqualTo(new Counts(1, 1, 1, 1, 0));
  }

  @Test
  void complete_and_claim_reports_a_drained_job_only_when_nothing_is_left_to_run() {
    JobId id = sealedJob(1, 3, 3);
    List<ClaimedTask> claimed = store.claim(id, "w", 3, at(10), FAR_LEASE);

    Recorded partial =
        store.completeAndClaim(
            id,
            List.of(succeeded(claimed.get(0)), failed(claimed.get(1))),
            at(11),
            "w",
            5,
            FAR_LEASE);
    Recorded last =
        store.completeAndClaim(id, List.of(succeeded(claimed.get(2))), at(12), "w", 5, FAR_LEASE);

    assertThat(partial.drained()).isFalse();
    assertThat(last.drained()).isTrue();
    assertThat(last.claimed()).isEmpty();
    assertThat(Counts.of(row(id))).isEqualTo(new Counts(0, 0, 2, 1, 0));
    assertThat(row(id).lastSeq()).isEqualTo(3L);
  }

  @Test
  void complete_and_claim_of_an_unknown_job_does_nothing() {
    Recorded recorded = store.completeAndClaim(jobId(404), List.of(), at(11), "w", 5, FAR_LEASE);

    assertThat(recorded.settled()).isEmpty();
    assertThat(recorded.claimed()).isEmpty();
    assertThat(recorded.drained()).isFalse();
  }

  @Test
  void workers_that_record_and_refill_in_one_call_never_exceed_the_cap_and_settle_each_index_once()
      throws Exception {
    int itemCount = 400;
    int cap = 4;
    int workers = 6;
    JobId id = sealedJob(1, itemCount, cap);
    Instant now = at(10);
    AtomicInteger settled = new AtomicInteger();
    AtomicIntegerArray settlements = new AtomicIntegerArray(itemCount);
    Set<Long> held = ConcurrentHashMap.newKeySet();
    Set<Long> seqs = ConcurrentHashMap.newKeySet();
    Queue<String> violations = new ConcurrentLinkedQueue<>();

    runConcurrently(
        workers,
        t -> {
          SplittableRandom random = new SplittableRandom(t);
          List<ClaimedTask> mine = store.claim(id, "worker-" + t, 1, now, FAR_LEASE);
          while (settled.get() < itemCount && !Thread.currentThread().isInterrupted()) {
            if (mine.isEmpty()) {
              // A worker whose refill came up empty claims on its own, as the dispatcher does.
              mine = store.claim(id, "worker-" + t, 1 + random.nextInt(2), now, FAR_LEASE);
              Thread.yield();
              continue;
            }
            List<Completion> reports = new ArrayList<>();
            for (ClaimedTask task : mine) {
              if (!held.add(task.index())) {
                violations.add("index " + task.index() + " was handed to two workers at once");
              }
              reports.add(
                  task.index() % 7 == 0 && task.attempt() == 1
                      ? retry(task, at(0))
                      : succeeded(task));
            }
            for (ClaimedTask task : mine) {
              held.remove(task.index());
            }
            Recorded recorded =
                store.completeAndClaim(
                    id, reports, now, "worker-" + t, 1 + random.nextInt(3), FAR_LEASE);
            for (StoredResult result : recorded.settled()) {
              settlements.incrementAndGet((int) result.index());
              if (!seqs.add(result.seq())) {
                violations.add("seq " + result.seq() + " was given out twice");
              }
              settled.incrementAndGet();
            }
            long running = row(id).running();
            if (running > cap) {
              violations.add("job() read " + running + " RUNNING items");
            }
            mine = recorded.claimed();
          }
          return null;
        });

    assertThat(violations).isEmpty();
    for (int i = 0; i < itemCount; i++) {
      assertThat(settlements.get(i)).as("settlements of index %d", i).isEqualTo(1);
    }
    JobRow row = row(id);
    assertThat(Counts.of(row)).isEqualTo(new Counts(0, 0, itemCount, 0, 0));
    assertThat(row.retries()).isEqualTo((itemCount + 6) / 7);
    assertThat(row.lastSeq()).isEqualTo(itemCount);
  }

  @Test
  void racing_duplicate_reports_settle_each_item_once_with_unique_sequence_numbers()
      throws Exception {
    int itemCount = 200;
    int reporters = 4;
    JobId id = sealedJob(1, itemCount, itemCount);
    List<ClaimedTask> claimed = store.claim(id, "w", itemCount, at(10), FAR_LEASE);
    assertThat(claimed).hasSize(itemCount);

    List<List<StoredResult>> settledBy =
        runConcurrently(
            reporters,
            t -> {
              List<ClaimedTask> order = new ArrayList<>(claimed);
              Collections.shuffle(order, new Random(t));
              List<StoredResult> mine = new ArrayList<>();
              for (int from = 0; from < itemCount; from += 10) {
                List<Completion> batch =
                    order.subList(from, from + 10).stream().map(task -> succeeded(task)).toList();
                mine.addAll(store.complete(id, batch, at(11)));
              }
              return mine;
            });

    List<StoredResult> all = settledBy.stream().flatMap(List::stream).toList();
    assertThat(all).extracting(StoredResult::index).doesNotHaveDuplicates().hasSize(itemCount);
    assertThat(all).extracting(StoredResult::seq).doesNotHaveDuplicates();
    JobRow row = row(id);
    assertThat(Counts.of(row)).isEqualTo(new Counts(0, 0, itemCount, 0, 0));
    assertThat(row.lastSeq())
        .isEqualTo(all.stream().mapToLong(StoredResult::seq).max().orElseThrow());
    assertThat(store.results(id, 0, itemCount + 1)).containsExactlyInAnyOrderElementsOf(all);
  }

  // ---------------------------------------------------------------- results

  @Test
  void results_page_in_sequence_order_after_a_given_sequence_number() {
    JobId id = sealedJob(1, 5, 10);
    List<ClaimedTask> claimed = store.claim(id, "w", 5, at(10), FAR_LEASE);
    List<StoredResult> settled = new ArrayList<>();
    settled.addAll(
        store.complete(id, List.of(succeeded(claimed.get(4)), failed(claimed.get(0))), at(11)));
    settled.addAll(store.complete(id, List.of(succeeded(claimed.get(2))), at(12)));
    settled.addAll(
        store.complete(id, List.of(succeeded(claimed.get(1)), succeeded(claimed.get(3))), at(13)));

    assertThat(store.results(id, 0, 100)).isEqualTo(settled);
    assertThat(store.results(id, 0, 2)).isEqualTo(settled.subList(0, 2));
    assertThat(store.results(id, settled.get(1).seq(), 2)).isEqualTo(settled.subList(2, 4));
    assertThat(store.results(id, settled.get(3).seq(), 2)).isEqualTo(settled.subList(4, 5));
    assertThat(store.results(id, settled.get(4).seq(), 2)).isEmpty();
  }

  @Test
  void results_of_an_unknown_job_are_empty() {
    assertThat(store.results(jobId(404), 0, 10)).isEmpty();
  }

  // ---------------------------------------------------------------- finish

  @Test
  void finish_is_not_ready_while_items_are_pending_or_running() {
    JobId id = sealedJob(1, 2, 10);
    RecordingFolder folder = folder(succeeded());

    assertThat(store.finish(id, at(5), null, null, folder)).isEmpty();
    List<ClaimedTask> claimed = store.claim(id, "w", 2, at(10), FAR_LEASE);
    assertThat(store.finish(id, at(11), null, null, folder)).isEmpty();
    store.complete(id, List.of(succeeded(claimed.get(0)), retry(claimed.get(1), at(20))), at(12));
    assertThat(store.finish(id, at(13), null, null, folder)).isEmpty();
    ClaimedTask again = store.claim(id, "w", 1, at(21), FAR_LEASE).get(0);
    assertThat(store.finish(id, at(22), null, null, folder)).isEmpty();

    assertThat(folder.calls()).isZero();
    JobRow row = row(id);
    assertThat(row.state()).isEqualTo(JobState.RUNNING);
    assertThat(row.finishedAt()).isNull();
    assertThat(row.aggregate()).isNull();
    assertThat(store.activeJobs()).containsExactly(id);

    store.complete(id, List.of(succeeded(again)), at(23));
    assertThat(store.finish(id, at(24), null, null, folder)).isPresent();
    assertThat(folder.calls()).isEqualTo(1);
  }

  @Test
  void finish_is_not_ready_for_an_unsealed_job() {
    JobId id = jobId(1);
    store.createJob(new NewJob(id, "\"spec\"", 10, at(0), null));
    RecordingFolder folder = folder(succeeded());

    assertThat(store.finish(id, at(10), null, null, folder)).isEmpty();

    assertThat(folder.calls()).isZero();
    JobRow row = row(id);
    assertThat(row.state()).isEqualTo(JobState.ACCEPTED);
    assertThat(row.finishedAt()).isNull();
  }

  @Test
  void finish_of_an_unknown_job_is_empty() {
    RecordingFolder folder = folder(succeeded());

    assertThat(store.finish(jobId(404), at(10), null, null, folder)).isEmpty();
    assertThat(store.finish(jobId(404), at(10), JobState.CANCELLED, "\"x\"", folder)).isEmpty();
    assertThat(folder.calls()).isZero();
    assertThat(store.job(jobId(404))).isEmpty();
  }

  @Test
  void finish_folds_the_succeeded_values_in_index_order_with_the_final_counts() {
    int itemCount = 12;
    JobId id = sealedJob(1, itemCount, itemCount);
    List<ClaimedTask> claimed = store.claim(id, "w", itemCount, at(10), FAR_LEASE);
    // Out of index order, over several calls; items 3, 7 and 11 fail.
    int[] order = {7, 2, 11, 0, 5, 9, 3, 10, 1, 8, 6, 4};
    for (int from = 0; from < order.length; from += 4) {
      List<Completion> batch = new ArrayList<>();
      for (int i = from; i < from + 4; i++) {
        ClaimedTask task = claimed.get(order[i]);
        batch.add(task.index() % 4 == 3 ? failed(task) : succeeded(task));
      }
      store.complete(id, batch, at(11 + from));
    }
    RecordingFolder folder = folder(new Verdict(JobState.SUCCEEDED, "\"sum\"", null));

    Optional<JobRow> finished = store.finish(id, at(40), null, null, folder);

    assertThat(finished).isPresent();
    assertThat(folder.calls()).isEqualTo(1);
    // The squares of the succeeded indexes, in index order.
    assertThat(folder.values()).containsExactly("0", "1", "4", "16", "25", "36", "64", "81", "100");
    assertThat(folder.indexes()).containsExactly(0L, 1L, 2L, 4L, 5L, 6L, 8L, 9L, 10L);
    JobRow seen = folder.job();
    assertThat(seen.id()).isEqualTo(id);
    assertThat(seen.total()).isEqualTo(itemCount);
    assertThat(Counts.of(seen)).isEqualTo(new Counts(0, 0, 9, 3, 0));
  }

  @Test
  void finish_stores_the_verdict_with_finished_at_now() {
    JobId id = sealedJob(1, 2, 10);
    List<ClaimedTask> claimed = store.claim(id, "w", 2, at(10), FAR_LEASE);
    store.complete(id, List.of(succeeded(claimed.get(0)), failed(claimed.get(1))), at(11));
    RecordingFolder folder =
        folder(new Verdict(JobState.FAILED, "\"partial\"", "\"too many failures\""));

    JobRow finished = store.finish(id, at(40), null, null, folder).orElseThrow();

    assertThat(finished.id()).isEqualTo(id);
    assertThat(finished.state()).isEqualTo(JobState.FAILED);
    assertThat(finished.aggregate()).isEqualTo("\"partial\"");
    assertThat(finished.error()).isEqualTo("\"too many failures\"");
    assertThat(finished.finishedAt()).isEqualTo(at(40));
    assertThat(finished.startedAt()).isEqualTo(at(10));
    assertThat(finished.sealed()).isTrue();
    assertThat(finished.total()).isEqualTo(2);
    assertThat(Counts.of(finished)).isEqualTo(new Counts(0, 0, 1, 1, 0));
    assertThat(finished.lastSeq()).isEqualTo(row(id).lastSeq());
    assertThat(store.job(id)).contains(finished);
    assertThat(store.activeJobs()).isEmpty();
  }

  @Test
  void finish_ends_a_job_exactly_once() {
    JobId id = sealedJob(1, 1, 10);
    ClaimedTask task = store.claim(id, "w", 1, at(10), FAR_LEASE).get(0);
    store.complete(id, List.of(succeeded(task)), at(11));
    RecordingFolder folder = folder(new Verdict(JobState.SUCCEEDED, "1", null));
    JobRow finished = store.finish(id, at(20), null, null, folder).orElseThrow();

    assertThat(store.finish(id, at(30), null, null, folder)).isEmpty();
    assertThat(store.finish(id, at(31), JobState.CANCELLED, "\"late\"", folder)).isEmpty();
    assertThat(store.finish(id, at(32), JobState.FAILED, "\"late\"", folder)).isEmpty();

    assertThat(folder.calls()).isEqualTo(1);
    assertThat(store.job(id)).contains(finished);
  }

  @Test
  void concurrent_finishes_end_a_job_exactly_once() throws Exception {
    int threads = 8;
    for (int round = 0; round < 20; round++) {
      JobId id = sealedJob(1 + round, 3, 10);
      List<ClaimedTask> claimed = store.claim(id, "w", 3, at(10), FAR_LEASE);
      store.complete(id, claimed.stream().map(t -> succeeded(t)).toList(), at(11));
      AtomicInteger folds = new AtomicInteger();
      JobStore.Folder folder =
          (job, values) -> {
            folds.incrementAndGet();
            values.forEachRemaining(v -> {});
            return new Verdict(JobState.SUCCEEDED, "\"done\"", null);
          };

      // Half the threads force a cancellation: whoever wins, the job ends once.
      List<Optional<JobRow>> outcomes =
          runConcurrently(
              threads,
              t ->
                  store.finish(
                      id, at(20 + t), t % 2 == 0 ? null : JobState.CANCELLED, "\"stop\"", folder));

      List<JobRow> winners = outcomes.stream().flatMap(Optional::stream).toList();
      assertThat(winners).as("round %d", round).hasSize(1);
      assertThat(folds).as("round %d", round).hasValue(1);
      assertThat(store.job(id)).as("round %d", round).contains(winners.get(0));
    }
  }

  @Test
  void a_forced_finish_cancels_pending_and_running_items() {
    JobId id = sealedJob(1, 5, 10);
    List<ClaimedTask> claimed = store.claim(id, "w", 2, at(10), FAR_LEASE);
    store.complete(id, List.of(succeeded(claimed.get(0))), at(11));
    RecordingFolder folder = folder(new Verdict(JobState.SUCCEEDED, "\"agg\"", null));

    JobRow finished =
        store
            .finish(id, at(20), JobState.CANCELLED, "\"cancelled by owner\"", folder)
            .orElseThrow();

    assertThat(finished.state()).isEqualTo(JobState.CANCELLED);
    assertThat(finished.aggregate()).isEqualTo("\"agg\"");
    assertThat(finished.error()).isEqualTo("\"cancelled by owner\"");
    assertThat(finished.finishedAt()).isEqualTo(at(20));
    assertThat(Counts.of(finished)).isEqualTo(new Counts(0, 0, 1, 0, 4));
    assertThat(folder.values()).containsExactly("0");
    assertThat(Counts.of(folder.job())).isEqualTo(new Counts(0, 0, 1, 0, 4));
    assertThat(store.job(id)).contains(finished);
    assertThat(store.results(id, 0, 10)).extracting(StoredResult::index).containsExactly(0L);
  }

  @Test
  void a_late_report_for_an_item_cancelled_by_a_forced_finish_is_dropped() {
    JobId id = sealedJob(1, 3, 10);
    List<ClaimedTask> claimed = store.claim(id, "w", 2, at(10), at(60));
    JobRow finished =
        store
            .finish(id, at(20), JobState.FAILED, "\"deadline\"", folder(succeeded()))
            .orElseThrow();

    assertThat(store.complete(id, List.of(succeeded(claimed.get(0))), at(21))).isEmpty();
    assertThat(store.complete(id, List.of(failed(claimed.get(1))), at(21))).isEmpty();
    assertThat(store.complete(id, List.of(retry(claimed.get(1), at(30))), at(21))).isEmpty();
    assertThat(store.renewLeases("w", at(120))).isZero();
    assertThat(store.reclaimExpired(at(60))).isZero();

    assertThat(store.job(id)).contains(finished);
    assertThat(Counts.of(finished)).isEqualTo(new Counts(0, 0, 0, 0, 3));
    assertThat(store.results(id, 0, 10)).isEmpty();
  }

  @Test
  void a_forced_state_overrides_the_verdicts_state_and_the_forced_error_fills_a_missing_one() {
    JobId id = sealedJob(1, 2, 10);

    JobRow finished =
        store
            .finish(
                id,
                at(20),
                JobState.FAILED,
                "\"deadline passed\"",
                folder(new Verdict(JobState.SUCCEEDED, "0", null)))
            .orElseThrow();

    assertThat(finished.state()).isEqualTo(JobState.FAILED);
    assertThat(finished.error()).isEqualTo("\"deadline passed\"");
    assertThat(finished.aggregate()).isEqualTo("0");
    assertThat(Counts.of(finished)).isEqualTo(new Counts(0, 0, 0, 0, 2));
  }

  @Test
  void a_forced_error_does_not_replace_the_verdicts_own_error() {
    JobId id = sealedJob(1, 2, 10);

    JobRow finished =
        store
            .finish(
                id,
                at(20),
                JobState.CANCELLED,
                "\"cancelled by owner\"",
                folder(new Verdict(JobState.FAILED, null, "\"reducer failed\"")))
            .orElseThrow();

    assertThat(finished.state()).isEqualTo(JobState.CANCELLED);
    assertThat(finished.error()).isEqualTo("\"reducer failed\"");
    assertThat(finished.aggregate()).isNull();
  }

  @Test
  void a_forced_finish_of_a_job_whose_items_all_settled_keeps_their_results() {
    JobId id = sealedJob(1, 2, 10);
    List<ClaimedTask> claimed = store.claim(id, "w", 2, at(10), FAR_LEASE);
    store.complete(id, List.of(succeeded(claimed.get(1)), failed(claimed.get(0))), at(11));
    RecordingFolder folder = folder(new Verdict(JobState.SUCCEEDED, "1", null));

    JobRow finished = store.finish(id, at(20), JobState.CANCELLED, null, folder).orElseThrow();

    assertThat(finished.state()).isEqualTo(JobState.CANCELLED);
    assertThat(finished.error()).isNull();
    assertThat(Counts.of(finished)).isEqualTo(new Counts(0, 0, 1, 1, 0));
    assertThat(folder.values()).containsExactly("1");
  }

  @Test
  void a_sealed_job_with_no_items_stays_active_until_it_finishes() {
    JobId id = sealedJob(1, 0, 10);
    assertThat(store.activeJobs()).containsExactly(id);
    assertThat(store.claim(id, "w", 10, at(10), FAR_LEASE)).isEmpty();
    RecordingFolder folder = folder(new Verdict(JobState.SUCCEEDED, "0", null));

    JobRow finished = store.finish(id, at(20), null, null, folder).orElseThrow();

    assertThat(finished.state()).isEqualTo(JobState.SUCCEEDED);
    assertThat(finished.total()).isZero();
    assertThat(Counts.of(finished)).isEqualTo(new Counts(0, 0, 0, 0, 0));
    assertThat(finished.finishedAt()).isEqualTo(at(20));
    assertThat(folder.values()).isEmpty();
    assertThat(folder.job().total()).isZero();
    assertThat(store.activeJobs()).isEmpty();
  }

  @Test
  void a_paused_job_whose_items_all_settled_can_finish() {
    JobId id = sealedJob(1, 1, 10);
    ClaimedTask task = store.claim(id, "w", 1, at(10), FAR_LEASE).get(0);
    store.setPaused(id, true);
    store.complete(id, List.of(succeeded(task)), at(11));

    JobRow finished =
        store
            .finish(id, at(20), null, null, folder(new Verdict(JobState.SUCCEEDED, "0", null)))
            .orElseThrow();

    assertThat(finished.state()).isEqualTo(JobState.SUCCEEDED);
  }

  @Test
  void a_finish_whose_folder_throws_changes_nothing() {
    JobId id = sealedJob(1, 3, 10);
    ClaimedTask task = store.claim(id, "w", 1, at(10), FAR_LEASE).get(0);
    JobRow before = row(id);
    JobStore.Folder broken =
        (job, values) -> {
          throw new IllegalStateException("the reducer failed");
        };

    assertThatThrownBy(() -> store.finish(id, at(20), JobState.CANCELLED, "\"stop\"", broken))
        .isInstanceOf(RuntimeException.class);

    assertThat(store.job(id)).contains(before);
    assertThat(store.complete(id, List.of(succeeded(task)), at(21))).hasSize(1);
    assertThat(store.finish(id, at(22), JobState.CANCELLED, "\"stop\"", folder(succeeded())))
        .isPresent();
  }

  // ---------------------------------------------------------------- setPaused

  @Test
  void a_paused_job_reads_paused_and_reads_running_again_on_resume() {
    JobId id = sealedJob(1, 3, 10);
    store.claim(id, "w", 1, at(10), FAR_LEASE);

    assertThat(store.setPaused(id, true)).isTrue();
    assertThat(row(id).state()).isEqualTo(JobState.PAUSED);
    assertThat(store.claim(id, "w", 5, at(11), FAR_LEASE)).isEmpty();
    assertThat(store.activeJobs()).containsExactly(id);

    assertThat(store.setPaused(id, false)).isTrue();
    JobRow resumed = row(id);
    assertThat(resumed.state()).isEqualTo(JobState.RUNNING);
    assertThat(resumed.startedAt()).isEqualTo(at(10));
    assertThat(indexes(store.claim(id, "w", 5, at(12), FAR_LEASE))).containsExactly(1L, 2L);
  }

  @Test
  void resuming_a_job_that_never_ran_reads_accepted() {
    JobId id = sealedJob(1, 2, 10);

    assertThat(store.setPaused(id, true)).isTrue();
    assertThat(row(id).state()).isEqualTo(JobState.PAUSED);
    assertThat(store.setPaused(id, false)).isTrue();

    JobRow row = row(id);
    assertThat(row.state()).isEqualTo(JobState.ACCEPTED);
    assertThat(row.startedAt()).isNull();
    assertThat(store.claim(id, "w", 5, at(10), FAR_LEASE)).hasSize(2);
    assertThat(row(id).state()).isEqualTo(JobState.RUNNING);
  }

  @Test
  void set_paused_is_false_for_final_and_unknown_jobs() {
    JobId id = finishedJob(1, at(0), at(10));

    assertThat(store.setPaused(id, true)).isFalse();
    assertThat(store.setPaused(id, false)).isFalse();
    assertThat(row(id).state()).isEqualTo(JobState.SUCCEEDED);
    assertThat(store.setPaused(jobId(404), true)).isFalse();
    assertThat(store.job(jobId(404))).isEmpty();
  }

  // ---------------------------------------------------------------- setMaxConcurrency

  @Test
  void a_new_max_concurrency_applies_from_the_next_claim() {
    JobId id = sealedJob(1, 10, 1);
    assertThat(store.claim(id, "w", 5, at(10), FAR_LEASE)).hasSize(1);

    assertThat(store.setMaxConcurrency(id, 3)).isTrue();
    assertThat(row(id).maxConcurrency()).isEqualTo(3);
    List<ClaimedTask> more = store.claim(id, "w", 5, at(11), FAR_LEASE);
    assertThat(indexes(more)).containsExactly(1L, 2L);

    assertThat(store.setMaxConcurrency(id, 1)).isTrue();
    assertThat(store.claim(id, "w", 5, at(12), FAR_LEASE)).isEmpty();
    store.complete(id, List.of(succeeded(more.get(0)), succeeded(more.get(1))), at(13));
    assertThat(store.claim(id, "w", 5, at(14), FAR_LEASE)).isEmpty();
    assertThat(Counts.of(row(id))).isEqualTo(new Counts(7, 1, 2, 0, 0));
  }

  @Test
  void set_max_concurrency_is_false_for_final_and_unknown_jobs() {
    JobId id = finishedJob(1, at(0), at(10));

    assertThat(store.setMaxConcurrency(id, 5)).isFalse();
    assertThat(row(id).maxConcurrency()).isEqualTo(10);
    assertThat(store.setMaxConcurrency(jobId(404), 5)).isFalse();
    assertThat(store.job(jobId(404))).isEmpty();
  }

  // ---------------------------------------------------------------- acknowledge

  @Test
  void nothing_is_acknowledged_at_first() {
    JobId id = sealedJob(1, 1, 10);

    assertThat(store.acknowledged(id, "consumer")).isZero();
    assertThat(store.acknowledged(jobId(404), "consumer")).isZero();
  }

  @Test
  void an_acknowledgement_never_moves_backwards() {
    JobId id = sealedJob(1, 1, 10);

    store.acknowledge(id, "consumer", 5);
    assertThat(store.acknowledged(id, "consumer")).isEqualTo(5);
    store.acknowledge(id, "consumer", 3);
    assertThat(store.acknowledged(id, "consumer")).isEqualTo(5);
    store.acknowledge(id, "consumer", 5);
    assertThat(store.acknowledged(id, "consumer")).isEqualTo(5);
    store.acknowledge(id, "consumer", 7);
    assertThat(store.acknowledged(id, "consumer")).isEqualTo(7);
  }

  @Test
  void acknowledgements_are_kept_per_consumer_and_per_job() {
    JobId first = sealedJob(1, 1, 10);
    JobId second = sealedJob(2, 1, 10);

    store.acknowledge(first, "a", 4);
    store.acknowledge(first, "b", 2);
    store.acknowledge(second, "a", 9);

    assertThat(store.acknowledged(first, "a")).isEqualTo(4);
    assertThat(store.acknowledged(first, "b")).isEqualTo(2);
    assertThat(store.acknowledged(first, "c")).isZero();
    assertThat(store.acknowledged(second, "a")).isEqualTo(9);
    assertThat(store.acknowledged(second, "b")).isZero();
  }

  // ---------------------------------------------------------------- listJobs

  @Test
  void list_jobs_returns_newest_first_then_by_id_descending() {
    sealedJob(jobId(1), at(10), 0, 1);
    sealedJob(jobId(2), at(30), 0, 1);
    sealedJob(jobId(3), at(20), 0, 1);
    sealedJob(jobId(4), at(30), 0, 1);
    sealedJob(jobId(5), at(5), 0, 1);

    assertThat(ids(store.listJobs(10, null)))
        .containsExactly(jobId(4), jobId(2), jobId(3), jobId(1), jobId(5));
    assertThat(ids(store.listJobs(3, null))).containsExactly(jobId(4), jobId(2), jobId(3));
  }

  @Test
  void list_jobs_pages_with_an_exclusive_cursor() {
    sealedJob(jobId(1), at(10), 0, 1);
    sealedJob(jobId(2), at(30), 0, 1);
    sealedJob(jobId(3), at(20), 0, 1);
    sealedJob(jobId(4), at(30), 0, 1);
    sealedJob(jobId(5), at(5), 0, 1);

    assertThat(ids(store.listJobs(2, null))).containsExactly(jobId(4), jobId(2));
    assertThat(ids(store.listJobs(2, jobId(2)))).containsExactly(jobId(3), jobId(1));
    assertThat(ids(store.listJobs(2, jobId(1)))).containsExactly(jobId(5));
    assertThat(ids(store.listJobs(2, jobId(5)))).isEmpty();
    // Within one createdAt, the cursor still splits by ID.
    assertThat(ids(store.listJobs(1, jobId(4)))).containsExactly(jobId(2));
  }

  @Test
  void list_jobs_goes_on_past_a_deleted_cursor_from_the_creation_time_its_id_tells() {
    JobId oldest = createdAt(at(10), 1);
    JobId older = createdAt(at(20), 2);
    JobId sameTimeLowerId = createdAt(at(30), 3);
    JobId cursor = createdAt(at(30), 4);
    JobId newer = createdAt(at(40), 5);
    for (JobId id : List.of(oldest, older, sameTimeLowerId, cursor, newer)) {
      sealedJob(id, JobStore.createdAtOf(id).orElseThrow(), 0, 1);
    }
    assertThat(ids(store.listJobs(2, cursor))).containsExactly(sameTimeLowerId, older);

    assertThat(store.deleteJob(cursor)).isTrue();

    assertThat(ids(store.listJobs(2, cursor))).containsExactly(sameTimeLowerId, older);
    assertThat(ids(store.listJobs(10, newer))).containsExactly(sameTimeLowerId, older, oldest);
    // A cursor that names no job and tells no time stops the listing rather than restarting it.
    assertThat(store.listJobs(10, JobId.of(UUID.randomUUID().toString()))).isEmpty();
  }

  @Test
  void created_at_of_reads_the_millisecond_of_a_version_7_id_and_of_no_other_version() {
    Instant t = Instant.parse("2026-11-29T13:27:03.123Z");
    assertThat(JobStore.createdAtOf(createdAt(t, 9))).hasValue(t);
    assertThat(JobStore.createdAtOf(JobId.of(UUID.randomUUID().toString()))).isEmpty();
  }

  /**
   * A version-7 job ID carrying {@code createdAt}, as the engine makes them; {@code n} orders ties.
   */
  private static JobId createdAt(Instant createdAt, int n) {
    long millis = createdAt.toEpochMilli();
    return JobId.of(new UUID((millis << 16) | 0x7000L | n, 0x8000_0000_0000_0000L | n).toString());
  }

  @Test
  void list_jobs_includes_unsealed_active_and_final_jobs_with_exact_counts() {
    JobId unsealed = jobId(1);
    store.createJob(new NewJob(unsealed, "\"spec\"", 1, at(1), null));
    store.addItems(unsealed, 0, items(0, 2));
    JobId active = sealedJob(jobId(2), at(2), 3, 10);
    List<ClaimedTask> claimed = store.claim(active, "w", 2, at(10), FAR_LEASE);
    store.complete(active, List.of(failed(claimed.get(1))), at(11));
    JobId finished = finishedJob(3, at(3), at(10));

    List<JobRow> rows = store.listJobs(10, null);

    assertThat(rows).containsExactly(row(finished), row(active), row(unsealed));
    assertThat(Counts.of(rows.get(1))).isEqualTo(new Counts(1, 1, 0, 1, 0));
  }

  // ---------------------------------------------------------------- activeJobs

  @Test
  void active_jobs_are_the_sealed_unfinished_ones_oldest_first() {
    JobId newer = sealedJob(jobId(1), at(30), 2, 10);
    JobId oldest = sealedJob(jobId(2), at(10), 2, 10);
    store.createJob(new NewJob(jobId(3), "\"spec\"", 1, at(20), null));
    finishedJob(4, at(5), at(50));
    JobId paused = sealedJob(jobId(5), at(40), 2, 10);
    store.setPaused(paused, true);
    JobId empty = sealedJob(jobId(6), at(25), 0, 10);
    store.claim(newer, "w", 1, at(60), FAR_LEASE);

    assertThat(store.activeJobs()).containsExactly(oldest, empty, newer, paused);
  }

  // ---------------------------------------------------------------- countJobs

  @Test
  void counting_jobs_gives_sealed_jobs_by_state_and_the_items_waiting_to_be_claimed() {
    JobId running = sealedJob(1, 5, 10);
    store.complete(
        running,
        List.of(succeeded(store.claim(running, "w", 2, at(10), FAR_LEASE).get(0))),
        at(11));
    JobId paused = sealedJob(2, 3, 10);
    store.setPaused(paused, true);
    finishedJob(3, at(0), at(20));
    store.createJob(new NewJob(jobId(4), "\"spec\"", 1, at(0), null)); // unsealed: not counted
    store.addItems(jobId(4), 0, items(0, 4));

    JobCounts counts = store.countJobs();

    assertThat(counts.jobs())
        .containsEntry(JobState.RUNNING, 1L)
        .containsEntry(JobState.PAUSED, 1L)
        .containsEntry(JobState.SUCCEEDED, 1L)
        .containsEntry(JobState.ACCEPTED, 0L)
        .containsEntry(JobState.FAILED, 0L);
    // Job 1: 5 items, 2 claimed (1 settled, 1 still running), so 3 wait; job 2: all 3 wait.
    assertThat(counts.pendingItems()).isEqualTo(6);
  }

  // ---------------------------------------------------------------- deleteJob

  @Test
  void delete_job_removes_the_job_with_its_items_results_and_acknowledgements() {
    JobId id = sealedJob(1, 3, 10);
    List<ClaimedTask> claimed = store.claim(id, "w", 2, at(10), at(60));
    store.complete(id, List.of(succeeded(claimed.get(0))), at(11));
    store.acknowledge(id, "consumer", 1);
    JobId other = sealedJob(2, 1, 10);
    ClaimedTask otherTask = store.claim(other, "v", 1, at(10), FAR_LEASE).get(0);
    store.complete(other, List.of(succeeded(otherTask)), at(11));
    store.acknowledge(other, "consumer", 1);

    assertThat(store.deleteJob(id)).isTrue();

    assertThat(store.job(id)).isEmpty();
    assertThat(store.results(id, 0, 10)).isEmpty();
    assertThat(store.acknowledged(id, "consumer")).isZero();
    assertThat(ids(store.listJobs(10, null))).containsExactly(other);
    assertThat(store.activeJobs()).containsExactly(other);
    assertThat(store.claim(id, "w", 10, at(12), FAR_LEASE)).isEmpty();
    assertThat(store.renewLeases("w", FAR_LEASE)).isZero();
    assertThat(store.reclaimExpired(at(60))).isZero();
    assertThat(store.deleteJob(id)).isFalse();

    // The other job keeps everything.
    assertThat(store.results(other, 0, 10)).hasSize(1);
    assertThat(store.acknowledged(other, "consumer")).isEqualTo(1);

    // Nothing of the deleted job lingers under its ID.
    store.createJob(new NewJob(id, "\"again\"", 10, at(70), null));
    store.addItems(id, 0, List.of("\"new\""));
    store.seal(id, 1);
    JobRow again = row(id);
    assertThat(again.total()).isEqualTo(1);
    assertThat(Counts.of(again)).isEqualTo(new Counts(1, 0, 0, 0, 0));
    assertThat(again.lastSeq()).isZero();
    assertThat(store.acknowledged(id, "consumer")).isZero();
    List<ClaimedTask> fresh = store.claim(id, "w", 10, at(71), FAR_LEASE);
    assertThat(fresh)
        .singleElement()
        .satisfies(
            task -> {
              assertThat(task.item()).isEqualTo("\"new\"");
              assertThat(task.attempt()).isEqualTo(1);
            });
  }

  @Test
  void deleting_an_unknown_job_returns_false() {
    assertThat(store.deleteJob(jobId(404))).isFalse();
  }

  // ---------------------------------------------------------------- purge

  @Test
  void purge_deletes_jobs_finished_before_the_cutoff_and_unsealed_jobs_created_before_it() {
    JobId finishedEarly = sealedJob(jobId(1), at(0), 1, 10);
    ClaimedTask task = store.claim(finishedEarly, "w", 1, at(1), FAR_LEASE).get(0);
    store.complete(finishedEarly, List.of(succeeded(task)), at(2));
    store.acknowledge(finishedEarly, "consumer", 1);
    store.finish(finishedEarly, at(10), null, null, folder(succeeded())).orElseThrow();
    JobId finishedLate = finishedJob(2, at(0), at(30));
    JobId activeOld = sealedJob(jobId(3), at(0), 1, 10);
    JobId unsealedOld = jobId(4);
    store.createJob(new NewJob(unsealedOld, "\"spec\"", 1, at(5), null));
    store.addItems(unsealedOld, 0, items(0, 2));
    JobId unsealedNew = jobId(5);
    store.createJob(new NewJob(unsealedNew, "\"spec\"", 1, at(40), null));

    assertThat(store.purge(at(20), 100)).isEqualTo(2);

    assertThat(store.job(finishedEarly)).isEmpty();
    assertThat(store.results(finishedEarly, 0, 10)).isEmpty();
    assertThat(store.acknowledged(finishedEarly, "consumer")).isZero();
    assertThat(store.job(unsealedOld)).isEmpty();
    assertThat(ids(store.listJobs(10, null)))
        .containsExactlyInAnyOrder(finishedLate, activeOld, unsealedNew);
    assertThat(store.purge(at(20), 100)).isZero();
  }

  @Test
  void an_abandoned_unsealed_job_is_purged_long_before_the_finished_jobs_retention() {
    JobId finishedRecently = finishedJob(1, at(0), at(30));
    JobId abandoned = jobId(2);
    store.createJob(new NewJob(abandoned, "\"spec\"", 1, at(5), null));
    JobId stillWriting = jobId(3);
    store.createJob(new NewJob(stillWriting, "\"spec\"", 1, at(45), null));

    assertThat(store.purge(at(20), at(40), 100)).isEqualTo(1);

    assertThat(store.job(abandoned)).isEmpty();
    assertThat(ids(store.listJobs(10, null)))
        .containsExactlyInAnyOrder(finishedRecently, stillWriting);
  }

  @Test
  void purge_deletes_at_most_its_limit() {
    for (int n = 1; n <= 5; n++) {
      finishedJob(n, at(n), at(10 + n));
    }

    assertThat(store.purge(at(100), 2)).isEqualTo(2);
    assertThat(store.listJobs(10, null)).hasSize(3);
    assertThat(store.purge(at(100), 2)).isEqualTo(2);
    assertThat(store.purge(at(100), 2)).isEqualTo(1);
    assertThat(store.purge(at(100), 2)).isZero();
    assertThat(store.listJobs(10, null)).isEmpty();
  }

  // ---------------------------------------------------------------- everything at once

  /**
   * Drives one job through a seeded random mix of claims, reports (fresh, stale and duplicate),
   * renewals, reclaims, pauses and cap changes, and checks every answer and every count against a
   * model of the contract. Retry times fall on half seconds and claims on whole ones, so no step
   * depends on whether a {@code notBefore} equal to {@code now} has passed.
   */
  @ParameterizedTest(name = "seed {0}")
  @ValueSource(longs = {1, 2, 3, 4, 5})
  void random_operation_sequences_agree_with_a_model_of_the_contract(long seed) {
    SplittableRandom random = new SplittableRandom(seed);
    int itemCount = 30;
    JobId id = sealedJob(1, itemCount, 3);
    Model model = new Model(itemCount, 3);
    String[] owners = {"a", "b", "c"};
    long now = 10;

    for (int step = 0; step < 400; step++) {
      now += 1 + random.nextInt(3);
      String context = "seed " + seed + ", step " + step;
      int operation = random.nextInt(10);
      if (operation < 4) {
        String owner = owners[random.nextInt(owners.length)];
        int limit = 1 + random.nextInt(4);
        Instant leaseUntil = at(now + 3 + random.nextInt(15));
        List<Long> expected = model.claimable(limit, at(now));
        List<ClaimedTask> claimed = store.claim(id, owner, limit, at(now), leaseUntil);
        assertThat(indexes(claimed)).as(context).isEqualTo(expected);
        for (ClaimedTask task : claimed) {
          model.claimed(task, owner, leaseUntil, at(now), context);
        }
      } else if (operation < 7) {
        List<ClaimedTask> chosen = new ArrayList<>();
        for (ClaimedTask task : model.holding.values()) {
          if (random.nextBoolean()) {
            chosen.add(task);
          }
        }
        if (!model.lost.isEmpty() && random.nextInt(3) == 0) {
          chosen.add(model.lost.get(random.nextInt(model.lost.size())));
        }
        if (!chosen.isEmpty() && random.nextInt(4) == 0) {
          chosen.add(chosen.get(0));
        }
        Collections.shuffle(chosen, new Random(random.nextLong()));
        List<Completion> reports = new ArrayList<>();
        for (ClaimedTask task : chosen) {
          int outcome = random.nextInt(20);
          reports.add(
              outcome < 12
                  ? succeeded(task)
                  : outcome < 15
                      ? failed(task)
                      : retry(task, at(now + random.nextInt(7)).plusMillis(500)));
        }
        List<StoredResult> expected = model.apply(id, reports);
        List<StoredResult> settled = store.complete(id, reports, at(now));
        assertThat(settled)
            .as(context)
            .usingRecursiveFieldByFieldElementComparatorIgnoringFields("seq")
            .isEqualTo(expected);
        for (StoredResult result : settled) {
          assertThat(result.seq()).as(context).isGreaterThan(model.lastSeq);
          model.lastSeq = result.seq();
        }
      } else if (operation == 7) {
        String owner = owners[random.nextInt(owners.length)];
        Instant leaseUntil = at(now + 3 + random.nextInt(15));
        assertThat(store.renewLeases(owner, leaseUntil))
            .as(context)
            .isEqualTo(model.renew(owner, leaseUntil));
      } else if (operation == 8) {
        assertThat(store.reclaimExpired(at(now))).as(context).isEqualTo(model.reclaim(at(now)));
      } else if (random.nextBoolean()) {
        model.cap = 1 + random.nextInt(5);
        assertThat(store.setMaxConcurrency(id, model.cap)).as(context).isTrue();
      } else {
        model.paused = !model.paused;
        assertThat(store.setPaused(id, model.paused)).as(context).isTrue();
      }
      model.check(row(id), context);
    }

    // Let everything settle, then fold: the folder must see exactly the model's successes.
    model.paused = false;
    store.setPaused(id, false);
    model.cap = itemCount;
    store.setMaxConcurrency(id, itemCount);
    now += 100;
    while (model.unsettled() > 0) {
      List<Completion> reports = model.holding.values().stream().map(t -> succeeded(t)).toList();
      List<StoredResult> expected = model.apply(id, reports);
      assertThat(store.complete(id, reports, at(now)))
          .usingRecursiveFieldByFieldElementComparatorIgnoringFields("seq")
          .isEqualTo(expected);
      for (ClaimedTask task : store.claim(id, "a", itemCount, at(now), at(now + 10))) {
        model.claimed(task, "a", at(now + 10), at(now), "draining");
      }
    }
    RecordingFolder folder = folder(succeeded());
    JobRow finished = store.finish(id, at(now + 1), null, null, folder).orElseThrow();
    assertThat(folder.values()).isEqualTo(model.succeededValues());
    assertThat(Counts.of(finished)).isEqualTo(model.counts());
    assertThat(finished.retries()).isEqualTo(model.retries);
  }

  /** What the contract says one job's items should look like after each call. */
  private static final class Model {
    final TaskState[] states;
    final int[] attempts;
    final long[] fences;
    final String[] owners;
    final Instant[] leases;
    final Instant[] notBefore;
    final Map<Long, ClaimedTask> holding = new TreeMap<>();
    final List<ClaimedTask> lost = new ArrayList<>();
    int cap;
    boolean paused;
    Instant startedAt;
    long retries;
    long lastSeq;

    Model(int itemCount, int cap) {
      states = new TaskState[itemCount];
      Arrays.fill(states, TaskState.PENDING);
      attempts = new int[itemCount];
      fences = new long[itemCount];
      Arrays.fill(fences, Long.MIN_VALUE);
      owners = new String[itemCount];
      leases = new Instant[itemCount];
      notBefore = new Instant[itemCount];
      this.cap = cap;
    }

    List<Long> claimable(int limit, Instant now) {
      List<Long> out = new ArrayList<>();
      long room = paused ? 0 : Math.min(limit, cap - count(TaskState.RUNNING));
      for (int i = 0; i < states.length && out.size() < room; i++) {
        if (states[i] == TaskState.PENDING
            && (notBefore[i] == null || notBefore[i].isBefore(now))) {
          out.add((long) i);
        }
      }
      return out;
    }

    void claimed(ClaimedTask task, String owner, Instant leaseUntil, Instant now, String context) {
      int i = (int) task.index();
      assertThat(task.attempt()).as(context).isEqualTo(attempts[i] + 1);
      assertThat(task.fence()).as(context).isGreaterThan(fences[i]);
      states[i] = TaskState.RUNNING;
      attempts[i] = task.attempt();
      fences[i] = task.fence();
      owners[i] = owner;
      leases[i] = leaseUntil;
      holding.put(task.index(), task);
      if (startedAt == null) {
        startedAt = now;
      }
    }

    /** Applies reports in order, as the store must, and returns what should settle. */
    List<StoredResult> apply(JobId id, List<Completion> reports) {
      List<StoredResult> settled = new ArrayList<>();
      for (Completion report : reports) {
        int i = (int) report.index();
        if (states[i] != TaskState.RUNNING || fences[i] != report.fence()) {
          continue;
        }
        lost.add(holding.remove(report.index()));
        switch (report) {
          case Completion.Retry retry -> {
            states[i] = TaskState.PENDING;
            notBefore[i] = retry.notBefore();
            retries++;
          }
          case Completion.Succeeded s -> {
            states[i] = TaskState.SUCCEEDED;
            settled.add(
                new StoredResult(
                    id,
                    0,
                    i,
                    TaskState.SUCCEEDED,
                    s.value(),
                    null,
                    attempts[i],
                    s.durationMillis()));
          }
          case Completion.Failed f -> {
            states[i] = TaskState.FAILED;
            settled.add(
                new StoredResult(
                    id, 0, i, TaskState.FAILED, null, f.error(), attempts[i], f.durationMillis()));
          }
        }
      }
      return settled;
    }

    int renew(String owner, Instant leaseUntil) {
      int renewed = 0;
      for (int i = 0; i < states.length; i++) {
        if (states[i] == TaskState.RUNNING && owner.equals(owners[i])) {
          leases[i] = leaseUntil;
          renewed++;
        }
      }
      return renewed;
    }

    int reclaim(Instant now) {
      int reclaimed = 0;
      for (int i = 0; i < states.length; i++) {
        if (states[i] == TaskState.RUNNING && !leases[i].isAfter(now)) {
          states[i] = TaskState.PENDING;
          lost.add(holding.remove((long) i));
          reclaimed++;
        }
      }
      return reclaimed;
    }

    long count(TaskState state) {
      return Arrays.stream(states).filter(s -> s == state).count();
    }

    long unsettled() {
      return count(TaskState.PENDING) + count(TaskState.RUNNING);
    }

    Counts counts() {
      return new Counts(
          count(TaskState.PENDING),
          count(TaskState.RUNNING),
          count(TaskState.SUCCEEDED),
          count(TaskState.FAILED),
          count(TaskState.CANCELLED));
    }

    List<String> succeededValues() {
      return IntStream.range(0, states.length)
          .filter(i -> states[i] == TaskState.SUCCEEDED)
          .mapToObj(i -> String.valueOf((long) i * i))
          .toList();
    }

    void check(JobRow row, String context) {
      assertThat(Counts.of(row)).as(context).isEqualTo(counts());
      assertThat(row.state())
          .as(context)
          .isEqualTo(
              paused ? JobState.PAUSED : startedAt == null ? JobState.ACCEPTED : JobState.RUNNING);
      assertThat(row.startedAt()).as(context).isEqualTo(startedAt);
      assertThat(row.maxConcurrency()).as(context).isEqualTo(cap);
      assertThat(row.retries()).as(context).isEqualTo(retries);
      assertThat(row.lastSeq()).as(context).isEqualTo(lastSeq);
    }
  }

  // ---------------------------------------------------------------- idempotency keys

  private static NewJob keyed(JobId id, String key, String fingerprint) {
    return new NewJob(id, "\"spec\"", 5, at(0), null, key, fingerprint);
  }

  @Test
  void
      a_second_job_under_a_taken_idempotency_key_is_refused_naming_the_holder_and_its_fingerprint() {
    store.createJob(keyed(jobId(1), "key-1", "fp-a"));

    assertThatThrownBy(() -> store.createJob(keyed(jobId(2), "key-1", "fp-b")))
        .isInstanceOfSatisfying(
            IdempotencyKeyTakenException.class,
            e -> {
              assertThat(e.holder()).isEqualTo(jobId(1));
              assertThat(e.fingerprint()).isEqualTo("fp-a");
            });
    assertThat(store.job(jobId(2))).isEmpty();
    assertThat(row(jobId(1)).sealed()).isFalse();
  }

  @Test
  void jobs_without_a_key_or_under_distinct_keys_never_collide() {
    store.createJob(new NewJob(jobId(1), "\"spec\"", 5, at(0), null));
    store.createJob(new NewJob(jobId(2), "\"spec\"", 5, at(0), null));
    store.createJob(keyed(jobId(3), "key-a", "fp"));
    store.createJob(keyed(jobId(4), "key-b", "fp"));

    assertThat(store.listJobs(10, null)).hasSize(4);
  }

  @Test
  void deleting_or_purging_the_holder_frees_its_idempotency_key() {
    JobId first = sealedJob(1, 2, 5);
    store.deleteJob(first);
    store.createJob(keyed(jobId(2), "key", "fp"));
    assertThat(store.deleteJob(jobId(2))).isTrue();

    store.createJob(keyed(jobId(3), "key", "fp"));
    // An unsealed job, a submission that died half-written, is purged and frees its key too.
    assertThat(store.purge(at(1), 10)).isEqualTo(1);

    store.createJob(keyed(jobId(4), "key", "fp2"));
    assertThat(row(jobId(4)).id()).isEqualTo(jobId(4));
  }

  @Test
  void concurrent_creations_under_one_key_store_exactly_one_job() throws Exception {
    int threads = 8;
    for (int round = 0; round < 10; round++) {
      String key = "race-" + round;
      int base = 1 + round * threads;
      List<Optional<JobId>> outcomes =
          runConcurrently(
              threads,
              t -> {
                try {
                  store.createJob(keyed(jobId(base + t), key, "fp"));
                  return Optional.<JobId>empty();
                } catch (IdempotencyKeyTakenException e) {
                  return Optional.of(e.holder());
                }
              });

      List<JobId> created = new ArrayList<>();
      for (int t = 0; t < threads; t++) {
        if (outcomes.get(t).isEmpty()) {
          created.add(jobId(base + t));
        }
      }
      assertThat(created).as("round %d", round).hasSize(1);
      assertThat(outcomes.stream().flatMap(Optional::stream))
          .as("round %d", round)
          .hasSize(threads - 1)
          .containsOnly(created.get(0));
    }
  }

  // ---------------------------------------------------------------- retryFailed

  /** Items 0..3; the odd ones failed, the even ones succeeded; finished FAILED. */
  private JobId jobWithFailures(int n) {
    JobId id = sealedJob(n, 4, 10);
    List<ClaimedTask> tasks = store.claim(id, "w", 4, at(1), FAR_LEASE);
    store.complete(
        id,
        List.of(
            succeeded(tasks.get(0)),
            failed(tasks.get(1)),
            succeeded(tasks.get(2)),
            failed(tasks.get(3))),
        at(2));
    store
        .finish(id, at(3), null, null, folder(new Verdict(JobState.FAILED, "\"agg\"", "too many")))
        .orElseThrow();
    return id;
  }

  @Test
  void retrying_failed_items_puts_them_back_pending_and_reopens_the_job() {
    JobId id = jobWithFailures(1);

    JobRow reopened = store.retryFailed(id).orElseThrow();

    assertThat(reopened.state()).isEqualTo(JobState.RUNNING);
    assertThat(Counts.of(reopened)).isEqualTo(new Counts(2, 0, 2, 0, 0));
    assertThat(reopened.finishedAt()).isNull();
    assertThat(reopened.aggregate()).isNull();
    assertThat(reopened.error()).isNull();
    assertThat(reopened.startedAt()).isEqualTo(at(1));
    assertThat(reopened.lastSeq()).isEqualTo(4);
    assertThat(store.activeJobs()).containsExactly(id);
    assertThat(store.results(id, 0, 10)).extracting(StoredResult::index).containsExactly(0L, 2L);
    assertThat(store.failures(id, 0, 10)).isEmpty();
  }

  @Test
  void retried_items_run_with_fresh_attempts_settle_under_new_seqs_and_the_job_finishes_again() {
    JobId id = jobWithFailures(1);
    store.retryFailed(id).orElseThrow();

    List<ClaimedTask> again = store.claim(id, "w2", 10, at(4), FAR_LEASE);
    assertThat(indexes(again)).containsExactly(1L, 3L);
    assertThat(again).extracting(ClaimedTask::attempt).containsOnly(1);
    List<StoredResult> settled =
        store.complete(id, List.of(succeeded(again.get(0)), failed(again.get(1))), at(5));
    assertThat(settled).extracting(StoredResult::seq).containsExactly(5L, 6L);
    assertThat(store.results(id, 0, 10))
        .extracting(StoredResult::index)
        .containsExactly(0L, 2L, 1L, 3L);

    RecordingFolder folder = folder(new Verdict(JobState.FAILED, "\"agg2\"", null));
    JobRow ended = store.finish(id, at(6), null, null, folder).orElseThrow();
    assertThat(folder.values()).containsExactly("0", "1", "4");
    assertThat(ended.state()).isEqualTo(JobState.FAILED);
    assertThat(ended.aggregate()).isEqualTo("\"agg2\"");
    assertThat(ended.finishedAt()).isEqualTo(at(6));
    assertThat(Counts.of(ended)).isEqualTo(new Counts(0, 0, 3, 1, 0));
    // Retried again: only the one that failed twice.
    store.retryFailed(id).orElseThrow();
    assertThat(indexes(store.claim(id, "w3", 10, at(7), FAR_LEASE))).containsExactly(3L);
  }

  @Test
  void a_report_from_before_the_retry_is_dropped() {
    JobId id = sealedJob(1, 1, 10);
    ClaimedTask first = store.claim(id, "w", 1, at(1), FAR_LEASE).get(0);
    store.complete(id, List.of(failed(first)), at(2));
    store.finish(id, at(3), null, null, folder(succeeded())).orElseThrow();
    store.retryFailed(id).orElseThrow();

    assertThat(store.complete(id, List.of(succeeded(first)), at(4))).isEmpty();
    assertThat(Counts.of(row(id))).isEqualTo(new Counts(1, 0, 0, 0, 0));
  }

  @Test
  void retry_failed_changes_nothing_for_unknown_unfinished_cancelled_or_failure_free_jobs() {
    assertThat(store.retryFailed(jobId(99))).isEmpty();

    JobId running = sealedJob(1, 2, 10);
    ClaimedTask task = store.claim(running, "w", 1, at(1), FAR_LEASE).get(0);
    store.complete(running, List.of(failed(task)), at(2));
    assertThat(store.retryFailed(running)).isEmpty();
    store.finish(running, at(3), JobState.CANCELLED, null, folder(succeeded())).orElseThrow();
    assertThat(store.retryFailed(running)).isEmpty();
    assertThat(row(running).state()).isEqualTo(JobState.CANCELLED);

    JobId clean = finishedJob(2, at(0), at(1));
    assertThat(store.retryFailed(clean)).isEmpty();
    assertThat(row(clean).state()).isEqualTo(JobState.SUCCEEDED);
  }

  // ---------------------------------------------------------------- input order

  @Test
  void the_store_supports_both_result_orders() {
    assertThat(store.supportsResultOrder(ResultOrder.COMPLETION)).isTrue();
    assertThat(store.supportsResultOrder(ResultOrder.INPUT)).isTrue();
  }

  @Test
  void an_input_ordered_job_numbers_its_results_in_index_order_whatever_order_they_settle_in() {
    JobId id = inputOrderedJob(1, 5, 10);
    List<ClaimedTask> claimed = store.claim(id, "w", 5, at(10), FAR_LEASE);

    List<StoredResult> first =
        store.complete(id, List.of(succeeded(claimed.get(4)), failed(claimed.get(2))), at(11));

    // Settled and counted, but held behind items 0, 1 and 3.
    assertThat(first).extracting(StoredResult::index).containsExactly(4L, 2L);
    assertThat(first).extracting(StoredResult::seq).containsOnly(0L);
    assertThat(Counts.of(row(id))).isEqualTo(new Counts(0, 3, 1, 1, 0));
    assertThat(row(id).lastSeq()).isZero();
    assertThat(store.results(id, 0, 10)).isEmpty();
    assertThat(store.failures(id, 0, 10)).isEmpty();

    store.complete(id, List.of(succeeded(claimed.get(0))), at(12));
    assertThat(seqAndIndex(store.results(id, 0, 10))).containsExactly(List.of(1L, 0L));

    store.complete(id, List.of(succeeded(claimed.get(1))), at(13));
    assertThat(seqAndIndex(store.results(id, 0, 10)))
        .containsExactly(List.of(1L, 0L), List.of(2L, 1L), List.of(3L, 2L));
    assertThat(row(id).lastSeq()).isEqualTo(3);

    store.complete(id, List.of(succeeded(claimed.get(3))), at(14));
    List<StoredResult> all = store.results(id, 0, 10);
    assertThat(seqAndIndex(all))
        .containsExactly(
            List.of(1L, 0L), List.of(2L, 1L), List.of(3L, 2L), List.of(4L, 3L), List.of(5L, 4L));
    assertThat(all.get(2))
        .isEqualTo(new StoredResult(id, 3, 2, TaskState.FAILED, null, "\"boom 2\"", 1, 10));
    assertThat(all.get(4))
        .isEqualTo(new StoredResult(id, 5, 4, TaskState.SUCCEEDED, "16", null, 1, 10));
    assertThat(store.failures(id, 0, 10)).extracting(StoredResult::seq).containsExactly(3L);
    assertThat(store.results(id, 3, 10)).extracting(StoredResult::index).containsExactly(3L, 4L);
    assertThat(row(id).lastSeq()).isEqualTo(5);
  }

  @Test
  void a_held_result_waits_while_the_item_before_it_is_retried_or_reclaimed() {
    JobId id = inputOrderedJob(1, 3, 10);
    List<ClaimedTask> claimed = store.claim(id, "w", 3, at(10), at(20));
    store.complete(
        id,
        List.of(retry(claimed.get(0), at(10).plusMillis(500)), succeeded(claimed.get(2))),
        at(11));
    ClaimedTask again = store.claim(id, "w", 1, at(12), at(20)).get(0);
    assertThat(again.index()).isZero();

    // Both leases run out; the reports of the old claims are dropped and change nothing.
    assertThat(store.reclaimExpired(at(20))).isEqualTo(2);
    assertThat(store.complete(id, List.of(succeeded(again), succeeded(claimed.get(1))), at(21)))
        .isEmpty();
    assertThat(store.results(id, 0, 10)).isEmpty();

    List<ClaimedTask> third = store.claim(id, "v", 2, at(22), FAR_LEASE);
    store.complete(id, List.of(succeeded(third.get(1))), at(23));
    assertThat(store.results(id, 0, 10)).isEmpty();
    store.complete(id, List.of(failed(third.get(0))), at(24));

    assertThat(store.results(id, 0, 10))
        .extracting(StoredResult::seq, StoredResult::index, StoredResult::status, r -> r.attempts())
        .containsExactly(
            tuple(1L, 0L, TaskState.FAILED, 3),
            tuple(2L, 1L, TaskState.SUCCEEDED, 2),
            tuple(3L, 2L, TaskState.SUCCEEDED, 1));
  }

  @Test
  void a_results_cursor_below_zero_never_reads_a_held_result() {
    JobId id = inputOrderedJob(1, 3, 10);
    List<ClaimedTask> claimed = store.claim(id, "w", 3, at(10), FAR_LEASE);
    store.complete(id, List.of(succeeded(claimed.get(1)), failed(claimed.get(2))), at(11));

    assertThat(store.results(id, -1, 10)).isEmpty();
    assertThat(store.results(id, Long.MIN_VALUE, 10)).isEmpty();
    assertThat(store.failures(id, -5, 10)).isEmpty();
  }

  @Test
  void finishing_an_input_ordered_job_early_numbers_its_held_results_past_the_cancelled_items() {
    JobId id = inputOrderedJob(1, 6, 10);
    List<ClaimedTask> claimed = store.claim(id, "w", 4, at(10), FAR_LEASE);
    store.complete(id, List.of(succeeded(claimed.get(3)), succeeded(claimed.get(1))), at(11));
    assertThat(store.results(id, 0, 10)).isEmpty();
    RecordingFolder folder = folder(new Verdict(JobState.SUCCEEDED, null, null));

    JobRow ended = store.finish(id, at(12), JobState.CANCELLED, null, folder).orElseThrow();

    assertThat(Counts.of(ended)).isEqualTo(new Counts(0, 0, 2, 0, 4));
    assertThat(ended.lastSeq()).isEqualTo(2);
    assertThat(folder.job().lastSeq()).isEqualTo(2);
    assertThat(seqAndIndex(store.results(id, 0, 10)))
        .containsExactly(List.of(1L, 1L), List.of(2L, 3L));
    // A report for an item the finish cancelled changes nothing.
    assertThat(store.complete(id, List.of(succeeded(claimed.get(0))), at(13))).isEmpty();
    assertThat(store.results(id, 2, 10)).isEmpty();
  }

  @Test
  void a_retried_round_of_an_input_ordered_job_is_numbered_in_index_order_after_the_first() {
    JobId id = inputOrderedJob(1, 6, 10);
    List<ClaimedTask> claimed = store.claim(id, "w", 6, at(1), FAR_LEASE);
    store.complete(
        id,
        List.of(
            succeeded(claimed.get(5)),
            failed(claimed.get(4)),
            succeeded(claimed.get(3)),
            succeeded(claimed.get(2)),
            failed(claimed.get(1)),
            succeeded(claimed.get(0))),
        at(2));
    store.finish(id, at(3), null, null, folder(succeeded())).orElseThrow();
    assertThat(store.results(id, 0, 10))
        .extracting(StoredResult::index)
        .containsExactly(0L, 1L, 2L, 3L, 4L, 5L);

    store.retryFailed(id).orElseThrow();
    assertThat(seqAndIndex(store.results(id, 0, 10)))
        .containsExactly(List.of(1L, 0L), List.of(3L, 2L), List.of(4L, 3L), List.of(6L, 5L));
    List<ClaimedTask> again = store.claim(id, "w", 10, at(4), FAR_LEASE);
    assertThat(indexes(again)).containsExactly(1L, 4L);

    store.complete(id, List.of(succeeded(again.get(1))), at(5));
    assertThat(store.results(id, 6, 10)).isEmpty();
    store.complete(id, List.of(failed(again.get(0))), at(6));
    assertThat(seqAndIndex(store.results(id, 6, 10)))
        .containsExactly(List.of(7L, 1L), List.of(8L, 4L));
    JobRow ended = store.finish(id, at(7), null, null, folder(succeeded())).orElseThrow();
    assertThat(ended.lastSeq()).isEqualTo(8);

    // A third round: only item 1, which failed again.
    store.retryFailed(id).orElseThrow();
    ClaimedTask last = store.claim(id, "w", 10, at(8), FAR_LEASE).get(0);
    store.complete(id, List.of(succeeded(last)), at(9));
    assertThat(seqAndIndex(store.results(id, 8, 10))).containsExactly(List.of(9L, 1L));
  }

  @Test
  void a_retried_round_passes_over_items_cancelled_when_the_first_round_ended_early() {
    JobId id = inputOrderedJob(1, 5, 10);
    List<ClaimedTask> claimed = store.claim(id, "w", 3, at(1), FAR_LEASE);
    store.complete(id, List.of(failed(claimed.get(2)), failed(claimed.get(0))), at(2));
    // A deadline: items 1, 3 and 4 are cancelled; 0 and 2 are numbered.
    store.finish(id, at(3), JobState.FAILED, "\"deadline\"", folder(succeeded())).orElseThrow();
    assertThat(seqAndIndex(store.results(id, 0, 10)))
        .containsExactly(List.of(1L, 0L), List.of(2L, 2L));

    store.retryFailed(id).orElseThrow();
    List<ClaimedTask> again = store.claim(id, "w", 10, at(4), FAR_LEASE);
    assertThat(indexes(again)).containsExactly(0L, 2L);
    store.complete(id, List.of(succeeded(again.get(1))), at(5));
    assertThat(store.results(id, 2, 10)).isEmpty();
    store.complete(id, List.of(succeeded(again.get(0))), at(6));

    assertThat(seqAndIndex(store.results(id, 2, 10)))
        .containsExactly(List.of(3L, 0L), List.of(4L, 2L));
    assertThat(Counts.of(row(id))).isEqualTo(new Counts(0, 0, 2, 0, 3));
  }

  @Test
  void a_completion_ordered_job_is_unchanged_beside_an_input_ordered_one() {
    JobId ordered = inputOrderedJob(1, 2, 10);
    JobId plain = sealedJob(2, 2, 10);
    List<ClaimedTask> a = store.claim(ordered, "w", 2, at(1), FAR_LEASE);
    List<ClaimedTask> b = store.claim(plain, "w", 2, at(1), FAR_LEASE);

    store.complete(ordered, List.of(succeeded(a.get(1))), at(2));
    List<StoredResult> settled = store.complete(plain, List.of(succeeded(b.get(1))), at(2));

    assertThat(settled).extracting(StoredResult::seq).containsExactly(1L);
    assertThat(seqAndIndex(store.results(plain, 0, 10))).containsExactly(List.of(1L, 1L));
    assertThat(store.results(ordered, 0, 10)).isEmpty();
  }

  private JobId inputOrderedJob(int n, int itemCount, int maxConcurrency) {
    return sealedJob(jobId(n), at(0), itemCount, maxConcurrency, ResultOrder.INPUT);
  }

  private static List<List<Long>> seqAndIndex(List<StoredResult> results) {
    return results.stream().map(r -> List.of(r.seq(), r.index())).toList();
  }

  // ---------------------------------------------------------------- helpers

  // ---------------------------------------------------------------- delivery leases

  @Test
  void one_node_at_a_time_holds_a_delivery_and_another_takes_it_once_it_runs_out() {
    JobId id = sealedJob(1, 3, 3);

    assertThat(store.leaseDelivery(id, "hook", "node-a", at(0), at(10))).isTrue();
    assertThat(store.leaseDelivery(id, "hook", "node-b", at(5), at(15))).isFalse();
    // The holder renews it; the other still waits.
    assertThat(store.leaseDelivery(id, "hook", "node-a", at(9), at(19))).isTrue();
    assertThat(store.leaseDelivery(id, "hook", "node-b", at(12), at(22))).isFalse();
    // Another consumer of the same job has a lease of its own.
    assertThat(store.leaseDelivery(id, "other", "node-b", at(12), at(22))).isTrue();
    // Run out: the other node takes it, and the first has lost it.
    assertThat(store.leaseDelivery(id, "hook", "node-b", at(19), at(29))).isTrue();
    assertThat(store.leaseDelivery(id, "hook", "node-a", at(20), at(30))).isFalse();
  }

  @Test
  void a_released_delivery_is_free_at_once_but_only_its_holder_releases_it() {
    JobId id = sealedJob(1, 3, 3);
    store.acknowledge(id, "hook", 2);
    assertThat(store.leaseDelivery(id, "hook", "node-a", at(0), at(10))).isTrue();

    store.releaseDelivery(id, "hook", "node-b");
    assertThat(store.leaseDelivery(id, "hook", "node-b", at(1), at(11))).isFalse();

    store.releaseDelivery(id, "hook", "node-a");
    assertThat(store.leaseDelivery(id, "hook", "node-b", at(1), at(11))).isTrue();
    // Leasing kept the acknowledgement where it was.
    assertThat(store.acknowledged(id, "hook")).isEqualTo(2);
  }

  @Test
  void no_delivery_lease_is_granted_for_a_job_that_does_not_exist() {
    assertThat(store.leaseDelivery(jobId(9), "hook", "node-a", at(0), at(10))).isFalse();
  }

  @Test
  void of_many_nodes_racing_for_a_free_delivery_exactly_one_wins() throws Exception {
    int nodes = 8;
    ExecutorService pool = Executors.newFixedThreadPool(nodes);
    try {
      // Many rounds, each on a job whose row does not exist yet: the first inserts race too.
      for (int round = 1; round <= 20; round++) {
        JobId id = sealedJob(round, 1, 1);
        CountDownLatch go = new CountDownLatch(1);
        List<Future<Boolean>> won = new ArrayList<>();
        for (int n = 0; n < nodes; n++) {
          String holder = "node-" + n;
          won.add(
              pool.submit(
                  () -> {
                    go.await();
                    return store.leaseDelivery(id, "hook", holder, at(0), at(10));
                  }));
        }
        go.countDown();
        int winners = 0;
        for (Future<Boolean> f : won) {
          winners += f.get(RACE_TIMEOUT.toSeconds(), TimeUnit.SECONDS) ? 1 : 0;
        }
        assertThat(winners).as("winners in round %d", round).isEqualTo(1);
      }
    } finally {
      pool.shutdownNow();
    }
  }

  // ---------------------------------------------------------------- nodes

  @Test
  void a_node_reads_back_as_its_last_heartbeat_and_as_stopped_once_it_leaves() {
    store.heartbeat(new NodeRow("b", "host-b", "1.0", at(2), at(2), 50, 0, false));
    store.heartbeat(new NodeRow("a", "host-a", "1.0", at(1), at(1), 10, 3, false));
    store.heartbeat(new NodeRow("a", "host-a", "1.0", at(1), at(4), 10, 7, false));

    assertThat(store.nodes())
        .containsExactly(
            new NodeRow("a", "host-a", "1.0", at(1), at(4), 10, 7, false),
            new NodeRow("b", "host-b", "1.0", at(2), at(2), 50, 0, false));

    store.leave("a", at(6));
    assertThat(store.nodes().get(0))
        .isEqualTo(new NodeRow("a", "host-a", "1.0", at(1), at(6), 10, 0, true));
    // A node restarted under the same ID beats as running again.
    store.heartbeat(new NodeRow("a", "host-a", "1.1", at(7), at(7), 10, 0, false));
    assertThat(store.nodes().get(1))
        .isEqualTo(new NodeRow("a", "host-a", "1.1", at(7), at(7), 10, 0, false));
  }

  @Test
  void a_late_heartbeat_of_a_node_that_left_does_not_revive_it_but_a_restart_does() {
    store.heartbeat(new NodeRow("a", "h", "1.0", at(1), at(2), 5, 3, false));
    store.leave("a", at(5));

    store.heartbeat(new NodeRow("a", "h", "1.0", at(1), at(4), 5, 3, false));
    assertThat(store.nodes()).singleElement().satisfies(n -> assertThat(n.stopped()).isTrue());

    store.heartbeat(new NodeRow("a", "h", "1.0", at(9), at(9), 5, 0, false));
    assertThat(store.nodes())
        .containsExactly(new NodeRow("a", "h", "1.0", at(9), at(9), 5, 0, false));
  }

  @Test
  void forgetting_nodes_deletes_those_last_seen_before_the_cutoff() {
    store.heartbeat(new NodeRow("old", "h", "1.0", at(0), at(10), 1, 0, false));
    store.heartbeat(new NodeRow("new", "h", "1.0", at(0), at(30), 1, 0, false));

    assertThat(store.forgetNodes(at(20))).isEqualTo(1);
    assertThat(store.nodes()).extracting(NodeRow::id).containsExactly("new");
  }

  @Test
  void a_signal_reaches_a_subscriber_of_the_same_store() throws Exception {
    BlockingQueue<String> heard = new LinkedBlockingQueue<>();
    StoreSignals.Subscription subscription =
        store.signals().subscribe((kind, job) -> heard.add(kind + " " + job));
    store.signals().publish(StoreSignals.Kind.WORK, jobId(1));
    store.signals().publish(StoreSignals.Kind.RESULTS, jobId(2));

    assertThat(heard.poll(10, TimeUnit.SECONDS)).isEqualTo("WORK " + jobId(1));
    assertThat(heard.poll(10, TimeUnit.SECONDS)).isEqualTo("RESULTS " + jobId(2));
    subscription.close();
    store.signals().publish(StoreSignals.Kind.WORK, jobId(3));
    assertThat(heard.poll(200, TimeUnit.MILLISECONDS)).as("after close").isNull();
  }

  /**
   * A time in this suite.
   *
   * @param seconds seconds after {@link #T0}
   * @return the instant
   */
  protected static Instant at(long seconds) {
    return T0.plusSeconds(seconds);
  }

  /**
   * A job ID that sorts by {@code n}.
   *
   * @param n a small number
   * @return a canonical version-7 UUID
   */
  protected static JobId jobId(int n) {
    return JobId.of(String.format("0195f000-0000-7000-8000-%012x", n));
  }

  /** Item {@code i}'s JSON is {@code i}; its success value is {@code i * i}. */
  private static List<String> items(int from, int count) {
    return IntStream.range(from, from + count).mapToObj(String::valueOf).toList();
  }

  private JobId sealedJob(int n, int itemCount, int maxConcurrency) {
    return sealedJob(jobId(n), at(0), itemCount, maxConcurrency);
  }

  private JobId sealedJob(JobId id, Instant createdAt, int itemCount, int maxConcurrency) {
    return sealedJob(id, createdAt, itemCount, maxConcurrency, ResultOrder.COMPLETION);
  }

  private JobId sealedJob(
      JobId id, Instant createdAt, int itemCount, int maxConcurrency, ResultOrder order) {
    store.createJob(new NewJob(id, "\"spec\"", maxConcurrency, createdAt, null, null, null, order));
    // Two batches when there are enough items, as a submission writes them.
    int half = itemCount / 2;
    if (half > 0) {
      store.addItems(id, 0, items(0, half));
    }
    if (itemCount > half) {
      store.addItems(id, half, items(half, itemCount - half));
    }
    store.seal(id, itemCount);
    return id;
  }

  /** A job with no items, finished SUCCEEDED at {@code finishedAt}, with max concurrency 10. */
  private JobId finishedJob(int n, Instant createdAt, Instant finishedAt) {
    JobId id = sealedJob(jobId(n), createdAt, 0, 10);
    store.finish(id, finishedAt, null, null, folder(succeeded())).orElseThrow();
    return id;
  }

  private JobRow row(JobId id) {
    return store.job(id).orElseThrow(() -> new AssertionError("job " + id + " is missing"));
  }

  private static List<Long> indexes(List<ClaimedTask> tasks) {
    return tasks.stream().map(ClaimedTask::index).toList();
  }

  private static List<JobId> ids(List<JobRow> rows) {
    return rows.stream().map(JobRow::id).toList();
  }

  private static Completion succeeded(ClaimedTask task) {
    return new Completion.Succeeded(
        task.index(),
        task.fence(),
        task.attempt(),
        String.valueOf(task.index() * task.index()),
        10);
  }

  private static Completion failed(ClaimedTask task) {
    return new Completion.Failed(
        task.index(), task.fence(), task.attempt(), "\"boom " + task.index() + "\"", 10);
  }

  private static Completion retry(ClaimedTask task, Instant notBefore) {
    return new Completion.Retry(task.index(), task.fence(), "\"again\"", notBefore);
  }

  private static Verdict succeeded() {
    return new Verdict(JobState.SUCCEEDED, null, null);
  }

  private static RecordingFolder folder(Verdict verdict) {
    return new RecordingFolder(verdict);
  }

  /** The five item counts of a row, compared as one value so a failure shows them all. */
  private record Counts(long pending, long running, long succeeded, long failed, long cancelled) {
    static Counts of(JobRow row) {
      Counts counts =
          new Counts(row.pending(), row.running(), row.succeeded(), row.failed(), row.cancelled());
      if (row.sealed()) {
        assertThat(
                counts.pending
                    + counts.running
                    + counts.succeeded
                    + counts.failed
                    + counts.cancelled)
            .as("the counts of sealed job %s add up to its total", row.id())
            .isEqualTo(row.total());
      }
      return counts;
    }
  }

  /** A folder that remembers what it was given. */
  private static final class RecordingFolder implements JobStore.Folder {
    private final Verdict verdict;
    private final AtomicInteger calls = new AtomicInteger();
    private volatile JobRow job;
    private volatile List<String> values;
    private volatile List<Long> indexes;

    RecordingFolder(Verdict verdict) {
      this.verdict = verdict;
    }

    @Override
    public Verdict fold(JobRow job, Iterator<SucceededValue> succeeded) {
      calls.incrementAndGet();
      List<String> read = new ArrayList<>();
      List<Long> readIndexes = new ArrayList<>();
      succeeded.forEachRemaining(
          v -> {
            read.add(v.value());
            readIndexes.add(v.index());
          });
      this.job = job;
      this.values = read;
      this.indexes = readIndexes;
      return verdict;
    }

    List<Long> indexes() {
      return indexes;
    }

    int calls() {
      return calls.get();
    }

    JobRow job() {
      return job;
    }

    List<String> values() {
      return values;
    }
  }

  @FunctionalInterface
  private interface ThreadBody<T> {
    T run(int thread) throws Exception;
  }

  /**
   * Runs {@code body} on {@code threads} threads released at the same moment and returns what each
   * returned, in thread order. Fails when they take longer than {@link #RACE_TIMEOUT}.
   */
  private static <T> List<T> runConcurrently(int threads, ThreadBody<T> body) throws Exception {
    ExecutorService pool = Executors.newFixedThreadPool(threads);
    try {
      CountDownLatch ready = new CountDownLatch(threads);
      CountDownLatch go = new CountDownLatch(1);
      List<Future<T>> futures = new ArrayList<>();
      for (int t = 0; t < threads; t++) {
        int thread = t;
        futures.add(
            pool.submit(
                () -> {
                  ready.countDown();
                  go.await();
                  return body.run(thread);
                }));
      }
      ready.await();
      go.countDown();
      long deadline = System.nanoTime() + RACE_TIMEOUT.toNanos();
      List<T> out = new ArrayList<>();
      for (Future<T> future : futures) {
        out.add(future.get(Math.max(0, deadline - System.nanoTime()), NANOSECONDS));
      }
      return out;
    } finally {
      pool.shutdownNow();
      pool.awaitTermination(10, SECONDS);
    }
  }
}
