package dev.fanout;

import com.fasterxml.jackson.databind.JsonNode;
import java.time.Duration;
import java.util.Collection;
import java.util.Iterator;
import java.util.List;
import java.util.Objects;
import java.util.Optional;
import java.util.OptionalLong;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.function.Consumer;
import java.util.function.Function;
import java.util.stream.Stream;

/**
 * Everything a job needs: its items, the function to run over each, and how to treat the results.
 *
 * <pre>{@code
 * JobSpec<Integer, Integer, Long> spec =
 *     JobSpec.items(List.of(1, 2, 3))
 *         .function((n, ctx) -> slowSquare(n))
 *         .consumer(result -> System.out.println(result.index() + " -> " + result.value()))
 *         .reduce(Reducers.sumLong())
 *         .maxConcurrency(100)
 *         .build();
 * }</pre>
 *
 * <p>Items are read lazily, a bounded window ahead of the slowest unsettled item, and a consumer
 * far behind holds the reading back too, so a source of ten million items, or one that never ends,
 * is never held whole in memory. A spec over a {@link Collection} knows its total at once; over an
 * {@link Iterator} or a {@link Stream} the total is known when the source is exhausted, and such a
 * spec can be submitted only once.
 *
 * @param <I> the item type
 * @param <T> the result type after the transform: what the consumer and the reducer see
 * @param <A> the aggregate type
 */
public final class JobSpec<I, T, A> {

  /** The concurrency cap of a job that sets none. */
  public static final int DEFAULT_MAX_CONCURRENCY = 1000;

  private final Object source;
  private final long knownSize;
  private final AtomicBoolean sourceTaken = new AtomicBoolean();
  private final TaskFunction<? super I, ?> function;
  private final BatchFunction<I, ?> batchFunction;
  private final int batchSize;
  private final Function<Object, ? extends T> transform;
  private final Consumer<? super ItemResult<T>> consumer;
  private final Reducer<? super T, A> reducer;
  private final int maxConcurrency;
  private final RetryPolicy retryPolicy;
  private final Duration attemptTimeout;
  private final Duration deadline;
  private final FailurePolicy failurePolicy;
  private final ResultOrder resultOrder;
  private final String name;
  private final String functionName;
  private final String transformName;
  private final String reducerName;
  private final String consumerName;
  private final JsonNode functionConfig;
  private final JsonNode transformConfig;
  private final JsonNode reducerConfig;
  private final JsonNode consumerConfig;
  private final JsonNode metadata;
  private final String idempotencyKey;
  private final String idempotencyFingerprint;

  private JobSpec(Builder<I, ?, T, A> b) {
    this.source = b.source;
    this.knownSize = b.knownSize;
    this.function = b.function;
    this.batchFunction = b.batchFunction;
    this.batchSize = b.batchSize;
    this.transform = b.transform;
    this.consumer = b.consumer;
    this.reducer = b.reducer;
    this.maxConcurrency = b.maxConcurrency != null ? b.maxConcurrency : DEFAULT_MAX_CONCURRENCY;
    this.retryPolicy = b.retryPolicy != null ? b.retryPolicy : RetryPolicy.defaults();
    this.attemptTimeout = b.attemptTimeout;
    this.deadline = b.deadline;
    this.failurePolicy = b.failurePolicy != null ? b.failurePolicy : FailurePolicy.allSettled();
    this.resultOrder = b.resultOrder != null ? b.resultOrder : ResultOrder.COMPLETION;
    this.name = b.name;
    this.functionName = b.functionName;
    this.transformName = b.transformName;
    this.reducerName = b.reducerName;
    this.consumerName = b.consumerName;
    this.functionConfig = b.functionConfig;
    this.transformConfig = b.transformConfig;
    this.reducerConfig = b.reducerConfig;
    this.consumerConfig = b.consumerConfig;
    this.metadata = b.metadata;
    this.idempotencyKey = b.idempotencyKey;
    this.idempotencyFingerprint = b.idempotencyFingerprint;
  }

