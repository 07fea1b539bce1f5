package dev.fanout.server.internal.json;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.TextNode;
import dev.fanout.server.internal.ApiException;
import java.math.BigDecimal;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.stream.LongStream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import org.junit.jupiter.params.provider.ValueSource;

class JsonReducerTest {
  private static final ObjectMapper JSON = ExactJson.mapper();

  private static JsonNode json(String text) {
    try {
      return JSON.readTree(text);
    } catch (Exception e) {
      throw new IllegalArgumentException(text, e);
    }
  }

  /** Equal JSON, numbers compared by value: 3, 3.0 and 3.00 are the same aggregate to a client. */
  private static final Comparator<JsonNode> BY_VALUE =
      (a, b) ->
          a.isNumber() && b.isNumber()
              ? a.decimalValue().compareTo(b.decimalValue())
              : a.equals(b) ? 0 : 1;

  private static void assertSameJson(JsonNode actual, JsonNode expected) {
    assertThat(actual.equals(BY_VALUE, expected)).as("%s equals %s", actual, expected).isTrue();
  }

  /** Folds the elements of a JSON array, index = position. */
  private static JsonNode fold(String reducer, String valuesArray) {
    return JsonReducer.parse(json(reducer)).fold(json(valuesArray).iterator());
  }

  @ParameterizedTest(name = "{0} over {1} is {2}")
  @CsvSource(
      delimiter = ';',
      value = {
        "\"sum\"; []; 0",
        "\"sum\"; [1, 2, 3]; 6",
        "\"sum\"; [0.1, 0.2]; 0.3",
        "\"sum\"; [1.5, 1.5]; 3",
        "\"sum\"; [-5, 5]; 0",
        "\"sum\"; [9223372036854775807, 1]; 9223372036854775808",
        "\"count\"; []; 0",
        "\"count\"; [1, null, \"x\", {}]; 4",
        "\"min\"; []; null",
        "\"min\"; [3, 1.5, 2]; 1.5",
        "\"min\"; [\"pear\", \"apple\", \"fig\"]; \"apple\"",
        "\"max\"; []; null",
        "\"max\"; [3, 10, 2]; 10",
        "\"max\"; [\"pear\", \"apple\"]; \"pear\"",
        "\"avg\"; []; null",
        "\"avg\"; [1, 2]; 1.5",
        "\"avg\"; [2, 4]; 3.0",
        "\"collect\"; []; []",
        "\"collect\"; [3, null, {\"a\": 1}]; [3, null, {\"a\": 1}]",
        "\"concat\"; []; null",
        "\"concat\"; [[1, 2], [], [3]]; [1, 2, 3]",
        "\"concat\"; [\"ab\", \"\", \"c\"]; \"abc\"",
        "\"merge\"; []; {}",
        "\"merge\"; [{\"a\": 1, \"b\": 1}, {\"b\": 2}, {\"c\": 3}]; {\"a\": 1, \"b\": 2, \"c\": 3}",
      })
  void builtins_fold_as_documented(String reducer, String values, String expected) {
    assertSameJson(fold(reducer, values), json(expected));
  }

  @Test
  void integral_sums_are_json_integers_and_others_decimals() {
    assertThat(fold("\"sum\"", "[1, 2]").isIntegralNumber()).isTrue();
    assertThat(fold("\"sum\"", "[1.25, 1.75]").isIntegralNumber()).isTrue();
    assertThat(fold("\"sum\"", "[0.1, 0.2]").toString()).isEqualTo("0.3");
    assertThat(fold("\"sum\"", "[99999999999999999999, 1]").toString())
        .isEqualTo("100000000000000000000");
  }

  @Test
  void avg_is_a_floating_point_number_as_in_core() {
    assertThat(fold("\"avg\"", "[2, 4]").isDouble()).isTrue();
    assertThat(fold("\"avg\"", "[1, 2]").toString()).isEqualTo("1.5");
  }

