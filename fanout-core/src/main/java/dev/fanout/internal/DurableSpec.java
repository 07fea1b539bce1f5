package dev.fanout.internal;

import com.fasterxml.jackson.databind.JsonNode;
import dev.fanout.FailureMode;
import dev.fanout.FailurePolicy;
import dev.fanout.JobSpec;
import dev.fanout.RetryPolicy;
import java.time.Duration;

/**
 * The part of a durable job's spec that is stored with it, as JSON: names instead of lambdas, the
 * configurations their factories make this job's components from, and the policies as plain
 * numbers, so a restarted engine can run the job again. Specs stored before a field existed read it
 * as null.
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
    Double toleratedPercent,
    JsonNode functionConfig,
    JsonNode transformConfig,
    JsonNode reducerConfig,
    JsonNode consumerConfig,
    JsonNode metadata) {

  DurableSpec {
    // Jackson reads a stored null into a NullNode; no configuration is null here.
    functionConfig = orNull(functionConfig);
    transformConfig = orNull(transformConfig);
    reducerConfig = orNull(reducerConfig);
    consumerConfig = orNull(consumerConfig);
    metadata = orNull(metadata);
  }

  private static JsonNode orNull(JsonNode node) {
    return node == null || node.isNull() || node.isMissingNode() ? null : node;
  }

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
        Double.isNaN(failure.toleratedPercent()) ? null : failure.toleratedPercent(),
        spec.functionConfig().orElse(null),
        spec.transformConfig().orElse(null),
        spec.reducerConfig().orElse(null),
        spec.consumerConfig().orElse(null),
        spec.metadata().orElse(null));
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