  /**
   * Starts a spec over the items of an {@link Iterable}, read lazily. A {@link Collection} gives
   * the job its total at once, and is taken to be in memory: the threads that settle items read it,
   * briefly holding the job's bookkeeping, so a collection whose iteration blocks (one loaded
   * lazily from a database, say) belongs in {@link #items(Iterator)} instead.
   *
   * @param items the items; may contain nulls
   * @param <I> the item type
   * @return the next stage, which takes the function
   */
  public static <I> Items<I> items(Iterable<? extends I> items) {
    Objects.requireNonNull(items, "items");
    long size = items instanceof Collection<?> c ? c.size() : -1;
    return new Items<>(items, size);
  }

  /**
   * Starts a spec over an {@link Iterator}, read lazily; the spec can be submitted once.
   *
   * @param items the items; may return nulls
   * @param <I> the item type
   * @return the next stage, which takes the function
   */
  public static <I> Items<I> items(Iterator<? extends I> items) {
    return new Items<>(Objects.requireNonNull(items, "items"), -1);
  }

  /**
   * Starts a spec over a {@link Stream}, read lazily and closed when the job ends; the spec can be
   * submitted once.
   *
   * @param items the items; may contain nulls
   * @param <I> the item type
   * @return the next stage, which takes the function
   */
  public static <I> Items<I> items(Stream<? extends I> items) {
    return new Items<>(Objects.requireNonNull(items, "items"), -1);
  }

  /**
   * The total, when the source is a collection.
   *
   * @return the number of items, or empty when it is known only once the source is exhausted
   */
  public OptionalLong knownTotal() {
    return knownSize < 0 ? OptionalLong.empty() : OptionalLong.of(knownSize);
  }

  /**
   * Opens the source for one job. Engines call this once per submission.
   *
   * @return an iterator over the items, and the stream to close afterwards when there is one
   * @throws IllegalStateException when the source is an iterator or stream already submitted
   */
  public Source<I> openSource() {
    if (source instanceof Iterable<?> iterable) {
      @SuppressWarnings("unchecked")
      Iterator<? extends I> it = (Iterator<? extends I>) iterable.iterator();
      return new Source<>(it, null);
    }
    if (!sourceTaken.compareAndSet(false, true)) {
      throw new IllegalStateException(
          "this spec reads an Iterator or a Stream, which can be submitted only once; build a new"
              + " spec, or use an Iterable");
    }
    if (source instanceof Stream<?> stream) {
      @SuppressWarnings("unchecked")
      Iterator<? extends I> it = (Iterator<? extends I>) stream.iterator();
      return new Source<>(it, stream);
    }
    @SuppressWarnings("unchecked")
    Iterator<? extends I> it = (Iterator<? extends I>) source;
    return new Source<>(it, null);
  }

  /**
   * The per-item function, when the job is not batched.
   *
   * @return the function, or empty for a batched job
   */
  public Optional<TaskFunction<? super I, ?>> function() {
    return Optional.ofNullable(function);
  }

  /**
   * The batch function, when the job is batched.
   *
   * @return the function, or empty for a per-item job
   */
  public Optional<BatchFunction<I, ?>> batchFunction() {
    return Optional.ofNullable(batchFunction);
  }

  /**
   * How many items one call receives.
   *
   * @return 1 for a per-item job
   */
  public int batchSize() {
    return batchSize;
  }

  /**
   * The per-result callback from the function's result to the job's result type.
   *
   * @return the transform (the identity when none was set)
   */
  public Function<Object, ? extends T> transform() {
    return transform;
  }

  /**
   * Who receives each settled item.
   *
   * @return the consumer, or empty when none was set
   */
  public Optional<Consumer<? super ItemResult<T>>> consumer() {
    return Optional.ofNullable(consumer);
  }

