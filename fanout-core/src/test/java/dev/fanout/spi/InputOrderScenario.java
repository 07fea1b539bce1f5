package dev.fanout.spi;

import static org.assertj.core.api.Assertions.assertThat;

import dev.fanout.JobId;
import dev.fanout.JobState;
import dev.fanout.ResultOrder;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.SortedSet;
import java.util.TreeMap;
import java.util.TreeSet;
import java.util.UUID;
import java.util.stream.IntStream;
import net.jqwik.api.Arbitraries;
import net.jqwik.api.Arbitrary;
import net.jqwik.api.ArbitrarySupplier;
import net.jqwik.api.Combinators;

/**
 * One input-ordered job driven through a store by a list of choices: claims, reports in any order
 * (successes, failures, retries, stale and repeated reports), lease expiries, an early end, and
 * rounds of retrying the failed items. A consumer pages through the job's results after every step
 * from its last seq, as the server's readers do, and after every step the scenario checks what it
 * has received: seqs 1, 2, 3, ... with no gap or repeat, and, in each round, exactly the round's
 * settled items in index order up to its first item that has not settled (passing over cancelled
 * ones). Once a round ends, that is every item of the round that settled.
 *
 * <p>The choices are plain numbers, so jqwik shrinks a failing scenario to a short one. Public, so
 * every store's tests (the JDBC ones live in another module) run the same scenario.
 */
public final class InputOrderScenario {
  private static final Instant T0 = Instant.parse("2030-01-01T00:00:00Z");

  private final JobStore store;
  private final JobId id = JobId.of(UUID.randomUUID().toString());
  private final int cap;
  private final List<Integer> choices;
  private final TaskState[] states;
  private final Map<Long, ClaimedTask> holding = new TreeMap<>();
  private final List<ClaimedTask> lost = new ArrayList<>();
  private final List<StoredResult> consumed = new ArrayList<>();
  private SortedSet<Long> round = new TreeSet<>();
  private int roundStart;
  private int roundNumber;
  private long clock;
  private String step = "start";

  private InputOrderScenario(JobStore store, int items, int cap, List<Integer> choices) {
    this.store = store;
    this.cap = cap;
    this.choices = choices;
    this.states = new TaskState[items];
    Arrays.fill(states, TaskState.PENDING);
  }

  /**
   * A scenario.
   *
   * @param items how many items the job has
   * @param cap the job's concurrency cap
   * @param choices what happens, step by step, in each round
   * @param endEarly whether the first round is ended by a forced finish (as a deadline does)
   * @param retryRounds how many times the failed items are retried afterwards
   */
  public record Plan(int items, int cap, List<Integer> choices, boolean endEarly, int retryRounds) {

    /**
     * Runs the scenario on a new job of the store.
     *
     * @param store the store; it may hold other jobs
     */
    public void run(JobStore store) {
      new InputOrderScenario(store, items, cap, choices).play(endEarly, retryRounds);
    }
  }

  /** Plans of up to 40 items and 120 steps a round: for the in-memory store. */
  public static final class LargePlans implements ArbitrarySupplier<Plan> {
    @Override
    public Arbitrary<Plan> get() {
      return plans(40, 120, 3);
    }
  }

  /** Plans of up to 25 items and 40 steps a round: for stores where each step is a transaction. */
  public static final class SmallPlans implements ArbitrarySupplier<Plan> {
    @Override
    public Arbitrary<Plan> get() {
      return plans(25, 40, 2);
    }
  }

  private static Arbitrary<Plan> plans(int maxItems, int maxSteps, int maxRetryRounds) {
    return Combinators.combine(
            Arbitraries.integers().between(1, maxItems),
            Arbitraries.integers().between(1, 8),
            Arbitraries.integers().between(0, 999).list().ofMaxSize(maxSteps),
            Arbitraries.of(true, false),
            Arbitraries.integers().between(0, maxRetryRounds))
        .as(Plan::new);
  }

