package dev.fanout.jdbc;

import dev.fanout.JobId;
import dev.fanout.spi.StoreSignals;
import java.sql.Array;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Set;
import java.util.UUID;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.locks.Condition;
import java.util.concurrent.locks.ReentrantLock;
import javax.sql.DataSource;
import org.postgresql.PGConnection;
import org.postgresql.PGNotification;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * {@link StoreSignals} over PostgreSQL's LISTEN/NOTIFY, so a node hears at once that another node
 * sealed a job (and claims it) or recorded results (and streams them).
 *
 * <p>Publishing never touches the network on the caller's thread: the signal goes to this process's
 * subscribers at once, and into a set that a publisher thread sends with one {@code pg_notify}
 * query per flush: at once for work, at most every 25 ms for results. A burst of results for one
 * job therefore costs one notification, not one per batch. A listener thread holds one of the
 * pool's connections with LISTEN on the two channels and hands every notification that another
 * process sent to this process's subscribers. When that connection breaks it reconnects with a
 * backoff and then signals "any job", since notifications sent meanwhile are lost. Channels are per
 * schema, so stores in different schemas of one database do not wake each other.
 */
final class PostgresSignals implements StoreSignals, AutoCloseable {
  private static final Logger log = LoggerFactory.getLogger(PostgresSignals.class);

  /** How long the listener waits for a notification before looking whether it should stop. */
  private static final int LISTEN_WAIT_MILLIS = 250;

  /**
   * The least time between two flushes of results: a job that records a batch every few
   * milliseconds on each of several nodes would otherwise cost PostgreSQL a NOTIFY transaction per
   * batch (up to 200 a second per node with a 5 ms spacing), and streams read the store at most
   * every 20 ms anyway.
   */
  private static final Duration RESULTS_COALESCE = Duration.ofMillis(25);

  /** How long the listener stays quiet before it checks that its connection is alive. */
  private static final Duration LIVENESS_CHECK = Duration.ofSeconds(5);

  private static final Duration FIRST_LISTEN_WAIT = Duration.ofSeconds(5);

  private static final Duration MAX_RECONNECT_BACKOFF = Duration.ofSeconds(5);

  private final StoreSignals.Local local = (StoreSignals.Local) StoreSignals.local();
  private final DataSource pool;
  private final String redactedUrl;
  private final String workChannel;
  private final String resultsChannel;

  /** Marks this process's own notifications, which its subscribers have already had. */
  private final String origin = UUID.randomUUID().toString().substring(0, 8);

  private final ReentrantLock lock = new ReentrantLock();
  private final Condition queued = lock.newCondition();
  private Set<String> pendingWork = new LinkedHashSet<>();
  private Set<String> pendingResults = new LinkedHashSet<>();
  private volatile boolean closed;
  private final CountDownLatch listening = new CountDownLatch(1);
  private final Thread listener;
  private final Thread publisher;

  private PostgresSignals(DataSource pool, String redactedUrl, String schema) {
    this.pool = pool;
    this.redactedUrl = redactedUrl;
    // Identifiers are at most 63 bytes: a hash of the schema keeps them short and safe to quote.
    String suffix = Integer.toHexString(schema.hashCode());
    this.workChannel = "fanout_work_" + suffix;
    this.resultsChannel = "fanout_results_" + suffix;
    this.listener = Thread.ofVirtual().name("fanout-signals-listen").unstarted(this::listen);
    this.publisher = Thread.ofVirtual().name("fanout-signals-notify").unstarted(this::publishLoop);
  }

