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
   * to encode its item. Sets in use at once are about as many as the cores; the bound only caps
   * what a burst leaves behind.
   */
  private static final int BUFFER_SETS = 100;

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
