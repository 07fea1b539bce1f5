package dev.fanout;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import dev.fanout.spi.InMemoryJobStore;
import dev.fanout.spi.JobStore;
import dev.fanout.spi.NodeRow;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.stream.IntStream;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/**
 * Engines sharing one store, as the nodes of a cluster do: each named consumer is delivered by one
 * node at a time, a later small job is not starved by an earlier big one, and every node shows in
 * the store's node list until it leaves.
 */
class ClusterEngineTest {
  private final JobStore store = new InMemoryJobStore();
  private final List<Engine> engines = new CopyOnWriteArrayList<>();

  @AfterEach
  void close() {
    engines.forEach(Engine::close);
  }

  private Engine node(String id, int concurrency) {
    Engine engine =
        FanOut.builder()
            .store(store)
            .workerId(id)
            .maxConcurrency(concurrency)
            .pollInterval(Duration.ofMillis(10))
            // No test here lets a node's item leases run out, and a lapse would call an item or
            // deliver a result twice on a stalled machine.
            .leaseDuration(Duration.ofSeconds(30))
            .build();
    engine.register("id", Integer.class, (Integer n, TaskContext ctx) -> n);
    engine.register("slow", Integer.class, sleeping(2));
    engines.add(engine);
    return engine;
  }

  private static TaskFunction<Integer, Integer> sleeping(long millis) {
    return (Integer n, TaskContext ctx) -> {
      Thread.sleep(millis);
      return n;
    };
  }

  private static List<Integer> range(int n) {
    return IntStream.range(0, n).boxed().toList();
  }

  @Test
  void three_nodes_running_one_job_hand_each_result_to_its_consumer_once() {
    Map<Long, AtomicInteger> calls = new ConcurrentHashMap<>();
    List<Engine> nodes = List.of(node("a", 8), node("b", 8), node("c", 8));
    for (Engine n : nodes) {
      n.registerConsumer(
          "hook",
          Integer.class,
          r -> calls.computeIfAbsent(r.index(), k -> new AtomicInteger()).incrementAndGet());
      n.start();
    }

    JobHandle<Void> job =
        nodes.get(0).submit(JobSpec.items(range(2_000)).function("slow").consumer("hook").build());

    await()
        .atMost(Duration.ofSeconds(60))
        .until(() -> store.acknowledged(job.id(), "hook") == 2_000);
    assertThat(calls).hasSize(2_000);
    assertThat(calls.values()).allSatisfy(c -> assertThat(c.get()).isEqualTo(1));
  }

  @Test
  void a_small_job_submitted_after_a_big_one_finishes_while_most_of_the_big_one_waits() {
    Engine engine = node("a", 4);
    // Counted in calls, not in time: a stall of a loaded machine holds both jobs back alike, and
    // the big job's progress while the test looks was all an earlier check could see.
    AtomicInteger bigCalls = new AtomicInteger();
    TaskFunction<Integer, Integer> slower = sleeping(20);
    engine.register(
        "big",
        Integer.class,
        (Integer n, TaskContext ctx) -> {
          bigCalls.incrementAndGet();
          return slower.apply(n, ctx);
        });
    JobHandle<Void> big = engine.submit(JobSpec.items(range(20_000)).function("big").build());
    await().until(() -> big.status().succeeded() > 20);

    int before = bigCalls.get();
    JobHandle<Void> small = engine.submit(JobSpec.items(range(10)).function("slow").build());
    await().atMost(Duration.ofSeconds(60)).until(() -> small.status().state().isFinal());
    int during = bigCalls.get() - before;

    assertThat(small.status().state()).isEqualTo(JobState.SUCCEEDED);
    // The small job gets slots as the big job's calls end: about twenty big calls start
    // meanwhile; were the jobs served first come, first served, 20,000. The big calls are slow
    // so that a dispatcher slow to claim costs few of them.
    assertThat(during).as("calls of the big job while the small one ran").isLessThan(200);
    big.cancel();
  }

  @Test
  void each_node_beats_into_the_node_list_and_shows_stopped_once_closed() {
    Engine a = node("node-a", 7);
    Engine b = node("node-b", 9);
    a.start();
    b.start();

    await().until(() -> store.nodes().stream().map(NodeRow::id).toList(), ids -> ids.size() == 2);
    NodeRow rowA = store.nodes().stream().filter(n -> n.id().equals("node-a")).findFirst().get();
    assertThat(rowA.concurrency()).isEqualTo(7);
    assertThat(rowA.stopped()).isFalse();
    assertThat(rowA.version()).isNotBlank();

    a.close();
    assertThat(store.nodes())
        .filteredOn(n -> n.id().equals("node-a"))
        .singleElement()
        .satisfies(n -> assertThat(n.stopped()).isTrue());
    assertThat(store.nodes())
        .filteredOn(n -> n.id().equals("node-b"))
        .singleElement()
        .satisfies(n -> assertThat(n.stopped()).isFalse());
  }

