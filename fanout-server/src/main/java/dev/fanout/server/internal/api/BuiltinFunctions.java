package dev.fanout.server.internal.api;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import dev.fanout.Engine;
import dev.fanout.TaskFunction;
import java.time.Duration;
import java.util.concurrent.ThreadLocalRandom;
import java.util.function.DoubleSupplier;

/** The functions every server offers by name: {@code identity} and {@code demo}. */
public final class BuiltinFunctions {
  /** The names, for error messages and the docs. */
  public static final String IDENTITY = "identity";

  /** A simulated slow, flaky remote call. */
  public static final String DEMO = "demo";

  /** Every built-in name. */
  public static final java.util.Set<String> NAMES = java.util.Set.of(IDENTITY, DEMO);

  private BuiltinFunctions() {}

  /**
   * Registers the built-in functions on an engine.
   *
   * @param engine the engine
   */
  public static void register(Engine engine) {
    engine.register(IDENTITY, JsonNode.class, (JsonNode item, dev.fanout.TaskContext ctx) -> item);
    engine.register(
        DEMO, JsonNode.class, demo(() -> ThreadLocalRandom.current().nextDouble(), Thread::sleep));
  }

  /** Sleeps, interruptibly; a seam so tests need not wait. */
  @FunctionalInterface
  interface Sleeper {
    void sleep(Duration duration) throws InterruptedException;
  }

  /**
   * The {@code demo} function: sleeps a random 50 to 500 ms, then fails in 3 % of first attempts
   * with a transient error, and otherwise returns the item squared when it is a number, or the item
   * itself.
   *
   * <p>Only a first attempt fails, so the failure is transient in fact: a retry always succeeds.
   * Were every attempt to fail at random, a 1,000-item demo under the default three attempts would
   * lose an item (0.03³ each) and miss its sum about once in 37 runs.
   */
  static TaskFunction<JsonNode, JsonNode> demo(DoubleSupplier random, Sleeper sleeper) {
    return (item, ctx) -> {
      sleeper.sleep(Duration.ofMillis(50 + (long) (random.getAsDouble() * 451)));
      if (ctx.attempt() == 1 && random.getAsDouble() < 0.03) {
        throw new IllegalStateException("demo: a simulated transient failure; it will be retried");
      }
      return square(item);
    };
  }

  static JsonNode square(JsonNode item) {
    if (item == null || !item.isNumber()) {
      return item;
    }
    JsonNodeFactory nodes = JsonNodeFactory.instance;
    if (item.isIntegralNumber()) {
      return nodes.numberNode(item.bigIntegerValue().multiply(item.bigIntegerValue()));
    }
    return nodes.numberNode(item.decimalValue().multiply(item.decimalValue()));
  }
}
