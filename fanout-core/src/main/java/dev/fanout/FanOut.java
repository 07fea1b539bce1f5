package dev.fanout;

import com.fasterxml.jackson.core.JsonFactory;
import com.fasterxml.jackson.core.util.JsonRecyclerPools;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.fanout.internal.CompositeEngine;
import dev.fanout.spi.InMemoryJobStore;
import dev.fanout.spi.JobStore;
import java.lang.management.ManagementFactory;
import java.time.Clock;
import java.time.Duration;
import java.util.Objects;
import java.util.UUID;
import java.util.concurrent.Executor;

/**
 * The one door into Fanout: {@code FanOut.builder()...build()} makes an {@link Engine}.
 *
 * <pre>{@code
 * try (Engine engine = FanOut.builder().build()) {
 *   JobHandle<Long> job = engine.submit(spec);   // returns at once
 *   Long sum = job.outcome().join().aggregate();
 * }
 * }</pre>
 */
public final class FanOut {

  private FanOut() {}

  /**
   * A builder with the defaults: virtual threads for attempts, no engine-wide concurrency cap, the
   * system clock, and finished jobs remembered for an hour.
   *
   * @return a new builder
   */
  public static Builder builder() {
    return new Builder();
  }

  /**
   * How many sets of buffers the default mapper keeps for its parsers and generators. Jackson's own
   * default keeps a set per thread, and a virtual thread runs one attempt and ends, so it never
   * used its set twice: every durable item allocated tens of kilobytes of fresh buffers to encode
   * its result. A set is held while a parser or generator is open, which for a read or write that
   * waits on I/O may be long; a set given back to a full pool is dropped. The pool holds its sets
   * for good, each as large as the largest document it served, so the bound stays near the number
   * of cores that encode at once rather than the number of attempts.
   */
  static final int JSON_BUFFER_SETS = Math.max(4, 2 * Runtime.getRuntime().availableProcessors());

  /** The mapper an engine gets when the builder is given none. */
  static ObjectMapper defaultObjectMapper() {
    return new ObjectMapper(
        JsonFactory.builder()
            .recyclerPool(JsonRecyclerPools.newBoundedPool(JSON_BUFFER_SETS))
            .build());
  }

  /** Builds an {@link Engine}. Each option may be set once, and is checked when set. */
  public static final class Builder {
    private Executor executor;
    private Integer maxConcurrency;
    private Clock clock;
    private Scheduler scheduler;
    private Duration retention;
    private JobStore store;
    private ObjectMapper objectMapper;
    private String workerId;
    private Duration lease;
    private Duration pollInterval;
    private Integer claimBatchSize;
    private Duration storeRetention;
    private Duration shutdownGrace;
    private Duration consumerBackoff;
    private Duration consumerMaxBackoff;
    private EngineListener listener;

    private Builder() {}

    /**
     * Sets the executor that runs attempts. The engine does not shut down an executor it was given.
     * One task it is handed runs one attempt, then up to 63 more of the same job back to back while
     * the job has items waiting, so a busy job does not pay for a new task per item; a thread's
     * interrupt flag is cleared between attempts, its thread-locals are not.
     *
     * @param executor runs the engine's tasks (default: a new virtual thread per task)
     * @return this builder
     * @throws IllegalStateException when already set
     */
    public Builder executor(Executor executor) {
      Objects.requireNonNull(executor, "executor");
      Options.requireUnset(this.executor, "executor");
      this.executor = executor;
      return this;
    }

    /**
     * Sets how many attempts may run at once across all of the engine's jobs: in-memory jobs share
     * one such cap, and durable jobs running on this engine another.
     *
     * @param maxConcurrency at least 1 (default: no engine-wide cap)
     * @return this builder
     * @throws IllegalArgumentException when below 1
     * @throws IllegalStateException when already set
     */
    public Builder maxConcurrency(int maxConcurrency) {
      Options.requireUnset(this.maxConcurrency, "maxConcurrency");
      this.maxConcurrency = Options.requirePositive(maxConcurrency, "maxConcurrency");
      return this;
    }

    /**
     * Sets the clock behind every timestamp and duration the engine reports.
     *
     * <p>An in-memory job runs attempts that take under 20 µs of real time in groups of up to 16 on
     * one thread, and reads the clock once at each end of a group: a result's duration is exact to
     * the millisecond while the clock moves with real time. A clock that jumps meanwhile, such as a
     * test's fake clock moved by the function, shows the jump in every duration of that group; a
     * job capped at one call ({@code JobSpec.Builder.maxConcurrency(1)}) never groups its items.
     *
     * @param clock the clock (default: the system UTC clock)
     * @return this builder
     * @throws IllegalStateException when already set
     */
    public Builder clock(Clock clock) {
      Objects.requireNonNull(clock, "clock");
      Options.requireUnset(this.clock, "clock");
      this.clock = clock;
      return this;
    }

