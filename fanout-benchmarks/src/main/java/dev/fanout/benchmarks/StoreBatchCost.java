package dev.fanout.benchmarks;

import dev.fanout.JobId;
import dev.fanout.ResultOrder;
import dev.fanout.jdbc.JdbcJobStore;
import dev.fanout.spi.ClaimedTask;
import dev.fanout.spi.Completion;
import dev.fanout.spi.NewJob;
import dev.fanout.spi.Recorded;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Instant;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.UUID;
import java.util.stream.IntStream;

/**
 * What the durable engine's writer pays per item, by batch size, with nothing else running: one
 * thread records a 10,000-item job's results through {@link JdbcJobStore#completeAndClaim} in
 * batches of a given size, each claiming as many next items, with 1,000 running at a time. It
 * separates the store's own cost from what a busy server adds around it; the notes of {@code
 * docs/benchmarks.md} use it for scenario 4. A throwaway round warms the JIT before the first size
 * is measured. Not a scenario of the runner: it has no baseline.
 *
 * <pre>
 * java -cp fanout-benchmarks/target/benchmarks.jar dev.fanout.benchmarks.StoreBatchCost \
 *     [h2|postgres] [batch sizes...]   # default: h2 1 5 20 50 100 200
 * </pre>
 */
public final class StoreBatchCost {
  private static final int ITEMS = 10_000;
  private static final int RUNNING = 1_000;
  private static final int WARMUP_JOBS = 2;
  private static final int MEASURED_JOBS = 4;

  private StoreBatchCost() {}

  /**
   * Prints the microseconds per item for each batch size.
   *
   * @param args {@code h2} or {@code postgres}, then batch sizes
   * @throws Exception when the store cannot be opened
   */
  public static void main(String[] args) throws Exception {
    String store = args.length > 0 ? args[0] : "h2";
    if (!store.equals("h2") && !store.equals("postgres")) {
      throw new IllegalArgumentException("the store is h2 or postgres, not '" + store + "'");
    }
    List<Integer> sizes = new ArrayList<>();
    for (int i = 1; i < args.length; i++) {
      int size;
      try {
        size = Integer.parseInt(args[i]);
      } catch (NumberFormatException e) {
        throw new IllegalArgumentException(
            "a batch size is a number from 1 to " + RUNNING + ", not '" + args[i] + "'");
      }
      if (size < 1 || size > RUNNING) {
        throw new IllegalArgumentException("a batch size is 1 to " + RUNNING + ", not " + size);
      }
      sizes.add(size);
    }
    if (sizes.isEmpty()) {
      sizes.addAll(List.of(1, 5, 20, 50, 100, 200));
    }
    // The JIT first, on a store of its own: otherwise the first size measured pays for it.
    measure(store, 50);
    for (int size : sizes) {
      System.out.printf(
          Locale.ROOT, "%s, batches of %d: %.1f µs per item%n", store, size, measure(store, size));
    }
  }

  /** A fresh store per size, so no size inherits another's data or caches. */
  private static double measure(String kind, int batch) throws Exception {
    Path dir = kind.equals("h2") ? Files.createTempDirectory("fanout-store-cost") : null;
    String schema = kind.equals("h2") ? null : Bench.createSchema("fanout_store_cost");
    try (JdbcJobStore store = DurableFanout.openStore(dir, schema)) {
      long nanos = 0;
      for (int job = 0; job < WARMUP_JOBS + MEASURED_JOBS; job++) {
        long spent = runJob(store, batch);
        if (job >= WARMUP_JOBS) {
          nanos += spent;
        }
      }
      return nanos / 1e3 / ((double) MEASURED_JOBS * ITEMS);
    } finally {
      if (dir != null) {
        Bench.deleteTree(dir);
      }
      if (schema != null) {
        Bench.dropSchema(schema);
      }
    }
  }

  /** Stores one job, then times recording all its items; returns the nanoseconds. */
  private static long runJob(JdbcJobStore store, int batch) {
    JobId id = JobId.of(UUID.randomUUID().toString());
    store.createJob(
        new NewJob(id, "{}", RUNNING, Instant.now(), null, null, null, ResultOrder.COMPLETION));
    List<String> items = IntStream.range(0, ITEMS).mapToObj(Integer::toString).toList();
    for (int from = 0; from < ITEMS; from += 1_000) {
      store.addItems(id, from, items.subList(from, from + 1_000));
    }
    store.seal(id, ITEMS);
    long t0 = System.nanoTime();
    Instant leaseUntil = Instant.now().plusSeconds(600);
    ArrayDeque<ClaimedTask> running =
        new ArrayDeque<>(store.claim(id, "cost", RUNNING, Instant.now(), leaseUntil));
    while (!running.isEmpty()) {
      List<Completion> done = new ArrayList<>(batch);
      while (done.size() < batch && !running.isEmpty()) {
        ClaimedTask task = running.poll();
        done.add(
            new Completion.Succeeded(task.index(), task.fence(), task.attempt(), task.item(), 1));
      }
      Recorded recorded =
          store.completeAndClaim(id, done, Instant.now(), "cost", done.size(), leaseUntil);
      if (recorded.settled().size() != done.size()) {
        throw new IllegalStateException(
            "recorded " + recorded.settled().size() + " of " + done.size() + " results");
      }
      running.addAll(recorded.claimed());
    }
    return System.nanoTime() - t0;
  }
}
