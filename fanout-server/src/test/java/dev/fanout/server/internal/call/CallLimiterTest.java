package dev.fanout.server.internal.call;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.awaitility.Awaitility.await;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.atomic.AtomicReference;
import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import net.jqwik.api.constraints.IntRange;
import net.jqwik.api.constraints.Size;
import org.junit.jupiter.api.Test;

class CallLimiterTest {

  /** A clock that only moves when the limiter sleeps, recording each sleep. */
  private static final class FakeTicker {
    long now = 1_000_000_000L;
    final List<Duration> sleeps = new ArrayList<>();

    /** Whether time stands still while callers wait, as when many ask at once. */
    boolean standStill;

    /** Whether a wait is interrupted, as the engine stops an attempt. */
    boolean interruptSleeps;

    CallLimiter limiter(int maxConcurrency, Double rate) {
      return new CallLimiter(
          maxConcurrency,
          rate,
          () -> now,
          nanos -> {
            sleeps.add(Duration.ofNanos(nanos));
            if (interruptSleeps) {
              throw new InterruptedException("cancelled");
            }
            if (!standStill) {
              now += nanos;
            }
          });
    }
  }

  @Test
  void call_starts_are_spaced_evenly_at_the_rate() throws Exception {
    FakeTicker time = new FakeTicker();
    CallLimiter limiter = time.limiter(100, 10.0);

    for (int i = 0; i < 5; i++) {
      limiter.acquire().succeeded();
    }

    assertThat(time.sleeps)
        .containsExactly(
            Duration.ofMillis(100),
            Duration.ofMillis(100),
            Duration.ofMillis(100),
            Duration.ofMillis(100));
  }

  @Test
  void concurrent_callers_each_get_their_own_slot_and_an_idle_job_starts_at_once()
      throws Exception {
    FakeTicker time = new FakeTicker();
    time.standStill = true;
    CallLimiter limiter = time.limiter(100, 4.0);

    for (int i = 0; i < 3; i++) {
      limiter.acquire();
    }
    assertThat(time.sleeps).containsExactly(Duration.ofMillis(250), Duration.ofMillis(500));

    time.now += Duration.ofSeconds(5).toNanos();
    time.sleeps.clear();
    limiter.acquire();
    assertThat(time.sleeps).isEmpty();
  }

  @Test
  void without_a_rate_nothing_ever_sleeps() throws Exception {
    FakeTicker time = new FakeTicker();
    CallLimiter limiter = time.limiter(1000, null);

    for (int i = 0; i < 500; i++) {
      limiter.acquire();
    }

    assertThat(time.sleeps).isEmpty();
    assertThat(limiter.inFlight()).isEqualTo(500);
  }

  @Test
  void an_overload_halves_the_limit_once_per_round_and_successes_add_one_each() throws Exception {
    CallLimiter limiter = new FakeTicker().limiter(8, null);
    List<CallLimiter.Permit> round = new ArrayList<>();
    for (int i = 0; i < 8; i++) {
      round.add(limiter.acquire());
    }

    round.get(0).overloaded();
    assertThat(limiter.limit()).isEqualTo(4);
    round.get(1).overloaded();
    round.get(2).overloaded();
    assertThat(limiter.limit())
        .as("calls started before the decrease do not halve again")
        .isEqualTo(4);
    for (int i = 3; i < 8; i++) {
      round.get(i).close();
    }

    limiter.acquire().overloaded();
    assertThat(limiter.limit()).isEqualTo(2);
    limiter.acquire().overloaded();
    limiter.acquire().overloaded();
    assertThat(limiter.limit()).as("never below 1").isEqualTo(1);

    for (int i = 0; i < 20; i++) {
      limiter.acquire().succeeded();
    }
    assertThat(limiter.limit()).as("grows back by one per success, up to the ceiling").isEqualTo(8);
    assertThat(limiter.inFlight()).isZero();
  }

  @Test
  void reporting_twice_releases_once() throws Exception {
    CallLimiter limiter = new FakeTicker().limiter(4, null);
    CallLimiter.Permit permit = limiter.acquire();

    permit.overloaded();
    permit.succeeded();
    permit.close();

    assertThat(limiter.inFlight()).isZero();
    assertThat(limiter.limit()).isEqualTo(2);
  }

  @Test
  void the_ceiling_can_change_while_the_job_runs() {
    CallLimiter limiter = new FakeTicker().limiter(10, null);

    limiter.setMaxConcurrency(20);
    assertThat(limiter.limit()).as("at the ceiling, the limit follows it up").isEqualTo(20);
    limiter.setMaxConcurrency(6);
    assertThat(limiter.limit()).isEqualTo(6);
    assertThat(limiter.maxConcurrency()).isEqualTo(6);
    assertThatThrownBy(() -> limiter.setMaxConcurrency(0))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessage("maxConcurrency must be at least 1, got 0");
  }

