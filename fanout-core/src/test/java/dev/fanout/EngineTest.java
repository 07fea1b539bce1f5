package dev.fanout;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.awaitility.Awaitility.await;

import java.time.Duration;
import java.util.ArrayList;
import java.util.Collections;
import java.util.Iterator;
import java.util.List;
import java.util.Map;
import java.util.NoSuchElementException;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.AtomicReference;
import java.util.stream.IntStream;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/** The engine's contract, one behaviour per test, on real virtual threads. */
class EngineTest {
  private final Engine engine = FanOut.builder().build();

  @AfterEach
  void close() {
    engine.close();
  }

  private static List<Integer> range(int n) {
    return IntStream.range(0, n).boxed().toList();
  }

  private static <A> JobOutcome<A> outcomeOf(JobHandle<A> job) {
    return job.outcome().orTimeout(30, TimeUnit.SECONDS).join();
  }

  @Test
  void submit_returns_an_id_before_any_item_has_run() throws Exception {
    CountDownLatch release = new CountDownLatch(1);
    AtomicInteger finished = new AtomicInteger();
    JobHandle<Void> job =
        engine.submit(
            JobSpec.items(range(50))
                .function(
                    (Integer n, TaskContext ctx) -> {
                      release.await();
                      finished.incrementAndGet();
                      return n;
                    })
                .build());

    assertThat(job.id()).isNotNull();
    assertThat(job.outcome()).isNotDone();
    assertThat(finished).hasValue(0);
    release.countDown();
    assertThat(outcomeOf(job).state()).isEqualTo(JobState.SUCCEEDED);
    assertThat(finished).hasValue(50);
  }

  @Test
  void submit_does_not_wait_for_a_source_that_blocks() {
    CountDownLatch sourceReady = new CountDownLatch(1);
    Iterator<Integer> blocking =
        new Iterator<>() {
          int next;

          @Override
          public boolean hasNext() {
            try {
              sourceReady.await();
            } catch (InterruptedException e) {
              Thread.currentThread().interrupt();
            }
            return next < 3;
          }

          @Override
          public Integer next() {
            return next++;
          }
        };
    JobHandle<Long> job =
        engine.submit(
            JobSpec.items(blocking)
                .function((Integer n, TaskContext ctx) -> n)
                .reduce(Reducers.sumLong())
                .build());

    assertThat(job.status().state()).isEqualTo(JobState.ACCEPTED);
    assertThat(job.status().total()).isEmpty();
    sourceReady.countDown();
    JobOutcome<Long> outcome = outcomeOf(job);
    assertThat(outcome.aggregate()).isEqualTo(3L);
    assertThat(outcome.status().total()).hasValue(3);
  }

  @Test
  void aggregate_is_folded_in_input_order_whatever_the_completion_order() {
    // Later items finish first: item i sleeps (n - i) ms.
    int n = 40;
    JobHandle<List<Integer>> job =
        engine.submit(
            JobSpec.items(range(n))
                .function(
                    (Integer i, TaskContext ctx) -> {
                      Thread.sleep(n - i);
                      return i;
                    })
                .reduce(Reducers.<Integer>collect())
                .build());

    assertThat(outcomeOf(job).aggregate()).containsExactlyElementsOf(range(n));
  }

  @Test
  void consumer_sees_every_item_once_and_never_concurrently() {
    AtomicInteger inside = new AtomicInteger();
    AtomicBoolean overlapped = new AtomicBoolean();
    Set<Long> seen = ConcurrentHashMap.newKeySet();
    AtomicInteger duplicates = new AtomicInteger();
    JobHandle<Long> job =
        engine.submit(
            JobSpec.items(range(5_000))
                .function((Integer i, TaskContext ctx) -> i)
                .consumer(
                    r -> {
                      if (inside.incrementAndGet() != 1) {
                        overlapped.set(true);
                      }
                      if (!seen.add(r.index())) {
                        duplicates.incrementAndGet();
                      }
                      Thread.yield();
                      inside.decrementAndGet();
                    })
                .reduce(Reducers.count())
                .build());

    assertThat(outcomeOf(job).aggregate()).isEqualTo(5_000L);
    assertThat(overlapped).isFalse();
    assertThat(duplicates).hasValue(0);
    assertThat(seen).hasSize(5_000);
  }

  @Test
  void results_carry_sequence_numbers_in_completion_order_and_a_delivery_id() {
    List<ItemResult<Integer>> results = new CopyOnWriteArrayList<>();
    JobHandle<Void> job =
        engine.submit(
            JobSpec.items(range(100))
                .function((Integer i, TaskContext ctx) -> i)
                .consumer(results::add)
                .build());

    outcomeOf(job);
    assertThat(results).extracting(ItemResult::seq).containsExactlyElementsOf(seq(1, 100));
    assertThat(results.get(0).deliveryId()).startsWith(job.id().value() + ":");
    assertThat(results).allSatisfy(r -> assertThat(r.attempts()).isEqualTo(1));
  }

  private static List<Long> seq(long from, long to) {
    List<Long> out = new ArrayList<>();
    for (long i = from; i <= to; i++) {
      out.add(i);
    }
    return out;
  }

  @Test
  void input_order_delivers_results_to_the_consumer_by_index() {
    List<Long> order = new CopyOnWriteArrayList<>();
    JobHandle<Void> job =
        engine.submit(
            JobSpec.items(range(60))
                .function(
                    (Integer i, TaskContext ctx) -> {
                      Thread.sleep(60 - i);
                      return i;
                    })
                .consumer(r -> order.add(r.index()))
                .resultOrder(ResultOrder.INPUT)
                .build());

    outcomeOf(job);
    assertThat(order).isSorted().hasSize(60);
  }

