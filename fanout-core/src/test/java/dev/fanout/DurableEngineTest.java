package dev.fanout;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.awaitility.Awaitility.await;

import com.fasterxml.jackson.databind.JsonNode;
import dev.fanout.spi.InMemoryJobStore;
import dev.fanout.spi.JobStore;
import dev.fanout.testing.FakeTime;
import java.lang.reflect.InvocationTargetException;
import java.lang.reflect.Proxy;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.stream.IntStream;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/** Durable jobs over the in-memory store: named functions, leases, fences and resumption. */
class DurableEngineTest {
  private final JobStore store = new InMemoryJobStore();
  private final List<Engine> engines = new CopyOnWriteArrayList<>();

  @AfterEach
  void close() {
    engines.forEach(Engine::close);
  }

  private Engine engine(Duration lease) {
    Engine engine =
        FanOut.builder()
            .store(store)
            .leaseDuration(lease)
            .pollInterval(Duration.ofMillis(10))
            .build();
    engines.add(engine);
    return engine;
  }

  private Engine engine() {
    return engine(Duration.ofSeconds(30));
  }

  private static List<Integer> range(int n) {
    return IntStream.range(0, n).boxed().toList();
  }

  private static <A> JobOutcome<A> outcomeOf(JobHandle<A> job) {
    return job.outcome().orTimeout(30, TimeUnit.SECONDS).join();
  }

  @Test
  void a_jobs_id_tells_its_creation_time_and_ids_of_one_millisecond_keep_their_order() {
    Engine engine = engine();
    engine.register("square", Integer.class, (Integer n, TaskContext ctx) -> (long) n * n);

    List<JobHandle<?>> jobs = new ArrayList<>();
    for (int i = 0; i < 20; i++) {
      jobs.add(engine.submit(JobSpec.items(range(1)).function("square").build()));
    }

    for (JobHandle<?> job : jobs) {
      assertThat(JobStore.createdAtOf(job.id())).hasValue(job.status().createdAt());
    }
    assertThat(jobs.stream().map(j -> j.id().value()).toList()).isSorted();
  }

  @Test
  void a_named_job_runs_and_folds_with_a_built_in_reducer() {
    Engine engine = engine();
    engine.register("square", Integer.class, (Integer n, TaskContext ctx) -> (long) n * n);

    JobHandle<JsonNode> job =
        engine.submit(JobSpec.items(range(1_000)).function("square").reduce("sum").build());

    JobOutcome<JsonNode> outcome = outcomeOf(job);
    assertThat(outcome.state()).isEqualTo(JobState.SUCCEEDED);
    assertThat(outcome.aggregate().longValue()).isEqualTo(332_833_500L);
    assertThat(outcome.status().succeeded()).isEqualTo(1_000);
    assertThat(outcome.status().total()).hasValue(1_000);
    assertThat(engine.job(job.id())).isPresent();
    assertThat(engine.list()).extracting(JobStatus::id).contains(job.id());
  }

  @Test
  void finished_attempts_hand_their_slots_to_the_next_items_without_the_dispatcher() {
    // Counts the store's separate claims: the dispatcher's. An hour's poll interval means it runs
    // only when woken, so a job that still finishes was fed by the writer's refills.
    AtomicInteger claims = new AtomicInteger();
    AtomicInteger refills = new AtomicInteger();
    JobStore counting =
        spy(
            (method, args) -> {
              switch (method) {
                case "claim" -> claims.incrementAndGet();
                case "completeAndClaim" -> refills.incrementAndGet();
                default -> {}
              }
              return FORWARD;
            });
    Engine engine = FanOut.builder().store(counting).pollInterval(Duration.ofHours(1)).build();
    engines.add(engine);
    engine.register("square", Integer.class, (Integer n, TaskContext ctx) -> (long) n * n);

    JobHandle<JsonNode> job =
        engine.submit(
            JobSpec.items(range(300)).function("square").reduce("sum").maxConcurrency(4).build());

    JobOutcome<JsonNode> outcome = outcomeOf(job);
    assertThat(outcome.state()).isEqualTo(JobState.SUCCEEDED);
    assertThat(outcome.aggregate().longValue()).isEqualTo(8_955_050L);
    assertThat(refills.get()).isPositive();
    // A claim per finished attempt would be about 300; the refills leave the first claim and
    // a few at the tail, where a refill comes up short.
    assertThat(claims.get()).isLessThan(30);
  }