  private void play(boolean endEarly, int retryRounds) {
    store.createJob(new NewJob(id, "{}", cap, T0, null, null, null, ResultOrder.INPUT));
    store.addItems(id, 0, IntStream.range(0, states.length).mapToObj(String::valueOf).toList());
    store.seal(id, states.length);
    for (long i = 0; i < states.length; i++) {
      round.add(i);
    }
    for (int r = 0; r <= retryRounds; r++) {
      roundNumber = r;
      if (r > 0 && !retryFailed()) {
        return;
      }
      for (int i = 0; i < choices.size(); i++) {
        step = "round " + r + ", step " + i + " (" + choices.get(i) + ")";
        act(choices.get(i));
        consumeAndCheck();
      }
      step = "round " + r + ", end";
      if (r == 0 && endEarly) {
        endEarly();
      } else {
        drain();
      }
      consumeAndCheck();
      assertThat(store.job(id).orElseThrow().state().isFinal()).as(step).isTrue();
      // Once final, nothing is held: every item of the round that settled was received.
      List<List<Long>> settled = new ArrayList<>();
      for (long index : round) {
        TaskState s = states[(int) index];
        if (s == TaskState.SUCCEEDED || s == TaskState.FAILED) {
          settled.add(List.of(index, (long) s.ordinal()));
        }
      }
      assertThat(receivedThisRound()).as(step).isEqualTo(settled);
    }
  }

  private void act(int choice) {
    int kind = choice % 10;
    int arg = choice / 10;
    clock++;
    if (kind < 4) {
      claim(1 + arg % 4);
    } else if (kind < 7) {
      report(arg);
    } else if (kind == 7) {
      // Every lease runs out, as when the workers holding them die.
      clock += 100;
      assertThat(store.reclaimExpired(at(clock))).as(step).isEqualTo(holding.size());
      for (ClaimedTask task : holding.values()) {
        states[(int) task.index()] = TaskState.PENDING;
        lost.add(task);
      }
      holding.clear();
    }
    // 8 and 9: the consumer reads, as after every step.
  }

  /**
   * Claims, and checks the store took the lowest PENDING indexes, as many as the limit and the cap
   * allow: every PENDING item is due by now, retries included.
   */
  private void claim(int limit) {
    List<Long> expected =
        IntStream.range(0, states.length)
            .filter(i -> states[i] == TaskState.PENDING)
            .limit(Math.max(0, Math.min(limit, cap - holding.size())))
            .mapToObj(i -> (long) i)
            .toList();
    List<ClaimedTask> claimed = store.claim(id, "w", limit, at(clock), at(clock + 50));
    assertThat(claimed).as(step).extracting(ClaimedTask::index).isEqualTo(expected);
    for (ClaimedTask task : claimed) {
      states[(int) task.index()] = TaskState.RUNNING;
      holding.put(task.index(), task);
    }
  }

  /** Reports some of the held items, in either order, now and then with a stale report. */
  private void report(int arg) {
    List<ClaimedTask> held = new ArrayList<>(holding.values());
    List<Completion> reports = new ArrayList<>();
    for (int i = 0; i < held.size(); i++) {
      if (((arg >> (i % 7)) & 1) == 0) {
        continue;
      }
      ClaimedTask task = held.get(i);
      reports.add(
          switch ((arg + i) % 5) {
            case 3 -> failed(task);
            case 4 -> new Completion.Retry(task.index(), task.fence(), "\"again\"", at(clock));
            default -> succeeded(task);
          });
    }
    if (!lost.isEmpty() && arg % 3 == 0) {
      reports.add(succeeded(lost.get(arg % lost.size())));
    }
    if (!reports.isEmpty() && arg % 4 == 1) {
      reports.add(reports.get(0)); // a repeat in the same batch: stale by the time it applies
    }
    if (arg % 2 == 0) {
      reports = reports.reversed();
    }
    send(reports);
  }

  private void send(List<Completion> reports) {
    List<Long> expected = new ArrayList<>();
    for (Completion report : reports) {
      ClaimedTask task = holding.get(report.index());
      if (task == null || task.fence() != report.fence()) {
        continue;
      }
      holding.remove(report.index());
      int i = (int) report.index();
      switch (report) {
        case Completion.Retry r -> states[i] = TaskState.PENDING;
        case Completion.Succeeded s -> {
          states[i] = TaskState.SUCCEEDED;
          expected.add(report.index());
        }
        case Completion.Failed f -> {
          states[i] = TaskState.FAILED;
          expected.add(report.index());
        }
      }
      lost.add(task);
    }
    List<StoredResult> settled = store.complete(id, reports, at(clock));
    assertThat(settled).as(step).extracting(StoredResult::index).isEqualTo(expected);
    assertThat(settled).as(step).allSatisfy(r -> assertThat(r.seq()).isZero());
  }