  @Test
  void max_concurrency_caps_the_calls_running_at_once() {
    AtomicInteger running = new AtomicInteger();
    AtomicInteger peak = new AtomicInteger();
    JobHandle<Void> job =
        engine.submit(
            JobSpec.items(range(300))
                .function(
                    (Integer i, TaskContext ctx) -> {
                      peak.accumulateAndGet(running.incrementAndGet(), Math::max);
                      Thread.sleep(2);
                      running.decrementAndGet();
                      return i;
                    })
                .maxConcurrency(7)
                .build());

    assertThat(outcomeOf(job).state()).isEqualTo(JobState.SUCCEEDED);
    assertThat(peak.get()).isBetween(2, 7);
  }

  @Test
  void max_concurrency_can_be_raised_and_lowered_while_the_job_runs() throws Exception {
    AtomicInteger running = new AtomicInteger();
    AtomicInteger peakAfterLowering = new AtomicInteger();
    AtomicBoolean lowered = new AtomicBoolean();
    CountDownLatch gate = new CountDownLatch(1);
    JobHandle<Void> job =
        engine.submit(
            JobSpec.items(range(400))
                .function(
                    (Integer i, TaskContext ctx) -> {
                      int now = running.incrementAndGet();
                      if (lowered.get()) {
                        peakAfterLowering.accumulateAndGet(now, Math::max);
                      }
                      gate.await();
                      Thread.sleep(1);
                      running.decrementAndGet();
                      return i;
                    })
                .maxConcurrency(2)
                .build());

    await().until(() -> running.get() == 2);
    job.setMaxConcurrency(20);
    await().until(() -> running.get() == 20);
    assertThat(job.status().maxConcurrency()).isEqualTo(20);
    job.setMaxConcurrency(3);
    lowered.set(true);
    gate.countDown();
    assertThat(outcomeOf(job).state()).isEqualTo(JobState.SUCCEEDED);
    // Calls already running when the cap dropped finish; no new one starts above the new cap.
    assertThat(peakAfterLowering.get()).isLessThanOrEqualTo(20);
    assertThat(job.status().maxConcurrency()).isEqualTo(3);
  }

  @Test
  void a_paused_job_starts_nothing_new_until_resumed() {
    AtomicInteger started = new AtomicInteger();
    CountDownLatch gate = new CountDownLatch(1);
    JobHandle<Void> job =
        engine.submit(
            JobSpec.items(range(100))
                .function(
                    (Integer i, TaskContext ctx) -> {
                      started.incrementAndGet();
                      gate.await();
                      return i;
                    })
                .maxConcurrency(5)
                .build());

    await().until(() -> started.get() == 5);
    assertThat(job.pause()).isTrue();
    assertThat(job.pause()).isFalse();
    assertThat(job.status().state()).isEqualTo(JobState.PAUSED);
    gate.countDown();
    await().until(() -> job.status().running() == 0);
    assertThat(started).hasValue(5);
    assertThat(job.status().succeeded()).isEqualTo(5);
    assertThat(job.status().state()).isEqualTo(JobState.PAUSED);

    assertThat(job.resume()).isTrue();
    assertThat(outcomeOf(job).status().succeeded()).isEqualTo(100);
  }

  @Test
  void pause_and_set_max_concurrency_of_a_final_job_fail_naming_the_state() {
    JobHandle<Void> job = engine.submit(JobSpec.of(range(3), (i, ctx) -> i));
    outcomeOf(job);
    assertThatThrownBy(job::pause)
        .isInstanceOf(IllegalStateException.class)
        .hasMessageContaining("SUCCEEDED");
    assertThatThrownBy(job::resume)
        .isInstanceOf(IllegalStateException.class)
        .hasMessageContaining("cannot resume");
    assertThatThrownBy(() -> job.setMaxConcurrency(4))
        .isInstanceOf(IllegalStateException.class)
        .hasMessageContaining("SUCCEEDED");
    assertThatThrownBy(() -> job.setMaxConcurrency(0))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("maxConcurrency");
  }

  @Test
  void a_transient_failure_is_retried_and_the_attempts_are_counted() {
    ConcurrentHashMap<Integer, AtomicInteger> calls = new ConcurrentHashMap<>();
    List<ItemResult<Integer>> results = new CopyOnWriteArrayList<>();
    JobHandle<Long> job =
        engine.submit(
            JobSpec.items(range(20))
                .function(
                    (Integer i, TaskContext ctx) -> {
                      int call =
                          calls.computeIfAbsent(i, k -> new AtomicInteger()).incrementAndGet();
                      assertThat(ctx.attempt()).isEqualTo(call);
                      if (i % 2 == 0 && call < 3) {
                        throw new IllegalStateException("flaky " + i);
                      }
                      return i;
                    })
                .consumer(results::add)
                .reduce(Reducers.sumLong())
                .retry(
                    RetryPolicy.builder()
                        .maxAttempts(3)
                        .backoff(Duration.ofMillis(1))
                        .maxBackoff(Duration.ofMillis(2))
                        .build())
                .build());

    JobOutcome<Long> outcome = outcomeOf(job);
    assertThat(outcome.state()).isEqualTo(JobState.SUCCEEDED);
    assertThat(outcome.aggregate()).isEqualTo(190L);
    assertThat(outcome.status().retries()).isEqualTo(20);
    assertThat(results)
        .filteredOn(r -> r.index() % 2 == 0)
        .allSatisfy(r -> assertThat(r.attempts()).isEqualTo(3));
  }

  @Test
  void a_task_exception_that_is_not_retryable_fails_at_once_whatever_the_policy() {
    AtomicInteger calls = new AtomicInteger();
    JobOutcome<Void> outcome =
        outcomeOf(
            engine.submit(
                JobSpec.items(range(1))
                    .function(
                        (Integer i, TaskContext ctx) -> {
                          calls.incrementAndGet();
                          throw new TaskException("bad_input", "item " + i + " is not valid");
                        })
                    .retry(RetryPolicy.builder().maxAttempts(5).retryIf(e -> true).build())
                    .build()));

    assertThat(calls.get()).isEqualTo(1);
    assertThat(outcome.failures().get(0).error())
        .isInstanceOfSatisfying(
            TaskException.class, e -> assertThat(e.code()).isEqualTo("bad_input"));
  }

