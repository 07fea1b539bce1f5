package dev.fanout.examples;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.io.ByteArrayOutputStream;
import java.io.OutputStream;
import java.io.PrintStream;
import java.math.BigInteger;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeoutException;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.LongStream;
import org.junit.jupiter.api.Test;

class SquaresExampleTest {

  private static final Pattern RESULT_LINE = Pattern.compile("(\\d+) -> (\\d+)");

  @Test
  void run_returns_the_sum_of_the_squares_and_prints_every_index_once() {
    var bytes = new ByteArrayOutputStream();
    long sum;
    try (var out = new PrintStream(bytes, true, StandardCharsets.UTF_8)) {
      sum = SquaresExample.run(20, Duration.ofMillis(2), out);
    }

    assertThat(sum).isEqualTo(2870);
    List<String> lines = bytes.toString(StandardCharsets.UTF_8).lines().toList();
    List<Long> indexes = new ArrayList<>();
    for (String line : lines) {
      Matcher m = RESULT_LINE.matcher(line);
      if (m.matches()) {
        long index = Long.parseLong(m.group(1));
        assertThat(Long.parseLong(m.group(2))).as(line).isEqualTo((index + 1) * (index + 1));
        indexes.add(index);
      }
    }
    assertThat(indexes)
        .containsExactlyInAnyOrderElementsOf(LongStream.range(0, 20).boxed().toList());
    assertThat(lines).filteredOn(l -> l.startsWith("submitted job ")).hasSize(1);
    assertThat(lines).anyMatch(l -> l.startsWith("job ") && l.contains(" SUCCEEDED in "));
    assertThat(lines.getLast()).isEqualTo("sum = 2870, n(n+1)(2n+1)/6 = 2870 (match)");
  }

  @Test
  void the_id_comes_back_before_any_square_and_each_square_reaches_the_consumer_as_it_completes()
      throws Exception {
    // Each call returns only once the line before it is printed: call 1 waits for the job's ID,
    // call n for the square of n - 1. If submit waited for the calls, or the consumer got the
    // squares only at the end, the first call would never return and the job would fail.
    var lines = new Lines();
    long sum;
    try (var out = new PrintStream(lines, true, StandardCharsets.UTF_8)) {
      sum =
          SquaresExample.run(
              10,
              n -> {
                lines.await(n == 1 ? "submitted job " : (n - 2) + " -> " + (n - 1) * (n - 1));
                return (long) n * n;
              },
              out);
    }

    assertThat(sum).isEqualTo(385);
    List<String> printed = lines.all();
    assertThat(printed.getFirst()).startsWith("submitted job ").endsWith(": 10 squares");
    assertThat(printed.subList(1, 11))
        .containsExactlyElementsOf(
            LongStream.range(0, 10).mapToObj(i -> i + " -> " + (i + 1) * (i + 1)).toList());
    assertThat(printed.getLast()).isEqualTo("sum = 385, n(n+1)(2n+1)/6 = 385 (match)");
  }

  @Test
  void run_with_zero_latency_still_sums_every_square() {
    var out = new PrintStream(new ByteArrayOutputStream(), true, StandardCharsets.UTF_8);

    assertThat(SquaresExample.run(1000, Duration.ZERO, out))
        .isEqualTo(SquaresExample.expectedSum(1000));
  }

  @Test
  void run_rejects_a_count_below_one_naming_the_option() {
    var out = new PrintStream(new ByteArrayOutputStream(), true, StandardCharsets.UTF_8);

    assertThatThrownBy(() -> SquaresExample.run(0, Duration.ZERO, out))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("count");
  }

  @Test
  void run_rejects_a_negative_latency_naming_the_option() {
    var out = new PrintStream(new ByteArrayOutputStream(), true, StandardCharsets.UTF_8);

    assertThatThrownBy(() -> SquaresExample.run(1, Duration.ofMillis(-1), out))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("maxLatency");
  }

  @Test
  void expected_sum_matches_exact_arithmetic_up_to_the_largest_count() {
    for (int n : new int[] {0, 1, 2, 20, 100, SquaresExample.MAX_COUNT}) {
      BigInteger m = BigInteger.valueOf(n);
      BigInteger exact =
          m.multiply(m.add(BigInteger.ONE))
              .multiply(m.shiftLeft(1).add(BigInteger.ONE))
              .divide(BigInteger.valueOf(6));
      assertThat(SquaresExample.expectedSum(n)).as("n = %d", n).isEqualTo(exact.longValueExact());
    }
  }

  /** The lines printed so far, which a call can wait for. */
  private static final class Lines extends OutputStream {
    private static final long GIVE_UP_NANOS = 10_000_000_000L;
    private final ByteArrayOutputStream line = new ByteArrayOutputStream();
    private final List<String> all = new ArrayList<>();

    @Override
    public synchronized void write(int b) {
      if (b == '\n') {
        all.add(line.toString(StandardCharsets.UTF_8));
        line.reset();
        notifyAll();
      } else {
        line.write(b);
      }
    }

    synchronized List<String> all() {
      return List.copyOf(all);
    }

    /** Waits for a line that starts with {@code prefix}; gives up only when something hangs. */
    synchronized void await(String prefix) throws InterruptedException, TimeoutException {
      long giveUp = System.nanoTime() + GIVE_UP_NANOS;
      while (all.stream().noneMatch(l -> l.startsWith(prefix))) {
        long left = giveUp - System.nanoTime();
        if (left <= 0) {
          throw new TimeoutException("no line starting with '" + prefix + "' in " + all);
        }
        wait(left / 1_000_000 + 1);
      }
    }
  }
}
