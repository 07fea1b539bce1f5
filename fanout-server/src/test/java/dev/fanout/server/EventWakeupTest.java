package dev.fanout.server;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import com.fasterxml.jackson.databind.JsonNode;
import dev.fanout.TaskContext;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Event streams wait for the store's signals, not a timer: with a poll interval (and keep-alive) of
 * a minute, results recorded after the stream caught up still reach it long before the minute is
 * up, and closing the server ends a waiting stream without waiting out the minute.
 */
class EventWakeupTest {
  private static final Duration MINUTE = Duration.ofMinutes(1);
  // Well under the minute a stream would wait without a signal.
  private static final Duration PROMPTLY = Duration.ofSeconds(30);

  @TempDir Path data;

  private final CountDownLatch gate = new CountDownLatch(1);
  private final CountDownLatch started = new CountDownLatch(3);
  private FanoutServer server;
  private Http http;

  @BeforeEach
  void start() {
    server =
        FanoutServer.builder()
            .port(0)
            .dataDir(data)
            .pollInterval(Duration.ofMillis(20))
            .shutdownGrace(Duration.ZERO)
            .streamSettings(new FanoutServer.StreamSettings(MINUTE, Duration.ofMillis(20), MINUTE))
            .function(
                "gated",
                (JsonNode item, TaskContext ctx) -> {
                  started.countDown();
                  gate.await();
                  return item;
                })
            .build()
            .start();
    http = new Http(server.url(), null);
  }

  @AfterEach
  void stop() {
    gate.countDown();
    server.close();
  }

  /** Opens the job's event stream; its lines are collected as they arrive. */
  private CompletableFuture<Void> stream(String id, List<String> lines) {
    return http.eventStream("/v1/jobs/" + id + "/events", lines);
  }

  /** Submits a job whose three items all start and then wait for the gate. */
  private String runningJob() throws InterruptedException {
    String id =
        http.submit(
            "{\"function\": {\"name\": \"gated\"}, \"items\": [1, 2, 3], \"reduce\": \"sum\"}");
    assertThat(started.await(30, TimeUnit.SECONDS)).as("every item started").isTrue();
    return id;
  }

  @Test
  void results_reach_a_caught_up_stream_long_before_its_poll_interval() throws Exception {
    String id = runningJob();
    List<String> lines = new CopyOnWriteArrayList<>();
    CompletableFuture<Void> ended = stream(id, lines);
    // Caught up: the stream has shown the three running items and now waits.
    await()
        .atMost(PROMPTLY)
        .pollInterval(10, TimeUnit.MILLISECONDS)
        .until(() -> lines.stream().anyMatch(l -> l.contains("\"running\":3")));

    gate.countDown();

    // Ended by the server, not cut off: a stream that failed would be done too.
    assertThat(ended).succeedsWithin(PROMPTLY);
    assertThat(lines.stream().filter(l -> l.equals("event: result"))).hasSize(3);
    assertThat(lines).contains("event: done");
  }

  @Test
  void closing_the_server_ends_a_waiting_stream_without_waiting_out_its_poll_interval()
      throws Exception {
    String id = runningJob();
    List<String> lines = new CopyOnWriteArrayList<>();
    CompletableFuture<Void> ended = stream(id, lines);
    await()
        .atMost(PROMPTLY)
        .pollInterval(10, TimeUnit.MILLISECONDS)
        .until(() -> lines.stream().anyMatch(l -> l.contains("\"running\":3")));

    CompletableFuture<Void> closed = CompletableFuture.runAsync(server::close);

    await().atMost(PROMPTLY).pollInterval(10, TimeUnit.MILLISECONDS).until(closed::isDone);
    await().atMost(PROMPTLY).pollInterval(10, TimeUnit.MILLISECONDS).until(ended::isDone);
    assertThat(lines).doesNotContain("event: done");
  }
}