  @Test
  void an_error_the_policy_calls_permanent_fails_at_once() {
    AtomicInteger calls = new AtomicInteger();
    JobHandle<Void> job =
        engine.submit(
            JobSpec.items(List.of(1))
                .function(
                    (Integer i, TaskContext ctx) -> {
                      calls.incrementAndGet();
                      throw new IllegalArgumentException("bad item");
                    })
                .retry(
                    RetryPolicy.builder()
                        .maxAttempts(5)
                        .backoff(Duration.ZERO)
                        .retryIf(e -> !(e instanceof IllegalArgumentException))
                        .build())
                .build());

    JobOutcome<Void> outcome = outcomeOf(job);
    assertThat(calls).hasValue(1);
    assertThat(outcome.state()).isEqualTo(JobState.FAILED);
    assertThat(outcome.failures())
        .singleElement()
        .satisfies(
            f -> {
              assertThat(f.index()).isZero();
              assertThat(f.attempts()).isEqualTo(1);
              assertThat(f.error()).hasMessage("bad item");
            });
  }

  @Test
  void a_failure_never_throws_away_the_other_results() {
    JobHandle<List<Integer>> job =
        engine.submit(
            JobSpec.items(range(10))
                .function(
                    (Integer i, TaskContext ctx) -> {
                      if (i == 4) {
                        throw new IllegalStateException("item 4 is broken");
                      }
                      return i;
                    })
                .reduce(Reducers.<Integer>collect())
                .retry(RetryPolicy.none())
                .build());

    JobOutcome<List<Integer>> outcome = outcomeOf(job);
    assertThat(outcome.state()).isEqualTo(JobState.FAILED);
    assertThat(outcome.aggregate()).containsExactly(0, 1, 2, 3, 5, 6, 7, 8, 9);
    assertThat(outcome.failures()).extracting(ItemFailure::index).containsExactly(4L);
    assertThat(outcome.status().error()).contains("1 items failed");
  }

  @Test
  void failures_within_the_tolerated_count_let_the_job_succeed() {
    JobHandle<Long> job =
        engine.submit(
            JobSpec.items(range(10))
                .function(
                    (Integer i, TaskContext ctx) -> {
                      if (i < 2) {
                        throw new IllegalStateException("no");
                      }
                      return i;
                    })
                .reduce(Reducers.count())
                .retry(RetryPolicy.none())
                .failurePolicy(FailurePolicy.allSettled().toleratingFailures(2))
                .build());

    JobOutcome<Long> outcome = outcomeOf(job);
    assertThat(outcome.state()).isEqualTo(JobState.SUCCEEDED);
    assertThat(outcome.aggregate()).isEqualTo(8L);
    assertThat(outcome.failures()).hasSize(2);
  }

  @Test
  void failures_beyond_the_tolerated_percent_fail_the_job_after_every_item_ran() {
    AtomicInteger calls = new AtomicInteger();
    JobHandle<Void> job =
        engine.submit(
            JobSpec.items(range(100))
                .function(
                    (Integer i, TaskContext ctx) -> {
                      calls.incrementAndGet();
                      if (i % 10 == 0) {
                        throw new IllegalStateException("no");
                      }
                      return i;
                    })
                .retry(RetryPolicy.none())
                .failurePolicy(FailurePolicy.allSettled().toleratingPercent(9.5))
                .build());

    JobOutcome<Void> outcome = outcomeOf(job);
    assertThat(outcome.state()).isEqualTo(JobState.FAILED);
    assertThat(calls).hasValue(100);
    assertThat(outcome.status().failed()).isEqualTo(10);
    assertThat(outcome.status().succeeded()).isEqualTo(90);
  }

  @Test
  void fail_fast_cancels_the_items_not_yet_settled() {
    AtomicInteger started = new AtomicInteger();
    JobHandle<Long> job =
        engine.submit(
            JobSpec.items(range(1_000))
                .function(
                    (Integer i, TaskContext ctx) -> {
                      started.incrementAndGet();
                      if (i == 3) {
                        throw new IllegalStateException("fatal");
                      }
                      Thread.sleep(5);
                      return i;
                    })
                .reduce(Reducers.count())
                .maxConcurrency(4)
                .retry(RetryPolicy.none())
                .failurePolicy(FailurePolicy.failFast())
                .build());

    JobOutcome<Long> outcome = outcomeOf(job);
    JobStatus status = outcome.status();
    assertThat(outcome.state()).isEqualTo(JobState.FAILED);
    assertThat(status.failed()).isEqualTo(1);
    assertThat(status.cancelled()).isPositive();
    assertThat(status.succeeded() + status.failed() + status.cancelled()).isEqualTo(1_000);
    assertThat(started.get()).isLessThan(1_000);
    assertThat(outcome.aggregate()).isEqualTo(status.succeeded());
  }

  @Test
  void a_transform_that_throws_fails_its_item_without_a_retry() {
    AtomicInteger calls = new AtomicInteger();
    JobHandle<Long> job =
        engine.submit(
            JobSpec.items(range(5))
                .function(
                    (Integer i, TaskContext ctx) -> {
                      calls.incrementAndGet();
                      return i;
                    })
                .transform(
                    i -> {
                      if (i == 2) {
                        throw new ArithmeticException("cannot shape 2");
                      }
                      return (long) i * 10;
                    })
                .reduce(Reducers.sumLong())
                .build());

    JobOutcome<Long> outcome = outcomeOf(job);
    assertThat(calls).hasValue(5);
    assertThat(outcome.aggregate()).isEqualTo(80L);
    assertThat(outcome.failures())
        .singleElement()
        .satisfies(
            f -> {
              assertThat(f.error()).isInstanceOf(TransformException.class);
              assertThat(f.error()).hasRootCauseInstanceOf(ArithmeticException.class);
              assertThat(f.attempts()).isEqualTo(1);
            });
  }

