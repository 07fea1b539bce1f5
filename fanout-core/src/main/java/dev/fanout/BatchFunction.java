package dev.fanout;

import java.util.List;

/**
 * The function a batched job runs over each batch of up to {@code batchSize} items. Results still
 * reach the consumer one item at a time.
 *
 * @param <I> the item type
 * @param <R> the per-item result type
 */
@FunctionalInterface
public interface BatchFunction<I, R> {

  /**
   * Runs one attempt over one batch.
   *
   * @param items the batch, in index order, never empty
   * @param context what the attempt may know about itself; its index is the first item's
   * @return one result per item, in the same order; a list of another size fails the batch
   * @throws Exception any failure; every item of the batch fails or retries together
   */
  List<R> apply(List<I> items, TaskContext context) throws Exception;
}
