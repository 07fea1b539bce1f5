package dev.fanout.server.internal.json;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.IntNode;
import dev.fanout.server.internal.ApiException;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

class JqTransformTest {
  private static final ObjectMapper JSON = new ObjectMapper();

  private static JsonNode json(String text) throws Exception {
    return JSON.readTree(text);
  }

  @Test
  void a_path_expression_picks_one_field() throws Exception {
    JqTransform t = JqTransform.compile(".user.name", "transform");

    assertThat(t.apply(json("{\"user\":{\"name\":\"ada\"}}"))).isEqualTo(json("\"ada\""));
    assertThat(t.expression()).isEqualTo(".user.name");
    assertThat(t.field()).isEqualTo("transform");
  }

  @Test
  void builtins_are_loaded() throws Exception {
    JqTransform t =
        JqTransform.compile(
            "{n: (.items | length), total: (.items | map(.price) | add), up: (.name | ascii_upcase)}",
            "transform");

    JsonNode out = t.apply(json("{\"name\":\"box\",\"items\":[{\"price\":2},{\"price\":3}]}"));

    assertThat(out.get("n").asInt()).isEqualTo(2);
    assertThat(out.get("total").asInt()).isEqualTo(5);
    assertThat(out.get("up").asText()).isEqualTo("BOX");
  }

  @Test
  void an_expression_is_shared_between_threads_without_interference() throws Exception {
    JqTransform t = JqTransform.compile(". * 2", "transform");
    Thread[] threads = new Thread[8];
    long[] sums = new long[threads.length];
    for (int i = 0; i < threads.length; i++) {
      int k = i;
      threads[i] =
          Thread.ofVirtual()
              .start(
                  () -> {
                    for (int n = 0; n < 1000; n++) {
                      sums[k] += t.apply(IntNode.valueOf(n)).asLong();
                    }
                  });
    }
    for (Thread thread : threads) {
      thread.join();
    }
    assertThat(sums).containsOnly(999L * 1000L);
  }

  @ParameterizedTest
  @ValueSource(strings = {". +", "{a:", ".[", "foo bar", "", "   ", "\"abc", "`"})
  void a_syntax_error_is_invalid_jq_naming_the_field(String bad) {
    assertThatThrownBy(() -> JqTransform.compile(bad, "transform"))
        .isInstanceOfSatisfying(
            ApiException.class,
            e -> {
              assertThat(e.status()).isEqualTo(422);
              assertThat(e.code()).isEqualTo("invalid_jq");
              assertThat(e.getMessage()).startsWith("transform is not a valid jq expression: ");
            });
  }

  @Test
  void the_parse_error_says_where() {
    assertThatThrownBy(() -> JqTransform.compile(". +", "reduce.jq"))
        .isInstanceOf(ApiException.class)
        .hasMessageContaining("reduce.jq")
        .hasMessageContaining("line 1, column 3");
  }

  @Test
  void an_unknown_function_or_variable_is_refused_at_compile_time() {
    assertThatThrownBy(() -> JqTransform.compile(".a | nosuchfn(1)", "transform"))
        .isInstanceOfSatisfying(
            ApiException.class, e -> assertThat(e.code()).isEqualTo("invalid_jq"))
        .hasMessageContaining("nosuchfn/1");
    assertThatThrownBy(() -> JqTransform.compile("$nope", "transform"))
        .isInstanceOf(ApiException.class)
        .hasMessageContaining("$nope");
  }

  @Test
  void the_environment_is_not_readable() {
    assertThatThrownBy(() -> JqTransform.compile("env", "transform"))
        .isInstanceOf(ApiException.class);
    assertThatThrownBy(() -> JqTransform.compile("$ENV", "transform"))
        .isInstanceOf(ApiException.class);
  }

  @Test
  void an_error_that_depends_on_the_input_is_not_a_compile_error() throws Exception {
    JqTransform t = JqTransform.compile(".items[]", "transform");

    assertThat(t.apply(json("{\"items\":[7]}"))).isEqualTo(json("7"));
  }

