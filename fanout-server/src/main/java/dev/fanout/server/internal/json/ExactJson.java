package dev.fanout.server.internal.json;

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
   * A builder configured as {@link #mapper()}, for a caller that needs more features.
   *
   * @return the builder
   */
  public static JsonMapper.Builder builder() {
    return JsonMapper.builder()
        .enable(DeserializationFeature.USE_BIG_DECIMAL_FOR_FLOATS)
        .configure(JsonNodeFeature.STRIP_TRAILING_BIGDECIMAL_ZEROES, false);
  }
}
