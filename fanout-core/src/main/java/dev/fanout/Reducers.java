package dev.fanout;

import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Objects;

/** The built-in reducers. Each returns a new, stateless reducer; share them freely. */
public final class Reducers {

  private Reducers() {}

  /**
   * Counts the succeeded results.
   *
   * @param <T> the result type
   * @return a commutative reducer whose aggregate is the count
   */
  public static <T> Reducer<T, Long> count() {
    return new Commutative<>() {
      @Override
      public Long identity() {
        return 0L;
      }

      @Override
      public Long accumulate(Long aggregate, T value) {
        return aggregate + 1;
      }
    };
  }

  /**
   * Sums results as {@code long} values, exactly.
   *
   * @return a commutative reducer; a null result, or a sum that overflows a {@code long}, fails the
   *     job with an {@link ArithmeticException} or a {@link NullPointerException} naming the
   *     problem
   */
  public static Reducer<Number, Long> sumLong() {
    return new Commutative<>() {
      @Override
      public Long identity() {
        return 0L;
      }

      @Override
      public Long accumulate(Long aggregate, Number value) {
        Objects.requireNonNull(value, "sumLong cannot add a null result");
        return Math.addExact(aggregate, value.longValue());
      }
    };
  }

  /**
   * Sums results as {@code double} values, in index order (floating-point addition depends on the
   * order, so this is what makes every run agree).
   *
   * @return a reducer whose aggregate is the sum, 0.0 for no results
   */
  public static Reducer<Number, Double> sumDouble() {
    return Reducer.of(
        () -> 0.0, (sum, value) -> sum + requireValue(value, "sumDouble").doubleValue());
  }

  /**
   * The arithmetic mean of the results, folded in index order.
   *
   * @return a reducer whose aggregate carries the count and the sum
   */
  public static Reducer<Number, Mean> average() {
    return Reducer.of(
        () -> Mean.EMPTY, (mean, value) -> mean.add(requireValue(value, "average").doubleValue()));
  }

  /**
   * The least result in natural order; the first one in index order wins a tie.
   *
   * @param <T> the result type
   * @return a reducer whose aggregate is null for no results
   */
  public static <T extends Comparable<? super T>> Reducer<T, T> min() {
    return min(Comparator.naturalOrder());
  }

  /**
   * The least result by {@code comparator}; the first one in index order wins a tie.
   *
   * @param comparator orders the results
   * @param <T> the result type
   * @return a reducer whose aggregate is null for no results
   */
  public static <T> Reducer<T, T> min(Comparator<? super T> comparator) {
    Objects.requireNonNull(comparator, "comparator");
    return Reducer.of(
        () -> null,
        (best, value) -> best == null || comparator.compare(value, best) < 0 ? value : best);
  }

  /**
   * The greatest result in natural order; the first one in index order wins a tie.
   *
   * @param <T> the result type
   * @return a reducer whose aggregate is null for no results
   */
  public static <T extends Comparable<? super T>> Reducer<T, T> max() {
    return max(Comparator.naturalOrder());
  }

  /**
   * The greatest result by {@code comparator}; the first one in index order wins a tie.
   *
   * @param comparator orders the results
   * @param <T> the result type
   * @return a reducer whose aggregate is null for no results
   */
  public static <T> Reducer<T, T> max(Comparator<? super T> comparator) {
    Objects.requireNonNull(comparator, "comparator");
    return Reducer.of(
        () -> null,
        (best, value) -> best == null || comparator.compare(value, best) > 0 ? value : best);
  }

  /**
   * Collects the succeeded results into a list in index order.
   *
   * @param <T> the result type
   * @return a reducer whose aggregate is a new mutable list per job
   */
  public static <T> Reducer<T, List<T>> collect() {
    return Reducer.of(
        ArrayList::new,
        (list, value) -> {
          list.add(value);
          return list;
        });
  }

  private static Number requireValue(Number value, String reducer) {
    return Objects.requireNonNull(value, () -> reducer + " cannot add a null result");
  }

  /**
   * The running state of {@link #average()}.
   *
   * @param count how many results were added
   * @param sum their sum
   */
  public record Mean(long count, double sum) {

    static final Mean EMPTY = new Mean(0, 0.0);

    Mean add(double value) {
      return new Mean(count + 1, sum + value);
    }

    /**
     * The mean.
     *
     * @return {@code sum / count}, or null when no result was added
     */
    public Double value() {
      return count == 0 ? null : sum / count;
    }
  }

  private abstract static class Commutative<T, A> implements Reducer<T, A> {
    @Override
    public final boolean isCommutative() {
      return true;
    }
  }
}