  /**
   * The fan-in.
   *
   * @return the reducer, or empty when the job has no aggregate
   */
  public Optional<Reducer<? super T, A>> reducer() {
    return Optional.ofNullable(reducer);
  }

  /**
   * The concurrency cap the job starts with: how many calls of its function run at once.
   *
   * @return at least 1; {@value #DEFAULT_MAX_CONCURRENCY} when not set
   */
  public int maxConcurrency() {
    return maxConcurrency;
  }

  /**
   * The retry policy.
   *
   * @return the policy; {@link RetryPolicy#defaults()} when not set
   */
  public RetryPolicy retryPolicy() {
    return retryPolicy;
  }

  /**
   * The per-attempt timeout.
   *
   * @return the timeout, or empty for none
   */
  public Optional<Duration> attemptTimeout() {
    return Optional.ofNullable(attemptTimeout);
  }

  /**
   * The whole-job deadline, counted from acceptance.
   *
   * @return the deadline, or empty for none
   */
  public Optional<Duration> deadline() {
    return Optional.ofNullable(deadline);
  }

  /**
   * The failure policy.
   *
   * @return the policy; {@link FailurePolicy#allSettled()} when not set
   */
  public FailurePolicy failurePolicy() {
    return failurePolicy;
  }

  /**
   * The order in which the consumer receives results.
   *
   * @return the order; {@link ResultOrder#COMPLETION} when not set
   */
  public ResultOrder resultOrder() {
    return resultOrder;
  }

  /**
   * A name for people reading job lists and logs.
   *
   * @return the name, or empty
   */
  public Optional<String> name() {
    return Optional.ofNullable(name);
  }

  /**
   * Tells whether this is a durable job: one whose function is referenced by a registered name, so
   * a store can keep it across restarts.
   *
   * @return true when the function was given by name
   */
  public boolean isDurable() {
    return functionName != null;
  }

  /**
   * The registered name of the function, for a durable job.
   *
   * @return the name, or empty for a job that carries its function
   */
  public Optional<String> functionName() {
    return Optional.ofNullable(functionName);
  }

  /**
   * The registered name of the transform, for a durable job.
   *
   * @return the name, or empty when there is none
   */
  public Optional<String> transformName() {
    return Optional.ofNullable(transformName);
  }

  /**
   * The registered name of the reducer, for a durable job.
   *
   * @return the name, or empty when there is none
   */
  public Optional<String> reducerName() {
    return Optional.ofNullable(reducerName);
  }

  /**
   * The registered name of the consumer, for a durable job.
   *
   * @return the name, or empty when there is none
   */
  public Optional<String> consumerName() {
    return Optional.ofNullable(consumerName);
  }

  /**
   * The configuration given with the function's name, for a function registered with {@link
   * Engine#registerFunctionFactory}.
   *
   * @return the configuration, or empty when none was given
   */
  public Optional<JsonNode> functionConfig() {
    return Optional.ofNullable(functionConfig);
  }

  /**
   * The configuration given with the transform's name.
   *
   * @return the configuration, or empty when none was given
   */
  public Optional<JsonNode> transformConfig() {
    return Optional.ofNullable(transformConfig);
  }

  /**
   * The configuration given with the reducer's name.
   *
   * @return the configuration, or empty when none was given
   */
  public Optional<JsonNode> reducerConfig() {
    return Optional.ofNullable(reducerConfig);
  }

  /**
   * The configuration given with the consumer's name.
   *
   * @return the configuration, or empty when none was given
   */
  public Optional<JsonNode> consumerConfig() {
    return Optional.ofNullable(consumerConfig);
  }

  /**
   * The caller's own data stored with the job, which Fanout keeps and returns but never reads.
   *
   * @return the metadata (do not modify it), or empty when none was given
   */
  public Optional<JsonNode> metadata() {
    return Optional.ofNullable(metadata);
  }

