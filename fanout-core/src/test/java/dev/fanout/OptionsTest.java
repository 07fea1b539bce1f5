package dev.fanout;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.time.Clock;
import java.time.Duration;
import java.util.List;
import java.util.function.Consumer;
import java.util.function.Function;
import org.junit.jupiter.api.Test;

/** Every option is checked when it is set, and the error names it. */
class OptionsTest {
  private static JobSpec.Builder<Integer, Integer, Integer, Void> spec() {
    return JobSpec.items(List.of(1)).function((Integer i, TaskContext ctx) -> i);
  }

  @Test
  void job_options_with_nonsense_values_fail_naming_the_option() {
    assertThatThrownBy(() -> spec().maxConcurrency(0))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessage("maxConcurrency must be >= 1, got 0");
    assertThatThrownBy(() -> spec().maxConcurrency(-5))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("maxConcurrency");
    assertThatThrownBy(() -> spec().attemptTimeout(Duration.ZERO))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("attemptTimeout must be positive");
    assertThatThrownBy(() -> spec().deadline(Duration.ofSeconds(-1)))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("deadline must be positive");
    assertThatThrownBy(() -> spec().name(" "))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("name");
    assertThatThrownBy(
            () ->
                JobSpec.items(List.of(1)).batchFunction(0, (List<Integer> b, TaskContext ctx) -> b))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessage("batchSize must be >= 1, got 0");
  }

  @Test
  void nulls_fail_naming_the_option() {
    assertThatThrownBy(() -> spec().retry(null))
        .isInstanceOf(NullPointerException.class)
        .hasMessage("retry");
    assertThatThrownBy(() -> spec().failurePolicy(null)).hasMessage("failurePolicy");
    assertThatThrownBy(() -> spec().resultOrder(null)).hasMessage("resultOrder");
    assertThatThrownBy(() -> spec().consumer((Consumer<ItemResult<Integer>>) null))
        .hasMessage("consumer");
    assertThatThrownBy(() -> spec().reduce((Reducer<Integer, Long>) null)).hasMessage("reducer");
    assertThatThrownBy(() -> spec().transform((Function<Integer, Integer>) null))
        .hasMessage("transform");
    assertThatThrownBy(() -> JobSpec.items((Iterable<Integer>) null)).hasMessage("items");
    assertThatThrownBy(() -> FanOut.builder().clock(null)).hasMessage("clock");
  }

  @Test
  void setting_an_option_twice_fails_naming_it_and_its_value() {
    assertThatThrownBy(() -> spec().maxConcurrency(3).maxConcurrency(4))
        .isInstanceOf(IllegalStateException.class)
        .hasMessage("maxConcurrency was already set to 3");
    assertThatThrownBy(() -> spec().retry(RetryPolicy.none()).retry(RetryPolicy.none()))
        .isInstanceOf(IllegalStateException.class)
        .hasMessageStartingWith("retry was already set");
    assertThatThrownBy(() -> spec().reduce(Reducers.count()).reduce(Reducers.count()))
        .isInstanceOf(IllegalStateException.class)
        .hasMessageStartingWith("reduce was already set");
    assertThatThrownBy(() -> spec().transform(i -> i).transform(i -> i))
        .isInstanceOf(IllegalStateException.class)
        .hasMessage("transform was already set");
    assertThatThrownBy(() -> FanOut.builder().maxConcurrency(2).maxConcurrency(3))
        .isInstanceOf(IllegalStateException.class)
        .hasMessage("maxConcurrency was already set to 2");
    assertThatThrownBy(() -> FanOut.builder().clock(Clock.systemUTC()).clock(Clock.systemUTC()))
        .isInstanceOf(IllegalStateException.class)
        .hasMessageStartingWith("clock was already set");
  }

  @Test
  void a_transform_set_after_its_consumers_is_refused() {
    assertThatThrownBy(() -> spec().reduce(Reducers.count()).transform(i -> i))
        .isInstanceOf(IllegalStateException.class)
        .hasMessageContaining("transform must be set before consumer and reduce");
  }

  @Test
  void engine_options_are_checked_when_set() {
    assertThatThrownBy(() -> FanOut.builder().maxConcurrency(0))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessage("maxConcurrency must be >= 1, got 0");
    assertThatThrownBy(() -> FanOut.builder().finishedJobRetention(Duration.ofSeconds(-1)))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("finishedJobRetention must not be negative");
  }

