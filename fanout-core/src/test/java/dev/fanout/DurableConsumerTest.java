package dev.fanout;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.awaitility.Awaitility.await;

import dev.fanout.spi.InMemoryJobStore;
import dev.fanout.spi.JobStore;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.Consumer;
import java.util.stream.IntStream;
import java.util.stream.LongStream;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/**
 * A durable consumer that throws is retried with backoff and never skips a result; a consumer that
 * is a {@link JobFinishedListener} hears of the job's end after its last result, at least once and
 * across a restart.
 */
class DurableConsumerTest {
  private final JobStore store = new InMemoryJobStore();
  private final List<Engine> engines = new CopyOnWriteArrayList<>();

  @AfterEach
  void close() {
    engines.forEach(Engine::close);
  }

  private Engine engine(Duration backoff, Duration maxBackoff) {
    Engine engine =
        FanOut.builder()
            .store(store)
            .pollInterval(Duration.ofMillis(10))
            .consumerRetry(backoff, maxBackoff)
            .build();
    engine.register("id", Integer.class, (Integer n, TaskContext ctx) -> n);
    engines.add(engine);
    return engine;
  }

  private static List<Integer> range(int n) {
    return IntStream.range(0, n).boxed().toList();
  }

  /** Records results and the end of the job, throwing while told to. */
  private static final class Recorder
      implements Consumer<ItemResult<Integer>>, JobFinishedListener {
    final Map<Long, AtomicInteger> calls = new ConcurrentHashMap<>();
    final List<Object> events = new CopyOnWriteArrayList<>();
    final AtomicInteger failuresLeft;
    final AtomicInteger finishFailuresLeft;
    final CountDownLatch firstFailure = new CountDownLatch(1);

    Recorder(int failures, int finishFailures) {
      this.failuresLeft = new AtomicInteger(failures);
      this.finishFailuresLeft = new AtomicInteger(finishFailures);
    }

    @Override
    public void accept(ItemResult<Integer> r) {
      calls.computeIfAbsent(r.index(), k -> new AtomicInteger()).incrementAndGet();
      if (failuresLeft.getAndDecrement() > 0) {
        firstFailure.countDown();
        throw new IllegalStateException("receiver down for item " + r.index());
      }
      events.add(r.index());
    }

    @Override
    public void onJobFinished(JobStatus status) {
      if (finishFailuresLeft.getAndDecrement() > 0) {
        throw new IllegalStateException("receiver down for the end");
      }
      events.add(status);
    }

    List<Long> delivered() {
      return events.stream().filter(Long.class::isInstance).map(Long.class::cast).toList();
    }

    List<JobStatus> finished() {
      return events.stream()
          .filter(JobStatus.class::isInstance)
          .map(JobStatus.class::cast)
          .toList();
    }
  }

  @Test
  void a_consumer_that_throws_gets_the_same_result_again_and_none_is_skipped() {
    Engine engine = engine(Duration.ofMillis(1), Duration.ofMillis(20));
    Recorder recorder = new Recorder(5, 0);
    engine.registerConsumer("rec", Integer.class, recorder);

    JobHandle<Void> job =
        engine.submit(JobSpec.items(range(50)).function("id").consumer("rec").build());

    await().atMost(Duration.ofSeconds(20)).until(() -> recorder.finished().size() == 1);
    assertThat(recorder.delivered()).hasSize(50).doesNotHaveDuplicates();
    assertThat(recorder.delivered())
        .containsExactlyInAnyOrderElementsOf(LongStream.range(0, 50).boxed().toList());
    // The item that threw five times was handed over six times; every other item once.
    assertThat(recorder.calls.values().stream().mapToInt(AtomicInteger::get).sum()).isEqualTo(55);
    assertThat(recorder.events.get(recorder.events.size() - 1)).isInstanceOf(JobStatus.class);
    assertThat(recorder.finished().get(0).state()).isEqualTo(JobState.SUCCEEDED);
    assertThat(recorder.finished().get(0).id()).isEqualTo(job.id());
    assertThat(store.acknowledged(job.id(), "rec")).isEqualTo(50);
  }

