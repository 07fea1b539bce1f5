package dev.fanout.internal;

import com.fasterxml.jackson.databind.JsonNode;
import dev.fanout.ComponentFactory;
import dev.fanout.ItemResult;
import dev.fanout.JobFinishedListener;
import dev.fanout.JobId;
import dev.fanout.Reducer;
import dev.fanout.TaskFunction;
import java.util.Map;
import java.util.Objects;
import java.util.concurrent.ConcurrentHashMap;
import java.util.function.Consumer;
import java.util.function.Function;

/**
 * What durable jobs may name: functions, transforms, reducers and consumers, each with a type. Each
 * name holds a factory: one registered as a plain component is a factory that ignores the job and
 * takes no configuration; one registered as a factory makes the component from the configuration
 * stored with each job.
 */
final class Registry {
  record Fn(Class<?> itemType, TaskFunction<Object, ?> function) {}

  record Transform(Class<?> resultType, Function<Object, ?> transform) {}

  record Fold(Class<?> resultType, Reducer<Object, Object> reducer) {}

  record Sink(
      Class<?> resultType, Consumer<ItemResult<Object>> consumer, JobFinishedListener finished) {}

  /**
   * A consumer seen as taking results of any type. It keeps the object that was registered or made,
   * so the delivery loop can find out whether it is also a {@link JobFinishedListener}.
   */
  private record Untyped(Object made) implements Consumer<ItemResult<Object>> {
    @Override
    @SuppressWarnings("unchecked")
    public void accept(ItemResult<Object> result) {
      ((Consumer<Object>) made).accept(result);
    }
  }

  /** A registration: the type JSON is decoded into, and how to make the component for a job. */
  private record Entry<C>(Class<?> type, ComponentFactory<C> factory, boolean takesConfig) {
    C make(String what, String name, JobId job, JsonNode config) {
      if (config != null && !takesConfig) {
        throw new IllegalArgumentException(
            "the " + what + " '" + name + "' takes no configuration, but the job gives one");
      }
      return Objects.requireNonNull(
          factory.create(job, config), () -> "the " + what + " factory '" + name + "' made null");
    }
  }

  private final Map<String, Entry<TaskFunction<Object, ?>>> functions = new ConcurrentHashMap<>();
  private final Map<String, Entry<Function<Object, ?>>> transforms = new ConcurrentHashMap<>();
  private final Map<String, Entry<Reducer<Object, Object>>> reducers = new ConcurrentHashMap<>();
  private final Map<String, Entry<Consumer<ItemResult<Object>>>> consumers =
      new ConcurrentHashMap<>();

  @SuppressWarnings("unchecked")
  <I> void function(String name, Class<I> itemType, TaskFunction<? super I, ?> function) {
    TaskFunction<Object, ?> fn = (TaskFunction<Object, ?>) function;
    put(functions, name, new Entry<>(itemType, (job, config) -> fn, false), "function");
  }

  @SuppressWarnings({"unchecked", "rawtypes"})
  <I> void functionFactory(
      String name, Class<I> itemType, ComponentFactory<TaskFunction<? super I, ?>> factory) {
    put(
        functions,
        name,
        new Entry<>(
            itemType, (ComponentFactory<TaskFunction<Object, ?>>) (ComponentFactory) factory, true),
        "function");
  }

  @SuppressWarnings("unchecked")
  <R> void transform(String name, Class<R> resultType, Function<? super R, ?> transform) {
    Function<Object, ?> t = (Function<Object, ?>) transform;
    put(transforms, name, new Entry<>(resultType, (job, config) -> t, false), "transform");
  }

  @SuppressWarnings({"unchecked", "rawtypes"})
  <R> void transformFactory(
      String name, Class<R> resultType, ComponentFactory<Function<? super R, ?>> factory) {
    put(
        transforms,
        name,
        new Entry<>(
            resultType, (ComponentFactory<Function<Object, ?>>) (ComponentFactory) factory, true),
        "transform");
  }

  @SuppressWarnings("unchecked")
  <T> void reducer(String name, Class<T> resultType, Reducer<? super T, ?> reducer) {
    requireNotBuiltIn(name);
    Reducer<Object, Object> r = (Reducer<Object, Object>) reducer;
    put(reducers, name, new Entry<>(resultType, (job, config) -> r, false), "reducer");
  }

  @SuppressWarnings({"unchecked", "rawtypes"})
  <T> void reducerFactory(
      String name, Class<T> resultType, ComponentFactory<Reducer<? super T, ?>> factory) {
    requireNotBuiltIn(name);
    put(
        reducers,
        name,
        new Entry<>(
            resultType,
            (ComponentFactory<Reducer<Object, Object>>) (ComponentFactory) factory,
            true),
        "reducer");
  }

