package dev.fanout;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.core.util.BufferRecycler;
import com.fasterxml.jackson.core.util.RecyclerPool;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.util.Map;
import org.junit.jupiter.api.Test;

class DefaultMapperTest {
  @Test
  void encoding_and_parsing_on_virtual_threads_reuse_the_buffers_given_back() throws Exception {
    ObjectMapper mapper = FanOut.defaultObjectMapper();
    RecyclerPool<BufferRecycler> pool = mapper.getFactory()._getRecyclerPool();
    Runnable encodeAndParse =
        () -> {
          try {
            mapper.readTree(mapper.writeValueAsBytes(Map.of("item", 12345)));
          } catch (IOException e) {
            throw new UncheckedIOException(e);
          }
        };

    Thread.ofVirtual().start(encodeAndParse).join();
    int kept = pool.pooledCount();
    Thread.ofVirtual().start(encodeAndParse).join();

    // The second thread took the sets the first gave back, and gave them back in turn.
    assertThat(kept).isPositive();
    assertThat(pool.pooledCount()).isEqualTo(kept);
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
}
