package dev.fanout.server.internal.webhook;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.time.Duration;
import java.util.SplittableRandom;
import java.util.random.RandomGenerator;
import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import net.jqwik.api.constraints.IntRange;
import org.junit.jupiter.api.Test;

class BackoffTest {
  /** Always the largest value below the bound, so the ceiling itself is observable. */
  private static final RandomGenerator TOP =
      new RandomGenerator() {
        @Override
        public long nextLong() {
          throw new UnsupportedOperationException();
        }

        @Override
        public long nextLong(long origin, long bound) {
          return bound - 1;
        }
      };

  /** Always the origin. */
  private static final RandomGenerator BOTTOM =
      new RandomGenerator() {
        @Override
        public long nextLong() {
          throw new UnsupportedOperationException();
        }

        @Override
        public long nextLong(long origin, long bound) {
          return origin;
        }
      };

  @Test
  void the_ceiling_doubles_up_to_the_max() {
    Backoff backoff = new Backoff(Duration.ofMillis(100), Duration.ofSeconds(1), TOP);

    assertThat(backoff.ceiling(1)).isEqualTo(Duration.ofMillis(100));
    assertThat(backoff.ceiling(2)).isEqualTo(Duration.ofMillis(200));
    assertThat(backoff.ceiling(4)).isEqualTo(Duration.ofMillis(800));
    assertThat(backoff.ceiling(5)).isEqualTo(Duration.ofSeconds(1));
    assertThat(backoff.ceiling(1_000)).isEqualTo(Duration.ofSeconds(1));
    assertThat(backoff.ceiling(Integer.MAX_VALUE)).isEqualTo(Duration.ofSeconds(1));
  }

  @Test
  void full_jitter_spans_zero_to_the_ceiling_inclusive() {
    assertThat(new Backoff(Duration.ofMillis(100), Duration.ofSeconds(1), TOP).delay(3))
        .isEqualTo(Duration.ofMillis(400));
    assertThat(new Backoff(Duration.ofMillis(100), Duration.ofSeconds(1), BOTTOM).delay(3))
        .isEqualTo(Duration.ZERO);
  }

  @Test
  void a_huge_max_does_not_overflow() {
    Backoff backoff = new Backoff(Duration.ofSeconds(1), Duration.ofDays(365_000_000L), TOP);

    assertThat(backoff.ceiling(80).toNanos()).isEqualTo(Long.MAX_VALUE);
    assertThat(backoff.delay(80)).isPositive();
  }

  @Property
  void delays_stay_within_bounds(
      @ForAll @IntRange(min = 1, max = 200) int retry, @ForAll long seed) {
    Backoff backoff =
        new Backoff(Duration.ofMillis(50), Duration.ofSeconds(30), new SplittableRandom(seed));

    Duration delay = backoff.delay(retry);

    assertThat(delay).isBetween(Duration.ZERO, backoff.ceiling(retry));
    assertThat(backoff.ceiling(retry)).isLessThanOrEqualTo(Duration.ofSeconds(30));
  }

  @Test
  void nonsense_settings_fail_naming_the_option() {
    assertThatThrownBy(() -> new Backoff(Duration.ZERO, Duration.ofSeconds(1), TOP))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageStartingWith("base");
    assertThatThrownBy(() -> new Backoff(Duration.ofSeconds(2), Duration.ofSeconds(1), TOP))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageStartingWith("max");
    Backoff backoff = new Backoff(Duration.ofSeconds(1), Duration.ofSeconds(2), TOP);
    assertThatThrownBy(() -> backoff.delay(0))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageStartingWith("retry");
  }
}