  <T> void consumer(String name, Class<T> resultType, Consumer<? super ItemResult<T>> consumer) {
    Consumer<ItemResult<Object>> sink = new Untyped(consumer);
    put(consumers, name, new Entry<>(resultType, (job, config) -> sink, false), "consumer");
  }

  <T> void consumerFactory(
      String name, Class<T> resultType, ComponentFactory<Consumer<? super ItemResult<T>>> factory) {
    ComponentFactory<Consumer<ItemResult<Object>>> f =
        (job, config) -> {
          Consumer<? super ItemResult<T>> c = factory.create(job, config);
          return c == null ? null : new Untyped(c);
        };
    put(consumers, name, new Entry<>(resultType, f, true), "consumer");
  }

  private static void requireNotBuiltIn(String name) {
    if (JsonReducers.isBuiltIn(name)) {
      throw new IllegalStateException("reducer name '" + name + "' is built in; choose another");
    }
  }

  /** The function a job names, made for that job; null when nothing has that name. */
  Fn makeFunction(String name, JobId job, JsonNode config) {
    Entry<TaskFunction<Object, ?>> e = functions.get(name);
    return e == null ? null : new Fn(e.type(), e.make("function", name, job, config));
  }

  Transform makeTransform(String name, JobId job, JsonNode config) {
    Entry<Function<Object, ?>> e = transforms.get(name);
    return e == null ? null : new Transform(e.type(), e.make("transform", name, job, config));
  }

  Fold makeReducer(String name, JobId job, JsonNode config) {
    Entry<Reducer<Object, Object>> e = reducers.get(name);
    return e == null ? null : new Fold(e.type(), e.make("reducer", name, job, config));
  }

  Sink makeConsumer(String name, JobId job, JsonNode config) {
    Entry<Consumer<ItemResult<Object>>> e = consumers.get(name);
    if (e == null) {
      return null;
    }
    Consumer<ItemResult<Object>> consumer = e.make("consumer", name, job, config);
    Object made = consumer instanceof Untyped u ? u.made() : consumer;
    return new Sink(e.type(), consumer, made instanceof JobFinishedListener l ? l : null);
  }

  boolean hasConsumer(String name) {
    return consumers.containsKey(name);
  }

  /**
   * Names what a spec refers to but nobody registered, or a configuration its factory refuses; or
   * returns null when all is there. Factories are asked with the job's id, so a refusal names the
   * job's own mistake before anything is stored.
   */
  String missing(DurableSpec spec, JobId job) {
    if (!functions.containsKey(spec.function())) {
      return "no function is registered under '"
          + spec.function()
          + "'; call engine.register(\""
          + spec.function()
          + "\", ...) first";
    }
    if (spec.transform() != null && !transforms.containsKey(spec.transform())) {
      return "no transform is registered under '" + spec.transform() + "'";
    }
    if (spec.reducer() != null
        && !JsonReducers.isBuiltIn(spec.reducer())
        && !reducers.containsKey(spec.reducer())) {
      return "no reducer is registered under '"
          + spec.reducer()
          + "', and it is not one of the built-ins "
          + JsonReducers.NAMES;
    }
    if (spec.consumer() != null && !consumers.containsKey(spec.consumer())) {
      return "no consumer is registered under '" + spec.consumer() + "'";
    }
    if (spec.reducer() != null
        && JsonReducers.isBuiltIn(spec.reducer())
        && spec.reducerConfig() != null) {
      return "the built-in reducer '" + spec.reducer() + "' takes no configuration";
    }
    try {
      makeFunction(spec.function(), job, spec.functionConfig());
      if (spec.transform() != null) {
        makeTransform(spec.transform(), job, spec.transformConfig());
      }
      if (spec.reducer() != null && !JsonReducers.isBuiltIn(spec.reducer())) {
        makeReducer(spec.reducer(), job, spec.reducerConfig());
      }
      // A consumer's configuration is checked at submit only: once the job runs, a consumer that
      // cannot be made (its URL refused after a restart, say) is the delivery loop's to retry,
      // and must not keep the job's items from running.
      if (spec.consumer() != null && job == null) {
        makeConsumer(spec.consumer(), null, spec.consumerConfig());
      }
    } catch (RuntimeException e) {
      // Whatever a factory throws makes the job unrunnable here, never the dispatcher's failure.
      return e.getMessage() != null ? e.getMessage() : e.toString();
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
