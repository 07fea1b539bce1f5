package dev.fanout;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.util.Comparator;
import java.util.List;
import org.junit.jupiter.api.Test;

class ReducersTest {
  private static <T, A> A fold(Reducer<? super T, A> reducer, List<T> values) {
    A acc = reducer.identity();
    for (T v : values) {
      acc = reducer.accumulate(acc, v);
    }
    return acc;
  }

  @Test
  void built_ins_fold_as_documented() {
    assertThat(fold(Reducers.count(), List.of("a", "b"))).isEqualTo(2L);
    assertThat(fold(Reducers.sumLong(), List.of(1, 2L, 3))).isEqualTo(6L);
    assertThat(fold(Reducers.sumDouble(), List.of(0.5, 1))).isEqualTo(1.5);
    assertThat(fold(Reducers.<Integer>min(), List.of(3, 1, 2))).isEqualTo(1);
    assertThat(fold(Reducers.<Integer>max(), List.of(3, 1, 2))).isEqualTo(3);
    assertThat(fold(Reducers.<Integer>min(), List.of())).isNull();
    assertThat(fold(Reducers.average(), List.of(1, 2, 6)).value()).isEqualTo(3.0);
    assertThat(fold(Reducers.average(), List.of()).value()).isNull();
    assertThat(fold(Reducers.<String>collect(), List.of("x", "y"))).containsExactly("x", "y");
  }

  @Test
  void min_and_max_keep_the_first_of_equals_in_index_order() {
    record Item(String name, int rank) {}
    Comparator<Item> byRank = Comparator.comparingInt(Item::rank);
    List<Item> items = List.of(new Item("a", 1), new Item("b", 1), new Item("c", 0));
    assertThat(fold(Reducers.min(byRank), items).name()).isEqualTo("c");
    assertThat(fold(Reducers.max(byRank), items).name()).isEqualTo("a");
  }

  @Test
  void only_exact_reducers_declare_themselves_commutative() {
    assertThat(Reducers.count().isCommutative()).isTrue();
    assertThat(Reducers.sumLong().isCommutative()).isTrue();
    assertThat(Reducers.sumDouble().isCommutative()).isFalse();
    assertThat(Reducers.average().isCommutative()).isFalse();
    assertThat(Reducers.collect().isCommutative()).isFalse();
    assertThat(Reducers.<Integer>min().isCommutative()).isFalse();
  }

  @Test
  void sum_long_refuses_overflow_and_nulls() {
    assertThatThrownBy(() -> fold(Reducers.sumLong(), List.of(Long.MAX_VALUE, 1L)))
        .isInstanceOf(ArithmeticException.class);
    assertThatThrownBy(() -> Reducers.sumLong().accumulate(0L, null))
        .hasMessage("sumLong cannot add a null result");
  }

  @Test
  void each_collect_starts_from_its_own_list() {
    Reducer<String, List<String>> collect = Reducers.collect();
    List<String> first = collect.accumulate(collect.identity(), "a");
    List<String> second = collect.identity();
    assertThat(second).isNotSameAs(first);
    assertThat(second).isEmpty();
  }
}