  @Test
  void a_consumer_that_throws_leaves_the_results_and_the_aggregate_standing() {
    AtomicInteger delivered = new AtomicInteger();
    JobHandle<Long> job =
        engine.submit(
            JobSpec.items(range(50))
                .function((Integer i, TaskContext ctx) -> i)
                .consumer(
                    r -> {
                      delivered.incrementAndGet();
                      if (r.index() % 5 == 0) {
                        throw new IllegalStateException("consumer hiccup");
                      }
                    })
                .reduce(Reducers.sumLong())
                .build());

    JobOutcome<Long> outcome = outcomeOf(job);
    assertThat(outcome.state()).isEqualTo(JobState.SUCCEEDED);
    assertThat(outcome.aggregate()).isEqualTo(1225L);
    assertThat(delivered).hasValue(50);
  }

  @Test
  void a_reducer_that_throws_fails_the_job_and_names_the_item() {
    JobHandle<Long> job =
        engine.submit(
            JobSpec.items(List.of(Long.MAX_VALUE, 1L))
                .function((Long i, TaskContext ctx) -> i)
                .reduce(Reducers.sumLong())
                .build());

    JobOutcome<Long> outcome = outcomeOf(job);
    assertThat(outcome.state()).isEqualTo(JobState.FAILED);
    assertThat(outcome.aggregate()).isNull();
    // sumLong is commutative, so it folds in completion order: the overflow comes at whichever of
    // the two items settles second.
    assertThat(outcome.status().error())
        .containsPattern("reducer failed at item [01]")
        .contains("overflow");
  }

  @Test
  void a_batched_job_calls_the_function_with_lists_and_delivers_per_item() {
    List<Integer> batchSizes = new CopyOnWriteArrayList<>();
    List<Long> indexes = new CopyOnWriteArrayList<>();
    JobHandle<List<Integer>> job =
        engine.submit(
            JobSpec.items(range(23))
                .batchFunction(
                    5,
                    (List<Integer> batch, TaskContext ctx) -> {
                      batchSizes.add(batch.size());
                      assertThat(ctx.index()).isEqualTo(batch.get(0).longValue());
                      return batch.stream().map(i -> i * 2).toList();
                    })
                .consumer(r -> indexes.add(r.index()))
                .reduce(Reducers.<Integer>collect())
                .build());

    JobOutcome<List<Integer>> outcome = outcomeOf(job);
    assertThat(outcome.aggregate())
        .containsExactlyElementsOf(range(23).stream().map(i -> i * 2).toList());
    assertThat(batchSizes).containsExactlyInAnyOrder(5, 5, 5, 5, 3);
    assertThat(indexes).hasSize(23).doesNotHaveDuplicates();
  }

  @Test
  void a_batch_function_returning_the_wrong_number_of_results_fails_the_batch_for_good() {
    AtomicInteger calls = new AtomicInteger();
    JobHandle<Void> job =
        engine.submit(
            JobSpec.items(range(4))
                .batchFunction(
                    4,
                    (List<Integer> batch, TaskContext ctx) -> {
                      calls.incrementAndGet();
                      return List.of(1);
                    })
                .build());

    JobOutcome<Void> outcome = outcomeOf(job);
    assertThat(calls).hasValue(1);
    assertThat(outcome.failures()).hasSize(4);
    assertThat(outcome.failures().get(0).error())
        .hasMessage("batch function returned 1 results for 4 items");
  }

  @Test
  void cancel_interrupts_running_items_and_never_starts_pending_ones() {
    AtomicInteger started = new AtomicInteger();
    AtomicInteger interrupted = new AtomicInteger();
    List<Long> delivered = new CopyOnWriteArrayList<>();
    JobHandle<Long> job =
        engine.submit(
            JobSpec.items(range(1_000))
                .function(
                    (Integer i, TaskContext ctx) -> {
                      started.incrementAndGet();
                      if (i < 3) {
                        return i;
                      }
                      try {
                        Thread.sleep(Duration.ofMinutes(5));
                      } catch (InterruptedException e) {
                        interrupted.incrementAndGet();
                        throw e;
                      }
                      return i;
                    })
                .consumer(r -> delivered.add(r.index()))
                .reduce(Reducers.count())
                .maxConcurrency(10)
                .build());

    // Items 0-2 return at once and free their slots; every other item hangs until interrupted.
    await().until(() -> job.status().running() == 10 && job.status().succeeded() == 3);
    assertThat(job.cancel()).isTrue();
    assertThat(job.cancel()).isFalse();
    assertThat(job.status().state()).isEqualTo(JobState.CANCELLED);

    JobOutcome<Long> outcome = outcomeOf(job);
    assertThat(outcome.state()).isEqualTo(JobState.CANCELLED);
    assertThat(outcome.aggregate()).isEqualTo(3L);
    assertThat(outcome.status().cancelled()).isEqualTo(997);
    assertThat(outcome.status().pending()).isZero();
    assertThat(outcome.status().running()).isZero();
    await().until(() -> interrupted.get() == 10);
    assertThat(started).hasValue(13);
    assertThat(delivered).containsExactlyInAnyOrder(0L, 1L, 2L);
  }

  @Test
  void a_stream_source_is_closed_when_the_job_ends() {
    AtomicBoolean closed = new AtomicBoolean();
    Stream<Integer> items = range(10).stream().onClose(() -> closed.set(true));
    JobHandle<Void> job =
        engine.submit(JobSpec.items(items).function((Integer i, TaskContext ctx) -> i).build());

    outcomeOf(job);
    await().untilTrue(closed);
  }

  @Test
  void an_iterator_spec_cannot_be_submitted_twice() {
    JobSpec<Integer, Integer, Void> spec =
        JobSpec.items(range(3).iterator()).function((Integer i, TaskContext ctx) -> i).build();
    engine.submit(spec);
    assertThatThrownBy(() -> engine.submit(spec))
        .isInstanceOf(IllegalStateException.class)
        .hasMessageContaining("submitted only once");
  }

