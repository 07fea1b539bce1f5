package dev.fanout.examples;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.math.BigInteger;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
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
}
