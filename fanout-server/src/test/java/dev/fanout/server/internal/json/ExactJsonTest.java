package dev.fanout.server.internal.json;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.core.util.BufferRecycler;
import com.fasterxml.jackson.core.util.RecyclerPool;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.math.BigDecimal;
import java.util.concurrent.atomic.AtomicReference;
import org.junit.jupiter.api.Test;

class ExactJsonTest {
  @Test
  void decimals_keep_every_digit_they_were_written_with() throws Exception {
    ObjectMapper mapper = ExactJson.mapper();
    JsonNode node = mapper.readTree("[0.1000000000000000055511151231257827, 100.0, 1e400]");

    assertThat(node.get(0).decimalValue())
        .isEqualTo(new BigDecimal("0.1000000000000000055511151231257827"));
    assertThat(mapper.writeValueAsString(node))
        .isEqualTo("[0.1000000000000000055511151231257827,100.0,1E+400]");
  }

  @Test
  void a_virtual_thread_reuses_the_buffers_another_gave_back() throws Exception {
    // Each exchange, attempt and call runs on a virtual thread of its own: a pool kept per thread
    // (Jackson's default) would hand every one of them fresh buffers.
    RecyclerPool<BufferRecycler> pool = ExactJson.mapper().getFactory()._getRecyclerPool();

    AtomicReference<BufferRecycler> first = new AtomicReference<>();
    AtomicReference<BufferRecycler> second = new AtomicReference<>();
    Thread.ofVirtual().start(() -> first.set(useAndGiveBack(pool))).join();
    Thread.ofVirtual().start(() -> second.set(useAndGiveBack(pool))).join();

    assertThat(second.get()).isNotNull().isSameAs(first.get());
  }

  private static BufferRecycler useAndGiveBack(RecyclerPool<BufferRecycler> pool) {
    BufferRecycler recycler = pool.acquireAndLinkPooled();
    recycler.releaseToPool();
    return recycler;
  }
}