  @Test
  void a_source_that_throws_fails_the_job_but_keeps_what_it_accepted() {
    Iterator<Integer> broken =
        new Iterator<>() {
          int next;

          @Override
          public boolean hasNext() {
            if (next == 5) {
              throw new IllegalStateException("disk gone");
            }
            return true;
          }

          @Override
          public Integer next() {
            if (next == 5) {
              throw new NoSuchElementException();
            }
            return next++;
          }
        };
    JobHandle<Long> job =
        engine.submit(
            JobSpec.items(broken)
                .function((Integer i, TaskContext ctx) -> i)
                .reduce(Reducers.sumLong())
                .build());

    JobOutcome<Long> outcome = outcomeOf(job);
    assertThat(outcome.state()).isEqualTo(JobState.FAILED);
    assertThat(outcome.aggregate()).isEqualTo(10L);
    assertThat(outcome.status().succeeded()).isEqualTo(5);
    assertThat(outcome.status().total()).hasValue(5);
    assertThat(outcome.status().error()).contains("reading the items failed").contains("disk gone");
  }

  @Test
  void an_unbounded_source_is_read_only_a_bounded_window_ahead() {
    AtomicLong pulled = new AtomicLong();
    Iterator<Long> endless = endlessCounting(pulled);
    CountDownLatch stuck = new CountDownLatch(1);
    JobHandle<Double> job =
        engine.submit(
            JobSpec.items(endless)
                .function(
                    (Long i, TaskContext ctx) -> {
                      if (i == 0) {
                        stuck.await(); // the head of the line never settles until released
                      }
                      return i;
                    })
                .reduce(Reducers.sumDouble()) // folds in index order
                .maxConcurrency(4)
                .build());

    // The reducer folds in index order, so item 0 holds the window: reading stops near it.
    await().until(() -> job.status().succeeded() > 500);
    await().pollDelay(Duration.ofMillis(100)).until(() -> true);
    long read = pulled.get();
    assertThat(read).isLessThan(5_000);
    assertThat(job.status().total()).isEmpty();
    stuck.countDown();
    await().until(() -> pulled.get() > read + 10_000);
    job.cancel();
    assertThat(outcomeOf(job).state()).isEqualTo(JobState.CANCELLED);
  }

  @Test
  void a_consumer_slower_than_the_function_holds_back_reading() throws Exception {
    // Results in completion order and a reducer that does not care for order: nothing waits for
    // an index, but the consumer stuck on its first result must still stop the reading, at 64
    // windows of 1,024 results, or the settled results would pile up in memory without bound.
    AtomicLong pulled = new AtomicLong();
    Iterator<Long> endless = endlessCounting(pulled);
    CountDownLatch consumerStuck = new CountDownLatch(1);
    CountDownLatch release = new CountDownLatch(1);
    JobHandle<Long> job =
        engine.submit(
            JobSpec.items(endless)
                .function((Long i, TaskContext ctx) -> i)
                .consumer(
                    r -> {
                      consumerStuck.countDown();
                      try {
                        release.await();
                      } catch (InterruptedException e) {
                        Thread.currentThread().interrupt();
                      }
                    })
                .reduce(Reducers.sumLong())
                .maxConcurrency(4)
                .build());

    assertThat(consumerStuck.await(10, TimeUnit.SECONDS)).isTrue();
    await().until(() -> job.status().succeeded() > 60_000);
    // Reading stops: two looks 300 ms apart see the same count (a starved engine may take a
    // while to get there, so it gets a few tries), and it stopped at the bound.
    await("reading stopped while the consumer is stuck")
        .atMost(Duration.ofSeconds(10))
        .pollInterval(Duration.ofMillis(1))
        .until(
            () -> {
              long before = pulled.get();
              Thread.sleep(300);
              return pulled.get() == before;
            });
    long read = pulled.get();
    assertThat(read).isLessThan(70_000);
    release.countDown();
    await().until(() -> pulled.get() > read + 10_000);
    job.cancel();
    assertThat(outcomeOf(job).state()).isEqualTo(JobState.CANCELLED);
  }

  /** 0, 1, 2, ... for ever, counting in {@code pulled} how many were read. */
  private static Iterator<Long> endlessCounting(AtomicLong pulled) {
    return new Iterator<>() {
      @Override
      public boolean hasNext() {
        return true;
      }

      @Override
      public Long next() {
        return pulled.getAndIncrement();
      }
    };
  }

  @Test
  void the_engine_wide_cap_holds_across_jobs() {
    AtomicInteger running = new AtomicInteger();
    AtomicInteger peak = new AtomicInteger();
    TaskFunction<Integer, Integer> fn =
        (i, ctx) -> {
          peak.accumulateAndGet(running.incrementAndGet(), Math::max);
          Thread.sleep(1);
          running.decrementAndGet();
          return i;
        };
    try (Engine capped = FanOut.builder().maxConcurrency(5).build()) {
      List<JobHandle<Void>> jobs = new ArrayList<>();
      for (int j = 0; j < 4; j++) {
        jobs.add(capped.submit(JobSpec.items(range(100)).function(fn).maxConcurrency(50).build()));
      }
      for (JobHandle<Void> job : jobs) {
        assertThat(outcomeOf(job).status().succeeded()).isEqualTo(100);
      }
    }
    assertThat(peak.get()).isBetween(2, 5);
  }