  @Test
  void a_failing_consumer_waits_out_its_backoff_instead_of_spinning_and_close_cuts_it_short()
      throws InterruptedException {
    Engine engine = engine(Duration.ofHours(1), Duration.ofHours(1));
    Recorder recorder = new Recorder(Integer.MAX_VALUE, 0);
    engine.registerConsumer("rec", Integer.class, recorder);
    engine.submit(JobSpec.items(range(3)).function("id").consumer("rec").build());

    assertThat(recorder.firstFailure.await(20, TimeUnit.SECONDS)).isTrue();
    Thread.sleep(200);
    // Within an hour's backoff the consumer is not called again.
    assertThat(recorder.calls.values().stream().mapToInt(AtomicInteger::get).sum()).isEqualTo(1);

    Thread closer = Thread.ofVirtual().start(engine::close);
    await().atMost(Duration.ofSeconds(15)).until(() -> !closer.isAlive());
  }

  @Test
  void the_end_of_the_job_is_retried_and_comes_after_every_result() {
    Engine engine = engine(Duration.ofMillis(1), Duration.ofMillis(10));
    Recorder recorder = new Recorder(0, 3);
    engine.registerConsumer("rec", Integer.class, recorder);
    JobHandle<Void> job =
        engine.submit(JobSpec.items(range(20)).function("id").consumer("rec").build());

    await().atMost(Duration.ofSeconds(20)).until(() -> recorder.finished().size() == 1);
    assertThat(recorder.events).hasSize(21);
    assertThat(recorder.events.get(20)).isInstanceOf(JobStatus.class);
    JobStatus finished = recorder.finished().get(0);
    assertThat(finished.state().isFinal()).isTrue();
    assertThat(finished.succeeded()).isEqualTo(20);
    assertThat(finished.id()).isEqualTo(job.id());
  }

  @Test
  void an_end_not_acknowledged_before_a_restart_is_reported_after_it() throws InterruptedException {
    Engine first = engine(Duration.ofHours(1), Duration.ofHours(1));
    Recorder down = new Recorder(0, Integer.MAX_VALUE);
    first.registerConsumer("rec", Integer.class, down);
    JobHandle<Void> job =
        first.submit(JobSpec.items(range(10)).function("id").consumer("rec").build());
    await()
        .atMost(Duration.ofSeconds(20))
        .until(
            () ->
                down.delivered().size() == 10 && down.finishFailuresLeft.get() < Integer.MAX_VALUE);
    first.close();
    assertThat(down.finished()).isEmpty();

    Engine second = engine(Duration.ofMillis(1), Duration.ofMillis(10));
    Recorder up = new Recorder(0, 0);
    second.registerConsumer("rec", Integer.class, up);
    second.start();

    await().atMost(Duration.ofSeconds(20)).until(() -> up.finished().size() == 1);
    // Every result was acknowledged before the restart, so only the end is delivered again.
    assertThat(up.delivered()).isEmpty();
    assertThat(up.finished().get(0).id()).isEqualTo(job.id());

    // Acknowledged now: a third start reports nothing.
    second.close();
    Engine third = engine(Duration.ofMillis(1), Duration.ofMillis(10));
    Recorder again = new Recorder(0, 0);
    third.registerConsumer("rec", Integer.class, again);
    third.start();
    Thread.sleep(200);
    assertThat(again.events).isEmpty();
  }

  @Test
  void consumer_retry_settings_are_checked_when_set() {
    assertThatThrownBy(() -> FanOut.builder().consumerRetry(Duration.ZERO, Duration.ofSeconds(1)))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("consumerRetry backoff");
    assertThatThrownBy(
            () -> FanOut.builder().consumerRetry(Duration.ofSeconds(2), Duration.ofSeconds(1)))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("at least backoff");
    assertThatThrownBy(
            () -> FanOut.builder().consumerRetry(Duration.ofSeconds(1), Duration.ofDays(2)))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("at most a day");
    FanOut.Builder b = FanOut.builder().consumerRetry(Duration.ofSeconds(1), Duration.ofSeconds(1));
    assertThatThrownBy(() -> b.consumerRetry(Duration.ofSeconds(1), Duration.ofSeconds(1)))
        .isInstanceOf(IllegalStateException.class)
        .hasMessageContaining("consumerRetry");
  }
}