  @Test
  void min_and_max_keep_the_first_of_equal_values() {
    assertThat(fold("\"min\"", "[1.0, 1]").toString()).isEqualTo("1.0");
    assertThat(fold("\"max\"", "[2, 2.00]").toString()).isEqualTo("2");
  }

  @Test
  void a_million_values_sum_exactly() {
    JsonReducer sum = JsonReducer.parse(TextNode.valueOf("sum"));
    JsonNode acc = sum.identity();
    for (long i = 0; i < 1_000_000; i++) {
      acc = sum.accumulate(acc, i, json("0.1"));
    }

    assertThat(sum.finish(acc).toString()).isEqualTo("100000");
  }

  @Test
  void a_million_strings_concatenate_in_order() {
    JsonReducer concat = JsonReducer.parse(TextNode.valueOf("concat"));
    List<JsonNode> values = new ArrayList<>();
    LongStream.range(0, 1_000_000)
        .forEach(i -> values.add(TextNode.valueOf(i % 2 == 0 ? "a" : "b")));

    JsonNode result = concat.fold(values.iterator());

    assertThat(result.textValue()).hasSize(1_000_000).startsWith("abab").endsWith("ab");
  }

  @ParameterizedTest
  @ValueSource(strings = {"\"sum\"", "\"avg\""})
  void a_non_number_fails_the_sum_naming_index_and_type(String reducer) {
    assertThatThrownBy(() -> fold(reducer, "[1, 2, \"3\"]"))
        .isInstanceOfSatisfying(
            ReduceFailure.class,
            e -> {
              assertThat(e.index()).isEqualTo(2);
              assertThat(e.code()).isEqualTo("reduce_error");
            })
        .hasMessageContaining("needs numbers; item 2 is a string");
    assertThatThrownBy(() -> fold(reducer, "[null]"))
        .isInstanceOf(ReduceFailure.class)
        .hasMessageContaining("item 0 is null");
  }

  @ParameterizedTest
  @ValueSource(strings = {"\"sum\"", "\"avg\""})
  void sums_take_numbers_within_1e10000_and_zeros_however_written(String reducer) {
    assertThatThrownBy(() -> fold(reducer, "[1, 1e10001]"))
        .isInstanceOf(ReduceFailure.class)
        .hasMessageContaining("item 1 is 1E+10001");
    assertThatThrownBy(() -> fold(reducer, "[1e-10001]"))
        .isInstanceOf(ReduceFailure.class)
        .hasMessageContaining("item 0 is 1E-10001");
    // A zero's billion-place scale would otherwise be carried into the exact sum.
    assertThat(fold(reducer, "[2, 0E-999999999, 4]").decimalValue())
        .isEqualByComparingTo(reducer.contains("sum") ? "6" : "2");
  }

  @Test
  void a_mean_beyond_a_double_is_given_as_the_decimal_and_min_max_take_any_number() {
    assertThat(fold("\"avg\"", "[1e400, 3e400]").decimalValue())
        .isEqualByComparingTo(new BigDecimal("2e400"));
    assertThat(fold("\"avg\"", "[1e-400]").decimalValue())
        .isEqualByComparingTo(new BigDecimal("1e-400"));
    assertThat(fold("\"avg\"", "[1, 2]").isDouble()).isTrue();
    assertThat(fold("\"max\"", "[1, 1e20000]").decimalValue())
        .isEqualByComparingTo(new BigDecimal("1e20000"));
  }

  @Test
  void min_and_max_refuse_mixed_or_other_types() {
    assertThatThrownBy(() -> fold("\"min\"", "[1, \"2\"]"))
        .isInstanceOf(ReduceFailure.class)
        .hasMessageContaining("item 1 is a string but the values before it are numbers");
    assertThatThrownBy(() -> fold("\"max\"", "[true]"))
        .isInstanceOf(ReduceFailure.class)
        .hasMessageContaining("max compares numbers or strings; item 0 is a boolean");
  }

