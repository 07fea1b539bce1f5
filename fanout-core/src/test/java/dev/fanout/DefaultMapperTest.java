package dev.fanout;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.core.util.BufferRecycler;
import com.fasterxml.jackson.core.util.RecyclerPool;
import java.util.concurrent.atomic.AtomicReference;
import org.junit.jupiter.api.Test;

class DefaultMapperTest {
  @Test
  void a_virtual_thread_reuses_the_buffers_another_gave_back() throws Exception {
    // A durable engine encodes each result on the attempt's virtual thread, which then ends: a pool
    // kept per thread (Jackson's default) would hand every attempt fresh buffers.
    RecyclerPool<BufferRecycler> pool =
        FanOut.defaultObjectMapper().getFactory()._getRecyclerPool();

    AtomicReference<BufferRecycler> first = new AtomicReference<>();
    AtomicReference<BufferRecycler> second = new AtomicReference<>();
    Thread.ofVirtual().start(() -> first.set(useAndGiveBack(pool))).join();
    Thread.ofVirtual().start(() -> second.set(useAndGiveBack(pool))).join();

    assertThat(second.get()).isNotNull().isSameAs(first.get());
  }

  @Test
  void the_pool_keeps_no_more_buffers_than_its_bound() {
    RecyclerPool<BufferRecycler> pool =
        FanOut.defaultObjectMapper().getFactory()._getRecyclerPool();
    BufferRecycler[] taken = new BufferRecycler[FanOut.JSON_BUFFER_SETS + 10];
    for (int i = 0; i < taken.length; i++) {
      taken[i] = pool.acquireAndLinkPooled();
    }
    for (BufferRecycler recycler : taken) {
      recycler.releaseToPool();
    }

    assertThat(pool.pooledCount()).isEqualTo(FanOut.JSON_BUFFER_SETS);
  }

  private static BufferRecycler useAndGiveBack(RecyclerPool<BufferRecycler> pool) {
    BufferRecycler recycler = pool.acquireAndLinkPooled();
    recycler.releaseToPool();
    return recycler;
  }
}