  @Test
  void a_wave_of_attempts_that_end_together_is_replaced_whole_whatever_the_claim_batch() {
    // Each item waits until its whole wave of 8 runs at once, so the job finishes only if every
    // wave's 8 slots are refilled together; the writer must claim all the slots its batch freed,
    // not one claim batch's worth, with the dispatcher asleep for an hour.
    int wave = 8;
    Engine engine =
        FanOut.builder().store(store).claimBatchSize(1).pollInterval(Duration.ofHours(1)).build();
    engines.add(engine);
    Map<Integer, CountDownLatch> waves = new ConcurrentHashMap<>();
    engine.register(
        "inWaves",
        Integer.class,
        (Integer n, TaskContext ctx) -> {
          CountDownLatch all = waves.computeIfAbsent(n / wave, k -> new CountDownLatch(wave));
          all.countDown();
          if (!all.await(20, TimeUnit.SECONDS)) {
            throw new IllegalStateException("wave " + n / wave + " never ran whole");
          }
          return n;
        });

    JobHandle<JsonNode> job =
        engine.submit(
            JobSpec.items(range(wave * 6))
                .function("inWaves")
                .reduce("count")
                .maxConcurrency(wave)
                .retry(RetryPolicy.builder().maxAttempts(1).build())
                .build());

    JobOutcome<JsonNode> outcome = outcomeOf(job);
    assertThat(outcome.state()).as(outcome.toString()).isEqualTo(JobState.SUCCEEDED);
    assertThat(outcome.aggregate().longValue()).isEqualTo(wave * 6);
  }

  @Test
  void the_engine_wide_cap_holds_across_durable_jobs_while_the_dispatcher_and_the_writer_claim() {
    int cap = 3;
    AtomicInteger inFlight = new AtomicInteger();
    AtomicInteger peak = new AtomicInteger();
    Engine engine =
        FanOut.builder()
            .store(store)
            .maxConcurrency(cap)
            .pollInterval(Duration.ofMillis(5))
            .build();
    engines.add(engine);
    engine.register(
        "tracked",
        Integer.class,
        (Integer n, TaskContext ctx) -> {
          peak.accumulateAndGet(inFlight.incrementAndGet(), Math::max);
          try {
            Thread.sleep(n % 3);
            return n;
          } finally {
            inFlight.decrementAndGet();
          }
        });

    List<JobHandle<JsonNode>> jobs =
        IntStream.range(0, 4)
            .mapToObj(
                j ->
                    engine.submit(
                        JobSpec.items(range(150))
                            .function("tracked")
                            .reduce("count")
                            .maxConcurrency(10)
                            .build()))
            .toList();

    for (JobHandle<JsonNode> job : jobs) {
      JobOutcome<JsonNode> outcome = outcomeOf(job);
      assertThat(outcome.state()).isEqualTo(JobState.SUCCEEDED);
      assertThat(outcome.aggregate().longValue()).isEqualTo(150);
    }
    assertThat(peak.get()).isEqualTo(cap);
  }

  @Test
  void collect_folds_in_index_order_whatever_the_completion_order() {
    Engine engine = engine();
    engine.register(
        "slowIdentity",
        Integer.class,
        (Integer n, TaskContext ctx) -> {
          Thread.sleep(50 - n);
          return n;
        });

    JobOutcome<JsonNode> outcome =
        outcomeOf(
            engine.submit(
                JobSpec.items(range(50)).function("slowIdentity").reduce("collect").build()));

    assertThat(outcome.aggregate())
        .extracting(JsonNode::intValue)
        .containsExactlyElementsOf(range(50));
  }