  /**
   * The key under which a repeated submission finds this job instead of creating another.
   *
   * @return the key, or empty when none was given
   */
  public Optional<String> idempotencyKey() {
    return Optional.ofNullable(idempotencyKey);
  }

  /**
   * What a repeated submission under the same {@link #idempotencyKey()} must match, such as a hash
   * of the request that made this spec; a repeat with another fingerprint is a conflict.
   *
   * @return the fingerprint, or empty when no key was given
   */
  public Optional<String> idempotencyFingerprint() {
    return Optional.ofNullable(idempotencyFingerprint);
  }

  /**
   * An opened source: the iterator to read, and the stream to close when the job ends.
   *
   * @param iterator the items
   * @param closeable the stream behind the iterator, or null
   * @param <I> the item type
   */
  public record Source<I>(Iterator<? extends I> iterator, AutoCloseable closeable) {}

  /**
   * The stage after the items: choose the function.
   *
   * @param <I> the item type
   */
  public static final class Items<I> {
    private final Object source;
    private final long knownSize;

    private Items(Object source, long knownSize) {
      this.source = source;
      this.knownSize = knownSize;
    }

    /**
     * Runs {@code function} over each item.
     *
     * @param function the function
     * @param <R> its result type
     * @return the builder for the rest of the spec
     */
    public <R> Builder<I, R, R, Void> function(TaskFunction<? super I, ? extends R> function) {
      Objects.requireNonNull(function, "function");
      return new Builder<>(source, knownSize, function, null, 1);
    }

    /**
     * Runs the function registered under {@code name} over each item, durably: the job's items and
     * results are kept as JSON in the engine's store, and a restarted engine resumes it. Its
     * transform, reducer and consumer, if any, must be registered names too.
     *
     * @param name a name registered with {@link Engine#register}
     * @return the builder for the rest of the spec, whose results and aggregate are JSON
     * @throws IllegalArgumentException when {@code name} is blank
     */
    public Builder<I, JsonNode, JsonNode, Void> function(String name) {
      Builder<I, JsonNode, JsonNode, Void> b = new Builder<>(source, knownSize, null, null, 1);
      b.functionName = requireName(name, "function");
      return b;
    }

    /**
     * Runs a function made for this job from its configuration, durably: the name is that of a
     * factory registered with {@link Engine#registerFunctionFactory}, and the configuration is
     * stored with the job, so a restarted engine makes the same function again. An HTTP function
     * takes its URL and headers this way, for instance.
     *
     * @param name a name registered with {@link Engine#registerFunctionFactory}
     * @param config the configuration, as JSON
     * @return the builder for the rest of the spec, whose results and aggregate are JSON
     * @throws IllegalArgumentException when {@code name} is blank
     */
    public Builder<I, JsonNode, JsonNode, Void> function(String name, JsonNode config) {
      Builder<I, JsonNode, JsonNode, Void> b = function(name);
      b.functionConfig = Objects.requireNonNull(config, "config");
      return b;
    }

    /**
     * Runs {@code function} over batches of up to {@code batchSize} items; results still reach the
     * consumer one item at a time.
     *
     * @param batchSize at least 1
     * @param function the function; it must return one result per item
     * @param <R> its per-item result type
     * @return the builder for the rest of the spec
     * @throws IllegalArgumentException when {@code batchSize} is below 1
     */
    public <R> Builder<I, R, R, Void> batchFunction(
        int batchSize, BatchFunction<I, ? extends R> function) {
      Objects.requireNonNull(function, "function");
      Options.requirePositive(batchSize, "batchSize");
      return new Builder<>(source, knownSize, null, function, batchSize);
    }
  }

