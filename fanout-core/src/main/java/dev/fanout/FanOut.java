package dev.fanout;

import dev.fanout.internal.LocalEngine;
import java.time.Clock;
import java.time.Duration;
import java.util.Objects;
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
   * A builder with the defaults: a virtual thread per attempt, no engine-wide concurrency cap, the
   * system clock, and finished jobs remembered for an hour.
   *
   * @return a new builder
   */
  public static Builder builder() {
    return new Builder();
  }

  /** Builds an {@link Engine}. Each option may be set once, and is checked when set. */
  public static final class Builder {
    private Executor executor;
    private Integer maxConcurrency;
    private Clock clock;
    private Scheduler scheduler;
    private Duration retention;

    private Builder() {}

    /**
     * Sets the executor that runs attempts. The engine does not shut down an executor it was given.
     *
     * @param executor runs one attempt per task (default: a new virtual thread per attempt)
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
     * Sets how many attempts may run at once across all of the engine's jobs.
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
     * Builds and starts the engine.
     *
     * @return the engine; close it when done
     */
    public Engine build() {
      return new LocalEngine(
          executor,
          maxConcurrency != null ? maxConcurrency : Integer.MAX_VALUE,
          clock != null ? clock : Clock.systemUTC(),
          scheduler != null ? scheduler : Scheduler.system(),
          retention != null ? retention : Duration.ofHours(1));
    }
  }
}