  @Test
  void submitting_a_job_that_names_nothing_registered_fails_clearly() {
    Engine engine = engine();
    assertThatThrownBy(() -> engine.submit(JobSpec.items(range(3)).function("nobody").build()))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("no function is registered under 'nobody'")
        .hasMessageContaining("engine.register(\"nobody\"");
    engine.register("id", Integer.class, (Integer n, TaskContext ctx) -> n);
    assertThatThrownBy(
            () -> engine.submit(JobSpec.items(range(3)).function("id").reduce("median").build()))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("no reducer is registered under 'median'")
        .hasMessageContaining("[count, sum, min, max, avg, collect]");
    assertThat(engine.list()).isEmpty();
  }

  @Test
  void a_durable_job_refuses_lambdas_that_could_not_survive_a_restart() {
    assertThatThrownBy(() -> JobSpec.items(range(3)).function("id").consumer(r -> {}).build())
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("its consumer must be named too")
        .hasMessageContaining("registerConsumer");
    assertThatThrownBy(
            () ->
                JobSpec.items(range(3))
                    .function((Integer i, TaskContext c) -> i)
                    .reduce("sum")
                    .build())
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("needs a function given by name");
  }

  @Test
  void registering_a_name_twice_or_a_built_in_reducer_name_is_refused() {
    Engine engine = engine();
    engine.register("f", Integer.class, (Integer n, TaskContext ctx) -> n);
    assertThatThrownBy(() -> engine.register("f", Integer.class, (Integer n, TaskContext c) -> n))
        .isInstanceOf(IllegalStateException.class)
        .hasMessage("a function is already registered under 'f'");
    assertThatThrownBy(() -> engine.registerReducer("sum", Long.class, Reducers.sumLong()))
        .isInstanceOf(IllegalStateException.class)
        .hasMessageContaining("built in");
  }

  @Test
  void failures_are_retried_then_reported_beside_the_aggregate() {
    Engine engine = engine();
    Map<Integer, AtomicInteger> calls = new ConcurrentHashMap<>();
    engine.register(
        "flaky",
        Integer.class,
        (Integer n, TaskContext ctx) -> {
          calls.computeIfAbsent(n, k -> new AtomicInteger()).incrementAndGet();
          if (n == 7) {
            throw new IllegalStateException("seven is cursed");
          }
          if (ctx.attempt() == 1 && n % 2 == 0) {
            throw new IllegalStateException("first try of an even number");
          }
          return n;
        });

    JobOutcome<JsonNode> outcome =
        outcomeOf(
            engine.submit(
                JobSpec.items(range(10))
                    .function("flaky")
                    .reduce("sum")
                    .retry(
                        RetryPolicy.builder()
                            .maxAttempts(3)
                            .backoff(Duration.ofMillis(1))
                            .maxBackoff(Duration.ofMillis(5))
                            .build())
                    .build()));

    assertThat(outcome.state()).isEqualTo(JobState.FAILED);
    assertThat(outcome.aggregate().longValue()).isEqualTo(45 - 7);
    assertThat(outcome.failures())
        .singleElement()
        .satisfies(
            f -> {
              assertThat(f.index()).isEqualTo(7);
              assertThat(f.attempts()).isEqualTo(3);
              assertThat(f.error())
                  .isInstanceOf(TaskFailedException.class)
                  .hasMessage("java.lang.IllegalStateException: seven is cursed");
            });
    assertThat(outcome.status().retries()).isEqualTo(5 + 2);
    assertThat(calls.get(4)).hasValue(2);
    assertThat(outcome.status().error()).contains("1 items failed");
  }

