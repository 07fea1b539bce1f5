package dev.fanout.internal;

import dev.fanout.FailureMode;
import dev.fanout.FailurePolicy;
import dev.fanout.JobSpec;
import dev.fanout.RetryPolicy;
import java.time.Duration;

/**
 * The part of a durable job's spec that is stored with it, as JSON: names instead of lambdas, and
 * the policies as plain numbers, so a restarted engine can run the job again.
 */
record DurableSpec(
    String name,
    String function,
    String transform,
    String reducer,
    String consumer,
    int maxAttempts,
    long backoffMillis,
    long maxBackoffMillis,
    Long attemptTimeoutMillis,
    Long deadlineMillis,
    FailureMode failureMode,
    long toleratedCount,
    Double toleratedPercent) {

  static DurableSpec of(JobSpec<?, ?, ?> spec) {
    spec.attemptTimeout()
        .filter(t -> t.toMillis() < 1)
        .ifPresent(
            t -> {
              throw new IllegalArgumentException(
                  "a durable job's attemptTimeout is stored in milliseconds; "
                      + t
                      + " is below 1 ms");
            });
    RetryPolicy retry = spec.retryPolicy();
    FailurePolicy failure = spec.failurePolicy();
    return new DurableSpec(
        spec.name().orElse(null),
        spec.functionName().orElseThrow(),
        spec.transformName().orElse(null),
        spec.reducerName().orElse(null),
        spec.consumerName().orElse(null),
        retry.maxAttempts(),
        retry.backoff().toMillis(),
        retry.maxBackoff().toMillis(),
        spec.attemptTimeout().map(Duration::toMillis).orElse(null),
        spec.deadline().map(Duration::toMillis).orElse(null),
        failure.mode(),
        failure.toleratedCount(),
        Double.isNaN(failure.toleratedPercent()) ? null : failure.toleratedPercent());
  }

  RetryPolicy retryPolicy() {
    return RetryPolicy.builder()
        .maxAttempts(maxAttempts)
        .backoff(Duration.ofMillis(backoffMillis))
        .maxBackoff(Duration.ofMillis(maxBackoffMillis))
        .build();
  }

  FailurePolicy failurePolicy() {
    FailurePolicy policy = FailurePolicy.of(failureMode);
    return toleratedPercent != null
        ? policy.toleratingPercent(toleratedPercent)
        : policy.toleratingFailures(toleratedCount);
  }

  Duration attemptTimeout() {
    return attemptTimeoutMillis == null ? null : Duration.ofMillis(attemptTimeoutMillis);
  }
}