    /**
     * Sets the scheduler behind retry backoffs, attempt timeouts and deadlines. Tests pass one
     * driven by a fake clock, together with {@link #clock(Clock)}.
     *
     * @param scheduler the scheduler (default: {@link Scheduler#system()})
     * @return this builder
     * @throws IllegalStateException when already set
     */
    public Builder scheduler(Scheduler scheduler) {
      Objects.requireNonNull(scheduler, "scheduler");
      Options.requireUnset(this.scheduler, "scheduler");
      this.scheduler = scheduler;
      return this;
    }

    /**
     * Sets how long the engine remembers a finished job for {@link JobClient#job(JobId)} and {@link
     * JobClient#list()}. Handles held by callers keep working regardless.
     *
     * @param retention zero or positive (default: one hour)
     * @return this builder
     * @throws IllegalArgumentException when negative
     * @throws IllegalStateException when already set
     */
    public Builder finishedJobRetention(Duration retention) {
      Options.requireUnset(this.retention, "finishedJobRetention");
      this.retention = Options.requireNonNegative(retention, "finishedJobRetention");
      return this;
    }

    /**
     * Sets where durable jobs (those that name their function) are kept, such as a JDBC store. The
     * engine does not close a store it was given.
     *
     * @param store the store (default: an {@link InMemoryJobStore}, which keeps nothing across
     *     restarts)
     * @return this builder
     * @throws IllegalStateException when already set
     */
    public Builder store(JobStore store) {
      Objects.requireNonNull(store, "store");
      Options.requireUnset(this.store, "store");
      this.store = store;
      return this;
    }

    /**
     * Sets the Jackson mapper that encodes durable jobs' items and results as JSON.
     *
     * @param objectMapper the mapper (default: a plain {@code ObjectMapper} whose parsers and
     *     generators share a bounded pool of buffers, which virtual threads reuse)
     * @return this builder
     * @throws IllegalStateException when already set
     */
    public Builder objectMapper(ObjectMapper objectMapper) {
      Objects.requireNonNull(objectMapper, "objectMapper");
      Options.requireUnset(this.objectMapper, "objectMapper");
      this.objectMapper = objectMapper;
      return this;
    }

    /**
     * Sets this engine's identity as a lease owner in the store; unique per running engine.
     *
     * @param workerId not blank (default: host name, process ID and a random suffix)
     * @return this builder
     * @throws IllegalStateException when already set
     */
    public Builder workerId(String workerId) {
      Objects.requireNonNull(workerId, "workerId");
      Options.requireUnset(this.workerId, "workerId");
      if (workerId.isBlank()) {
        throw new IllegalArgumentException("workerId must not be blank");
      }
      this.workerId = workerId;
      return this;
    }

    /**
     * Sets how long {@link Engine#close()} lets running durable attempts finish: the engine stops
     * claiming at once, records what finishes within the grace, then interrupts the rest, whose
     * items other engines (or the next start) run again once their leases run out.
     *
     * @param grace zero or more (default: zero, stop at once)
     * @return this builder
     * @throws IllegalArgumentException when negative
     * @throws IllegalStateException when already set
     */
    public Builder shutdownGrace(Duration grace) {
      Options.requireUnset(this.shutdownGrace, "shutdownGrace");
      Objects.requireNonNull(grace, "shutdownGrace");
      if (grace.isNegative()) {
        throw new IllegalArgumentException("shutdownGrace must not be negative, got " + grace);
      }
      this.shutdownGrace = grace;
      return this;
    }

    /**
     * Sets how long a claimed durable item stays leased without a heartbeat. The engine renews its
     * leases every third of it, so a slow call is never run twice merely for being slow; an engine
     * that dies loses its items to others once its leases run out.
     *
     * @param lease positive (default: 30 seconds)
     * @return this builder
     * @throws IllegalArgumentException when zero or negative
     * @throws IllegalStateException when already set
     */
    public Builder leaseDuration(Duration lease) {
      Options.requireUnset(this.lease, "leaseDuration");
      this.lease = Options.requirePositive(lease, "leaseDuration");
      return this;
    }

    /**
     * Sets how often idle durable workers look in the store for work nobody told them about (work
     * submitted through this engine wakes them at once).
     *
     * @param pollInterval positive (default: 1 second)
     * @return this builder
     * @throws IllegalArgumentException when zero or negative
     * @throws IllegalStateException when already set
     */
    public Builder pollInterval(Duration pollInterval) {
      Options.requireUnset(this.pollInterval, "pollInterval");
      this.pollInterval = Options.requirePositive(pollInterval, "pollInterval");
      return this;
    }

