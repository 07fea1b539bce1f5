package dev.fanout.benchmarks;

import dev.fanout.Engine;
import dev.fanout.FanOut;
import dev.fanout.JobOutcome;
import dev.fanout.JobSpec;
import dev.fanout.JobState;
import dev.fanout.Reducers;
import dev.fanout.TaskContext;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;
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
 * The makespan of ten thousand items that each block for 100 ms, from submit to outcome: what
 * virtual threads buy a job that mostly waits on I/O.
 *
 * <p>With {@code maxConcurrency(10_000)} every item can wait at once, so the ideal is one sleep,
 * 100 ms. The fixed pool of 200 platform threads, the usual size of a blocking-I/O pool, can only
 * run 200 at a time: 50 rounds, about 5 s. The raw virtual-thread run is the floor Fanout's
 * overhead is measured against.
 */
@BenchmarkMode(Mode.SingleShotTime)
@OutputTimeUnit(TimeUnit.MILLISECONDS)
@Fork(
    value = 1,
    jvmArgsAppend = {"-Xms2g", "-Xmx2g"})
@State(Scope.Benchmark)
public class SleepMakespan {

  /** How many items each job runs. */
  static final int ITEMS = 10_000;

  /** How long each item blocks. */
  static final Duration SLEEP = Duration.ofMillis(100);

  /** The size of the platform-thread pool in the baseline. */
  static final int POOL_THREADS = 200;

  private List<Integer> items;
  private Engine engine;
  private ExecutorService platformPool;
  private ExecutorService virtualThreads;

  /** Creates the engine and the pools once per fork, and starts the pool's threads. */
  @Setup(Level.Trial)
  public void setUp() {
    items = IntStream.range(0, ITEMS).boxed().toList();
    engine = FanOut.builder().build();
    platformPool = Executors.newFixedThreadPool(POOL_THREADS);
    virtualThreads = Executors.newVirtualThreadPerTaskExecutor();
  }

  /** Releases every thread the benchmark created. */
  @TearDown(Level.Trial)
  public void tearDown() {
    engine.close();
    platformPool.close();
    virtualThreads.close();
  }

  /**
   * Fanout with the engine's defaults and a job cap of 10,000, so no item waits for a slot.
   *
   * @return how many items succeeded
   */
  @Benchmark
  @Warmup(iterations = 5)
  @Measurement(iterations = 20)
  public long fanout() {
    JobOutcome<Long> outcome =
        engine
            .submit(
                JobSpec.items(items)
                    .function(
                        (Integer n, TaskContext ctx) -> {
                          Thread.sleep(SLEEP);
                          return n;
                        })
                    .reduce(Reducers.count())
                    .maxConcurrency(10_000)
                    .build())
            .outcome()
            .join();
    if (outcome.state() != JobState.SUCCEEDED || outcome.aggregate() != ITEMS) {
      throw new IllegalStateException("wrong outcome: " + outcome);
    }
    return outcome.aggregate();
  }

  /**
   * The same sleeps on a fixed pool of {@value #POOL_THREADS} platform threads. Each iteration
   * takes about 5 s, so it runs fewer of them.
   *
   * @return how many futures completed
   */
  @Benchmark
  @Warmup(iterations = 1)
  @Measurement(iterations = 3)
  public int platformPool200() {
    return sleepAll(platformPool);
  }

  /**
   * The same sleeps, one raw virtual thread each: the floor.
   *
   * @return how many futures completed
   */
  @Benchmark
  @Warmup(iterations = 5)
  @Measurement(iterations = 20)
  public int jdkVirtualThreads() {
    return sleepAll(virtualThreads);
  }

  private int sleepAll(ExecutorService executor) {
    CompletableFuture<?>[] futures = new CompletableFuture<?>[ITEMS];
    for (int i = 0; i < ITEMS; i++) {
      futures[i] = CompletableFuture.runAsync(SleepMakespan::sleep, executor);
    }
    CompletableFuture.allOf(futures).join();
    return futures.length;
  }

  private static void sleep() {
    try {
      Thread.sleep(SLEEP);
    } catch (InterruptedException e) {
      // Nothing interrupts a benchmark run; if something does, the iteration must not pass.
      Thread.currentThread().interrupt();
      throw new CompletionException(e);
    }
  }
}
