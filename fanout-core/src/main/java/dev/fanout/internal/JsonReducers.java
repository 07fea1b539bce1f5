package dev.fanout.internal;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import com.fasterxml.jackson.databind.node.NullNode;
import java.math.BigDecimal;
import java.math.MathContext;
import java.util.Iterator;
import java.util.List;

/**
 * The reducers a durable job may name without registering them. They fold JSON values: sums and
 * means in exact decimal arithmetic, so the aggregate does not depend on floating-point order.
 */
final class JsonReducers {
  static final List<String> NAMES = List.of("count", "sum", "min", "max", "avg", "collect");

  private static final JsonNodeFactory JSON = JsonNodeFactory.instance;

  /**
   * The largest power of ten, up or down, of the numbers {@code sum} and {@code avg} add: an exact
   * sum of 1E+10000 and 1E-10000 has 20,001 digits, which is still quick to add.
   */
  static final int MAX_EXPONENT = 10_000;

  private JsonReducers() {}

  static boolean isBuiltIn(String name) {
    return NAMES.contains(name);
  }

  /** Folds the values, in index order, with the built-in reducer {@code name}. */
  static JsonNode fold(String name, Iterator<JsonNode> values) {
    return switch (name) {
      case "count" -> {
        long n = 0;
        while (values.hasNext()) {
          values.next();
          n++;
        }
        yield JSON.numberNode(n);
      }
      case "sum" -> {
        BigDecimal sum = BigDecimal.ZERO;
        while (values.hasNext()) {
          sum = sum.add(number(values.next(), "sum"));
        }
        yield decimal(sum);
      }
      case "avg" -> {
        BigDecimal sum = BigDecimal.ZERO;
        long n = 0;
        while (values.hasNext()) {
          sum = sum.add(number(values.next(), "avg"));
          n++;
        }
        if (n == 0) {
          yield NullNode.instance;
        }
        // A double, unless one cannot hold the mean (beyond 1.8E+308, or so small it would read
        // 0): then the decimal, rather than "Infinity" or a false zero.
        BigDecimal mean = sum.divide(BigDecimal.valueOf(n), MathContext.DECIMAL64);
        double d = mean.doubleValue();
        yield Double.isFinite(d) && (d != 0 || mean.signum() == 0)
            ? JSON.numberNode(d)
            : JSON.numberNode(mean);
      }
      case "min", "max" -> {
        boolean min = name.equals("min");
        JsonNode best = null;
        while (values.hasNext()) {
          JsonNode v = values.next();
          if (best == null || (min ? compare(v, best) < 0 : compare(v, best) > 0)) {
            best = v;
          }
        }
        yield best == null ? NullNode.instance : best;
      }
      case "collect" -> {
        ArrayNode all = JSON.arrayNode();
        values.forEachRemaining(all::add);
        yield all;
      }
      default -> throw new IllegalArgumentException("no built-in reducer '" + name + "'");
    };
  }

  private static BigDecimal number(JsonNode v, String reducer) {
    if (v == null || !v.isNumber()) {
      throw new IllegalArgumentException(
          reducer + " needs numbers, got " + (v == null ? "nothing" : v.getNodeType()));
    }
    BigDecimal number = v.decimalValue();
    if (number.signum() == 0) {
      return BigDecimal.ZERO; // 0E-999999999 would carry its billion-place scale into the sum
    }
    long exponent = (long) number.precision() - number.scale() - 1;
    if (Math.abs(exponent) > MAX_EXPONENT) {
      // Exact addition aligns the operands: 1E+999999999 plus 1 would take a billion digits.
      throw new IllegalArgumentException(
          reducer
              + " adds numbers from 1E-"
              + MAX_EXPONENT
              + " to 1E+"
              + MAX_EXPONENT
              + " exactly, got one of the order of 1E"
              + (exponent > 0 ? "+" : "")
              + exponent);
    }
    return number;
  }

  private static JsonNode decimal(BigDecimal value) {
    BigDecimal stripped = value.stripTrailingZeros();
    if (stripped.scale() <= 0 && stripped.toBigInteger().bitLength() < 63) {
      return JSON.numberNode(stripped.longValueExact());
    }
    return JSON.numberNode(value);
  }

  private static int compare(JsonNode a, JsonNode b) {
    if (a.isNumber() && b.isNumber()) {
      return a.decimalValue().compareTo(b.decimalValue());
    }
    if (a.isTextual() && b.isTextual()) {
      return a.textValue().compareTo(b.textValue());
    }
    throw new IllegalArgumentException(
        "min and max compare numbers with numbers and strings with strings, got "
            + a.getNodeType()
            + " and "
            + b.getNodeType());
  }
}