  /**
   * Builds a {@link JobSpec}. Each option may be set once: setting one twice fails with {@link
   * IllegalStateException}, a nonsense value with {@link IllegalArgumentException}, each naming the
   * option.
   *
   * @param <I> the item type
   * @param <R> the function's result type
   * @param <T> the result type after the transform
   * @param <A> the aggregate type
   */
  public static final class Builder<I, R, T, A> {
    private final Object source;
    private final long knownSize;
    private final TaskFunction<? super I, ?> function;
    private final BatchFunction<I, ?> batchFunction;
    private final int batchSize;
    private Function<Object, ? extends T> transform;
    private boolean transformSet;
    private Consumer<? super ItemResult<T>> consumer;
    private Reducer<? super T, A> reducer;
    private Integer maxConcurrency;
    private RetryPolicy retryPolicy;
    private Duration attemptTimeout;
    private Duration deadline;
    private FailurePolicy failurePolicy;
    private ResultOrder resultOrder;
    private String name;
    private String functionName;
    private String transformName;
    private String reducerName;
    private String consumerName;
    private JsonNode functionConfig;
    private JsonNode transformConfig;
    private JsonNode reducerConfig;
    private JsonNode consumerConfig;
    private JsonNode metadata;
    private String idempotencyKey;
    private String idempotencyFingerprint;

    @SuppressWarnings("unchecked")
    private Builder(
        Object source,
        long knownSize,
        TaskFunction<? super I, ?> function,
        BatchFunction<I, ?> batchFunction,
        int batchSize) {
      this.source = source;
      this.knownSize = knownSize;
      this.function = function;
      this.batchFunction = batchFunction;
      this.batchSize = batchSize;
      this.transform = r -> (T) r;
    }

    /**
     * Sets the per-result callback that turns the function's result into the job's result type. It
     * runs on the worker thread right after the function returns; when it throws, the item fails
     * with a {@link TransformException} and is not retried.
     *
     * @param transform maps one result
     * @param <T2> the new result type
     * @return this builder, retyped
     * @throws IllegalStateException when already set, or set after the consumer or the reducer
     */
    @SuppressWarnings("unchecked")
    public <T2> Builder<I, R, T2, A> transform(Function<? super R, ? extends T2> transform) {
      Objects.requireNonNull(transform, "transform");
      if (transformSet) {
        throw new IllegalStateException("transform was already set");
      }
      if (consumer != null || reducer != null) {
        throw new IllegalStateException(
            "transform must be set before consumer and reduce, which receive its results");
      }
      Builder<I, R, T2, A> self = (Builder<I, R, T2, A>) this;
      self.transform = r -> transform.apply((R) r);
      self.transformSet = true;
      return self;
    }

    /**
     * Sets who receives each settled item (succeeded or failed). It is never called concurrently
     * for one job and sees each item once. When it throws, the exception is logged and counted, and
     * the item's result and the aggregate stand.
     *
     * @param consumer receives each result
     * @return this builder
     * @throws IllegalStateException when already set
     */
    public Builder<I, R, T, A> consumer(Consumer<? super ItemResult<T>> consumer) {
      Objects.requireNonNull(consumer, "consumer");
      Options.requireUnset(this.consumer != null ? this.consumer : this.consumerName, "consumer");
      this.consumer = consumer;
      return this;
    }

    /**
     * Sets the fan-in: the reducer folds the succeeded results, in index order, into the aggregate.
     *
     * @param reducer the reducer, such as one of {@link Reducers}
     * @param <A2> the aggregate type
     * @return this builder, retyped
     * @throws IllegalStateException when already set
     */
    @SuppressWarnings("unchecked")
    public <A2> Builder<I, R, T, A2> reduce(Reducer<? super T, A2> reducer) {
      Objects.requireNonNull(reducer, "reducer");
      Options.requireUnset(this.reducer != null ? this.reducer : this.reducerName, "reduce");
      Builder<I, R, T, A2> self = (Builder<I, R, T, A2>) this;
      self.reducer = reducer;
      return self;
    }