  @Test
  void a_job_waiting_for_an_engine_slot_gets_one_before_a_busy_job_finishes() {
    try (Engine capped = FanOut.builder().maxConcurrency(2).build()) {
      // 20,000 items of 1 ms on two slots keep the busy job running for over ten seconds, so a
      // shared machine's stall of a few hundred milliseconds cannot let it finish first.
      JobHandle<Long> busy =
          capped.submit(
              JobSpec.items(range(20_000))
                  .function(
                      (Integer i, TaskContext ctx) -> {
                        Thread.sleep(1);
                        return i;
                      })
                  .reduce(Reducers.count())
                  .build());
      await().until(() -> busy.status().succeeded() > 0);
      JobHandle<Long> late =
          capped.submit(
              JobSpec.items(range(10))
                  .function((Integer i, TaskContext ctx) -> i)
                  .reduce(Reducers.count())
                  .build());

      assertThat(outcomeOf(late).aggregate()).isEqualTo(10);
      // A busy job's attempts hand their threads the job's next items, but give the slot back
      // when another job waits for one, instead of holding the engine until they run dry.
      assertThat(busy.status().settled()).isLessThan(20_000);
      assertThat(busy.cancel()).isTrue();
      assertThat(outcomeOf(busy).state()).isEqualTo(JobState.CANCELLED);
    }
  }

  @Test
  void an_attempt_never_sees_an_interrupt_an_earlier_attempt_left_on_its_thread() {
    Set<Thread> threads = ConcurrentHashMap.newKeySet();
    Set<Integer> sawInterrupt = ConcurrentHashMap.newKeySet();
    JobOutcome<Long> outcome =
        outcomeOf(
            engine.submit(
                JobSpec.items(range(200))
                    .function(
                        (Integer i, TaskContext ctx) -> {
                          threads.add(Thread.currentThread());
                          if (Thread.currentThread().isInterrupted()) {
                            sawInterrupt.add(i);
                          }
                          // Sloppy user code: leaves its thread interrupted.
                          Thread.currentThread().interrupt();
                          return i;
                        })
                    .reduce(Reducers.count())
                    .maxConcurrency(1)
                    .build()));

    assertThat(outcome.aggregate()).isEqualTo(200);
    assertThat(sawInterrupt).isEmpty();
    // Otherwise the test proves nothing: the attempts did share threads.
    assertThat(threads).hasSizeLessThan(200);
  }

  @Test
  void an_empty_source_succeeds_with_the_identity_aggregate() {
    JobOutcome<Long> sum =
        outcomeOf(
            engine.submit(
                JobSpec.items(List.<Integer>of())
                    .function((Integer i, TaskContext ctx) -> i)
                    .reduce(Reducers.sumLong())
                    .build()));
    JobOutcome<Integer> min =
        outcomeOf(
            engine.submit(
                JobSpec.items(List.<Integer>of())
                    .function((Integer i, TaskContext ctx) -> i)
                    .reduce(Reducers.<Integer>min())
                    .build()));

    assertThat(sum.state()).isEqualTo(JobState.SUCCEEDED);
    assertThat(sum.aggregate()).isZero();
    assertThat(sum.status().total()).hasValue(0);
    assertThat(min.aggregate()).isNull();
  }

  @Test
  void null_items_reach_the_function() {
    List<String> items = new ArrayList<>(Collections.nCopies(3, (String) null));
    items.set(1, "x");
    JobOutcome<List<String>> outcome =
        outcomeOf(
            engine.submit(
                JobSpec.items(items)
                    .function((String s, TaskContext ctx) -> s == null ? "null" : s)
                    .reduce(Reducers.<String>collect())
                    .build()));
    assertThat(outcome.aggregate()).containsExactly("null", "x", "null");
  }

  @Test
  void the_engine_lists_jobs_newest_first_and_finds_them_by_id() {
    JobHandle<Void> first = engine.submit(JobSpec.of(range(1), (i, ctx) -> i));
    outcomeOf(first);
    await().pollDelay(Duration.ofMillis(5)).until(() -> true);
    JobHandle<Void> second = engine.submit(JobSpec.of(range(1), (i, ctx) -> i));
    outcomeOf(second);

    assertThat(engine.list()).extracting(JobStatus::id).containsExactly(second.id(), first.id());
    assertThat(engine.job(first.id())).containsSame(first);
    assertThat(engine.status(second.id()).orElseThrow().state()).isEqualTo(JobState.SUCCEEDED);
    JobId unknown = JobId.of("00000000-0000-7000-8000-000000000000");
    assertThat(engine.job(unknown)).isEmpty();
    assertThatThrownBy(() -> engine.cancel(unknown))
        .isInstanceOf(NoSuchJobException.class)
        .hasMessageContaining(unknown.value());
  }

  @Test
  void closing_the_engine_cancels_unfinished_jobs_and_refuses_new_ones() {
    Engine closing = FanOut.builder().build();
    JobHandle<Void> job =
        closing.submit(
            JobSpec.of(
                range(10),
                (i, ctx) -> {
                  Thread.sleep(Duration.ofMinutes(1));
                  return i;
                }));
    closing.close();

    assertThat(outcomeOf(job).state()).isEqualTo(JobState.CANCELLED);
    assertThatThrownBy(() -> closing.submit(JobSpec.of(range(1), (i, ctx) -> i)))
        .isInstanceOf(IllegalStateException.class)
        .hasMessageContaining("closed");
  }

  @Test
  void an_attempt_the_executor_refuses_fails_its_item_without_hanging_the_job() {
    for (int items : new int[] {100, 500}) {
      java.util.concurrent.ExecutorService pool =
          java.util.concurrent.Executors.newFixedThreadPool(2);
      AtomicInteger launched = new AtomicInteger();
      java.util.concurrent.Executor refusing =
          task -> {
            // The pump and the first attempt's thread run; every later execution is refused. The
            // first thread runs its chain on; the pump's launches for the other slot fail.
            if (launched.incrementAndGet() > 2) {
              throw new java.util.concurrent.RejectedExecutionException("pool is full");
            }
            pool.execute(task);
          };
      try (Engine small = FanOut.builder().executor(refusing).build()) {
        JobOutcome<Long> outcome =
            outcomeOf(
                small.submit(
                    JobSpec.items(range(items))
                        .function((Integer i, TaskContext ctx) -> i)
                        .reduce(Reducers.count())
                        .maxConcurrency(2)
                        .build()));
        assertThat(outcome.state()).isEqualTo(JobState.FAILED);
        assertThat(outcome.status().settled()).isEqualTo(items);
        assertThat(outcome.status().succeeded()).isPositive();
        assertThat(outcome.status().failed()).isPositive();
        assertThat(outcome.aggregate()).isEqualTo(outcome.status().succeeded());
        assertThat(outcome.failures())
            .hasSize((int) outcome.status().failed())
            .allSatisfy(f -> assertThat(f.error()).hasMessage("pool is full"));
      } finally {
        pool.shutdown();
      }
    }
  }