  @Test
  void fail_fast_cancels_the_rest_of_a_durable_job() {
    Engine engine = engine();
    engine.register(
        "boom",
        Integer.class,
        (Integer n, TaskContext ctx) -> {
          if (n == 0) {
            throw new IllegalStateException("boom");
          }
          Thread.sleep(20);
          return n;
        });

    JobOutcome<Void> outcome =
        outcomeOf(
            engine.submit(
                JobSpec.items(range(500))
                    .function("boom")
                    .maxConcurrency(2)
                    .retry(RetryPolicy.none())
                    .failurePolicy(FailurePolicy.failFast())
                    .build()));

    assertThat(outcome.state()).isEqualTo(JobState.FAILED);
    assertThat(outcome.status().cancelled()).isPositive();
    assertThat(outcome.status().settled()).isEqualTo(500);
  }

  @Test
  void a_named_consumer_sees_every_result_and_resumes_after_its_last_acknowledgement() {
    List<Long> firstRun = new CopyOnWriteArrayList<>();
    CountDownLatch gate = new CountDownLatch(1);
    Engine first = engine(Duration.ofMillis(300));
    first.register(
        "gated",
        Integer.class,
        (Integer n, TaskContext ctx) -> {
          if (n >= 5) {
            gate.await();
          }
          return n * 10;
        });
    first.registerConsumer("log", Integer.class, r -> firstRun.add(r.index()));
    JobHandle<Void> job =
        first.submit(JobSpec.items(range(10)).function("gated").consumer("log").build());
    await().until(() -> firstRun.size() == 5);
    first.close();

    List<ItemResult<Integer>> secondRun = new CopyOnWriteArrayList<>();
    Engine second = engine(Duration.ofMillis(300));
    second.register("gated", Integer.class, (Integer n, TaskContext ctx) -> n * 10);
    second.registerConsumer("log", Integer.class, secondRun::add);
    second.start();

    // The first engine's leases on items 5-9 run out; the second reclaims and runs them.
    await().atMost(Duration.ofSeconds(20)).until(() -> secondRun.size() == 5);
    assertThat(secondRun)
        .extracting(ItemResult::index)
        .containsExactlyInAnyOrder(5L, 6L, 7L, 8L, 9L);
    assertThat(secondRun).allSatisfy(r -> assertThat(r.value()).isEqualTo(r.index() * 10));
    assertThat(secondRun)
        .extracting(ItemResult::deliveryId)
        .allMatch(id -> id.startsWith(job.id() + ":"));
    assertThat(firstRun).containsExactlyInAnyOrder(0L, 1L, 2L, 3L, 4L);
    assertThat(second.status(job.id()).orElseThrow().state()).isEqualTo(JobState.SUCCEEDED);
  }

  @Test
  void an_input_ordered_durable_job_hands_its_consumer_each_result_in_index_order_once() {
    Engine engine = engine();
    // The later the item, the sooner it returns: completion order is roughly the reverse.
    engine.register(
        "fasterLater",
        Integer.class,
        (Integer n, TaskContext ctx) -> {
          Thread.sleep(40 - n);
          if (n % 7 == 3) {
            throw new IllegalStateException("item " + n + " fails");
          }
          return n;
        });
    List<ItemResult<Integer>> seen = new CopyOnWriteArrayList<>();
    engine.registerConsumer("log", Integer.class, seen::add);

    JobHandle<JsonNode> job =
        engine.submit(
            JobSpec.items(range(40))
                .function("fasterLater")
                .consumer("log")
                .reduce("collect")
                .resultOrder(ResultOrder.INPUT)
                .retry(RetryPolicy.none())
                .build());

    JobOutcome<JsonNode> outcome = outcomeOf(job);
    await().atMost(Duration.ofSeconds(20)).until(() -> seen.size() == 40);
    assertThat(seen).extracting(ItemResult::index).containsExactlyElementsOf(longs(0, 40));
    assertThat(seen).extracting(ItemResult::seq).containsExactlyElementsOf(longs(1, 41));
    assertThat(seen)
        .filteredOn(r -> !r.succeeded())
        .extracting(ItemResult::index)
        .containsExactly(3L, 10L, 17L, 24L, 31L, 38L);
    assertThat(outcome.failures()).hasSize(6);

    // Retried (and failing again), the failed items reach the consumer anew in index order, after
    // all the rest.
    assertThat(job.retryFailed()).isTrue();
    await().atMost(Duration.ofSeconds(20)).until(() -> seen.size() == 46);
    assertThat(seen.subList(40, 46))
        .extracting(ItemResult::index)
        .containsExactly(3L, 10L, 17L, 24L, 31L, 38L);
    assertThat(seen.subList(40, 46))
        .extracting(ItemResult::seq)
        .containsExactlyElementsOf(longs(41, 47));
  }