  @Test
  void a_too_long_expression_is_refused() {
    String longExpression = "." + " ".repeat(JqTransform.MAX_EXPRESSION_LENGTH);

    assertThatThrownBy(() -> JqTransform.compile(longExpression, "transform"))
        .isInstanceOfSatisfying(
            ApiException.class, e -> assertThat(e.code()).isEqualTo("invalid_jq"))
        .hasMessageContaining("at most " + JqTransform.MAX_EXPRESSION_LENGTH);
  }

  @Test
  void several_outputs_fail_with_their_count() throws Exception {
    JqTransform t = JqTransform.compile(".items[]", "transform");

    assertThatThrownBy(() -> t.apply(json("{\"items\":[1,2,3]}")))
        .isInstanceOfSatisfying(
            TransformFailure.class, e -> assertThat(e.code()).isEqualTo("transform_error"))
        .hasMessage("transform \".items[]\" yielded 3 values; it must yield exactly one");
  }

  @Test
  void no_output_fails() throws Exception {
    JqTransform t = JqTransform.compile("select(.ok)", "transform");

    assertThatThrownBy(() -> t.apply(json("{\"ok\":false}")))
        .isInstanceOf(TransformFailure.class)
        .hasMessage("transform \"select(.ok)\" yielded no value; it must yield exactly one");
  }

  @Test
  void a_runtime_error_fails_with_the_jq_message() throws Exception {
    JqTransform t = JqTransform.compile(".a.b", "transform");

    assertThatThrownBy(() -> t.apply(json("{\"a\":1}")))
        .isInstanceOf(TransformFailure.class)
        .hasMessageStartingWith("transform \".a.b\" failed: ")
        .hasMessageContaining("Cannot index number");
  }

  @Test
  void a_user_error_fails_with_its_message() throws Exception {
    JqTransform t = JqTransform.compile("error(\"bad item\")", "transform");

    assertThatThrownBy(() -> t.apply(json("1")))
        .isInstanceOf(TransformFailure.class)
        .hasMessageContaining("bad item");
  }

  @Test
  void an_endless_generator_at_the_top_level_stops_after_the_cap() throws Exception {
    JqTransform t = JqTransform.compile("range(1e18)", "transform");

    assertThatThrownBy(() -> t.apply(json("null")))
        .isInstanceOf(TransformFailure.class)
        .hasMessageContaining("yielded more than " + JqTransform.MAX_COUNTED_OUTPUTS + " values");
  }

  @Test
  void a_runaway_range_inside_a_value_fails_on_its_budget() throws Exception {
    JqTransform t = JqTransform.compile("[range(1e18)] | length", "transform", Map.of(), 1_000);

    assertThatThrownBy(() -> t.apply(json("null")))
        .isInstanceOf(TransformFailure.class)
        .hasMessageContaining("more than 1000 steps of range");
  }

  @Test
  void a_runaway_hidden_behind_try_still_fails() throws Exception {
    JqTransform t =
        JqTransform.compile(
            "reduce (try range(1e18) catch 0) as $x (0; . + 1)", "transform", Map.of(), 1_000);

    assertThatThrownBy(() -> t.apply(json("null")))
        .isInstanceOf(TransformFailure.class)
        .hasMessageContaining("steps of range");
  }

  @Test
  void a_bounded_range_within_the_budget_works() throws Exception {
    JqTransform t = JqTransform.compile("[limit(3; range(1e18))]", "transform", Map.of(), 1_000);

    assertThat(t.apply(json("null"))).isEqualTo(json("[0,1,2]"));
    assertThat(t.apply(json("null"))).isEqualTo(json("[0,1,2]"));
  }

  @Test
  void endless_recursion_fails_instead_of_killing_the_thread() throws Exception {
    JqTransform t = JqTransform.compile("def f: f + 1; f", "transform");

    assertThatThrownBy(() -> t.apply(json("1")))
        .isInstanceOf(TransformFailure.class)
        .hasMessageContaining("recursed too deeply");
  }

  @Test
  void a_long_expression_is_shortened_in_messages() throws Exception {
    JqTransform t = JqTransform.compile("[" + "1, ".repeat(40) + "1] | empty", "transform");

    assertThatThrownBy(() -> t.apply(json("1")))
        .isInstanceOf(TransformFailure.class)
        .hasMessageContaining("...\" yielded no value");
  }
}