  /** Claims and reports until every item has settled, then finishes the job. */
  private void drain() {
    while (Arrays.stream(states).anyMatch(s -> s == TaskState.PENDING || s == TaskState.RUNNING)) {
      clock++;
      claim(states.length);
      List<Completion> reports = new ArrayList<>();
      for (ClaimedTask task : holding.values().stream().toList().reversed()) {
        // Some fail in the first rounds, so there is something to retry.
        boolean fails = roundNumber < 2 && (task.index() + roundNumber + choices.size()) % 3 == 0;
        reports.add(fails ? failed(task) : succeeded(task));
      }
      send(reports);
      consumeAndCheck();
    }
    clock++;
    assertThat(store.finish(id, at(clock), null, null, InputOrderScenario::verdict))
        .as(step)
        .isPresent();
  }

  /** Ends the round now, as a deadline does: what has not settled is cancelled. */
  private void endEarly() {
    clock++;
    assertThat(store.finish(id, at(clock), JobState.FAILED, null, InputOrderScenario::verdict))
        .as(step)
        .isPresent();
    for (int i = 0; i < states.length; i++) {
      if (states[i] == TaskState.PENDING || states[i] == TaskState.RUNNING) {
        states[i] = TaskState.CANCELLED;
      }
    }
    lost.addAll(holding.values());
    holding.clear();
  }

  private boolean retryFailed() {
    SortedSet<Long> failed = new TreeSet<>();
    for (int i = 0; i < states.length; i++) {
      if (states[i] == TaskState.FAILED) {
        failed.add((long) i);
      }
    }
    if (failed.isEmpty()) {
      assertThat(store.retryFailed(id)).isEmpty();
      return false;
    }
    assertThat(store.retryFailed(id)).isPresent();
    for (long index : failed) {
      states[(int) index] = TaskState.PENDING;
    }
    round = failed;
    roundStart = consumed.size();
    return true;
  }

  /** Reads what follows the consumer's last seq, and checks everything it has received. */
  private void consumeAndCheck() {
    long after = consumed.isEmpty() ? 0 : consumed.getLast().seq();
    for (List<StoredResult> page; !(page = store.results(id, after, 3)).isEmpty(); ) {
      consumed.addAll(page);
      after = page.getLast().seq();
    }
    for (int i = 0; i < consumed.size(); i++) {
      assertThat(consumed.get(i).seq()).as("%s: result %d's seq", step, i).isEqualTo(i + 1);
    }
    assertThat(store.job(id).orElseThrow().lastSeq()).as(step).isEqualTo(consumed.size());
    List<List<Long>> prefix = new ArrayList<>();
    for (long index : round) {
      TaskState s = states[(int) index];
      if (s == TaskState.PENDING || s == TaskState.RUNNING) {
        break;
      }
      if (s != TaskState.CANCELLED) {
        prefix.add(List.of(index, (long) s.ordinal()));
      }
    }
    assertThat(receivedThisRound()).as(step).isEqualTo(prefix);
  }

  /** What the consumer received in this round: index and status of each, in order. */
  private List<List<Long>> receivedThisRound() {
    return consumed.subList(roundStart, consumed.size()).stream()
        .map(r -> List.of(r.index(), (long) r.status().ordinal()))
        .toList();
  }

  private static Verdict verdict(JobRow job, java.util.Iterator<SucceededValue> values) {
    values.forEachRemaining(v -> {});
    return new Verdict(job.failed() > 0 ? JobState.FAILED : JobState.SUCCEEDED, null, null);
  }

  private static Completion succeeded(ClaimedTask task) {
    return new Completion.Succeeded(task.index(), task.fence(), task.attempt(), task.item(), 1);
  }

  private static Completion failed(ClaimedTask task) {
    return new Completion.Failed(task.index(), task.fence(), task.attempt(), "\"no\"", 1);
  }

  private static Instant at(long seconds) {
    return T0.plusSeconds(seconds);
  }
}