  @Test
  void retry_policy_options_are_checked_when_set() {
    assertThatThrownBy(() -> RetryPolicy.builder().maxAttempts(0))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessage("maxAttempts must be >= 1, got 0");
    assertThatThrownBy(() -> RetryPolicy.builder().backoff(Duration.ofMillis(-1)))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("backoff must not be negative");
    assertThatThrownBy(
            () ->
                RetryPolicy.builder()
                    .backoff(Duration.ofSeconds(5))
                    .maxBackoff(Duration.ofSeconds(1))
                    .build())
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessage("maxBackoff (PT1S) must not be below backoff (PT5S)");
    assertThatThrownBy(() -> RetryPolicy.builder().maxAttempts(2).maxAttempts(3))
        .isInstanceOf(IllegalStateException.class)
        .hasMessage("maxAttempts was already set to 2");
  }

  @Test
  void retry_policy_defaults_and_backoff_growth() {
    RetryPolicy defaults = RetryPolicy.defaults();
    assertThat(defaults.maxAttempts()).isEqualTo(3);
    assertThat(defaults.isRetryable(new RuntimeException())).isTrue();
    assertThat(defaults.isRetryable(new StackOverflowError())).isFalse();
    RetryPolicy policy =
        RetryPolicy.builder()
            .backoff(Duration.ofMillis(100))
            .maxBackoff(Duration.ofSeconds(1))
            .build();
    double almostOne = Math.nextDown(1.0);
    assertThat(policy.delayBefore(1, almostOne)).isLessThan(Duration.ofMillis(100));
    assertThat(policy.delayBefore(3, almostOne))
        .isBetween(Duration.ofMillis(399), Duration.ofMillis(400));
    assertThat(policy.delayBefore(60, almostOne))
        .isBetween(Duration.ofMillis(999), Duration.ofSeconds(1));
    assertThat(policy.delayBefore(2, 0.0)).isZero();
    assertThatThrownBy(() -> policy.delayBefore(0, 0.5))
        .isInstanceOf(IllegalArgumentException.class);
    // A backoff above the default cap raises the cap with it rather than failing.
    assertThat(RetryPolicy.builder().backoff(Duration.ofMinutes(1)).build().maxBackoff())
        .isEqualTo(Duration.ofMinutes(1));
  }

  @Test
  void failure_policy_tolerances_are_checked() {
    assertThatThrownBy(() -> FailurePolicy.failFast().toleratingPercent(100.5))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessage("toleratedFailurePercent must be between 0 and 100, got 100.5");
    assertThatThrownBy(() -> FailurePolicy.failFast().toleratingPercent(Double.NaN))
        .isInstanceOf(IllegalArgumentException.class);
    assertThatThrownBy(() -> FailurePolicy.allSettled().toleratingFailures(-1))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessage("toleratedFailureCount must be >= 0, got -1");
    FailurePolicy policy = FailurePolicy.failFast().toleratingFailures(2);
    assertThat(policy.isExceeded(2, 10)).isFalse();
    assertThat(policy.isExceeded(3, 10)).isTrue();
    assertThat(policy.mode()).isEqualTo(FailureMode.FAIL_FAST);
    assertThat(FailurePolicy.allSettled().isExceeded(0, 0)).isFalse();
    assertThat(FailurePolicy.allSettled().isExceeded(1, -1)).isTrue();
  }

  @Test
  void job_ids_are_canonical_uuids() {
    assertThatThrownBy(() -> JobId.of("nope"))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("'nope'");
    assertThatThrownBy(() -> JobId.of("0192F1E4-7B1C-7D3E-9A4F-2B6C8D0E1F23"))
        .isInstanceOf(IllegalArgumentException.class);
    assertThat(JobId.of("0192f1e4-7b1c-7d3e-9a4f-2b6c8d0e1f23").toString())
        .isEqualTo("0192f1e4-7b1c-7d3e-9a4f-2b6c8d0e1f23");
  }

  @Test
  void defaults_are_documented_values() {
    JobSpec<Integer, Integer, Void> spec = spec().build();
    assertThat(spec.maxConcurrency()).isEqualTo(JobSpec.DEFAULT_MAX_CONCURRENCY);
    assertThat(spec.retryPolicy()).isSameAs(RetryPolicy.defaults());
    assertThat(spec.failurePolicy()).isEqualTo(FailurePolicy.allSettled());
    assertThat(spec.resultOrder()).isEqualTo(ResultOrder.COMPLETION);
    assertThat(spec.attemptTimeout()).isEmpty();
    assertThat(spec.deadline()).isEmpty();
    assertThat(spec.knownTotal()).hasValue(1);
    assertThat(JobSpec.items(List.of(1).iterator()).function((i, c) -> i).build().knownTotal())
        .isEmpty();
  }
}
