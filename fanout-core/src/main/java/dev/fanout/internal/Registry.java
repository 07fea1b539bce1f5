package dev.fanout.internal;

import dev.fanout.ItemResult;
import dev.fanout.Reducer;
import dev.fanout.TaskFunction;
import java.util.Map;
import java.util.Objects;
import java.util.concurrent.ConcurrentHashMap;
import java.util.function.Consumer;
import java.util.function.Function;

/** What durable jobs may name: functions, transforms, reducers and consumers, each with a type. */
final class Registry {
  record Fn(Class<?> itemType, TaskFunction<Object, ?> function) {}

  record Transform(Class<?> resultType, Function<Object, ?> transform) {}

  record Fold(Class<?> resultType, Reducer<Object, Object> reducer) {}

  record Sink(Class<?> resultType, Consumer<ItemResult<Object>> consumer) {}

  private final Map<String, Fn> functions = new ConcurrentHashMap<>();
  private final Map<String, Transform> transforms = new ConcurrentHashMap<>();
  private final Map<String, Fold> reducers = new ConcurrentHashMap<>();
  private final Map<String, Sink> consumers = new ConcurrentHashMap<>();

  @SuppressWarnings("unchecked")
  <I> void function(String name, Class<I> itemType, TaskFunction<? super I, ?> function) {
    put(functions, name, new Fn(itemType, (TaskFunction<Object, ?>) function), "function");
  }

  @SuppressWarnings("unchecked")
  <R> void transform(String name, Class<R> resultType, Function<? super R, ?> transform) {
    put(transforms, name, new Transform(resultType, (Function<Object, ?>) transform), "transform");
  }

  @SuppressWarnings("unchecked")
  <T> void reducer(String name, Class<T> resultType, Reducer<? super T, ?> reducer) {
    if (JsonReducers.isBuiltIn(name)) {
      throw new IllegalStateException("reducer name '" + name + "' is built in; choose another");
    }
    put(reducers, name, new Fold(resultType, (Reducer<Object, Object>) reducer), "reducer");
  }

  @SuppressWarnings("unchecked")
  <T> void consumer(String name, Class<T> resultType, Consumer<? super ItemResult<T>> consumer) {
    Consumer<ItemResult<Object>> sink = r -> ((Consumer<Object>) (Consumer<?>) consumer).accept(r);
    put(consumers, name, new Sink(resultType, sink), "consumer");
  }

  Fn function(String name) {
    return functions.get(name);
  }

  Transform transform(String name) {
    return transforms.get(name);
  }

  Fold reducer(String name) {
    return reducers.get(name);
  }

  Sink consumer(String name) {
    return consumers.get(name);
  }

  /** Names what a spec refers to but nobody registered, or returns null when all is there. */
  String missing(DurableSpec spec) {
    if (function(spec.function()) == null) {
      return "no function is registered under '"
          + spec.function()
          + "'; call engine.register(\""
          + spec.function()
          + "\", ...) first";
    }
    if (spec.transform() != null && transform(spec.transform()) == null) {
      return "no transform is registered under '" + spec.transform() + "'";
    }
    if (spec.reducer() != null
        && !JsonReducers.isBuiltIn(spec.reducer())
        && reducer(spec.reducer()) == null) {
      return "no reducer is registered under '"
          + spec.reducer()
          + "', and it is not one of the built-ins "
          + JsonReducers.NAMES;
    }
    if (spec.consumer() != null && consumer(spec.consumer()) == null) {
      return "no consumer is registered under '" + spec.consumer() + "'";
    }
    return null;
  }

  private static <V> void put(Map<String, V> map, String name, V value, String what) {
    Objects.requireNonNull(name, "name");
    if (name.isBlank()) {
      throw new IllegalArgumentException(what + " name must not be blank");
    }
    if (map.putIfAbsent(name, value) != null) {
      throw new IllegalStateException("a " + what + " is already registered under '" + name + "'");
    }
  }
}
