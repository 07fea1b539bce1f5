package dev.fanout.examples;

import dev.fanout.Engine;
import dev.fanout.FanOut;
import dev.fanout.JobHandle;
import dev.fanout.JobOutcome;
import dev.fanout.JobSpec;
import dev.fanout.JobState;
import dev.fanout.JobStatus;
import dev.fanout.Reducers;
import java.io.PrintStream;
import java.time.Duration;
import java.util.List;
import java.util.Objects;
import java.util.concurrent.ThreadLocalRandom;
import java.util.stream.IntStream;

/**
 * Squares the numbers 1 to n as if each square were a slow remote call, and sums the squares: the
 * whole fan-out/fan-in round trip in one method.
 *
 * <ul>
 *   <li>{@code submit} returns the job's ID at once, before any square is ready;
 *   <li>each square reaches the consumer the moment its call returns, in completion order;
 *   <li>the reducer folds the squares into one sum, the same in every run.
 * </ul>
 *
 * <pre>{@code
 * long sum = SquaresExample.run(20, Duration.ofMillis(5), System.out); // 2870
 * }</pre>
 */
public final class SquaresExample {

  /** How many numbers {@link #main} squares when given no argument. */
  public static final int DEFAULT_COUNT = 100;

  /** The slowest simulated call by default; calls then take 50 to 300 ms, like a remote one. */
  public static final long DEFAULT_MAX_LATENCY_MILLIS = 300;

  /** The most numbers {@link #run} squares: well below where the closed form overflows a long. */
  public static final int MAX_COUNT = 1_000_000;

  private SquaresExample() {}

  /**
   * Runs the example with the defaults, or with the count given as the first argument.
   *
   * @param args optionally, how many numbers to square
   */
  public static void main(String[] args) {
    int count = DEFAULT_COUNT;
    if (args.length > 1 || (args.length == 1 && (count = parseCount(args[0])) < 1)) {
      System.err.println(
          "squares: expected one argument, how many numbers to square (1 to "
              + MAX_COUNT
              + "), got "
              + String.join(" ", args));
      System.exit(2);
    }
    long sum = run(count, Duration.ofMillis(DEFAULT_MAX_LATENCY_MILLIS), System.out);
    if (sum != expectedSum(count)) {
      System.exit(1);
    }
  }

  /** The count in {@code text}, or 0 when it is not a whole number from 1 to the maximum. */
  private static int parseCount(String text) {
    try {
      int n = Integer.parseInt(text);
      return n <= MAX_COUNT ? n : 0;
    } catch (NumberFormatException e) {
      return 0;
    }
  }

  /**
   * Squares 1 to {@code count}, each in a simulated remote call, and prints the job's ID, each
   * square as {@code index -> square} (the index is 0-based, so index i holds the square of i + 1),
   * the final state, and the sum beside its closed form.
   *
   * @param count how many numbers to square, 1 to {@value #MAX_COUNT}
   * @param maxLatency the slowest simulated call; each takes between a sixth of it and all of it
   * @param out where to print
   * @return the sum of the squares
   * @throws IllegalArgumentException when {@code count} or {@code maxLatency} is out of range
   * @throws IllegalStateException when the job does not succeed
   */
  public static long run(int count, Duration maxLatency, PrintStream out) {
    if (count < 1 || count > MAX_COUNT) {
      throw new IllegalArgumentException(
          "count must be between 1 and " + MAX_COUNT + ", got " + count);
    }
    Objects.requireNonNull(maxLatency, "maxLatency");
    if (maxLatency.isNegative()) {
      throw new IllegalArgumentException("maxLatency must not be negative, got " + maxLatency);
    }
    Objects.requireNonNull(out, "out");
    return run(count, n -> slowSquare(n, maxLatency), out);
  }

  /** {@link #run(int, Duration, PrintStream)} with the remote call given, for tests to drive. */
  static long run(int count, Call call, PrintStream out) {
    List<Integer> numbers = IntStream.rangeClosed(1, count).boxed().toList();
    try (Engine engine = FanOut.builder().build()) {
      JobHandle<Long> job =
          engine.submit(
              JobSpec.items(numbers)
                  .function((n, ctx) -> call.square(n))
                  .consumer(
                      r ->
                          out.println(r.index() + " -> " + (r.succeeded() ? r.value() : r.error())))
                  .reduce(Reducers.sumLong())
                  .build());
      // Printed before any square: the calls run on the engine's virtual threads, not this one.
      out.printf("submitted job %s: %d squares%n", job.id(), count);

      JobOutcome<Long> outcome = job.outcome().join();
      JobStatus status = outcome.status();
      Duration took = Duration.between(status.createdAt(), status.finishedAt());
      out.printf("job %s %s in %d ms%n", job.id(), outcome.state(), took.toMillis());
      if (outcome.state() != JobState.SUCCEEDED) {
        throw new IllegalStateException(
            "job %s ended %s with %d failed items%s"
                .formatted(
                    job.id(),
                    outcome.state(),
                    outcome.failures().size(),
                    status.error() != null ? ": " + status.error() : ""));
      }

      long sum = outcome.aggregate();
      long expected = expectedSum(count);
      out.printf(
          "sum = %d, n(n+1)(2n+1)/6 = %d (%s)%n",
          sum, expected, sum == expected ? "match" : "MISMATCH");
      return sum;
    }
  }

  /**
   * The sum of the squares of 1 to {@code n}, by the closed form n(n+1)(2n+1)/6.
   *
   * @param n 0 to {@value #MAX_COUNT}
   * @return the sum
   */
  public static long expectedSum(int n) {
    long m = n;
    return m * (m + 1) * (2 * m + 1) / 6;
  }

  /** The slow remote call that squares a number. */
  @FunctionalInterface
  interface Call {
    long square(int n) throws Exception;
  }

  /** Stands in for a remote call: the square comes back after a random delay. */
  private static long slowSquare(int n, Duration maxLatency) throws InterruptedException {
    long max = maxLatency.toNanos();
    Thread.sleep(Duration.ofNanos(ThreadLocalRandom.current().nextLong(max / 6, max + 1)));
    return (long) n * n;
  }
}
