package dev.fanout.server.internal.json;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.core.util.BufferRecycler;
import com.fasterxml.jackson.core.util.RecyclerPool;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.math.BigDecimal;
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
  void encoding_and_parsing_on_virtual_threads_reuse_the_buffers_given_back() throws Exception {
    ObjectMapper mapper = ExactJson.mapper();
    RecyclerPool<BufferRecycler> pool = mapper.getFactory()._getRecyclerPool();
    JsonNode item = mapper.readTree("{\"item\": 0.10}");
    Runnable encodeAndParse =
        () -> {
          try {
            mapper.readTree(mapper.writeValueAsBytes(item));
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
}