  @Test
  void cancelling_a_job_on_one_node_stops_its_attempts_on_the_others() {
    AtomicInteger running = new AtomicInteger();
    AtomicInteger interrupted = new AtomicInteger();
    List<Engine> nodes = List.of(node("a", 2), node("b", 2));
    for (Engine n : nodes) {
      n.register(
          "hang",
          Integer.class,
          (Integer i, TaskContext ctx) -> {
            running.incrementAndGet();
            try {
              Thread.sleep(Duration.ofMinutes(5));
            } catch (InterruptedException e) {
              interrupted.incrementAndGet();
              throw e;
            } finally {
              running.decrementAndGet();
            }
            return i;
          });
      n.start();
    }
    JobHandle<Void> job = nodes.get(0).submit(JobSpec.items(range(100)).function("hang").build());
    await().atMost(Duration.ofSeconds(30)).until(() -> running.get() == 4);

    job.cancel();

    await().atMost(Duration.ofSeconds(30)).until(() -> running.get() == 0);
    assertThat(interrupted.get()).isEqualTo(4);
  }

  @Test
  void the_nodes_that_did_not_deliver_a_finished_job_stop_asking_for_its_delivery() {
    AtomicInteger leaseCalls = new AtomicInteger();
    JobStore counting = countingLeaseCalls(store, leaseCalls);
    List<Engine> nodes = new java.util.ArrayList<>();
    for (String id : List.of("a", "b", "c")) {
      Engine n =
          FanOut.builder()
              .store(counting)
              .workerId(id)
              .pollInterval(Duration.ofMillis(10))
              .leaseDuration(Duration.ofMillis(600))
              .build();
      n.register("id", Integer.class, (Integer i, TaskContext ctx) -> i);
      n.registerConsumer("hook", Integer.class, r -> {});
      n.start();
      engines.add(n);
      nodes.add(n);
    }
    JobHandle<Void> job =
        nodes.get(0).submit(JobSpec.items(range(200)).function("id").consumer("hook").build());
    await().atMost(Duration.ofSeconds(30)).until(() -> store.acknowledged(job.id(), "hook") == 200);

    // Every loop that is not delivering looks again a third of a lease later, finds the job
    // delivered, and ends: the calls stop.
    int[] last = {-1};
    await()
        .atMost(Duration.ofSeconds(20))
        .pollInterval(Duration.ofSeconds(1))
        .until(
            () -> {
              int now = leaseCalls.get();
              boolean quiet = now == last[0];
              last[0] = now;
              return quiet;
            });
  }

  /** The store, counting calls of leaseDelivery. */
  private static JobStore countingLeaseCalls(JobStore store, AtomicInteger calls) {
    return (JobStore)
        java.lang.reflect.Proxy.newProxyInstance(
            JobStore.class.getClassLoader(),
            new Class<?>[] {JobStore.class},
            (proxy, method, args) -> {
              if (method.getName().equals("leaseDelivery")) {
                calls.incrementAndGet();
              }
              try {
                return method.invoke(store, args);
              } catch (java.lang.reflect.InvocationTargetException e) {
                throw e.getCause();
              }
            });
  }

  @Test
  void a_node_that_stalled_past_its_delivery_lease_does_not_hand_over_again_what_another_did() {
    CountDownLatch firstCallHeld = new CountDownLatch(1);
    CountDownLatch releaseFirstCall = new CountDownLatch(1);
    Map<Long, AtomicInteger> calls = new ConcurrentHashMap<>();
    Engine a = leasedNode("a");
    // a's receiver hangs on its first result far longer than the lease: b takes over meanwhile.
    a.registerConsumer(
        "hook",
        Integer.class,
        r -> {
          calls.computeIfAbsent(r.index(), k -> new AtomicInteger()).incrementAndGet();
          if (firstCallHeld.getCount() > 0) {
            firstCallHeld.countDown();
            try {
              releaseFirstCall.await();
            } catch (InterruptedException e) {
              Thread.currentThread().interrupt();
            }
          }
        });
    a.start();
    JobHandle<Void> job =
        a.submit(JobSpec.items(range(50)).function("id").consumer("hook").build());
    await().atMost(Duration.ofSeconds(30)).until(() -> firstCallHeld.getCount() == 0);

    Engine b = leasedNode("b");
    b.registerConsumer(
        "hook",
        Integer.class,
        r -> calls.computeIfAbsent(r.index(), k -> new AtomicInteger()).incrementAndGet());
    b.start();
    await()
        .atMost(Duration.ofSeconds(30))
        .until(() -> store.acknowledged(job.id(), "hook") == 50 && calls.size() == 50);
    releaseFirstCall.countDown();

    // a finishes its stalled call, finds the lease free (b released it) and the job handed over:
    // it must not start again from where it stalled.
    await()
        .pollDelay(Duration.ofSeconds(1))
        .atMost(Duration.ofSeconds(30))
        .until(() -> store.acknowledged(job.id(), "hook#finished") > 0);
    assertThat(calls.values().stream().mapToInt(AtomicInteger::get).sum())
        .as("deliveries: the stalled one twice at most, every other once")
        .isLessThanOrEqualTo(51);
  }

  private Engine leasedNode(String id) {
    Engine engine =
        FanOut.builder()
            .store(store)
            .workerId(id)
            .pollInterval(Duration.ofMillis(10))
            .leaseDuration(Duration.ofMillis(300))
            .build();
    engine.register("id", Integer.class, (Integer n, TaskContext ctx) -> n);
    engines.add(engine);
    return engine;
  }
}