    /**
     * Sets how many calls of the function may run at once for this job. It may be changed while the
     * job runs with {@link JobHandle#setMaxConcurrency(int)}.
     *
     * @param maxConcurrency at least 1 (default {@value JobSpec#DEFAULT_MAX_CONCURRENCY})
     * @return this builder
     * @throws IllegalArgumentException when below 1
     * @throws IllegalStateException when already set
     */
    public Builder<I, R, T, A> maxConcurrency(int maxConcurrency) {
      Options.requireUnset(this.maxConcurrency, "maxConcurrency");
      this.maxConcurrency = Options.requirePositive(maxConcurrency, "maxConcurrency");
      return this;
    }

    /**
     * Sets the retry policy.
     *
     * @param retryPolicy the policy (default {@link RetryPolicy#defaults()})
     * @return this builder
     * @throws IllegalStateException when already set
     */
    public Builder<I, R, T, A> retry(RetryPolicy retryPolicy) {
      Objects.requireNonNull(retryPolicy, "retry");
      Options.requireUnset(this.retryPolicy, "retry");
      this.retryPolicy = retryPolicy;
      return this;
    }

    /**
     * Sets the per-attempt timeout: an attempt still running after it is interrupted and fails with
     * {@link AttemptTimeoutException}, which the default retry policy retries.
     *
     * @param timeout positive
     * @return this builder
     * @throws IllegalArgumentException when zero or negative
     * @throws IllegalStateException when already set
     */
    public Builder<I, R, T, A> attemptTimeout(Duration timeout) {
      Options.requireUnset(this.attemptTimeout, "attemptTimeout");
      this.attemptTimeout = Options.requirePositive(timeout, "attemptTimeout");
      return this;
    }

    /**
     * Sets the whole-job deadline, counted from acceptance. When it passes, running attempts are
     * interrupted, unsettled items are cancelled, and the job ends {@link JobState#FAILED} with a
     * {@link DeadlineExceededException}; results that settled before are kept.
     *
     * @param deadline positive
     * @return this builder
     * @throws IllegalArgumentException when zero or negative
     * @throws IllegalStateException when already set
     */
    public Builder<I, R, T, A> deadline(Duration deadline) {
      Options.requireUnset(this.deadline, "deadline");
      this.deadline = Options.requirePositive(deadline, "deadline");
      return this;
    }

    /**
     * Sets the failure policy.
     *
     * @param failurePolicy the policy (default {@link FailurePolicy#allSettled()})
     * @return this builder
     * @throws IllegalStateException when already set
     */
    public Builder<I, R, T, A> failurePolicy(FailurePolicy failurePolicy) {
      Objects.requireNonNull(failurePolicy, "failurePolicy");
      Options.requireUnset(this.failurePolicy, "failurePolicy");
      this.failurePolicy = failurePolicy;
      return this;
    }

    /**
     * Sets the order in which the consumer receives results. For a durable job the store numbers
     * the results in that order ({@link ItemResult#seq()}), so a named consumer, and any reader of
     * the stored results, gets them in it; held results wait in the store, not in memory.
     *
     * @param order the order (default {@link ResultOrder#COMPLETION})
     * @return this builder
     * @throws IllegalStateException when already set
     */
    public Builder<I, R, T, A> resultOrder(ResultOrder order) {
      Objects.requireNonNull(order, "resultOrder");
      Options.requireUnset(this.resultOrder, "resultOrder");
      this.resultOrder = order;
      return this;
    }

    /**
     * Sets the transform of a durable job by its registered name.
     *
     * @param name a name registered with {@link Engine#registerTransform}
     * @return this builder, whose results are JSON
     * @throws IllegalStateException when a transform was already set
     */
    @SuppressWarnings("unchecked")
    public Builder<I, R, JsonNode, A> transform(String name) {
      if (transformSet) {
        throw new IllegalStateException("transform was already set");
      }
      Builder<I, R, JsonNode, A> self = (Builder<I, R, JsonNode, A>) this;
      self.transformName = requireName(name, "transform");
      self.transformSet = true;
      return self;
    }