    /**
     * Sets the most durable items one claim takes from the store.
     *
     * @param claimBatchSize at least 1 (default: 256)
     * @return this builder
     * @throws IllegalArgumentException when below 1
     * @throws IllegalStateException when already set
     */
    public Builder claimBatchSize(int claimBatchSize) {
      Options.requireUnset(this.claimBatchSize, "claimBatchSize");
      this.claimBatchSize = Options.requirePositive(claimBatchSize, "claimBatchSize");
      return this;
    }

    /**
     * Sets how long finished durable jobs stay in the store before they are deleted.
     *
     * @param retention positive (default: 7 days)
     * @return this builder
     * @throws IllegalArgumentException when zero or negative
     * @throws IllegalStateException when already set
     */
    public Builder storeRetention(Duration retention) {
      Options.requireUnset(this.storeRetention, "storeRetention");
      this.storeRetention = Options.requirePositive(retention, "storeRetention");
      return this;
    }

    /**
     * Sets how a durable job's named consumer is retried when it throws: the same result is handed
     * to it again after a random wait between zero and {@code backoff} doubled per failure in a
     * row, capped at {@code maxBackoff}, for as long as it keeps throwing. A result is never
     * skipped, so a consumer that always throws holds back its job's later deliveries (not the job
     * itself); the wait keeps it from spinning.
     *
     * @param backoff the ceiling before the first retry; positive (default: 1 second)
     * @param maxBackoff the largest ceiling; at least {@code backoff}, at most a day (default: 5
     *     minutes)
     * @return this builder
     * @throws IllegalArgumentException when either is not positive, or {@code maxBackoff} is below
     *     {@code backoff} or above a day
     * @throws IllegalStateException when already set
     */
    public Builder consumerRetry(Duration backoff, Duration maxBackoff) {
      Options.requireUnset(this.consumerBackoff, "consumerRetry");
      Options.requirePositive(backoff, "consumerRetry backoff");
      Options.requirePositive(maxBackoff, "consumerRetry maxBackoff");
      if (maxBackoff.compareTo(backoff) < 0) {
        throw new IllegalArgumentException(
            "consumerRetry maxBackoff must be at least backoff ("
                + backoff
                + "), got "
                + maxBackoff);
      }
      if (maxBackoff.compareTo(Duration.ofDays(1)) > 0) {
        throw new IllegalArgumentException(
            "consumerRetry maxBackoff must be at most a day, got " + maxBackoff);
      }
      this.consumerBackoff = backoff;
      this.consumerMaxBackoff = maxBackoff;
      return this;
    }

    /**
     * Sets the listener that hears what the engine does with durable jobs' items, for metrics. It
     * runs on the engine's threads, so it must be quick; whatever it throws is logged and ignored.
     *
     * @param listener the listener (default: none)
     * @return this builder
     * @throws IllegalStateException when already set
     */
    public Builder listener(EngineListener listener) {
      Objects.requireNonNull(listener, "listener");
      Options.requireUnset(this.listener, "listener");
      this.listener = listener;
      return this;
    }

    /**
     * Builds the engine. In-memory jobs run as soon as they are submitted; durable workers start
     * with {@link Engine#start()} or the first durable submission.
     *
     * @return the engine; close it when done
     */
    public Engine build() {
      return new CompositeEngine(
          new CompositeEngine.Config(
              executor,
              maxConcurrency != null ? maxConcurrency : Integer.MAX_VALUE,
              clock != null ? clock : Clock.systemUTC(),
              scheduler != null ? scheduler : Scheduler.system(),
              retention != null ? retention : Duration.ofHours(1),
              store != null ? store : new InMemoryJobStore(),
              objectMapper != null ? objectMapper : defaultObjectMapper(),
              workerId != null ? workerId : defaultWorkerId(),
              lease != null ? lease : Duration.ofSeconds(30),
              pollInterval != null ? pollInterval : Duration.ofSeconds(1),
              claimBatchSize != null ? claimBatchSize : 256,
              DEFAULT_NODE_CONCURRENCY,
              storeRetention != null ? storeRetention : Duration.ofDays(7),
              shutdownGrace != null ? shutdownGrace : Duration.ZERO,
              consumerBackoff != null ? consumerBackoff : Duration.ofSeconds(1),
              consumerMaxBackoff != null ? consumerMaxBackoff : Duration.ofMinutes(5),
              listener));
    }

    /** Durable attempts running at once on one engine when no engine-wide cap is set. */
    private static final int DEFAULT_NODE_CONCURRENCY = 10_000;

    private static String defaultWorkerId() {
      String suffix = UUID.randomUUID().toString().substring(0, 8);
      return ManagementFactory.getRuntimeMXBean().getName() + "-" + suffix;
    }
  }
}
