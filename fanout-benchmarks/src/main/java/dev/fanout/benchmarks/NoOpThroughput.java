package dev.fanout.benchmarks;

import dev.fanout.Engine;
import dev.fanout.FanOut;
import dev.fanout.JobOutcome;
import dev.fanout.JobSpec;
import dev.fanout.JobState;
import dev.fanout.Reducers;
import dev.fanout.TaskContext;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import java.util.stream.IntStream;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Level;
import org.openjdk.jmh.annotations.Measurement;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.TearDown;
import org.openjdk.jmh.annotations.Warmup;

/**
 * The engine's own cost per item: one million items whose function does nothing, from submit to
 * outcome, against the least the JDK needs to run a million tasks on virtual threads.
 *
 * <p>Every Fanout run passes each item through every stage a real job has: the function (the
 * identity), a transform, a consumer that counts, and a reducer that sums. The engine and the job
 * use their defaults, except that {@link #fanoutMaxConcurrency10k()} raises the job's cap from
 * {@value JobSpec#DEFAULT_MAX_CONCURRENCY} to 10,000, to show whether the default cap itself costs
 * throughput. The JDK baseline has no cap at all, no transform, no consumer and no reducer: it is
 * the floor, not an equal.
 *
 * <p>Each invocation is one whole job, so the mode is single-shot: a million items take long enough
 * that timer resolution does not matter, and averaging inside one invocation would hide nothing.
 */
@BenchmarkMode(Mode.SingleShotTime)
@OutputTimeUnit(TimeUnit.MILLISECONDS)
// The engine's pump, attempt and drain paths take several million calls to settle in the JIT, so
// warm-up is long: a first run showed times still falling at the fourth whole job. Single jobs vary
// by tens of percent on two shared cores, so twenty measured jobs are kept per benchmark.
@Warmup(iterations = 10)
@Measurement(iterations = 20)
// A fixed 2 GiB heap: a million in-flight futures or results need room, and a heap that does not
// resize keeps GC pauses from one iteration to the next comparable.
@Fork(
    value = 1,
    jvmArgsAppend = {"-Xms2g", "-Xmx2g"})
@State(Scope.Benchmark)
public class NoOpThroughput {

  /** How many items each job runs. */
  static final int ITEMS = 1_000_000;

  /** The sum of the transformed items, 0 + 1 + ... + (ITEMS - 1), that every run must produce. */
  private static final long EXPECTED_SUM = (long) ITEMS * (ITEMS - 1) / 2;

  private List<Integer> items;
  private Engine engine;
  private ExecutorService virtualThreads;

  /** Creates the items and the executors once per fork, as a long-lived service would. */
  @Setup(Level.Trial)
  public void setUp() {
    // Boxed once here, so neither side pays for boxing inside the measurement.
    items = IntStream.range(0, ITEMS).boxed().toList();
    engine = FanOut.builder().build();
    virtualThreads = Executors.newVirtualThreadPerTaskExecutor();
  }

  /** Releases the engine's and the baseline's threads. */
  @TearDown(Level.Trial)
  public void tearDown() {
    engine.close();
    virtualThreads.close();
  }

  /**
   * A job with every default: the job's cap is {@value JobSpec#DEFAULT_MAX_CONCURRENCY}.
   *
   * @return the aggregate, so the work cannot be optimised away
   */
  @Benchmark
  public long fanoutDefaults() {
    return runJob(null);
  }

  /**
   * The same job with the cap raised to 10,000 running items.
   *
   * @return the aggregate
   */
  @Benchmark
  public long fanoutMaxConcurrency10k() {
    return runJob(10_000);
  }

  /**
   * The raw JDK: one {@code supplyAsync} per item on a virtual-thread-per-task executor, then
   * {@code allOf(...).join()}.
   *
   * @return how many futures completed
   */
  @Benchmark
  public int jdkVirtualThreads() {
    CompletableFuture<?>[] futures = new CompletableFuture<?>[ITEMS];
    for (int i = 0; i < ITEMS; i++) {
      Integer item = items.get(i);
      futures[i] = CompletableFuture.supplyAsync(() -> item, virtualThreads);
    }
    CompletableFuture.allOf(futures).join();
    return futures.length;
  }

  private long runJob(Integer maxConcurrency) {
    AtomicLong consumed = new AtomicLong();
    var builder =
        JobSpec.items(items)
            .function((Integer n, TaskContext ctx) -> n)
            .transform(Integer::longValue)
            .consumer(result -> consumed.incrementAndGet())
            .reduce(Reducers.sumLong());
    if (maxConcurrency != null) {
      builder.maxConcurrency(maxConcurrency);
    }
    JobOutcome<Long> outcome = engine.submit(builder.build()).outcome().join();
    // A job that failed or lost items could be fast for the wrong reason; refuse to report it.
    if (outcome.state() != JobState.SUCCEEDED
        || outcome.aggregate() != EXPECTED_SUM
        || consumed.get() != ITEMS) {
      throw new IllegalStateException(
          "wrong outcome: " + outcome + ", consumer saw " + consumed.get() + " items");
    }
    return outcome.aggregate();
  }
}