  @Test
  void concat_and_merge_refuse_other_types() {
    assertThatThrownBy(() -> fold("\"concat\"", "[[1], \"x\"]"))
        .isInstanceOf(ReduceFailure.class)
        .hasMessageContaining("concat cannot join a string (item 1) to arrays");
    assertThatThrownBy(() -> fold("\"concat\"", "[\"x\", [1]]"))
        .isInstanceOf(ReduceFailure.class)
        .hasMessageContaining("to strings");
    assertThatThrownBy(() -> fold("\"concat\"", "[1]"))
        .isInstanceOf(ReduceFailure.class)
        .hasMessageContaining("item 0 is a number");
    assertThatThrownBy(() -> fold("\"merge\"", "[{}, []]"))
        .isInstanceOf(ReduceFailure.class)
        .hasMessageContaining("merge needs objects; item 1 is an array");
  }

  @Test
  void the_real_index_is_named_when_items_failed_before() {
    JsonReducer sum = JsonReducer.parse(TextNode.valueOf("sum"));
    JsonNode acc = sum.accumulate(sum.identity(), 4, json("1"));

    JsonNode finalAcc = acc;
    assertThatThrownBy(() -> sum.accumulate(finalAcc, 17, json("{}")))
        .isInstanceOfSatisfying(ReduceFailure.class, e -> assertThat(e.index()).isEqualTo(17))
        .hasMessageContaining("item 17 is an object");
  }

  @Test
  void a_jq_reducer_sums_a_field() {
    assertSameJson(
        fold(
            "{\"jq\": \". + $item.price\", \"init\": 0}",
            "[{\"price\": 2}, {\"price\": 3.5}, {\"price\": 4}]"),
        json("9.5"));
  }

  @Test
  void a_jq_reducer_builds_an_object_with_the_index() {
    assertSameJson(
        fold(
            "{\"jq\": \". + {($item.name): $index}\", \"init\": {}}",
            "[{\"name\": \"a\"}, {\"name\": \"b\"}]"),
        json("{\"a\": 0, \"b\": 1}"));
  }

  @Test
  void a_jq_reducer_starts_from_null_without_init() {
    assertSameJson(fold("{\"jq\": \"(. // 0) + $item\"}", "[1, 2]"), json("3"));
    assertThat(fold("{\"jq\": \". + $item\"}", "[]")).isEqualTo(json("null"));
  }

  @Test
  void a_jq_reducer_does_not_mutate_its_init() {
    JsonReducer reducer = JsonReducer.parse(json("{\"jq\": \". + [$item]\", \"init\": []}"));

    assertThat(reducer.fold(json("[1, 2]").iterator())).isEqualTo(json("[1, 2]"));
    assertThat(reducer.fold(json("[3]").iterator())).isEqualTo(json("[3]"));
  }

  @Test
  void a_failing_jq_reducer_names_the_item() {
    assertThatThrownBy(
            () -> fold("{\"jq\": \". + $item.price\", \"init\": 0}", "[{\"price\": 1}, 5]"))
        .isInstanceOfSatisfying(ReduceFailure.class, e -> assertThat(e.index()).isEqualTo(1))
        .hasMessageStartingWith("item 1: reduce.jq \". + $item.price\" failed: ");
    assertThatThrownBy(() -> fold("{\"jq\": \"., .\"}", "[1]"))
        .isInstanceOf(ReduceFailure.class)
        .hasMessageContaining("yielded 2 values");
  }

