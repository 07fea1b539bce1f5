package dev.fanout;

/**
 * A durable job's named consumer that also wants to hear, once, that its job is over: for example a
 * webhook that sends a final event after the last result.
 *
 * <p>Implement it on the object a consumer registration or factory returns. The engine's delivery
 * loop calls {@link #onJobFinished} when the job is final and every result has been handed to the
 * consumer and acknowledged, so it always comes after the last result. The call is recorded in the
 * store only once it returns: if it throws, it is retried with the engine's consumer backoff, and
 * if the engine stops first, it is made again after a restart. It is therefore at least once, like
 * results, and a listener should tolerate a repeat. A job that becomes active again later (new
 * results after it was final) is reported again when it is next final.
 */
@FunctionalInterface
public interface JobFinishedListener {
  /**
   * Called once the job is final and every result was delivered to this consumer.
   *
   * @param status the job's final status
   * @throws RuntimeException to have the call retried after a backoff
   */
  void onJobFinished(JobStatus status);
}
