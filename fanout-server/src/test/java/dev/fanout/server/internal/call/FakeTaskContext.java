package dev.fanout.server.internal.call;

import dev.fanout.JobId;
import dev.fanout.TaskContext;
import java.time.Instant;
import java.util.Optional;
import java.util.UUID;

/** A hand-made attempt context: these tests call functions without an engine. */
record FakeTaskContext(JobId jobId, long index, int attempt, Optional<Instant> deadline)
    implements TaskContext {

  static FakeTaskContext of(long index) {
    return new FakeTaskContext(newJobId(), index, 1, Optional.empty());
  }

  static JobId newJobId() {
    return JobId.of(UUID.randomUUID().toString());
  }

  FakeTaskContext withAttempt(int attempt) {
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