  @Test
  void a_submission_is_stored_in_batches_of_the_stores_size_and_of_bounded_characters() {
    List<Integer> batches = new CopyOnWriteArrayList<>();
    JobStore sized =
        spy(
            (method, args) -> {
              switch (method) {
                case "itemBatchSize" -> {
                  return 7;
                }
                case "addItems" -> batches.add(((List<?>) args[2]).size());
                default -> {}
              }
              return FORWARD;
            });
    Engine engine = FanOut.builder().store(sized).pollInterval(Duration.ofMillis(10)).build();
    engines.add(engine);
    engine.register("length", String.class, (String s, TaskContext ctx) -> s.length());

    List<String> small = java.util.Collections.nCopies(50, "x");
    JobOutcome<JsonNode> smallJob =
        outcomeOf(engine.submit(JobSpec.items(small).function("length").reduce("sum").build()));
    assertThat(smallJob.aggregate().longValue()).isEqualTo(50);
    assertThat(batches).containsExactly(7, 7, 7, 7, 7, 7, 7, 1);

    // Three of these pass four million characters, so no batch holds more, whatever the size.
    batches.clear();
    List<String> large = java.util.Collections.nCopies(7, "y".repeat(1_500_000));
    JobOutcome<JsonNode> largeJob =
        outcomeOf(engine.submit(JobSpec.items(large).function("length").reduce("sum").build()));
    assertThat(largeJob.aggregate().longValue()).isEqualTo(7 * 1_500_000L);
    assertThat(batches).containsExactly(3, 3, 1);
  }

  /** What a spy does first with a call to the store: an answer of its own, or {@link #FORWARD}. */
  private interface Interceptor {
    Object before(String method, Object[] args);
  }

  private static final Object FORWARD = new Object();

  /** The test's store behind an interceptor, which sees every call before the store does. */
  private JobStore spy(Interceptor interceptor) {
    return (JobStore)
        Proxy.newProxyInstance(
            JobStore.class.getClassLoader(),
            new Class<?>[] {JobStore.class},
            (proxy, method, args) -> {
              Object answer = interceptor.before(method.getName(), args);
              if (answer != FORWARD) {
                return answer;
              }
              try {
                return method.invoke(store, args);
              } catch (InvocationTargetException e) {
                throw e.getCause();
              }
            });
  }

  @Test
  void a_store_that_cannot_number_results_by_input_refuses_an_input_ordered_job() {
    JobStore plain =
        (JobStore)
            Proxy.newProxyInstance(
                JobStore.class.getClassLoader(),
                new Class<?>[] {JobStore.class},
                (proxy, method, args) ->
                    method.getName().equals("supportsResultOrder")
                        ? java.lang.reflect.InvocationHandler.invokeDefault(proxy, method, args)
                        : method.invoke(store, args));
    Engine engine = FanOut.builder().store(plain).pollInterval(Duration.ofMillis(10)).build();
    engines.add(engine);
    engine.register("id", Integer.class, (Integer n, TaskContext ctx) -> n);

    assertThatThrownBy(
            () ->
                engine.submit(
                    JobSpec.items(range(3)).function("id").resultOrder(ResultOrder.INPUT).build()))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("cannot deliver a durable job's results in INPUT order");
    assertThat(store.listJobs(10, null)).isEmpty();
  }

