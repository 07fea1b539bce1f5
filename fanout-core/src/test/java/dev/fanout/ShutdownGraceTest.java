package dev.fanout;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import com.fasterxml.jackson.databind.JsonNode;
import dev.fanout.spi.InMemoryJobStore;
import dev.fanout.spi.TaskState;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.stream.IntStream;
import org.junit.jupiter.api.Test;

/** Closing a durable engine lets running attempts finish within the grace, then stops the rest. */
class ShutdownGraceTest {
  private final InMemoryJobStore store = new InMemoryJobStore();

  private Engine engine(Duration grace, CountDownLatch release, AtomicInteger interrupted) {
    Engine engine =
        FanOut.builder()
            .store(store)
            .pollInterval(Duration.ofMillis(10))
            .leaseDuration(Duration.ofSeconds(1))
            .shutdownGrace(grace)
            .build();
    engine.register(
        "slow",
        Integer.class,
        (Integer n, TaskContext ctx) -> {
          try {
            release.await();
          } catch (InterruptedException e) {
            interrupted.incrementAndGet();
            throw e;
          }
          return n;
        });
    return engine;
  }

  private long succeeded(JobId id) {
    return store.results(id, 0, 1_000).stream()
        .filter(r -> r.status() == TaskState.SUCCEEDED)
        .count();
  }

  @Test
  void running_attempts_finish_and_are_recorded_within_the_grace() throws Exception {
    CountDownLatch release = new CountDownLatch(1);
    AtomicInteger interrupted = new AtomicInteger();
    Engine first = engine(Duration.ofSeconds(30), release, interrupted);
    JobHandle<JsonNode> job =
        first.submit(
            JobSpec.items(IntStream.range(0, 20).boxed().toList())
                .function("slow")
                .maxConcurrency(5)
                .reduce("count")
                .build());
    await().until(() -> job.status().running() == 5);

    Thread closer = Thread.ofVirtual().start(first::close);
    // Closing waits for the five running attempts rather than cutting them off.
    Thread.sleep(50);
    assertThat(closer.isAlive()).isTrue();
    release.countDown();
    closer.join(Duration.ofSeconds(30));
    assertThat(closer.isAlive()).isFalse();
    assertThat(interrupted.get()).isZero();
    assertThat(succeeded(job.id())).isEqualTo(5);

    // The next engine runs the rest; nothing ran twice and nothing was lost.
    try (Engine second = engine(Duration.ZERO, release, interrupted)) {
      second.start();
      await()
          .atMost(Duration.ofSeconds(30))
          .until(() -> store.job(job.id()).orElseThrow().state() == JobState.SUCCEEDED);
      assertThat(store.job(job.id()).orElseThrow().aggregate()).isEqualTo("20");
      assertThat(succeeded(job.id())).isEqualTo(20);
    }
  }

  @Test
  void attempts_still_running_after_the_grace_are_interrupted() throws Exception {
    CountDownLatch never = new CountDownLatch(1);
    AtomicInteger interrupted = new AtomicInteger();
    Engine engine = engine(Duration.ofMillis(100), never, interrupted);
    JobHandle<Void> job = engine.submit(JobSpec.items(List.of(1, 2, 3)).function("slow").build());
    await().until(() -> job.status().running() == 3);

    engine.close();

    await().atMost(10, TimeUnit.SECONDS).until(() -> interrupted.get() == 3);
    assertThat(succeeded(job.id())).isZero();
  }
}
