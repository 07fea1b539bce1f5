package dev.fanout.server.internal.json;

import com.fasterxml.jackson.core.JsonFactory;
import com.fasterxml.jackson.core.util.JsonRecyclerPools;
import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.cfg.JsonNodeFeature;
import com.fasterxml.jackson.databind.json.JsonMapper;

/**
 * The server's JSON: numbers keep every digit a client or a function wrote. Jackson's defaults read
 * a decimal as a {@code double}, which rounds {@code 0.1000000000000000055511151231257827} to
 * {@code 0.1} and turns {@code 1e400} into the string {@code "Infinity"}; an item must reach its
 * function, and a result its consumer and reducer, as sent.
 */
public final class ExactJson {
  /**
   * How many sets of buffers a mapper keeps for its parsers and generators. Jackson's own default
   * keeps a set per thread, and the server's virtual threads (an exchange, an attempt, a call) end
   * after one use, so every call of an HTTP function allocated tens of kilobytes of fresh buffers
   * to encode its item. A set is held while a parser or generator is open, which for a read or
   * write that waits on I/O may be long; a set given back to a full pool is dropped. The pool holds
   * its sets for good, each as large as the largest document it served, so the bound stays near the
   * number of cores that encode at once rather than the number of exchanges.
   */
  private static final int BUFFER_SETS =
      Math.max(4, 2 * Runtime.getRuntime().availableProcessors());

  private ExactJson() {}

  /**
   * A new mapper reading decimals as {@link java.math.BigDecimal} and keeping them as written
   * ({@code 100.0} stays {@code 100.0}, where stripping the zeros would write {@code 1E+2}).
   *
   * @return the mapper
   */
  public static ObjectMapper mapper() {
    return builder().build();
  }

  /**
   * A builder configured as {@link #mapper()}, for a caller that needs more features. Its mapper
   * has a bounded pool of buffers of its own, which virtual threads reuse.
   *
   * @return the builder
   */
  public static JsonMapper.Builder builder() {
    return JsonMapper.builder(
            JsonFactory.builder()
                .recyclerPool(JsonRecyclerPools.newBoundedPool(BUFFER_SETS))
                .build())
        .enable(DeserializationFeature.USE_BIG_DECIMAL_FOR_FLOATS)
        .configure(JsonNodeFeature.STRIP_TRAILING_BIGDECIMAL_ZEROES, false);
  }
}