  private static List<Long> longs(long from, long to) {
    return java.util.stream.LongStream.range(from, to).boxed().toList();
  }

  @Test
  void a_second_engine_finishes_a_job_whose_first_engine_went_away() {
    Engine first = engine(Duration.ofMillis(300));
    AtomicInteger firstCalls = new AtomicInteger();
    first.register(
        "stuck",
        Integer.class,
        (Integer n, TaskContext ctx) -> {
          firstCalls.incrementAndGet();
          new CountDownLatch(1).await();
          return n;
        });
    JobHandle<JsonNode> job =
        first.submit(
            JobSpec.items(range(40)).function("stuck").reduce("sum").maxConcurrency(8).build());
    await().until(() -> firstCalls.get() == 8);
    first.close();

    // Only the first engine's leases must run out. The second's are longer, so that a stall of
    // this JVM cannot reclaim its own items and call them twice; not much longer, since an engine
    // looks for expired leases every half of its own.
    Engine second = engine(Duration.ofSeconds(2));
    Map<Integer, AtomicInteger> secondCalls = new ConcurrentHashMap<>();
    second.register(
        "stuck",
        Integer.class,
        (Integer n, TaskContext ctx) -> {
          secondCalls.computeIfAbsent(n, k -> new AtomicInteger()).incrementAndGet();
          return n;
        });
    second.start();

    JobOutcome<?> outcome = outcomeOf(second.job(job.id()).orElseThrow());
    assertThat(outcome.state()).isEqualTo(JobState.SUCCEEDED);
    assertThat(((JsonNode) outcome.aggregate()).longValue()).isEqualTo(780);
    assertThat(outcome.status().succeeded()).isEqualTo(40);
    assertThat(secondCalls).hasSize(40);
    assertThat(secondCalls.values()).allSatisfy(c -> assertThat(c.get()).isEqualTo(1));
  }

  @Test
  void finished_jobs_are_purged_once_their_retention_has_passed() {
    FakeTime time = new FakeTime();
    Engine engine =
        FanOut.builder()
            .store(store)
            .clock(time)
            .scheduler(time)
            .pollInterval(Duration.ofMillis(10))
            .storeRetention(Duration.ofMinutes(10))
            .build();
    engines.add(engine);
    engine.register("id", Integer.class, (Integer n, TaskContext ctx) -> n);
    JobHandle<Void> job = engine.submit(JobSpec.items(range(5)).function("id").build());
    outcomeOf(job);

    time.advance(Duration.ofMinutes(9));
    await().pollDelay(Duration.ofMillis(100)).until(() -> true);
    assertThat(store.job(job.id())).as("within its retention").isPresent();
    time.advance(Duration.ofMinutes(2));
    await().until(() -> store.job(job.id()).isEmpty());
  }

  @Test
  void a_durable_job_past_its_deadline_fails_and_keeps_what_settled() {
    FakeTime time = new FakeTime();
    Engine engine =
        FanOut.builder()
            .store(store)
            .clock(time)
            .scheduler(time)
            .pollInterval(Duration.ofMillis(10))
            .build();
    engines.add(engine);
    engine.register(
        "halfHangs",
        Integer.class,
        (Integer n, TaskContext ctx) -> {
          if (n >= 5) {
            new CountDownLatch(1).await();
          }
          return n;
        });
    JobHandle<JsonNode> job =
        engine.submit(
            JobSpec.items(range(10))
                .function("halfHangs")
                .reduce("sum")
                .deadline(Duration.ofSeconds(30))
                .build());
    await().until(() -> job.status().succeeded() == 5 && job.status().running() == 5);
    time.advance(Duration.ofSeconds(30));

    JobOutcome<JsonNode> outcome = outcomeOf(job);
    assertThat(outcome.state()).isEqualTo(JobState.FAILED);
    assertThat(outcome.aggregate().longValue()).isEqualTo(10);
    assertThat(outcome.status().cancelled()).isEqualTo(5);
    assertThat(outcome.status().error()).isEqualTo("job deadline of 30000 ms passed");
  }

