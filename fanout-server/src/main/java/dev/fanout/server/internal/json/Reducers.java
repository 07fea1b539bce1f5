package dev.fanout.server.internal.json;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import com.fasterxml.jackson.databind.node.LongNode;
import com.fasterxml.jackson.databind.node.NullNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import com.fasterxml.jackson.databind.node.POJONode;
import com.fasterxml.jackson.databind.node.TextNode;
import dev.fanout.server.internal.ApiException;
import java.math.BigDecimal;
import java.math.MathContext;
import java.util.Iterator;
import java.util.Locale;
import java.util.Map;

/** Parsing of the {@code reduce} field, and the reducers behind {@link JsonReducer}. */
final class Reducers {
  private static final JsonNodeFactory JSON = JsonNodeFactory.instance;

  private Reducers() {}

  static JsonReducer parse(JsonNode field) {
    if (field == null || field.isNull() || field.isMissingNode()) {
      throw typeError("null");
    }
    if (field.isTextual()) {
      String name = field.textValue();
      for (Builtin builtin : Builtin.values()) {
        if (builtin.apiName.equals(name)) {
          return builtin;
        }
      }
      throw ApiException.invalid(
          "unknown_reducer",
          "reduce \""
              + shorten(name)
              + "\" is not a reducer; use one of "
              + String.join(", ", JsonReducer.NAMES)
              + ", or {\"jq\": \"<reduce expression>\", \"init\": <value>}");
    }
    if (field.isObject()) {
      for (Iterator<String> names = field.fieldNames(); names.hasNext(); ) {
        String name = names.next();
        if (!name.equals("jq") && !name.equals("init")) {
          throw ApiException.badRequest(
              "unknown_field",
              "reduce has an unknown field \""
                  + shorten(name)
                  + "\"; it takes \"jq\" and \"init\"");
        }
      }
      JsonNode jq = field.get("jq");
      if (jq == null || !jq.isTextual()) {
        throw ApiException.badRequest(
            "invalid_type",
            "reduce.jq must be a string (a jq expression), got "
                + (jq == null ? "nothing" : typeName(jq)));
      }
      JsonNode init = field.get("init");
      return new JqReducer(
          JqTransform.compile(
              jq.textValue(), "reduce.jq", JqReducer.sampleVariables(), JqTransform.STEP_BUDGET),
          init == null ? NullNode.instance : init.deepCopy());
    }
    throw typeError(typeName(field));
  }

  private static ApiException typeError(String got) {
    return ApiException.badRequest(
        "invalid_type",
        "reduce must be a reducer name (a string) or an object {\"jq\": ..., \"init\": ...}, got "
            + got);
  }

  /** The JSON type of a value as the API names it in messages: string, number, object... */
  static String typeName(JsonNode value) {
    if (value == null || value.isMissingNode()) {
      return "nothing";
    }
    return switch (value.getNodeType()) {
      case STRING -> "a string";
      case NUMBER -> "a number";
      case BOOLEAN -> "a boolean";
      case NULL -> "null";
      case ARRAY -> "an array";
      case OBJECT, POJO -> "an object";
      default -> value.getNodeType().name().toLowerCase(Locale.ROOT);
    };
  }

  private static String shorten(String s) {
    return s.length() > 40 ? s.substring(0, 37) + "..." : s;
  }

  /**
   * The largest power of ten, up or down, whose numbers {@code sum} and {@code avg} add: an exact
   * sum of 1E+10000 and 1E-10000 has 20,001 digits, which is still quick to add.
   */
  static final int MAX_EXPONENT = 10_000;

  /** The power of ten of a number's first digit: 2 for 123.4, -3 for 0.0012. */
  static long exponent(BigDecimal number) {
    return (long) number.precision() - number.scale() - 1;
  }

  /**
   * A mean as a double, unless a double cannot hold it (beyond 1.8E+308, or so small it would read
   * 0): then as the decimal, rather than {@code "Infinity"} or a false zero.
   */
  static JsonNode meanNode(BigDecimal mean) {
    double d = mean.doubleValue();
    return Double.isFinite(d) && (d != 0 || mean.signum() == 0)
        ? JSON.numberNode(d)
        : JSON.numberNode(mean);
  }

