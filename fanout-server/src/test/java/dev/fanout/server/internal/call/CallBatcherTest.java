package dev.fanout.server.internal.call;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.awaitility.Awaitility.await;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.IntNode;
import dev.fanout.JobId;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.Queue;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;

/** When the batcher sends a batch, without HTTP: a recording sender stands in for the function. */
class CallBatcherTest {
  // A linger no test waits out: a batch that needs it would make the test time out instead.
  private static final Duration FOREVER = Duration.ofDays(1);

  private final Queue<List<Long>> batches = new ConcurrentLinkedQueue<>();
  private final CallLimiter limiter = new CallLimiter(100, null);
  private final JobId job = FakeTaskContext.newJobId();

  private List<JsonNode> echo(List<CallBatcher.Entry> batch, CallLimiter.Permit permit) {
    batches.add(batch.stream().map(e -> e.context().index()).toList());
    permit.succeeded();
    return batch.stream().map(CallBatcher.Entry::item).toList();
  }

  private CallBatcher batcher(int size, Duration linger, int maxItems) {
    return new CallBatcher(size, linger, maxItems, limiter, this::echo, "test");
  }

  private List<CompletableFuture<JsonNode>> callAll(CallBatcher batcher, long from, int count) {
    List<CompletableFuture<JsonNode>> outcomes = new ArrayList<>();
    for (long i = from; i < from + count; i++) {
      long index = i;
      CompletableFuture<JsonNode> outcome = new CompletableFuture<>();
      Thread.ofVirtual()
          .start(
              () -> {
                try {
                  outcome.complete(
                      batcher.call(
                          IntNode.valueOf((int) index),
                          new FakeTaskContext(job, index, 1, Optional.empty())));
                } catch (Throwable t) {
                  outcome.completeExceptionally(t);
                }
              });
      outcomes.add(outcome);
    }
    return outcomes;
  }

  private static void assertEchoed(List<CompletableFuture<JsonNode>> outcomes, long from)
      throws Exception {
    for (int i = 0; i < outcomes.size(); i++) {
      assertThat(outcomes.get(i).get(30, TimeUnit.SECONDS).asLong()).isEqualTo(from + i);
    }
  }

  @Test
  void a_batch_goes_without_its_linger_once_the_jobs_whole_cap_is_waiting() throws Exception {
    CallBatcher batcher = batcher(10, FOREVER, 3);

    assertEchoed(callAll(batcher, 0, 3), 0);

    assertThat(batches).containsExactly(List.of(0L, 1L, 2L));
  }

  @Test
  void a_full_batch_goes_at_once_and_the_next_item_opens_another() throws Exception {
    CallBatcher batcher = batcher(2, FOREVER, 1000);

    assertEchoed(callAll(batcher, 0, 2), 0);
    assertEchoed(callAll(batcher, 2, 2), 2);

    assertThat(batches).containsExactly(List.of(0L, 1L), List.of(2L, 3L));
  }

  @Test
  void a_batch_that_is_not_full_goes_when_its_linger_passes() throws Exception {
    CallBatcher batcher = batcher(10, Duration.ofMillis(1), 1000);

    assertEchoed(callAll(batcher, 0, 1), 0);

    assertThat(batches).containsExactly(List.of(0L));
  }

  @Test
  void lowering_the_cap_to_what_is_waiting_sends_the_batch() throws Exception {
    CallBatcher batcher = batcher(10, FOREVER, 100);
    List<CompletableFuture<JsonNode>> outcomes = callAll(batcher, 0, 3);
    await().until(() -> batcher.held() == 3);
    assertThat(batches).isEmpty();

    batcher.setMaxItems(3);

    assertEchoed(outcomes, 0);
  }

  @Test
  void a_sender_that_breaks_fails_every_attempt_of_its_batch_instead_of_leaving_it_waiting()
      throws Exception {
    CallBatcher batcher =
        new CallBatcher(
            2,
            FOREVER,
            2,
            limiter,
            (batch, permit) -> {
              throw new IllegalStateException("a bug in the sender");
            },
            "test");
    for (CompletableFuture<JsonNode> outcome : callAll(batcher, 0, 2)) {
      assertThatThrownBy(() -> outcome.get(30, TimeUnit.SECONDS))
          .isInstanceOf(ExecutionException.class)
          .hasCauseInstanceOf(IllegalStateException.class);
    }
    await().until(() -> limiter.inFlight() == 0);
  }

  @Test
  void an_interrupted_attempt_is_refused_before_it_joins() {
    CallBatcher batcher = batcher(2, FOREVER, 1000);
    Thread.currentThread().interrupt();

    assertThatThrownBy(
            () ->
                batcher.call(IntNode.valueOf(0), new FakeTaskContext(job, 0, 1, Optional.empty())))
        .isInstanceOf(InterruptedException.class);
    assertThat(Thread.interrupted()).as("the flag is consumed").isFalse();
    assertThat(batcher.held()).isZero();
  }
}