    /**
     * Sets the transform of a durable job by the name of a factory registered with {@link
     * Engine#registerTransformFactory}, and the configuration it makes this job's transform from,
     * such as an expression.
     *
     * @param name the factory's name
     * @param config the configuration, as JSON, stored with the job
     * @return this builder, whose results are JSON
     * @throws IllegalStateException when a transform was already set
     */
    public Builder<I, R, JsonNode, A> transform(String name, JsonNode config) {
      Objects.requireNonNull(config, "config");
      Builder<I, R, JsonNode, A> self = transform(name);
      self.transformConfig = config;
      return self;
    }

    /**
     * Sets the reducer of a durable job by its registered name, or a built-in one: {@code count},
     * {@code sum}, {@code min}, {@code max}, {@code avg}, {@code collect}.
     *
     * @param name a built-in or a name registered with {@link Engine#registerReducer}
     * @return this builder, whose aggregate is JSON
     * @throws IllegalStateException when a reducer was already set
     */
    @SuppressWarnings("unchecked")
    public Builder<I, R, T, JsonNode> reduce(String name) {
      Options.requireUnset(this.reducer != null ? this.reducer : this.reducerName, "reduce");
      Builder<I, R, T, JsonNode> self = (Builder<I, R, T, JsonNode>) this;
      self.reducerName = requireName(name, "reduce");
      return self;
    }

    /**
     * Sets the reducer of a durable job by the name of a factory registered with {@link
     * Engine#registerReducerFactory}, and the configuration it makes this job's reducer from.
     *
     * @param name the factory's name
     * @param config the configuration, as JSON, stored with the job
     * @return this builder, whose aggregate is JSON
     * @throws IllegalStateException when a reducer was already set
     */
    public Builder<I, R, T, JsonNode> reduce(String name, JsonNode config) {
      Objects.requireNonNull(config, "config");
      Builder<I, R, T, JsonNode> self = reduce(name);
      self.reducerConfig = config;
      return self;
    }

    /**
     * Sets the consumer of a durable job by its registered name. It receives every result at least
     * once, in completion order (or index order, with {@link #resultOrder} {@link
     * ResultOrder#INPUT}), and resumes after the last one it acknowledged when the engine restarts;
     * {@link ItemResult#deliveryId()} lets it drop repeats.
     *
     * @param name a name registered with {@link Engine#registerConsumer}
     * @return this builder
     * @throws IllegalStateException when a consumer was already set
     */
    public Builder<I, R, T, A> consumer(String name) {
      Options.requireUnset(this.consumer != null ? this.consumer : this.consumerName, "consumer");
      this.consumerName = requireName(name, "consumer");
      return this;
    }

    /**
     * Sets the consumer of a durable job by the name of a factory registered with {@link
     * Engine#registerConsumerFactory}, and the configuration it makes this job's consumer from,
     * such as a webhook's URL.
     *
     * @param name the factory's name
     * @param config the configuration, as JSON, stored with the job
     * @return this builder
     * @throws IllegalStateException when a consumer was already set
     */
    public Builder<I, R, T, A> consumer(String name, JsonNode config) {
      Objects.requireNonNull(config, "config");
      consumer(name);
      this.consumerConfig = config;
      return this;
    }

    /**
     * Sets a name for people reading job lists and logs.
     *
     * @param name not blank
     * @return this builder
     * @throws IllegalArgumentException when blank
     * @throws IllegalStateException when already set
     */
    public Builder<I, R, T, A> name(String name) {
      Objects.requireNonNull(name, "name");
      Options.requireUnset(this.name, "name");
      if (name.isBlank()) {
        throw new IllegalArgumentException("name must not be blank");
      }
      this.name = name;
      return this;
    }