  /** An integral sum as a JSON integer (64-bit or wider), anything else as a decimal. */
  static JsonNode present(BigDecimal sum) {
    if (sum.signum() == 0) {
      return JSON.numberNode(0L);
    }
    BigDecimal stripped = sum.stripTrailingZeros();
    if (stripped.scale() <= 0) {
      var integer = stripped.toBigIntegerExact();
      return integer.bitLength() <= 63
          ? JSON.numberNode(integer.longValue())
          : JSON.numberNode(integer);
    }
    return JSON.numberNode(stripped);
  }

  /** The built-in reducers, named in the API by {@link #apiName}. */
  enum Builtin implements JsonReducer {
    SUM("sum") {
      @Override
      public JsonNode identity() {
        return JSON.numberNode(BigDecimal.ZERO);
      }

      @Override
      public JsonNode accumulate(JsonNode aggregate, long index, JsonNode value) {
        return JSON.numberNode(aggregate.decimalValue().add(addend(value, index)));
      }

      @Override
      public JsonNode finish(JsonNode aggregate) {
        return present(aggregate.decimalValue());
      }
    },
    COUNT("count") {
      @Override
      public JsonNode identity() {
        return LongNode.valueOf(0);
      }

      @Override
      public JsonNode accumulate(JsonNode aggregate, long index, JsonNode value) {
        return LongNode.valueOf(aggregate.longValue() + 1);
      }
    },
    MIN("min") {
      @Override
      public JsonNode identity() {
        return NullNode.instance;
      }

      @Override
      public JsonNode accumulate(JsonNode aggregate, long index, JsonNode value) {
        return pick(aggregate, index, value, true);
      }
    },
    MAX("max") {
      @Override
      public JsonNode identity() {
        return NullNode.instance;
      }

      @Override
      public JsonNode accumulate(JsonNode aggregate, long index, JsonNode value) {
        return pick(aggregate, index, value, false);
      }
    },
    AVG("avg") {
      /** [exact sum, count], finished by one division so the mean does not drift. */
      @Override
      public JsonNode identity() {
        return JSON.arrayNode().add(BigDecimal.ZERO).add(0L);
      }

      @Override
      public JsonNode accumulate(JsonNode aggregate, long index, JsonNode value) {
        ArrayNode sumAndCount = (ArrayNode) aggregate;
        BigDecimal sum = sumAndCount.get(0).decimalValue().add(addend(value, index));
        sumAndCount.set(0, JSON.numberNode(sum));
        sumAndCount.set(1, JSON.numberNode(sumAndCount.get(1).longValue() + 1));
        return sumAndCount;
      }

      @Override
      public JsonNode finish(JsonNode aggregate) {
        long count = aggregate.get(1).longValue();
        if (count == 0) {
          return NullNode.instance;
        }
        BigDecimal mean =
            aggregate
                .get(0)
                .decimalValue()
                .divide(BigDecimal.valueOf(count), MathContext.DECIMAL64);
        // A double, as the core's durable avg gives, so both engines answer alike.
        return meanNode(mean);
      }
    },
    COLLECT("collect") {
      @Override
      public JsonNode identity() {
        return JSON.arrayNode();
      }

      @Override
      public JsonNode accumulate(JsonNode aggregate, long index, JsonNode value) {
        return ((ArrayNode) aggregate).add(value);
      }
    },
    CONCAT("concat") {
      /** Null until the first value says whether arrays or strings are joined. */
      @Override
      public JsonNode identity() {
        return NullNode.instance;
      }

      @Override
      public JsonNode accumulate(JsonNode aggregate, long index, JsonNode value) {
        if (!value.isArray() && !value.isTextual()) {
          throw new ReduceFailure(
              index,
              "concat joins arrays or strings; item " + index + " is " + typeName(value),
              null);
        }
        if (aggregate.isNull()) {
          // Strings grow in a builder: concatenating a million strings one by one is quadratic.
          return value.isArray()
              ? JSON.arrayNode().addAll((ArrayNode) value)
              : new POJONode(new StringBuilder(value.textValue()));
        }
        if (aggregate.isArray() && value.isArray()) {
          return ((ArrayNode) aggregate).addAll((ArrayNode) value);
        }
        if (aggregate.isPojo() && value.isTextual()) {
          ((StringBuilder) ((POJONode) aggregate).getPojo()).append(value.textValue());
          return aggregate;
        }
        throw new ReduceFailure(
            index,
            "concat cannot join "
                + typeName(value)
                + " (item "
                + index
                + ") to "
                + (aggregate.isArray() ? "arrays" : "strings")
                + " before it",
            null);
      }

      @Override
      public JsonNode finish(JsonNode aggregate) {
        return aggregate instanceof POJONode text
            ? TextNode.valueOf(text.getPojo().toString())
            : aggregate;
      }
    },
    MERGE("merge") {
      @Override
      public JsonNode identity() {
        return JSON.objectNode();
      }

      @Override
      public JsonNode accumulate(JsonNode aggregate, long index, JsonNode value) {
        if (!value.isObject()) {
          throw new ReduceFailure(
              index, "merge needs objects; item " + index + " is " + typeName(value), null);
        }
        return ((ObjectNode) aggregate).setAll((ObjectNode) value);
      }
    };

