package dev.fanout.server.internal.api;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import dev.fanout.JobId;
import dev.fanout.spi.StoreSignals;
import java.time.Duration;
import java.util.UUID;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicReference;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/**
 * {@link JobWakeups} on in-process signals: which signals wake a waiting stream thread, and that no
 * wake-up is lost between a read and the wait after it. A wait that should end early waits minutes
 * otherwise, so the test sees the difference without measuring time; one that should not end early
 * is given a short timeout and must report that it timed out.
 */
class JobWakeupsTest {
  private static final Duration LONG = Duration.ofMinutes(5);
  private static final Duration SHORT = Duration.ofMillis(100);

  private final AtomicInteger subscriptions = new AtomicInteger();
  private final StoreSignals signals = counting(StoreSignals.local());
  private final JobWakeups wakeups = new JobWakeups(signals);
  private final JobId job = JobId.of(UUID.randomUUID().toString());
  private final JobId other = JobId.of(UUID.randomUUID().toString());

  @AfterEach
  void close() {
    wakeups.close();
  }

  /** Signals that count their open subscriptions. */
  private StoreSignals counting(StoreSignals local) {
    return new StoreSignals() {
      @Override
      public void publish(Kind kind, JobId id) {
        local.publish(kind, id);
      }

      @Override
      public Subscription subscribe(Listener listener) {
        Subscription s = local.subscribe(listener);
        subscriptions.incrementAndGet();
        return () -> {
          subscriptions.decrementAndGet();
          s.close();
        };
      }
    };
  }

  /** Starts a thread that registers for the job and waits once; its result is the await's. */
  private CompletableFuture<Boolean> waitingThread(JobId waitFor, Duration timeout) {
    CompletableFuture<Boolean> woken = new CompletableFuture<>();
    AtomicReference<JobWakeups.Waiter> registered = new AtomicReference<>();
    Thread.ofVirtual()
        .start(
            () -> {
              try (JobWakeups.Waiter w = wakeups.register(waitFor)) {
                registered.set(w);
                woken.complete(w.await(timeout));
              }
            });
    await().atMost(Duration.ofSeconds(30)).until(() -> registered.get() != null);
    return woken;
  }

  @Test
  void one_subscription_serves_every_waiter() {
    try (JobWakeups.Waiter a = wakeups.register(job);
        JobWakeups.Waiter b = wakeups.register(other)) {
      assertThat(a).isNotSameAs(b);
      assertThat(subscriptions).hasValue(1);
    }
  }

  @Test
  void a_results_signal_for_the_job_wakes_the_thread_waiting_on_it() {
    CompletableFuture<Boolean> woken = waitingThread(job, LONG);

    signals.publish(StoreSignals.Kind.RESULTS, job);

    await().atMost(Duration.ofSeconds(30)).until(woken::isDone);
    assertThat(woken.join()).isTrue();
  }

  @Test
  void a_results_signal_for_any_job_wakes_every_waiting_thread() {
    CompletableFuture<Boolean> first = waitingThread(job, LONG);
    CompletableFuture<Boolean> second = waitingThread(other, LONG);

    signals.publish(StoreSignals.Kind.RESULTS, null);

    await().atMost(Duration.ofSeconds(30)).until(() -> first.isDone() && second.isDone());
    assertThat(first.join()).isTrue();
    assertThat(second.join()).isTrue();
  }

  @Test
  void work_signals_and_results_of_other_jobs_do_not_wake_it() {
    try (JobWakeups.Waiter w = wakeups.register(job)) {
      signals.publish(StoreSignals.Kind.RESULTS, other);
      signals.publish(StoreSignals.Kind.WORK, job);
      signals.publish(StoreSignals.Kind.WORK, null);

      assertThat(w.await(SHORT)).as("woken").isFalse();
    }
  }

  @Test
  void a_signal_between_the_read_and_the_wait_ends_the_next_wait_at_once_and_only_that_one() {
    try (JobWakeups.Waiter w = wakeups.register(job)) {
      // As if it came while the stream read the store: before the thread waits.
      signals.publish(StoreSignals.Kind.RESULTS, job);

      assertThat(w.await(LONG)).isTrue();
      assertThat(w.await(SHORT)).as("woken again").isFalse();
    }
  }

  @Test
  void a_closed_waiter_is_no_longer_signalled_and_other_waiters_still_are() {
    JobWakeups.Waiter gone = wakeups.register(job);
    gone.close();
    try (JobWakeups.Waiter stays = wakeups.register(job)) {
      signals.publish(StoreSignals.Kind.RESULTS, job);

      assertThat(gone.await(SHORT)).isFalse();
      assertThat(stays.await(LONG)).isTrue();
    }
  }

  @Test
  void closing_wakes_every_waiter_and_ends_the_subscription() {
    CompletableFuture<Boolean> woken = waitingThread(job, LONG);

    wakeups.close();

    await().atMost(Duration.ofSeconds(30)).until(woken::isDone);
    assertThat(woken.join()).isTrue();
    assertThat(subscriptions).hasValue(0);
  }

  @Test
  void an_interrupted_thread_stops_waiting() throws Exception {
    CompletableFuture<Boolean> woken = new CompletableFuture<>();
    AtomicReference<JobWakeups.Waiter> registered = new AtomicReference<>();
    Thread t =
        Thread.ofVirtual()
            .start(
                () -> {
                  try (JobWakeups.Waiter w = wakeups.register(job)) {
                    registered.set(w);
                    woken.complete(w.await(LONG));
                  }
                });
    await().atMost(Duration.ofSeconds(30)).until(() -> registered.get() != null);

    t.interrupt();

    await().atMost(Duration.ofSeconds(30)).until(woken::isDone);
    assertThat(woken.join()).isFalse();
  }
}