    /**
     * Attaches the caller's own data to the job, such as who asked for it and why. It is stored
     * with the job and returned by {@link JobHandle#metadata()}; Fanout never reads it. A JSON null
     * counts as none.
     *
     * @param metadata any JSON value; a copy is kept
     * @return this builder
     * @throws IllegalStateException when already set
     */
    public Builder<I, R, T, A> metadata(JsonNode metadata) {
      Objects.requireNonNull(metadata, "metadata");
      Options.requireUnset(this.metadata, "metadata");
      this.metadata = metadata.isNull() || metadata.isMissingNode() ? null : metadata.deepCopy();
      return this;
    }

    /**
     * Makes the submission idempotent: while a job submitted under {@code key} exists in the store,
     * submitting again under that key returns that job's handle instead of creating another, if the
     * fingerprints are equal, and fails with {@link IdempotencyConflictException} if not. Keys are
     * unique per store. Only durable jobs (a function given by name) take a key.
     *
     * @param key the caller's key, 1 to 255 characters
     * @param fingerprint what a repeat must match, such as a hash of the request, 1 to 128
     *     characters
     * @return this builder
     * @throws IllegalArgumentException when the key or fingerprint is empty or too long
     * @throws IllegalStateException when already set
     */
    public Builder<I, R, T, A> idempotencyKey(String key, String fingerprint) {
      Objects.requireNonNull(key, "idempotencyKey");
      Objects.requireNonNull(fingerprint, "fingerprint");
      Options.requireUnset(this.idempotencyKey, "idempotencyKey");
      if (key.isEmpty() || key.length() > 255) {
        throw new IllegalArgumentException(
            "idempotencyKey must have 1 to 255 characters, got " + key.length());
      }
      if (fingerprint.isEmpty() || fingerprint.length() > 128) {
        throw new IllegalArgumentException(
            "fingerprint must have 1 to 128 characters, got " + fingerprint.length());
      }
      this.idempotencyKey = key;
      this.idempotencyFingerprint = fingerprint;
      return this;
    }

    /**
     * Builds the spec.
     *
     * @return the spec
     */
    public JobSpec<I, T, A> build() {
      if (functionName != null) {
        // Lambdas cannot be stored: a restarted engine could not find them again.
        requireNamed(transformSet && transformName == null, "transform", "registerTransform");
        requireNamed(reducer != null, "reducer", "registerReducer");
        requireNamed(consumer != null, "consumer", "registerConsumer");
        if (retryPolicy != null && retryPolicy.hasCustomRetryIf()) {
          throw new IllegalArgumentException(
              "a durable job retries every Exception: a retryIf predicate cannot be stored");
        }
      } else if (idempotencyKey != null) {
        throw new IllegalArgumentException(
            "an idempotency key needs a durable job, whose function is given by name: an"
                + " in-memory job is not stored, so a repeat could never find it");
      } else if (transformName != null || reducerName != null || consumerName != null) {
        throw new IllegalArgumentException(
            "a transform, reducer or consumer given by name needs a function given by name too"
                + " (JobSpec.items(...).function(\"name\"))");
      }
      return new JobSpec<>(this);
    }

    private static void requireNamed(boolean lambdaGiven, String what, String register) {
      if (lambdaGiven) {
        throw new IllegalArgumentException(
            "a job with a named function is durable, so its "
                + what
                + " must be named too (register it with engine."
                + register
                + "): a lambda cannot survive a restart");
      }
    }
  }

  private static String requireName(String name, String option) {
    Objects.requireNonNull(name, option);
    if (name.isBlank()) {
      throw new IllegalArgumentException(option + " name must not be blank");
    }
    return name;
  }

  /**
   * A convenience for tests and small jobs: a spec over a list with a function and nothing else.
   *
   * @param items the items
   * @param function the function
   * @param <I> the item type
   * @param <R> the result type
   * @return the spec, with no consumer and no aggregate
   */
  public static <I, R> JobSpec<I, R, Void> of(
      List<? extends I> items, TaskFunction<? super I, ? extends R> function) {
    return JobSpec.<I>items(items).<R>function(function).build();
  }
}
