package dev.fanout.server.internal.metrics;

import dev.fanout.EngineListener;
import dev.fanout.ItemStatus;
import dev.fanout.JobId;
import dev.fanout.JobState;
import dev.fanout.spi.JobCounts;
import dev.fanout.spi.JobStore;
import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.Gauge;
import io.micrometer.core.instrument.Timer;
import io.micrometer.core.instrument.binder.jvm.ClassLoaderMetrics;
import io.micrometer.core.instrument.binder.jvm.JvmGcMetrics;
import io.micrometer.core.instrument.binder.jvm.JvmMemoryMetrics;
import io.micrometer.core.instrument.binder.jvm.JvmThreadMetrics;
import io.micrometer.core.instrument.binder.system.ProcessorMetrics;
import io.micrometer.core.instrument.binder.system.UptimeMetrics;
import io.micrometer.prometheusmetrics.PrometheusConfig;
import io.micrometer.prometheusmetrics.PrometheusMeterRegistry;
import java.time.Duration;
import java.util.Map;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.LongSupplier;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The server's Prometheus metrics. Task counters, the latency timer and the in-flight gauge are fed
 * by the engine as items run ({@link EngineListener}); jobs by state and pending items are counted
 * in the store at most once per {@link #COUNTS_MAX_AGE}, however often Prometheus scrapes.
 */
public final class ServerMetrics implements EngineListener, AutoCloseable {
  private static final Logger log = LoggerFactory.getLogger(ServerMetrics.class);

  /** How long one count of the store's jobs serves scrapes: a scrape must not load the database. */
  static final Duration COUNTS_MAX_AGE = Duration.ofSeconds(1);

  private final PrometheusMeterRegistry registry =
      new PrometheusMeterRegistry(PrometheusConfig.DEFAULT);
  private final Counter succeeded;
  private final Counter failed;
  private final Counter retries;
  private final Timer duration;
  private final AtomicInteger inFlight = new AtomicInteger();
  private final JvmGcMetrics gc = new JvmGcMetrics();
  private final LongSupplier nanoTime;
  private volatile JobStore store;
  private JobCounts counts;
  private long countedAt;

  /** Creates the metrics with the system's nanosecond clock. */
  public ServerMetrics() {
    this(System::nanoTime);
  }

  ServerMetrics(LongSupplier nanoTime) {
    this.nanoTime = nanoTime;
    succeeded = tasks("succeeded");
    failed = tasks("failed");
    retries =
        Counter.builder("fanout.task.retries")
            .description("attempts that failed and were put back to be tried again")
            .register(registry);
    duration =
        Timer.builder("fanout.task.duration")
            .description("how long each settled item's last attempt took")
            .publishPercentileHistogram()
            .minimumExpectedValue(Duration.ofMillis(1))
            .maximumExpectedValue(Duration.ofMinutes(10))
            .register(registry);
    Gauge.builder("fanout.tasks.in.flight", inFlight, AtomicInteger::get)
        .description("attempts running on this server now")
        .register(registry);
    Gauge.builder("fanout.tasks.pending", this, m -> m.counts().pendingItems())
        .description("items of unfinished jobs waiting to be claimed, across the store")
        .register(registry);
    for (JobState state : JobState.values()) {
      Gauge.builder("fanout.jobs", this, m -> m.counts().jobs().get(state))
          .description("jobs in the store by state")
          .tag("state", state.name())
          .register(registry);
    }
    new JvmMemoryMetrics().bindTo(registry);
    new JvmThreadMetrics().bindTo(registry);
    new ClassLoaderMetrics().bindTo(registry);
    new ProcessorMetrics().bindTo(registry);
    new UptimeMetrics().bindTo(registry);
    gc.bindTo(registry);
  }

  private Counter tasks(String outcome) {
    return Counter.builder("fanout.tasks")
        .description("items settled, by outcome; each item counts once")
        .tag("outcome", outcome)
        .register(registry);
  }

  /**
   * Sets the store the job gauges count; until then they read zero.
   *
   * @param store the engine's store
   */
  public void countJobsIn(JobStore store) {
    this.store = store;
  }

  /**
   * The metrics in the Prometheus text format (version 0.0.4).
   *
   * @return the scrape body
   */
  public String scrape() {
    return registry.scrape();
  }

  /** The content type of {@link #scrape()}. */
  public static final String CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8";

  private synchronized JobCounts counts() {
    long now = nanoTime.getAsLong();
    if (counts == null || now - countedAt >= COUNTS_MAX_AGE.toNanos()) {
      JobStore s = store;
      try {
        counts = s == null ? new JobCounts(Map.of(), 0) : s.countJobs();
      } catch (RuntimeException e) {
        // Keep the last counts: a scrape should not fail, or report zeros, when the store hiccups.
        log.warn("counting jobs for /metrics failed: {}", e.toString());
        if (counts == null) {
          counts = new JobCounts(Map.of(), 0);
        }
      }
      countedAt = now;
    }
    return counts;
  }

  @Override
  public void onAttemptStarted(JobId job) {
    inFlight.incrementAndGet();
  }

  @Override
  public void onAttemptEnded(JobId job) {
    inFlight.decrementAndGet();
  }

  @Override
  public void onTaskSettled(JobId job, ItemStatus status, int attempts, Duration d) {
    (status == ItemStatus.SUCCEEDED ? succeeded : failed).increment();
    duration.record(d);
  }

  @Override
  public void onRetry(JobId job) {
    retries.increment();
  }

  @Override
  public void close() {
    gc.close();
    registry.close();
  }
}
