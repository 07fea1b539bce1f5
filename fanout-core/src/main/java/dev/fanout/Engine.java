package dev.fanout;

import java.util.function.Consumer;
import java.util.function.Function;

/**
 * Runs jobs: a {@link JobClient} with workers behind it. Built by {@link FanOut#builder()}.
 *
 * <p>A job that carries its function as a lambda runs in memory. A job that names its function
 * ({@code JobSpec.items(...).function("square")}) is durable: its items and results live in the
 * engine's {@linkplain FanOut.Builder#store store} as JSON, and a restarted engine resumes it. The
 * names refer to what was registered here; register the same names at every start, before jobs that
 * use them can run.
 *
 * <p>Closing the engine cancels the in-memory jobs that are not final, stops the executor when the
 * engine created it, and refuses further submissions. Durable jobs are left in the store for the
 * next start.
 */
public interface Engine extends JobClient, AutoCloseable {

  /**
   * Registers a function for durable jobs. Items are decoded from their stored JSON into {@code
   * itemType}; the result is encoded to JSON.
   *
   * @param name the name jobs use
   * @param itemType the class items are decoded into
   * @param function the function
   * @param <I> the item type
   * @throws IllegalStateException when a function is already registered under {@code name}
   */
  <I> void register(String name, Class<I> itemType, TaskFunction<? super I, ?> function);

  /**
   * Registers a transform for durable jobs: it receives the function's result as returned, and its
   * own result is what is stored.
   *
   * @param name the name jobs use
   * @param resultType the class of the function's results it accepts
   * @param transform the transform
   * @param <R> the function's result type
   * @throws IllegalStateException when a transform is already registered under {@code name}
   */
  <R> void registerTransform(String name, Class<R> resultType, Function<? super R, ?> transform);

  /**
   * Registers a reducer for durable jobs. Stored results are decoded into {@code resultType}; the
   * aggregate is encoded to JSON. The built-in names {@code count}, {@code sum}, {@code min},
   * {@code max}, {@code avg} and {@code collect} work on JSON without registration.
   *
   * @param name the name jobs use
   * @param resultType the class results are decoded into
   * @param reducer the reducer
   * @param <T> the result type
   * @throws IllegalStateException when the name is built in or already registered
   */
  <T> void registerReducer(String name, Class<T> resultType, Reducer<? super T, ?> reducer);

  /**
   * Registers a consumer for durable jobs. It receives each result at least once, in completion
   * order, with stored results decoded into {@code resultType}, and resumes after the last result
   * it was given when the engine restarts.
   *
   * @param name the name jobs use
   * @param resultType the class results are decoded into
   * @param consumer the consumer
   * @param <T> the result type
   * @throws IllegalStateException when a consumer is already registered under {@code name}
   */
  <T> void registerConsumer(
      String name, Class<T> resultType, Consumer<? super ItemResult<T>> consumer);

  /**
   * Registers a function factory for durable jobs: a job names it with {@code function(name,
   * config)}, and the engine makes the job's function from that configuration (see {@link
   * ComponentFactory}).
   *
   * @param name the name jobs use
   * @param itemType the class items are decoded into
   * @param factory makes a job's function from its configuration
   * @param <I> the item type
   * @throws IllegalStateException when a function is already registered under {@code name}
   */
  <I> void registerFunctionFactory(
      String name, Class<I> itemType, ComponentFactory<TaskFunction<? super I, ?>> factory);

  /**
   * Registers a transform factory for durable jobs: a job names it with {@code transform(name,
   * config)}.
   *
   * @param name the name jobs use
   * @param resultType the class of the function's results it accepts
   * @param factory makes a job's transform from its configuration
   * @param <R> the function's result type
   * @throws IllegalStateException when a transform is already registered under {@code name}
   */
  <R> void registerTransformFactory(
      String name, Class<R> resultType, ComponentFactory<Function<? super R, ?>> factory);

  /**
   * Registers a reducer factory for durable jobs: a job names it with {@code reduce(name, config)}.
   *
   * @param name the name jobs use
   * @param resultType the class results are decoded into
   * @param factory makes a job's reducer from its configuration
   * @param <T> the result type
   * @throws IllegalStateException when the name is built in or already registered
   */
  <T> void registerReducerFactory(
      String name, Class<T> resultType, ComponentFactory<Reducer<? super T, ?>> factory);

  /**
   * Registers a consumer factory for durable jobs: a job names it with {@code consumer(name,
   * config)}.
   *
   * @param name the name jobs use
   * @param resultType the class results are decoded into
   * @param factory makes a job's consumer from its configuration
   * @param <T> the result type
   * @throws IllegalStateException when a consumer is already registered under {@code name}
   */
  <T> void registerConsumerFactory(
      String name, Class<T> resultType, ComponentFactory<Consumer<? super ItemResult<T>>> factory);

  /**
   * Starts the workers that run durable jobs, so the jobs already in the store resume. Call it once
   * everything those jobs name is registered; submitting a durable job starts them too. Calling it
   * again does nothing.
   */
  void start();

  /** Cancels in-memory jobs and releases the engine's threads. Calling it again does nothing. */
  @Override
  void close();
}
