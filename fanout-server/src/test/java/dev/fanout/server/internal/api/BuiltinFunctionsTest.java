package dev.fanout.server.internal.api;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import dev.fanout.TaskContext;
import dev.fanout.TaskFunction;
import dev.fanout.server.internal.call.FakeTaskContext;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;

class BuiltinFunctionsTest {

  private static final JsonNodeFactory NODES = JsonNodeFactory.instance;

  private final List<Duration> slept = new ArrayList<>();

  @Test
  void demo_sleeps_50_to_500_ms_and_squares_a_number() throws Exception {
    TaskFunction<JsonNode, JsonNode> low = BuiltinFunctions.demo(() -> 0.5, slept::add);
    TaskFunction<JsonNode, JsonNode> high = BuiltinFunctions.demo(() -> 0.999_999, slept::add);

    assertThat(low.apply(NODES.numberNode(12), attempt(1)).asLong()).isEqualTo(144);
    assertThat(high.apply(NODES.numberNode(1.5), attempt(1)).decimalValue())
        .isEqualByComparingTo("2.25");
    assertThat(high.apply(NODES.textNode("x"), attempt(1)).asText()).isEqualTo("x");
    assertThat(slept)
        .containsExactly(Duration.ofMillis(275), Duration.ofMillis(500), Duration.ofMillis(500));
  }

  @Test
  void demo_fails_a_first_attempt_in_3_percent_of_calls_and_never_a_retry() throws Exception {
    TaskFunction<JsonNode, JsonNode> unlucky = BuiltinFunctions.demo(() -> 0.0299, slept::add);
    TaskFunction<JsonNode, JsonNode> lucky = BuiltinFunctions.demo(() -> 0.03, slept::add);

    assertThatThrownBy(() -> unlucky.apply(NODES.numberNode(3), attempt(1)))
        .isInstanceOf(IllegalStateException.class)
        .hasMessageContaining("transient failure");
    assertThat(lucky.apply(NODES.numberNode(3), attempt(1)).asInt()).isEqualTo(9);
    for (int retry = 2; retry <= 5; retry++) {
      assertThat(unlucky.apply(NODES.numberNode(3), attempt(retry)).asInt()).isEqualTo(9);
    }
  }

  private static TaskContext attempt(int number) {
    return FakeTaskContext.of(0).withAttempt(number);
  }
}