  @Test
  void raising_the_ceiling_while_backing_off_keeps_the_reduced_limit() throws Exception {
    CallLimiter limiter = new FakeTicker().limiter(10, null);
    limiter.acquire().overloaded();

    limiter.setMaxConcurrency(40);

    assertThat(limiter.limit()).isEqualTo(5);
  }

  @Test
  void a_call_beyond_the_limit_waits_until_a_slot_frees() throws Exception {
    CallLimiter limiter = new FakeTicker().limiter(1, null);
    CallLimiter.Permit first = limiter.acquire();
    AtomicReference<CallLimiter.Permit> second = new AtomicReference<>();
    Thread waiter =
        Thread.ofVirtual()
            .start(
                () -> {
                  try {
                    second.set(limiter.acquire());
                  } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                  }
                });
    await().until(() -> waiter.getState() == Thread.State.WAITING);
    assertThat(second.get()).isNull();

    first.succeeded();

    await().until(() -> second.get() != null);
    assertThat(limiter.inFlight()).isEqualTo(1);
  }

  @Test
  void a_raised_ceiling_wakes_every_waiter_it_makes_room_for() throws Exception {
    CallLimiter limiter = new FakeTicker().limiter(1, null);
    limiter.acquire();
    List<Thread> waiters = new ArrayList<>();
    for (int i = 0; i < 5; i++) {
      waiters.add(
          Thread.ofVirtual()
              .start(
                  () -> {
                    try {
                      limiter.acquire();
                    } catch (InterruptedException e) {
                      Thread.currentThread().interrupt();
                    }
                  }));
    }
    await().until(() -> waiters.stream().allMatch(t -> t.getState() == Thread.State.WAITING));

    limiter.setMaxConcurrency(6);

    await().until(() -> waiters.stream().noneMatch(Thread::isAlive));
    assertThat(limiter.inFlight()).isEqualTo(6);
  }

  @Test
  void an_interrupted_waiter_gives_up_without_holding_a_slot() throws Exception {
    CallLimiter limiter = new FakeTicker().limiter(1, null);
    CallLimiter.Permit first = limiter.acquire();
    AtomicReference<Throwable> outcome = new AtomicReference<>();
    Thread waiter =
        Thread.ofVirtual()
            .start(
                () -> {
                  try {
                    limiter.acquire();
                  } catch (Throwable t) {
                    outcome.set(t);
                  }
                });
    await().until(() -> waiter.getState() == Thread.State.WAITING);

    waiter.interrupt();

    await().until(() -> outcome.get() != null);
    assertThat(outcome.get()).isInstanceOf(InterruptedException.class);
    assertThat(limiter.inFlight()).isEqualTo(1);
    first.close();
    assertThat(limiter.acquire()).isNotNull();
  }

  @Test
  void an_interrupt_while_waiting_for_the_rate_releases_the_slot_and_its_turn() throws Exception {
    FakeTicker time = new FakeTicker();
    time.standStill = true;
    CallLimiter limiter = time.limiter(10, 1.0);
    limiter.acquire();
    time.interruptSleeps = true;

    assertThatThrownBy(limiter::acquire).isInstanceOf(InterruptedException.class);
    assertThat(limiter.inFlight()).isEqualTo(1);

    time.interruptSleeps = false;
    limiter.acquire();

    // The stopped waiter's slot, a second out, went to the next caller rather than pushing it to
    // two seconds: a storm of timeouts would otherwise book the rate further and further ahead.
    assertThat(time.sleeps).containsExactly(Duration.ofSeconds(1), Duration.ofSeconds(1));
  }

  @Property(tries = 200)
  void the_limit_stays_between_one_and_the_ceiling_and_slots_balance(
      @ForAll @Size(max = 60) List<@IntRange(min = 0, max = 3) Integer> steps,
      @ForAll @IntRange(min = 1, max = 16) int ceiling)
      throws Exception {
    CallLimiter limiter = new FakeTicker().limiter(ceiling, null);
    List<CallLimiter.Permit> held = new ArrayList<>();
    for (int step : steps) {
      if (step == 0 && limiter.inFlight() < limiter.limit()) {
        held.add(limiter.acquire());
      } else if (!held.isEmpty()) {
        CallLimiter.Permit permit = held.remove(0);
        switch (step) {
          case 1 -> permit.succeeded();
          case 2 -> permit.overloaded();
          default -> permit.close();
        }
      }
      assertThat(limiter.limit()).isBetween(1, ceiling);
      assertThat(limiter.inFlight()).isEqualTo(held.size());
    }
  }
}