  /**
   * Starts listening and publishing on the store's pool, and waits a little for the LISTEN to take
   * effect, so that the signals of a job submitted right after the store opens reach this process.
   */
  static PostgresSignals start(DataSource pool, String redactedUrl) {
    PostgresSignals signals = new PostgresSignals(pool, redactedUrl, currentSchema(pool));
    signals.listener.start();
    signals.publisher.start();
    try {
      if (!signals.listening.await(FIRST_LISTEN_WAIT.toMillis(), TimeUnit.MILLISECONDS)) {
        log.warn("not yet listening for signals at {}; polling until then", redactedUrl);
      }
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
    return signals;
  }

  private static String currentSchema(DataSource pool) {
    try (Connection c = pool.getConnection();
        Statement s = c.createStatement();
        ResultSet row = s.executeQuery("SELECT current_schema()")) {
      String schema = row.next() ? row.getString(1) : null;
      c.rollback();
      return schema == null ? "" : schema;
    } catch (SQLException e) {
      // The store has just migrated through this pool, so this is rare; signals stay per database.
      return "";
    }
  }

  @Override
  public void publish(Kind kind, JobId job) {
    local.deliver(kind, job);
    if (closed || job == null) {
      return;
    }
    lock.lock();
    try {
      (kind == Kind.WORK ? pendingWork : pendingResults).add(job.value());
      queued.signal();
    } finally {
      lock.unlock();
    }
  }

  @Override
  public Subscription subscribe(Listener subscriber) {
    return local.subscribe(subscriber);
  }

  @Override
  public void close() {
    closed = true;
    lock.lock();
    try {
      queued.signalAll();
    } finally {
      lock.unlock();
    }
    join(publisher);
    join(listener);
  }

  private static void join(Thread t) {
    try {
      t.join(Duration.ofSeconds(5));
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
  }

  // ------------------------------------------------------------------ publishing

  private void publishLoop() {
    long lastFlush = System.nanoTime() - RESULTS_COALESCE.toNanos();
    while (!closed) {
      Set<String> work;
      Set<String> results;
      lock.lock();
      try {
        while (!closed && pendingWork.isEmpty() && pendingResults.isEmpty()) {
          queued.awaitUninterruptibly();
        }
        // Work goes out at once: an idle node should claim now. Results wait for the rest of
        // their interval, gathering every job's batches meanwhile into one flush.
        long wait = lastFlush + RESULTS_COALESCE.toNanos() - System.nanoTime();
        if (!closed && pendingWork.isEmpty() && wait > 0) {
          queued.awaitNanos(wait);
          continue;
        }
        if (closed) {
          return;
        }
        work = pendingWork;
        results = pendingResults;
        pendingWork = new LinkedHashSet<>();
        pendingResults = new LinkedHashSet<>();
      } catch (InterruptedException e) {
        return;
      } finally {
        lock.unlock();
      }
      lastFlush = System.nanoTime();
      notifyAll(work, results);
    }
  }

  /** Sends one flush's signals in one query; a failure loses them, which only costs a poll. */
  private void notifyAll(Set<String> work, Set<String> results) {
    List<String> channels = new ArrayList<>(work.size() + results.size());
    List<String> payloads = new ArrayList<>(work.size() + results.size());
    for (String job : work) {
      channels.add(workChannel);
      payloads.add(origin + "/" + job);
    }
    for (String job : results) {
      channels.add(resultsChannel);
      payloads.add(origin + "/" + job);
    }
    try (Connection c = pool.getConnection();
        PreparedStatement notify =
            c.prepareStatement(
                "SELECT pg_notify(c, p) FROM unnest(?::text[], ?::text[]) AS t(c, p)")) {
      Array channelArray = c.createArrayOf("text", channels.toArray());
      Array payloadArray = c.createArrayOf("text", payloads.toArray());
      notify.setArray(1, channelArray);
      notify.setArray(2, payloadArray);
      notify.executeQuery().close();
      c.commit();
    } catch (SQLException e) {
      log.debug("could not send {} signals to {}: {}", channels.size(), redactedUrl, e.toString());
    }
  }

  // ------------------------------------------------------------------ listening

  private void listen() {
    int failures = 0;
    boolean missedSome = false;
    while (!closed) {
      try (Connection c = pool.getConnection()) {
        // LISTEN takes effect at commit, and notifications arrive only between transactions.
        c.setAutoCommit(true);
        // Without it, the liveness check below blocks for the system's TCP timeout (minutes) on
        // a connection that died silently; waiting for notifications sets its own timeout.
        c.setNetworkTimeout(Runnable::run, (int) LIVENESS_CHECK.toMillis());
        try (Statement s = c.createStatement()) {
          s.execute("LISTEN " + workChannel);
          s.execute("LISTEN " + resultsChannel);
        }
        listening.countDown();
        if (missedSome) {
          log.info("listening for signals at {} again", redactedUrl);
          local.deliver(Kind.WORK, null);
          local.deliver(Kind.RESULTS, null);
          missedSome = false;
        }
        failures = 0;
        PGConnection pg = c.unwrap(PGConnection.class);
        long quietSince = System.nanoTime();
        while (!closed) {
          PGNotification[] notifications = pg.getNotifications(LISTEN_WAIT_MILLIS);
          if (notifications != null && notifications.length > 0) {
            for (PGNotification n : notifications) {
              hand(n);
            }
            quietSince = System.nanoTime();
          } else if (System.nanoTime() - quietSince > LIVENESS_CHECK.toNanos()) {
            // Waiting reads no socket error from a connection that silently died: ask something.
            try (Statement s = c.createStatement()) {
              s.execute("SELECT 1");
            }
            quietSince = System.nanoTime();
          }
        }
      } catch (SQLException | RuntimeException e) {
        if (closed) {
          return;
        }
        failures++;
        missedSome = true;
        if (failures == 1) {
          log.warn(
              "lost the signal connection to {}; polling until it is back: {}",
              redactedUrl,
              e.toString());
        }
        long backoff = Math.min(MAX_RECONNECT_BACKOFF.toMillis(), 100L << Math.min(failures, 6));
        try {
          TimeUnit.MILLISECONDS.sleep(backoff);
        } catch (InterruptedException ie) {
          return;
        }
      }
    }
  }

  private void hand(PGNotification n) {
    String payload = n.getParameter();
    int slash = payload.indexOf('/');
    if (slash < 0 || payload.substring(0, slash).equals(origin)) {
      return; // ours: our subscribers had it when it was published
    }
    Kind kind = n.getName().equals(workChannel) ? Kind.WORK : Kind.RESULTS;
    JobId job;
    try {
      job = JobId.of(payload.substring(slash + 1));
    } catch (IllegalArgumentException e) {
      return; // not one of ours
    }
    local.deliver(kind, job);
  }
}
