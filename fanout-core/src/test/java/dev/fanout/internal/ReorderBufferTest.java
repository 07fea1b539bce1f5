package dev.fanout.internal;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.stream.LongStream;
import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import net.jqwik.api.constraints.IntRange;
import org.junit.jupiter.api.Test;

class ReorderBufferTest {
  @Property(tries = 300)
  void any_arrival_order_comes_out_in_index_order(
      @ForAll @IntRange(min = 0, max = 3_000) int n, @ForAll long seed) {
    List<Long> arrival = new ArrayList<>(LongStream.range(0, n).boxed().toList());
    Collections.shuffle(arrival, new java.util.Random(seed));
    ReorderBuffer<Long> buffer = new ReorderBuffer<>();
    List<Long> out = new ArrayList<>();
    for (long index : arrival) {
      buffer.put(index, index);
      for (Long next; (next = buffer.pollNext()) != null; ) {
        out.add(next);
      }
    }
    assertThat(out).containsExactlyElementsOf(LongStream.range(0, n).boxed().toList());
    assertThat(buffer.size()).isZero();
    assertThat(buffer.next()).isEqualTo(n);
  }

  @Test
  void draining_skips_the_gaps() {
    ReorderBuffer<String> buffer = new ReorderBuffer<>();
    buffer.put(1, "b");
    buffer.put(40, "z");
    buffer.put(3, "d");
    assertThat(buffer.pollNext()).isNull();
    List<String> out = new ArrayList<>();
    buffer.drainRemaining(out::add);
    assertThat(out).containsExactly("b", "d", "z");
  }

  @Test
  void an_index_put_twice_or_already_taken_is_a_bug_and_says_so() {
    ReorderBuffer<String> buffer = new ReorderBuffer<>();
    buffer.put(0, "a");
    buffer.put(2, "c");
    assertThatThrownBy(() -> buffer.put(2, "c")).hasMessageContaining("put twice");
    assertThat(buffer.pollNext()).isEqualTo("a");
    assertThatThrownBy(() -> buffer.put(0, "a")).hasMessageContaining("already taken out");
  }
}