  @Test
  void a_durable_submit_after_close_is_refused() {
    Engine engine = engine();
    engine.register("id", Integer.class, (Integer n, TaskContext ctx) -> n);
    engine.close();
    assertThatThrownBy(() -> engine.submit(JobSpec.items(range(1)).function("id").build()))
        .isInstanceOf(IllegalStateException.class)
        .hasMessageContaining("closed");
  }

  @Test
  void a_reducer_that_throws_an_error_fails_its_job_and_the_engine_carries_on() {
    Engine engine = engine();
    engine.register("id", Integer.class, (Integer n, TaskContext ctx) -> n);
    engine.registerReducer(
        "broken",
        Integer.class,
        Reducer.<Integer, Integer>of(
            () -> 0,
            (a, v) -> {
              throw new AssertionError("reducer bug");
            }));
    JobOutcome<JsonNode> broken =
        outcomeOf(engine.submit(JobSpec.items(range(3)).function("id").reduce("broken").build()));
    assertThat(broken.state()).isEqualTo(JobState.FAILED);
    assertThat(broken.status().error()).contains("reducer bug");
    JobOutcome<JsonNode> next =
        outcomeOf(engine.submit(JobSpec.items(range(3)).function("id").reduce("sum").build()));
    assertThat(next.aggregate().longValue()).isEqualTo(3);
  }

  @Test
  void an_attempt_the_executor_refuses_is_reclaimed_and_run_again() {
    AtomicInteger executions = new AtomicInteger();
    java.util.concurrent.ExecutorService pool =
        java.util.concurrent.Executors.newVirtualThreadPerTaskExecutor();
    Engine engine =
        FanOut.builder()
            .store(store)
            .leaseDuration(Duration.ofMillis(300))
            .pollInterval(Duration.ofMillis(10))
            .executor(
                task -> {
                  if (executions.incrementAndGet() == 1) {
                    throw new java.util.concurrent.RejectedExecutionException("busy");
                  }
                  pool.execute(task);
                })
            .build();
    engines.add(engine);
    engine.register("id", Integer.class, (Integer n, TaskContext ctx) -> n);
    JobOutcome<JsonNode> outcome =
        outcomeOf(engine.submit(JobSpec.items(range(5)).function("id").reduce("sum").build()));
    assertThat(outcome.state()).isEqualTo(JobState.SUCCEEDED);
    assertThat(outcome.aggregate().longValue()).isEqualTo(10);
    pool.shutdown();
  }

  @Test
  void cancel_pause_and_resume_work_on_a_durable_job() {
    Engine engine = engine();
    CountDownLatch gate = new CountDownLatch(1);
    AtomicInteger started = new AtomicInteger();
    engine.register(
        "wait",
        Integer.class,
        (Integer n, TaskContext ctx) -> {
          started.incrementAndGet();
          gate.await();
          if (n >= 20) {
            new CountDownLatch(1).await(); // hangs until the cancel interrupts it
          }
          return n;
        });
    JobHandle<Void> job =
        engine.submit(JobSpec.items(range(100)).function("wait").maxConcurrency(4).build());
    await().until(() -> started.get() == 4);
    assertThat(job.pause()).isTrue();
    assertThat(job.status().state()).isEqualTo(JobState.PAUSED);
    gate.countDown();
    await().until(() -> job.status().succeeded() == 4);
    assertThat(started).hasValue(4);
    assertThat(job.resume()).isTrue();
    await().until(() -> job.status().succeeded() == 20 && job.status().running() == 4);
    assertThat(job.cancel()).isTrue();
    assertThat(job.cancel()).isFalse();

    JobOutcome<Void> outcome = outcomeOf(job);
    assertThat(outcome.state()).isEqualTo(JobState.CANCELLED);
    assertThat(outcome.status().settled()).isEqualTo(100);
    assertThatThrownBy(job::pause).hasMessageContaining("CANCELLED");
  }

