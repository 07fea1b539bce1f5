package dev.fanout.server.internal.call;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.IntNode;
import dev.fanout.JobId;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.Queue;
import java.util.Random;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicReference;
import org.junit.jupiter.api.Test;

/**
 * Many attempts racing into the batcher while some are interrupted at random moments and calls fail
 * at random: every attempt ends, each gets its own item's result or its batch's failure, no item is
 * sent twice, no batch is too big or out of order, and every call's permit comes back.
 */
class CallBatcherStressTest {
  private static final int ROUNDS = 500;

  @Test
  void racing_and_interrupted_attempts_each_get_their_own_answer_and_nothing_is_sent_twice()
      throws Exception {
    for (int round = 0; round < ROUNDS; round++) {
      runRound(new Random(round), "seed " + round);
    }
  }

  private static void runRound(Random random, String seed) throws Exception {
    int size = 2 + random.nextInt(11);
    int attempts = 1 + random.nextInt(60);
    int maxItems = 1 + random.nextInt(80);
    Duration linger = Duration.ofMillis(random.nextInt(3));
    CallLimiter limiter = new CallLimiter(1 + random.nextInt(4), null);
    Set<Long> sent = ConcurrentHashMap.newKeySet();
    Queue<String> violations = new ConcurrentLinkedQueue<>();
    CallBatcher.Sender sender =
        (batch, permit) -> {
          if (batch.isEmpty() || batch.size() > size) {
            violations.add("a batch of " + batch.size() + " with size " + size);
          }
          List<JsonNode> results = new ArrayList<>();
          long previous = -1;
          for (CallBatcher.Entry e : batch) {
            long index = e.context().index();
            if (index <= previous) {
              violations.add("out of order: " + previous + " then " + index);
            }
            previous = index;
            if (!sent.add(index)) {
              violations.add("index " + index + " sent twice");
            }
            results.add(e.item());
          }
          ThreadLocalRandom r = ThreadLocalRandom.current();
          if (r.nextInt(4) == 0) {
            Thread.sleep(r.nextInt(3)); // interruptible, as an exchange is
          }
          if (r.nextInt(5) == 0) {
            permit.overloaded();
            throw new CallException("http_error", 503, true, null, "busy", null);
          }
          permit.succeeded();
          return results;
        };
    CallBatcher batcher = new CallBatcher(size, linger, maxItems, limiter, sender, "stress");
    JobId job = FakeTaskContext.newJobId();

    List<Thread> threads = new ArrayList<>();
    List<AtomicReference<Object>> outcomes = new ArrayList<>();
    for (int i = 0; i < attempts; i++) {
      long index = i;
      AtomicReference<Object> outcome = new AtomicReference<>();
      outcomes.add(outcome);
      threads.add(
          Thread.ofVirtual()
              .start(
                  () -> {
                    try {
                      outcome.set(
                          batcher.call(
                              IntNode.valueOf((int) index),
                              new FakeTaskContext(job, index, 1, Optional.empty())));
                    } catch (Throwable t) {
                      outcome.set(t);
                    }
                  }));
    }
    List<Integer> interrupted = new ArrayList<>();
    for (int i = 0; i < attempts; i++) {
      if (random.nextInt(4) == 0) {
        if (random.nextBoolean()) {
          Thread.onSpinWait();
        } else {
          Thread.sleep(0, random.nextInt(200_000));
        }
        threads.get(i).interrupt();
        interrupted.add(i);
      }
    }
    for (Thread t : threads) {
      assertThat(t.join(Duration.ofSeconds(20))).as(seed + ": an attempt never ended").isTrue();
    }

    assertThat(violations).as(seed).isEmpty();
    for (int i = 0; i < attempts; i++) {
      Object outcome = outcomes.get(i).get();
      if (outcome instanceof JsonNode value) {
        assertThat(value.asInt()).as(seed + ": the result of attempt " + i).isEqualTo(i);
        assertThat(sent).as(seed).contains((long) i);
      } else if (outcome instanceof CallException e) {
        assertThat(e.code()).as(seed).isIn("http_error", "call_error");
        assertThat(sent).as(seed).contains((long) i);
      } else if (outcome instanceof InterruptedException) {
        assertThat(interrupted).as(seed + ": only an interrupted attempt leaves").contains(i);
      } else {
        throw new AssertionError(seed + ": attempt " + i + " ended with " + outcome);
      }
    }
    await()
        .pollDelay(Duration.ZERO)
        .pollInterval(Duration.ofMillis(1))
        .atMost(20, TimeUnit.SECONDS)
        .alias(seed + ": every call gives its permit back")
        .until(() -> limiter.inFlight() == 0);
  }
}
