package dev.fanout;

import java.util.Objects;
import java.util.function.BiFunction;
import java.util.function.Supplier;

/**
 * Folds a job's succeeded results into one aggregate (fan-in).
 *
 * <p>The engine calls it from one thread at a time, with the results in input (index) order,
 * whatever order they completed in, so every run gives the same aggregate. A reducer that declares
 * itself {@linkplain #isCommutative() commutative} is folded as results arrive instead.
 *
 * @param <T> the job's result type
 * @param <A> the aggregate type
 */
public interface Reducer<T, A> {

  /**
   * The aggregate of no results. Called once per job, so a mutable container is safe.
   *
   * @return the starting aggregate (may be null)
   */
  A identity();

  /**
   * Adds one result to the aggregate.
   *
   * @param aggregate the aggregate so far
   * @param value the next succeeded result
   * @return the new aggregate (may be the same, mutated, object)
   */
  A accumulate(A aggregate, T value);

  /**
   * Adds one result to the aggregate, knowing its item's index. Engines fold through this form; the
   * default ignores the index. Override it when the aggregate depends on where a result came from,
   * or to name the item in an error.
   *
   * @param aggregate the aggregate so far
   * @param index the item's 0-based position in the job's input
   * @param value the next succeeded result
   * @return the new aggregate (may be the same, mutated, object)
   */
  default A accumulate(A aggregate, long index, T value) {
    return accumulate(aggregate, value);
  }

  /**
   * Tells whether the fold gives the same aggregate in any order, exactly. Only then may the engine
   * fold results in completion order, which avoids holding early results back.
   *
   * @return false unless the fold is exactly order-independent
   */
  default boolean isCommutative() {
    return false;
  }

  /**
   * A reducer from an identity supplier and an accumulator, folded in index order.
   *
   * @param identity supplies the aggregate of no results, once per job
   * @param accumulate adds one result
   * @param <T> the result type
   * @param <A> the aggregate type
   * @return the reducer
   */
  static <T, A> Reducer<T, A> of(
      Supplier<? extends A> identity, BiFunction<? super A, ? super T, ? extends A> accumulate) {
    Objects.requireNonNull(identity, "identity");
    Objects.requireNonNull(accumulate, "accumulate");
    return new Reducer<>() {
      @Override
      public A identity() {
        return identity.get();
      }

      @Override
      public A accumulate(A aggregate, T value) {
        return accumulate.apply(aggregate, value);
      }
    };
  }
}