  @Test
  void retrying_failed_items_reruns_only_them_and_a_new_outcome_follows_the_new_run() {
    Engine engine = engine();
    Map<Integer, AtomicInteger> calls = new ConcurrentHashMap<>();
    engine.register(
        "oddFailsOnce",
        Integer.class,
        (Integer n, TaskContext ctx) -> {
          int call = calls.computeIfAbsent(n, k -> new AtomicInteger()).incrementAndGet();
          if (n % 2 == 1 && call == 1) {
            throw new IllegalStateException("first call of " + n);
          }
          return n;
        });
    JobHandle<JsonNode> job =
        engine.submit(
            JobSpec.items(range(10))
                .function("oddFailsOnce")
                .reduce("sum")
                .retry(RetryPolicy.builder().maxAttempts(1).build())
                .build());
    JobOutcome<JsonNode> first = outcomeOf(job);
    assertThat(first.state()).isEqualTo(JobState.FAILED);
    assertThat(first.aggregate().intValue()).isEqualTo(20);
    assertThat(first.failures()).extracting(ItemFailure::index).containsExactly(1L, 3L, 5L, 7L, 9L);

    assertThat(job.retryFailed()).isTrue();

    JobOutcome<JsonNode> second = outcomeOf(job);
    assertThat(second.state()).as(second.toString()).isEqualTo(JobState.SUCCEEDED);
    assertThat(second.aggregate().intValue()).isEqualTo(45);
    assertThat(second.failures()).isEmpty();
    assertThat(job.status().succeeded()).isEqualTo(10);
    assertThat(calls.values()).extracting(AtomicInteger::get).containsOnly(1, 2);
    assertThat(job.retryFailed()).isFalse();
  }

  @Test
  void a_running_job_does_not_retry_and_an_in_memory_job_cannot() {
    Engine engine = engine();
    CountDownLatch gate = new CountDownLatch(1);
    engine.register(
        "gated",
        Integer.class,
        (Integer n, TaskContext ctx) -> {
          gate.await();
          return n;
        });
    JobHandle<?> running = engine.submit(JobSpec.items(range(2)).function("gated").build());
    try {
      assertThatThrownBy(running::retryFailed).isInstanceOf(IllegalStateException.class);
    } finally {
      gate.countDown();
    }
    JobHandle<Void> local = engine.submit(JobSpec.of(range(1), (Integer n, TaskContext c) -> n));
    assertThatThrownBy(local::retryFailed).isInstanceOf(UnsupportedOperationException.class);
  }

  @Test
  void a_keyed_submission_is_created_once_and_another_fingerprint_conflicts() {
    Engine engine = engine();
    engine.register("id", Integer.class, (Integer n, TaskContext ctx) -> n);
    JsonNode metadata =
        new com.fasterxml.jackson.databind.ObjectMapper().createObjectNode().put("k", 1);

    JobHandle<?> first =
        engine.submit(
            JobSpec.items(range(3))
                .function("id")
                .metadata(metadata)
                .idempotencyKey("key", "fp")
                .build());
    JobHandle<?> again =
        engine.submit(JobSpec.items(range(3)).function("id").idempotencyKey("key", "fp").build());

    assertThat(again.id()).isEqualTo(first.id());
    assertThat(again.metadata()).hasValue(metadata);
    assertThatThrownBy(
            () ->
                engine.submit(
                    JobSpec.items(range(3)).function("id").idempotencyKey("key", "other").build()))
        .isInstanceOfSatisfying(
            IdempotencyConflictException.class, e -> assertThat(e.holder()).isEqualTo(first.id()));
    assertThat(engine.list()).hasSize(1);
    assertThatThrownBy(
            () ->
                JobSpec.items(range(1))
                    .function((Integer n, TaskContext c) -> n)
                    .idempotencyKey("k", "f")
                    .build())
        .isInstanceOf(IllegalArgumentException.class);
  }
}