    final String apiName;

    Builtin(String apiName) {
      this.apiName = apiName;
    }

    @Override
    public JsonNode toJson() {
      return TextNode.valueOf(apiName);
    }

    @Override
    public String toString() {
      return apiName;
    }

    BigDecimal number(JsonNode value, long index) {
      if (value == null || !value.isNumber()) {
        throw new ReduceFailure(
            index, apiName + " needs numbers; item " + index + " is " + typeName(value), null);
      }
      if ((value.isDouble() || value.isFloat()) && !Double.isFinite(value.doubleValue())) {
        throw new ReduceFailure(
            index,
            apiName + " needs finite numbers; item " + index + " is " + value.doubleValue(),
            null);
      }
      return value.decimalValue();
    }

    /**
     * {@link #number}, for an exact addition: a zero as {@code 0} (written {@code 0E-999999999} it
     * would carry its billion-place scale into the sum), anything else within {@link
     * #MAX_EXPONENT}.
     */
    BigDecimal addend(JsonNode value, long index) {
      BigDecimal number = number(value, index);
      if (number.signum() == 0) {
        return BigDecimal.ZERO;
      }
      if (Math.abs(exponent(number)) > MAX_EXPONENT) {
        // Exact addition aligns the operands: 1E+999999999 plus 1 would take a billion digits.
        throw new ReduceFailure(
            index,
            apiName
                + " adds numbers from 1E-"
                + MAX_EXPONENT
                + " to 1E+"
                + MAX_EXPONENT
                + " exactly; item "
                + index
                + " is "
                + shorten(number.toString()),
            null);
      }
      return number;
    }

    /**
     * The lesser (or greater) of the best value so far (null before the first) and this one,
     * keeping the earlier one on ties so the result does not depend on representation (1 vs 1.0).
     */
    JsonNode pick(JsonNode best, long index, JsonNode value, boolean least) {
      boolean number = value != null && value.isNumber();
      if (number) {
        number(value, index);
      } else if (value == null || !value.isTextual()) {
        throw new ReduceFailure(
            index,
            apiName + " compares numbers or strings; item " + index + " is " + typeName(value),
            null);
      }
      int order;
      if (best.isNull()) {
        return value;
      } else if (number && best.isNumber()) {
        order = value.decimalValue().compareTo(best.decimalValue());
      } else if (!number && best.isTextual()) {
        order = value.textValue().compareTo(best.textValue());
      } else {
        throw new ReduceFailure(
            index,
            apiName
                + " compares numbers with numbers and strings with strings; item "
                + index
                + " is "
                + typeName(value)
                + " but the values before it are "
                + (best.isNumber() ? "numbers" : "strings"),
            null);
      }
      return (least ? order < 0 : order > 0) ? value : best;
    }
  }

  /** {@code {"jq": expression, "init": value}}: a reduce written in jq. */
  record JqReducer(JqTransform expression, JsonNode init) implements JsonReducer {
    static Map<String, JsonNode> sampleVariables() {
      return Map.of("item", NullNode.instance, "index", LongNode.valueOf(0));
    }

    @Override
    public JsonNode toJson() {
      ObjectNode json = JSON.objectNode();
      json.put("jq", expression.expression());
      json.set("init", init.deepCopy());
      return json;
    }

    @Override
    public JsonNode identity() {
      return init.deepCopy();
    }

    @Override
    public JsonNode accumulate(JsonNode aggregate, long index, JsonNode value) {
      try {
        return expression.apply(
            aggregate,
            Map.of(
                "item",
                value == null ? NullNode.instance : value,
                "index",
                LongNode.valueOf(index)));
      } catch (TransformFailure e) {
        throw new ReduceFailure(index, "item " + index + ": " + e.getMessage(), e);
      }
    }

    @Override
    public String toString() {
      return toJson().toString();
    }
  }
}
