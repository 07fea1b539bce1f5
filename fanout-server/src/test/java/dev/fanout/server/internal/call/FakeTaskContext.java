package dev.fanout.server.internal.call;

import dev.fanout.JobId;
import dev.fanout.TaskContext;
import java.time.Instant;
import java.util.Optional;
import java.util.UUID;

/** A hand-made attempt context, for tests that call functions without an engine. */
public record FakeTaskContext(JobId jobId, long index, int attempt, Optional<Instant> deadline)
    implements TaskContext {

  /**
   * A first attempt at an item of a new job, with no deadline.
   *
   * @param index the item's index
   * @return the context
   */
  public static FakeTaskContext of(long index) {
    return new FakeTaskContext(newJobId(), index, 1, Optional.empty());
  }

  static JobId newJobId() {
    return JobId.of(UUID.randomUUID().toString());
  }

  /**
   * The same context for another attempt.
   *
   * @param attempt 1 for the first
   * @return the context
   */
  public FakeTaskContext withAttempt(int attempt) {
    return new FakeTaskContext(jobId, index, attempt, deadline);
  }

  FakeTaskContext withDeadline(Instant deadline) {
    return new FakeTaskContext(jobId, index, attempt, Optional.of(deadline));
  }

  String idempotencyKey() {
    return jobId.value() + ":" + index;
  }

  @Override
  public boolean isCancelled() {
    return false;
  }
}