  @ParameterizedTest
  @ValueSource(
      strings = {
        "\"sum\"",
        "\"count\"",
        "\"min\"",
        "\"max\"",
        "\"avg\"",
        "\"collect\"",
        "\"concat\"",
        "\"merge\"",
        "{\"jq\": \". + $item\", \"init\": 0}",
        "{\"jq\": \". + [$item]\", \"init\": [\"seed\", {\"x\": null}]}"
      })
  void the_stored_form_rebuilds_an_equal_reducer(String reduce) {
    JsonReducer reducer = JsonReducer.parse(json(reduce));
    JsonNode stored = reducer.toJson();

    JsonReducer rebuilt = JsonReducer.fromJson(json(stored.toString()));

    assertThat(rebuilt.toJson()).isEqualTo(stored);
    assertThat(foldOrError(rebuilt)).isEqualTo(foldOrError(reducer));
  }

  private static String foldOrError(JsonReducer reducer) {
    try {
      return reducer.fold(json("[1, 2, 3]").iterator()).toString();
    } catch (ReduceFailure e) {
      return "failure";
    }
  }

  @Test
  void a_jq_reducer_without_init_stores_a_null_init() {
    assertThat(JsonReducer.parse(json("{\"jq\": \".\"}")).toJson())
        .isEqualTo(json("{\"jq\": \".\", \"init\": null}"));
  }

  @ParameterizedTest
  @ValueSource(strings = {"null", "1", "true", "[\"sum\"]", "{\"jq\": 1}", "{\"init\": 0}"})
  void a_wrong_type_is_a_400_invalid_type(String reduce) {
    assertThatThrownBy(() -> JsonReducer.parse(json(reduce)))
        .isInstanceOfSatisfying(
            ApiException.class,
            e -> {
              assertThat(e.status()).isEqualTo(400);
              assertThat(e.code()).isEqualTo("invalid_type");
              assertThat(e.getMessage()).startsWith("reduce");
            });
  }

  @Test
  void a_missing_field_is_a_400_invalid_type() {
    assertThatThrownBy(() -> JsonReducer.parse(null))
        .isInstanceOfSatisfying(ApiException.class, e -> assertThat(e.status()).isEqualTo(400));
  }

  @ParameterizedTest
  @ValueSource(strings = {"\"median\"", "\"SUM\"", "\"\""})
  void an_unknown_name_is_a_422_listing_the_names(String reduce) {
    assertThatThrownBy(() -> JsonReducer.parse(json(reduce)))
        .isInstanceOfSatisfying(
            ApiException.class,
            e -> {
              assertThat(e.status()).isEqualTo(422);
              assertThat(e.code()).isEqualTo("unknown_reducer");
            })
        .hasMessageContaining("sum, count, min, max, avg, collect, concat, merge");
  }

  @Test
  void a_bad_jq_expression_is_a_422_naming_reduce_jq() {
    assertThatThrownBy(() -> JsonReducer.parse(json("{\"jq\": \". +\", \"init\": 0}")))
        .isInstanceOfSatisfying(
            ApiException.class,
            e -> {
              assertThat(e.status()).isEqualTo(422);
              assertThat(e.code()).isEqualTo("invalid_jq");
            })
        .hasMessageStartingWith("reduce.jq is not a valid jq expression");
  }

  @Test
  void the_reduce_variables_are_known_at_compile_time_and_others_are_not() {
    JsonReducer.parse(json("{\"jq\": \"[., $item, $index]\"}"));

    assertThatThrownBy(() -> JsonReducer.parse(json("{\"jq\": \". + $itme\"}")))
        .isInstanceOfSatisfying(
            ApiException.class, e -> assertThat(e.code()).isEqualTo("invalid_jq"))
        .hasMessageContaining("$itme");
  }

  @Test
  void an_unknown_field_in_the_object_form_is_refused() {
    assertThatThrownBy(() -> JsonReducer.parse(json("{\"jq\": \".\", \"inti\": 0}")))
        .isInstanceOfSatisfying(
            ApiException.class,
            e -> {
              assertThat(e.status()).isEqualTo(400);
              assertThat(e.code()).isEqualTo("unknown_field");
            })
        .hasMessageContaining("\"inti\"");
  }
}