  @Test
  void a_busy_pool_at_the_end_of_a_chain_fails_nothing() {
    java.util.concurrent.ExecutorService pool =
        java.util.concurrent.Executors.newFixedThreadPool(2);
    AtomicInteger launched = new AtomicInteger();
    java.util.concurrent.Executor busyAfterTwo =
        task -> {
          if (launched.incrementAndGet() > 2) {
            throw new java.util.concurrent.RejectedExecutionException("pool is full");
          }
          pool.execute(task);
        };
    AtomicInteger read = new AtomicInteger();
    java.util.Iterator<Integer> source =
        new java.util.Iterator<>() {
          @Override
          public boolean hasNext() {
            return read.get() < 300;
          }

          @Override
          public Integer next() {
            return read.getAndIncrement();
          }
        };
    try (Engine small = FanOut.builder().executor(busyAfterTwo).build()) {
      JobOutcome<Long> outcome =
          outcomeOf(
              small.submit(
                  JobSpec.items(source)
                      .function(
                          (Integer i, TaskContext ctx) -> {
                            if (i == 0) {
                              // Let the pump stage a full chain's worth first, so the chain
                              // never finds the stage empty and gives its slot back.
                              await().until(() -> read.get() >= 100);
                            }
                            return i;
                          })
                      .reduce(Reducers.count())
                      .maxConcurrency(1)
                      .build()));
      // One thread ran every item, past chain ends the pool refused to take over.
      assertThat(outcome.failures()).isEmpty();
      assertThat(outcome.state()).isEqualTo(JobState.SUCCEEDED);
      assertThat(outcome.aggregate()).isEqualTo(300);
    } finally {
      pool.shutdown();
    }
  }

  @Test
  void a_job_that_gave_its_slots_to_a_waiting_job_still_finishes() {
    // Holds the first two items until the second job waits, so a loaded machine cannot finish
    // the first job before the test sees both of its slots taken.
    CountDownLatch gate = new CountDownLatch(1);
    try (Engine capped = FanOut.builder().maxConcurrency(2).build()) {
      JobHandle<Long> first =
          capped.submit(
              JobSpec.items(range(20))
                  .function(
                      (Integer i, TaskContext ctx) -> {
                        if (i < 2) {
                          gate.await(10, TimeUnit.SECONDS);
                        }
                        Thread.sleep(20);
                        return i;
                      })
                  .reduce(Reducers.count())
                  .maxConcurrency(2)
                  .build());
      await().until(() -> first.status().running() == 2);
      // A hungrier job: it wants more slots than the engine has, so it keeps waiting for them and
      // the first job gives both of its slots away while its source is already read to the end.
      JobHandle<Long> second =
          capped.submit(
              JobSpec.items(range(200))
                  .function(
                      (Integer i, TaskContext ctx) -> {
                        Thread.sleep(2);
                        return i;
                      })
                  .reduce(Reducers.count())
                  .maxConcurrency(10)
                  .build());
      gate.countDown();

      assertThat(outcomeOf(second).aggregate()).isEqualTo(200);
      assertThat(outcomeOf(first).aggregate()).isEqualTo(20);
    }
  }

  @Test
  void a_consumer_that_throws_an_error_does_not_jam_the_job() {
    JobOutcome<Long> outcome =
        outcomeOf(
            engine.submit(
                JobSpec.items(range(3))
                    .function((Integer i, TaskContext ctx) -> i)
                    .consumer(
                        r -> {
                          throw new AssertionError("consumer bug");
                        })
                    .reduce(Reducers.count())
                    .build()));
    assertThat(outcome.state()).isEqualTo(JobState.SUCCEEDED);
    assertThat(outcome.aggregate()).isEqualTo(3L);
  }

  @Test
  void a_retry_predicate_that_throws_fails_the_item_instead_of_losing_it() {
    JobOutcome<Void> outcome =
        outcomeOf(
            engine.submit(
                JobSpec.items(range(2))
                    .function(
                        (Integer i, TaskContext ctx) -> {
                          throw new IllegalStateException("down");
                        })
                    .retry(
                        RetryPolicy.builder()
                            .maxAttempts(3)
                            .retryIf(
                                e -> {
                                  throw new IllegalArgumentException("predicate bug");
                                })
                            .build())
                    .build()));
    assertThat(outcome.state()).isEqualTo(JobState.FAILED);
    assertThat(outcome.failures()).hasSize(2);
    assertThat(outcome.failures().get(0).error().getSuppressed())
        .singleElement()
        .satisfies(e -> assertThat(e).hasMessage("predicate bug"));
  }

  @Test
  void a_stream_with_one_item_is_closed_when_its_job_succeeds() {
    AtomicBoolean closed = new AtomicBoolean();
    JobHandle<Void> job =
        engine.submit(
            JobSpec.items(Stream.of(1).onClose(() -> closed.set(true)))
                .function((Integer i, TaskContext ctx) -> i)
                .maxConcurrency(1)
                .build());
    assertThat(outcomeOf(job).state()).isEqualTo(JobState.SUCCEEDED);
    await().untilTrue(closed);
  }

