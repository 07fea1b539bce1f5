package dev.fanout.internal;

import com.fasterxml.jackson.databind.ObjectMapper;
import dev.fanout.ComponentFactory;
import dev.fanout.Engine;
import dev.fanout.EngineListener;
import dev.fanout.ItemResult;
import dev.fanout.JobHandle;
import dev.fanout.JobId;
import dev.fanout.JobSpec;
import dev.fanout.JobStatus;
import dev.fanout.Reducer;
import dev.fanout.Scheduler;
import dev.fanout.TaskFunction;
import dev.fanout.spi.JobStore;
import java.time.Clock;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Objects;
import java.util.Optional;
import java.util.concurrent.Executor;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.function.Consumer;
import java.util.function.Function;

/**
 * The engine {@link dev.fanout.FanOut#builder()} builds: jobs that carry their function run in
 * memory, jobs that name it run durably out of the store. Not part of the API.
 */
public final class CompositeEngine implements Engine {
  private final LocalEngine local;
  private final DurableEngine durable;
  private final Registry registry = new Registry();
  private final ExecutorService ownedExecutor;

  /**
   * Creates the engine; use {@link dev.fanout.FanOut#builder()} instead.
   *
   * @param config the builder's settings
   */
  public CompositeEngine(Config config) {
    Objects.requireNonNull(config, "config");
    this.ownedExecutor =
        config.executor() == null ? Executors.newVirtualThreadPerTaskExecutor() : null;
    Executor executor = config.executor() != null ? config.executor() : ownedExecutor;
    this.local =
        new LocalEngine(
            executor,
            config.maxConcurrency(),
            config.clock(),
            config.scheduler(),
            config.retention());
    this.durable =
        new DurableEngine(
            config.store(),
            config.objectMapper(),
            registry,
            config.clock(),
            config.scheduler(),
            executor,
            config.workerId(),
            config.lease(),
            config.pollInterval(),
            config.claimBatchSize(),
            Math.min(config.maxConcurrency(), config.nodeConcurrencyCeiling()),
            config.storeRetention(),
            config.shutdownGrace(),
            config.consumerBackoff(),
            config.consumerMaxBackoff(),
            SafeListener.of(config.listener()));
  }

  /**
   * What the builder passes in.
   *
   * @param executor runs attempts, or null for a virtual thread per attempt
   * @param maxConcurrency the engine-wide cap on running attempts
   * @param clock the clock
   * @param scheduler the timer
   * @param retention how long finished in-memory jobs stay listed
   * @param store where durable jobs live
   * @param objectMapper encodes items and results
   * @param workerId this engine's identity in the store
   * @param lease how long a claim lasts without a heartbeat
   * @param pollInterval how often idle workers look for work they were not told about
   * @param claimBatchSize the most items one claim takes
   * @param nodeConcurrencyCeiling the cap on durable attempts when no engine-wide cap is set
   * @param storeRetention how long finished durable jobs stay in the store
   * @param shutdownGrace how long closing lets running durable attempts finish
   * @param consumerBackoff the first wait before a durable consumer that threw gets its result
   *     again
   * @param consumerMaxBackoff the longest such wait
   * @param listener hears durable items start, settle and retry, or null for none
   */
  public record Config(
      Executor executor,
      int maxConcurrency,
      Clock clock,
      Scheduler scheduler,
      Duration retention,
      JobStore store,
      ObjectMapper objectMapper,
      String workerId,
      Duration lease,
      Duration pollInterval,
      int claimBatchSize,
      int nodeConcurrencyCeiling,
      Duration storeRetention,
      Duration shutdownGrace,
      Duration consumerBackoff,
      Duration consumerMaxBackoff,
      EngineListener listener) {}

  @Override
  public <A> JobHandle<A> submit(JobSpec<?, ?, A> spec) {
    Objects.requireNonNull(spec, "spec");
    return spec.isDurable() ? durable.submit(spec) : local.submit(spec);
  }

  @Override
  public Optional<JobHandle<?>> job(JobId id) {
    Optional<JobHandle<?>> inMemory = local.job(id);
    return inMemory.isPresent() ? inMemory : durable.job(id);
  }

  @Override
  public List<JobStatus> list() {
    List<JobStatus> all = new ArrayList<>(local.list());
    all.addAll(durable.list(1_000));
    all.sort(Comparator.comparing(JobStatus::createdAt).thenComparing(JobStatus::id).reversed());
    return all;
  }

  @Override
  public <I> void register(String name, Class<I> itemType, TaskFunction<? super I, ?> function) {
    Objects.requireNonNull(itemType, "itemType");
    Objects.requireNonNull(function, "function");
    registry.function(name, itemType, function);
  }

  @Override
  public <R> void registerTransform(
      String name, Class<R> resultType, Function<? super R, ?> transform) {
    Objects.requireNonNull(resultType, "resultType");
    Objects.requireNonNull(transform, "transform");
    registry.transform(name, resultType, transform);
  }

  @Override
  public <T> void registerReducer(String name, Class<T> resultType, Reducer<? super T, ?> reducer) {
    Objects.requireNonNull(resultType, "resultType");
    Objects.requireNonNull(reducer, "reducer");
    registry.reducer(name, resultType, reducer);
  }

  @Override
  public <T> void registerConsumer(
      String name, Class<T> resultType, Consumer<? super ItemResult<T>> consumer) {
    Objects.requireNonNull(resultType, "resultType");
    Objects.requireNonNull(consumer, "consumer");
    registry.consumer(name, resultType, consumer);
  }

  @Override
  public <I> void registerFunctionFactory(
      String name, Class<I> itemType, ComponentFactory<TaskFunction<? super I, ?>> factory) {
    Objects.requireNonNull(itemType, "itemType");
    Objects.requireNonNull(factory, "factory");
    registry.functionFactory(name, itemType, factory);
  }

  @Override
  public <R> void registerTransformFactory(
      String name, Class<R> resultType, ComponentFactory<Function<? super R, ?>> factory) {
    Objects.requireNonNull(resultType, "resultType");
    Objects.requireNonNull(factory, "factory");
    registry.transformFactory(name, resultType, factory);
  }

  @Override
  public <T> void registerReducerFactory(
      String name, Class<T> resultType, ComponentFactory<Reducer<? super T, ?>> factory) {
    Objects.requireNonNull(resultType, "resultType");
    Objects.requireNonNull(factory, "factory");
    registry.reducerFactory(name, resultType, factory);
  }

  @Override
  public <T> void registerConsumerFactory(
      String name, Class<T> resultType, ComponentFactory<Consumer<? super ItemResult<T>>> factory) {
    Objects.requireNonNull(resultType, "resultType");
    Objects.requireNonNull(factory, "factory");
    registry.consumerFactory(name, resultType, factory);
  }

  @Override
  public void start() {
    durable.start();
  }

  @Override
  public void close() {
    local.close();
    durable.close();
    if (ownedExecutor != null) {
      ownedExecutor.shutdown();
    }
  }
}
