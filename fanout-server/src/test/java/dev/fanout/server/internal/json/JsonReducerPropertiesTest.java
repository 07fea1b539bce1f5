package dev.fanout.server.internal.json;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import com.fasterxml.jackson.databind.node.ObjectNode;
import com.fasterxml.jackson.databind.node.TextNode;
import java.math.BigDecimal;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import net.jqwik.api.constraints.IntRange;
import net.jqwik.api.constraints.Size;
import net.jqwik.api.constraints.StringLength;

/** Folding in index order equals a plain reference computation, whatever the values. */
class JsonReducerPropertiesTest {
  private static final JsonNodeFactory JSON = JsonNodeFactory.instance;

  private static JsonReducer reducer(String name) {
    return JsonReducer.parse(TextNode.valueOf(name));
  }

  @Property
  void sum_of_longs_is_the_exact_sum(@ForAll @Size(max = 200) List<Long> values) {
    BigDecimal expected = BigDecimal.ZERO;
    List<JsonNode> nodes = new ArrayList<>();
    for (long v : values) {
      expected = expected.add(BigDecimal.valueOf(v));
      nodes.add(JSON.numberNode(v));
    }

    JsonNode sum = reducer("sum").fold(nodes.iterator());

    assertThat(sum.isIntegralNumber()).isTrue();
    assertThat(sum.bigIntegerValue()).isEqualTo(expected.toBigIntegerExact());
  }

  @Property
  void sum_of_decimals_is_exact_whatever_the_magnitudes(
      @ForAll @Size(max = 100) List<@IntRange(min = -1_000_000, max = 1_000_000) Integer> cents) {
    BigDecimal expected = BigDecimal.ZERO;
    List<JsonNode> nodes = new ArrayList<>();
    for (int c : cents) {
      BigDecimal v = BigDecimal.valueOf(c, 2);
      expected = expected.add(v);
      nodes.add(JSON.numberNode(v.doubleValue()));
    }

    JsonNode sum = reducer("sum").fold(nodes.iterator());

    assertThat(sum.decimalValue()).isEqualByComparingTo(expected);
  }

  @Property
  void min_max_and_avg_match_a_reference(@ForAll @Size(min = 1, max = 100) List<Integer> values) {
    List<JsonNode> nodes = values.stream().map(v -> (JsonNode) JSON.numberNode(v)).toList();
    long total = values.stream().mapToLong(Integer::longValue).sum();

    assertThat(reducer("min").fold(nodes.iterator()).intValue())
        .isEqualTo(values.stream().mapToInt(Integer::intValue).min().orElseThrow());
    assertThat(reducer("max").fold(nodes.iterator()).intValue())
        .isEqualTo(values.stream().mapToInt(Integer::intValue).max().orElseThrow());
    assertThat(reducer("avg").fold(nodes.iterator()).doubleValue())
        .isEqualTo(
            new BigDecimal(total)
                .divide(BigDecimal.valueOf(values.size()), java.math.MathContext.DECIMAL64)
                .doubleValue());
    assertThat(reducer("count").fold(nodes.iterator()).longValue()).isEqualTo(values.size());
  }

  @Property
  void collect_and_concat_keep_index_order(
      @ForAll @Size(max = 50) List<@Size(max = 5) List<@StringLength(max = 3) String>> chunks) {
    List<JsonNode> arrays = new ArrayList<>();
    List<JsonNode> strings = new ArrayList<>();
    ArrayNode expectedArray = JSON.arrayNode();
    StringBuilder expectedString = new StringBuilder();
    ArrayNode expectedCollect = JSON.arrayNode();
    for (List<String> chunk : chunks) {
      ArrayNode array = JSON.arrayNode();
      chunk.forEach(array::add);
      arrays.add(array);
      expectedCollect.add(array);
      chunk.forEach(expectedArray::add);
      String joined = String.join("", chunk);
      strings.add(TextNode.valueOf(joined));
      expectedString.append(joined);
    }

    JsonNode concatenatedArrays = reducer("concat").fold(arrays.iterator());
    JsonNode concatenatedStrings = reducer("concat").fold(strings.iterator());
    JsonNode collected = reducer("collect").fold(arrays.iterator());

    if (chunks.isEmpty()) {
      assertThat(concatenatedArrays.isNull()).isTrue();
      assertThat(concatenatedStrings.isNull()).isTrue();
    } else {
      assertThat(concatenatedArrays).isEqualTo(expectedArray);
      assertThat(concatenatedStrings.textValue()).isEqualTo(expectedString.toString());
    }
    assertThat(collected).isEqualTo(expectedCollect);
  }

  @Property
  void merge_lets_the_later_index_win(
      @ForAll @Size(max = 30)
          List<@Size(max = 4) Map<@StringLength(min = 1, max = 2) String, Integer>> objects) {
    Map<String, Integer> expected = new LinkedHashMap<>();
    List<JsonNode> nodes = new ArrayList<>();
    for (Map<String, Integer> object : objects) {
      ObjectNode node = JSON.objectNode();
      object.forEach(node::put);
      nodes.add(node);
      expected.putAll(object);
    }

    JsonNode merged = reducer("merge").fold(nodes.iterator());

    ObjectNode expectedNode = JSON.objectNode();
    expected.forEach(expectedNode::put);
    assertThat(merged).isEqualTo(expectedNode);
  }

  @Property(tries = 50)
  void a_jq_sum_equals_the_builtin_sum_on_integers(
      @ForAll @Size(max = 30) List<@IntRange(min = -1000, max = 1000) Integer> values) {
    List<JsonNode> nodes = values.stream().map(v -> (JsonNode) JSON.numberNode(v)).toList();
    JsonReducer jq = JsonReducer.parse(JSON.objectNode().put("jq", ". + $item").put("init", 0));

    assertThat(jq.fold(nodes.iterator()).longValue())
        .isEqualTo(reducer("sum").fold(nodes.iterator()).longValue());
  }
}