  @Test
  void a_paused_job_waiting_for_an_engine_slot_does_not_swallow_the_wake_up() throws Exception {
    CountDownLatch release = new CountDownLatch(1);
    try (Engine capped = FanOut.builder().maxConcurrency(1).build()) {
      JobHandle<Void> first =
          capped.submit(
              JobSpec.items(range(2))
                  .function(
                      (Integer i, TaskContext ctx) -> {
                        release.await();
                        return i;
                      })
                  .build());
      await().until(() -> first.status().running() == 1);
      JobHandle<Void> second = capped.submit(JobSpec.of(range(3), (i, ctx) -> i));
      await().pollDelay(Duration.ofMillis(50)).until(() -> true);
      first.pause();
      release.countDown();
      assertThat(outcomeOf(second).status().succeeded()).isEqualTo(3);
      first.resume();
      assertThat(outcomeOf(first).status().succeeded()).isEqualTo(2);
    }
  }

  @Test
  void an_item_that_hangs_holds_back_none_of_the_items_taken_ahead_with_it() throws Exception {
    // Fast items make each chain take tasks ahead; the one that hangs has some of them queued
    // behind it, which the other chains must take over. Items count as fast only once the JIT
    // has compiled the engine's path, hence a warm-up job first.
    outcomeOf(engine.submit(JobSpec.of(range(50_000), (Integer i, TaskContext ctx) -> i)));
    CountDownLatch hung = new CountDownLatch(1);
    CountDownLatch release = new CountDownLatch(1);
    JobHandle<Void> job =
        engine.submit(
            JobSpec.items(range(400))
                .function(
                    (Integer i, TaskContext ctx) -> {
                      if (i == 200) {
                        hung.countDown();
                        release.await();
                      }
                      return i;
                    })
                .maxConcurrency(4)
                .build());
    assertThat(hung.await(10, TimeUnit.SECONDS)).isTrue();
    await().until(() -> job.status().succeeded() == 399);
    JobStatus status = job.status();
    assertThat(status.running()).isEqualTo(1);
    assertThat(status.pending()).isZero();
    release.countDown();
    assertThat(outcomeOf(job).status().succeeded()).isEqualTo(400);
  }

  @Test
  void a_fail_fast_job_runs_nothing_more_on_the_thread_whose_item_failed() {
    // Fast items make each thread take tasks ahead; the one whose item fails must settle at once
    // and end the job, rather than run the rest of its batch first. Five jobs, failing at
    // different places in a batch, since one failing at a batch's end would prove nothing.
    for (int failing = 1_000; failing < 1_005; failing++) {
      int failingItem = failing;
      AtomicReference<Thread> failedOn = new AtomicReference<>();
      AtomicInteger startedAfterOnThatThread = new AtomicInteger();
      // Made in advance: throwing it is as quick as the items, filling in a stack trace is not.
      IllegalStateException failure = new IllegalStateException("item fails");
      JobHandle<Void> job =
          engine.submit(
              JobSpec.items(range(2_000))
                  .function(
                      (Integer i, TaskContext ctx) -> {
                        if (failedOn.get() == Thread.currentThread()) {
                          startedAfterOnThatThread.incrementAndGet();
                        }
                        if (i == failingItem) {
                          failedOn.set(Thread.currentThread());
                          throw failure;
                        }
                        return i;
                      })
                  .maxConcurrency(2)
                  .retry(RetryPolicy.builder().maxAttempts(1).build())
                  .failurePolicy(FailurePolicy.failFast())
                  .build());
      assertThat(outcomeOf(job).state()).isEqualTo(JobState.FAILED);
      assertThat(startedAfterOnThatThread).as("failing at %d", failingItem).hasValue(0);
    }
  }

  @Test
  void cancelling_while_an_item_hangs_keeps_what_its_thread_finished_before_it() {
    // Fast items make each thread take tasks ahead and settle them together: item 500 cancels
    // the job as it begins, when its thread has finished the start of its batch and not settled
    // it. Every item that thread returned before must count.
    CompletableFuture<JobHandle<Void>> handle = new CompletableFuture<>();
    Map<Thread, List<Integer>> returnedOn = new ConcurrentHashMap<>();
    List<Integer> beforeTheCancel = new CopyOnWriteArrayList<>();
    Set<Long> succeeded = ConcurrentHashMap.newKeySet();
    JobHandle<Void> job =
        engine.submit(
            JobSpec.items(range(1_000))
                .function(
                    (Integer i, TaskContext ctx) -> {
                      List<Integer> mine =
                          returnedOn.computeIfAbsent(
                              Thread.currentThread(), t -> new CopyOnWriteArrayList<>());
                      if (i == 500) {
                        beforeTheCancel.addAll(mine);
                        handle.join().cancel();
                        new CountDownLatch(1).await();
                      }
                      mine.add(i);
                      return i;
                    })
                .consumer(
                    r -> {
                      if (r.succeeded()) {
                        succeeded.add(r.index());
                      }
                    })
                .maxConcurrency(2)
                .build());
    handle.complete(job);
    assertThat(outcomeOf(job).state()).isEqualTo(JobState.CANCELLED);
    assertThat(beforeTheCancel).isNotEmpty();
    assertThat(succeeded).containsAll(beforeTheCancel.stream().map(Integer::longValue).toList());
  }

  @Test
  void status_counts_add_up_while_a_job_runs() {
    CountDownLatch gate = new CountDownLatch(1);
    JobHandle<Void> job =
        engine.submit(
            JobSpec.items(range(50))
                .function(
                    (Integer i, TaskContext ctx) -> {
                      if (i >= 10) {
                        gate.await();
                      }
                      return i;
                    })
                .maxConcurrency(5)
                .build());

    await().until(() -> job.status().running() == 5 && job.status().succeeded() == 10);
    JobStatus status = job.status();
    assertThat(status.state()).isEqualTo(JobState.RUNNING);
    assertThat(status.startedAt()).isNotNull();
    assertThat(status.finishedAt()).isNull();
    assertThat(status.pending() + status.running() + status.settled()).isEqualTo(50);
    gate.countDown();
    JobStatus done = outcomeOf(job).status();
    assertThat(done.finishedAt()).isNotNull();
    assertThat(done.pending()).isZero();
  }
}
