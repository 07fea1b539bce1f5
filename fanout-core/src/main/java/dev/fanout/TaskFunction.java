package dev.fanout;

/**
 * The function a job runs over each of its items.
 *
 * <p>It runs on the engine's worker executor (a virtual thread by default), concurrently with other
 * items of the same job. Throwing fails the attempt; the job's {@link RetryPolicy} decides whether
 * another attempt follows. An interrupted attempt should stop promptly.
 *
 * @param <I> the item type
 * @param <R> the result type
 */
@FunctionalInterface
public interface TaskFunction<I, R> {

  /**
   * Runs one attempt over one item.
   *
   * @param item the item (may be null when the source holds nulls)
   * @param context what the attempt may know about itself
   * @return the result, which the transform then maps
   * @throws Exception any failure; the retry policy decides whether it is retried
   */
  R apply(I item, TaskContext context) throws Exception;
}
