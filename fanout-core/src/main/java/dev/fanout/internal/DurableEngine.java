package dev.fanout.internal;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.cfg.JsonNodeFeature;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.fanout.AttemptTimeoutException;
import dev.fanout.EngineListener;
import dev.fanout.FailureMode;
import dev.fanout.FailurePolicy;
import dev.fanout.IdempotencyConflictException;
import dev.fanout.ItemFailure;
import dev.fanout.ItemResult;
import dev.fanout.ItemStatus;
import dev.fanout.JobFinishedListener;
import dev.fanout.JobHandle;
import dev.fanout.JobId;
import dev.fanout.JobOutcome;
import dev.fanout.JobSpec;
import dev.fanout.JobState;
import dev.fanout.JobStatus;
import dev.fanout.NoSuchJobException;
import dev.fanout.RetryPolicy;
import dev.fanout.Scheduler;
import dev.fanout.TaskException;
import dev.fanout.TaskFailedException;
import dev.fanout.TransformException;
import dev.fanout.spi.ClaimedTask;
import dev.fanout.spi.Completion;
import dev.fanout.spi.IdempotencyKeyTakenException;
import dev.fanout.spi.JobRow;
import dev.fanout.spi.JobStore;
import dev.fanout.spi.NewJob;
import dev.fanout.spi.NodeRow;
import dev.fanout.spi.Recorded;
import dev.fanout.spi.StoreException;
import dev.fanout.spi.StoreSignals;
import dev.fanout.spi.StoredResult;
import dev.fanout.spi.SucceededValue;
import dev.fanout.spi.TaskState;
import dev.fanout.spi.Verdict;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;
import java.util.OptionalLong;
import java.util.Set;
import java.util.UUID;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.Executor;
import java.util.concurrent.Future;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.locks.Condition;
import java.util.concurrent.locks.ReentrantLock;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Runs durable jobs out of a {@link JobStore}: a job's items and results live in the store, so any
 * number of engines sharing the store run its items, and a restarted engine picks up where a
 * crashed one stopped.
 *
 * <p>Three loops, each on its own virtual thread, do the work:
 *
 * <ul>
 *   <li>the <em>dispatcher</em> claims items job by job while this node has room, launches an
 *       attempt per item, reclaims expired leases, enforces deadlines, finishes settled jobs and
 *       purges old ones;
 *   <li>the <em>heartbeat</em> renews this node's leases every third of the lease, on a thread of
 *       its own so no slow claim, fold or purge can let them lapse;
 *   <li>the <em>writer</em> records finished attempts in batches, one transaction per job and
 *       batch; a stale attempt (its lease was reclaimed) is dropped by the store's fence, so each
 *       item is recorded exactly once; it then tries to finish the job, which the store does once;
 *   <li>one <em>delivery</em> loop per job with a named consumer hands it the stored results after
 *       the last one it acknowledged.
 * </ul>
 *
 * <p>Execution is at least once: a crash between the call and the record repeats the call.
 * Recording and the fan-in are exactly once.
 */
final class DurableEngine {
  private static final Logger log = LoggerFactory.getLogger(DurableEngine.class);
  // Bounds the memory one batch of a submission holds, whatever size its store asks for: its
  // items' characters, counting each item's objects (the list slot, the String and its array) as
  // 64 more, so that many tiny items are bounded too. One item larger than this is a batch alone.
  private static final long ITEM_CHUNK_CHARS = 4L << 20;
  private static final int ITEM_OVERHEAD_CHARS = 64;
  private static final int RESUME_PAGE = 1_000;
  private static final int WRITE_BATCH = 1_000;
  private static final Duration MAX_PURGE_INTERVAL = Duration.ofHours(1);
  private static final int PURGE_BATCH = 100;
  private static final Duration UNSEALED_RETENTION = Duration.ofHours(1);

  /** How long the node list shows a node that stopped or died, after its last heartbeat. */
  private static final Duration NODE_RETENTION = Duration.ofHours(1);

  /**
   * How long a repeated submission waits for the first one under its idempotency key to finish
   * storing its items; a million items take seconds, a submitter that died holds the key until its
   * unsealed job is purged.
   */
  private static final Duration MAX_REPEAT_WAIT = Duration.ofSeconds(60);

  private static final Duration REPEAT_POLL = Duration.ofMillis(20);

  /**
   * How long the writer holds a batch back while the dispatcher claims full batches back to back.
   * Claims and records take the same job lock, and on H2 the store's work runs one transaction at a
   * time whatever the lock; a claim starts work while a record only frees room, so during a burst
   * of claims (a large job just sealed, a large cap) the claims go first and the results wait, in
   * one larger batch. Bounded, so one job's long burst only slows another job's records.
   */
  private static final long MAX_WRITE_DEFERRAL_NANOS = Duration.ofMillis(100).toNanos();

  private final JobStore store;
  private final ObjectMapper json;
  private final Registry registry;
  private final Clock clock;
  private final Scheduler scheduler;
  private final Executor executor;
  private final String workerId;
  private final String host = NodeIdentity.host();
  private volatile Instant startedAt;
  private StoreSignals.Subscription signalSubscription;

  /** Where the dispatcher's next claim round starts in the list of active jobs: jobs take turns. */
  private int nextFirstJob;

  /**
   * The lease owner claims are made under now: the worker ID plus a token that changes at every
   * start and after every claim that failed. A claim whose reply was lost may still have committed;
   * its items belong to the old token, which is renewed only while this engine still runs items it
   * knows under it, so such items run out their lease and go back to the pool.
   */
  private volatile String owner;

  private final Map<String, AtomicInteger> runningByOwner = new ConcurrentHashMap<>();

  /** The tokens renewLeases found idle at its last beat; only the heartbeat touches it. */
  private final Set<String> idleLastBeat = new HashSet<>();

  private final Duration lease;
  private final Duration pollInterval;
  private final int claimBatch;
  private final int nodeConcurrency;
  private final Duration retention;
  private final Duration consumerBackoff;
  private final Duration consumerMaxBackoff;
  private final EngineListener listener;

  private final AtomicInteger localRunning = new AtomicInteger();

  /** Attempts launched whose report is not yet queued for the writer: what the grace waits for. */
  private final AtomicInteger unreported = new AtomicInteger();

  /** Released when the first close() is done, so a concurrent one waits for it. */
  private final CountDownLatch closeDone = new CountDownLatch(1);

  private final Map<JobId, Active> active = new ConcurrentHashMap<>();
  private final Map<JobId, Handle> handles = new ConcurrentHashMap<>();
  private final Map<JobId, Thread> delivering = new ConcurrentHashMap<>();
  private final Set<JobId> unrunnable = ConcurrentHashMap.newKeySet();
  private final LinkedBlockingQueue<Report> reports = new LinkedBlockingQueue<>();
  private final ReentrantLock wakeLock = new ReentrantLock();
  private final Condition wake = wakeLock.newCondition();
  private final Condition delivered = wakeLock.newCondition();
  private final Condition claimsPaused = wakeLock.newCondition();

  /** Signalled only by close: a consumer's backoff must not be cut short by new results. */
  private final Condition closing = wakeLock.newCondition();

  private boolean wakeRequested;

  /** True while the dispatcher's last round claimed a full batch: see MAX_WRITE_DEFERRAL_NANOS. */
  private boolean claiming;

  private volatile boolean started;
  private volatile boolean closed;

  /** Set when closing begins: no more claims, while running attempts get the grace period. */
  private volatile boolean draining;

  private final Duration shutdownGrace;
  private Thread dispatcher;
  private Thread writer;
  private Thread heartbeat;

  DurableEngine(
      JobStore store,
      ObjectMapper json,
      Registry registry,
      Clock clock,
      Scheduler scheduler,
      Executor executor,
      String owner,
      Duration lease,
      Duration pollInterval,
      int claimBatch,
      int nodeConcurrency,
      Duration retention,
      Duration shutdownGrace,
      Duration consumerBackoff,
      Duration consumerMaxBackoff,
      EngineListener listener) {
    this.store = store;
    this.json = json;
    this.registry = registry;
    this.clock = clock;
    this.scheduler = scheduler;
    this.executor = executor;
    this.workerId = owner;
    this.owner = newOwnerToken();
    this.lease = lease;
    this.pollInterval = pollInterval;
    this.claimBatch = claimBatch;
    this.nodeConcurrency = nodeConcurrency;
    this.retention = retention;
    this.shutdownGrace = shutdownGrace;
    this.consumerBackoff = consumerBackoff;
    this.consumerMaxBackoff = consumerMaxBackoff;
    this.listener = listener;
  }

  private String newOwnerToken() {
    return workerId + "#" + UUID.randomUUID().toString().substring(0, 8);
  }

  /**
   * Stops claiming under the current token, because an item claimed under it will never be recorded
   * by this engine (its attempt was refused, or its report was lost). The old token is renewed only
   * until the items this engine still runs under it end; then its abandoned items run out their
   * lease and any engine reclaims them.
   */
  private void abandonOwnerToken() {
    owner = newOwnerToken();
  }

  /** Renews the leases of every owner token this engine still runs items under. */
  private void renewLeases(Instant now) {
    String current = owner;
    // A token is dropped only when it was idle at the last beat too: a claim under it may be in
    // flight right now, with its attempts not yet counted, and a beat apart it has long landed.
    Set<String> idle = new HashSet<>();
    runningByOwner.forEach(
        (token, running) -> {
          if (running.get() == 0 && !token.equals(current)) {
            idle.add(token);
          }
        });
    runningByOwner.keySet().removeIf(t -> idle.contains(t) && idleLastBeat.contains(t));
    idleLastBeat.clear();
    idleLastBeat.addAll(idle);
    for (String token : runningByOwner.keySet()) {
      store.renewLeases(token, now.plus(lease));
    }
  }

  /** Starts the loops once; later calls do nothing. */
  synchronized void start() {
    if (started || closed) {
      return;
    }
    started = true;
    startedAt = clock.instant();
    // Other nodes' news: work to claim wakes the dispatcher, results wake the deliveries.
    signalSubscription =
        store
            .signals()
            .subscribe(
                (kind, job) -> {
                  if (kind == StoreSignals.Kind.WORK) {
                    signal();
                  } else {
                    signalConsumers();
                  }
                });
    dispatcher = Thread.ofVirtual().name("fanout-dispatcher").start(this::dispatch);
    heartbeat = Thread.ofVirtual().name("fanout-heartbeat").start(this::beat);
    writer = Thread.ofVirtual().name("fanout-writer").start(this::write);
  }

  void close() {
    boolean first;
    synchronized (this) {
      first = !closed && !draining;
      draining = true;
    }
    if (!first) {
      // Another close is under way: return when it is done, so the caller may close the store.
      // Not inside the monitor, which that close needs.
      try {
        closeDone.await(shutdownGrace.toSeconds() + 60, TimeUnit.SECONDS);
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
      }
      return;
    }
    try {
      closeNow();
    } finally {
      closeDone.countDown();
    }
  }

  private void closeNow() {
    awaitRunningAttempts();
    synchronized (this) {
      closed = true;
    }
    signal();
    reports.add(WAKE_WRITER);
    setClaiming(false);
    for (Active job : active.values()) {
      job.stopAll();
    }
    if (heartbeat != null) {
      heartbeat.interrupt();
    }
    join(dispatcher);
    join(writer);
    join(heartbeat);
    // Not interrupted: a delivery may be inside the store, and some stores' files do not survive
    // an interrupt. A loop in backoff wakes on the closing signal; one inside its consumer ends
    // when the consumer returns.
    // One deadline for all of them, so many slow receivers cannot add ten seconds each.
    long deadline = System.nanoTime() + Duration.ofSeconds(10).toNanos();
    for (Thread t : delivering.values()) {
      long left = deadline - System.nanoTime();
      if (left <= 0) {
        break;
      }
      try {
        t.join(Duration.ofNanos(left));
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
        break;
      }
    }
    handles.values().forEach(h -> h.future.cancel(false));
    if (signalSubscription != null) {
      signalSubscription.close();
    }
    if (started) {
      try {
        store.leave(workerId, clock.instant());
      } catch (RuntimeException e) {
        // The row stays until the node counts as lost; nothing depends on it.
        log.warn("could not mark node {} stopped in the store: {}", workerId, e.toString());
      }
    }
  }

  /**
   * Lets the running attempts finish within the grace period; the writer keeps recording their
   * results meanwhile, and records what is left of them after {@code closed} is set.
   */
  private void awaitRunningAttempts() {
    if (shutdownGrace.isZero() || !started) {
      return;
    }
    signal();
    long deadline = System.nanoTime() + shutdownGrace.toNanos();
    // Until every launched attempt has queued its report, not merely returned: the transform and
    // the encoding run after the call, and a report queued after the writer stopped is lost.
    while (unreported.get() > 0
        && System.nanoTime() < deadline
        && !Thread.currentThread().isInterrupted()) {
      sleep(Duration.ofMillis(10));
    }
    if (localRunning.get() > 0) {
      log.info(
          "{} attempts still running after the {} grace; they are stopped, and their items run"
              + " again once their leases expire",
          localRunning.get(),
          shutdownGrace);
    }
  }

  private static void join(Thread t) {
    if (t == null) {
      return;
    }
    try {
      t.join(Duration.ofSeconds(10));
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
  }

  // ------------------------------------------------------------------ submit

  <A> JobHandle<A> submit(JobSpec<?, ?, A> spec) {
    if (closed) {
      throw new IllegalStateException("the engine is closed; build a new one to submit jobs");
    }
    DurableSpec durable = DurableSpec.of(spec);
    String missing = registry.missing(durable, null);
    if (missing != null) {
      throw new IllegalArgumentException("cannot submit: " + missing);
    }
    if (!store.supportsResultOrder(spec.resultOrder())) {
      throw new IllegalArgumentException(
          "cannot submit: the store "
              + store.getClass().getName()
              + " cannot deliver a durable job's results in "
              + spec.resultOrder()
              + " order");
    }
    start();
    // One reading for both: the ID tells the creation time to the millisecond (see
    // JobStore.createdAtOf), which lets a job list page on from a cursor deleted meanwhile.
    long millis = clock.millis();
    Instant now = Instant.ofEpochMilli(millis);
    JobId id = JobIds.at(millis);
    Instant deadlineAt = spec.deadline().map(now::plus).orElse(null);
    NewJob job =
        new NewJob(
            id,
            encode(durable),
            spec.maxConcurrency(),
            now,
            deadlineAt,
            spec.idempotencyKey().orElse(null),
            spec.idempotencyFingerprint().orElse(null),
            spec.resultOrder());
    // Before any item is written: a repeat must never store items, nor read its source.
    Optional<JobId> earlier = createOrFindRepeat(job);
    if (earlier.isPresent()) {
      @SuppressWarnings("unchecked")
      JobHandle<A> handle = (JobHandle<A>) handle(earlier.get());
      return handle;
    }
    long total = 0;
    try {
      JobSpec.Source<?> source = spec.openSource();
      try {
        Iterator<?> items = source.iterator();
        int batchSize = Math.max(1, store.itemBatchSize());
        List<String> chunk = new ArrayList<>();
        long chars = 0;
        while (items.hasNext()) {
          String item = encode(items.next());
          chunk.add(item);
          chars += item.length() + ITEM_OVERHEAD_CHARS;
          if (chunk.size() >= batchSize || chars >= ITEM_CHUNK_CHARS) {
            store.addItems(id, total, chunk);
            total += chunk.size();
            chunk = new ArrayList<>();
            chars = 0;
          }
        }
        if (!chunk.isEmpty()) {
          store.addItems(id, total, chunk);
          total += chunk.size();
        }
      } finally {
        closeQuietly(source.closeable());
      }
      store.seal(id, total);
    } catch (RuntimeException e) {
      // Nothing was acknowledged; leave no half-written job behind (purge catches what this
      // misses).
      try {
        store.deleteJob(id);
      } catch (RuntimeException suppressed) {
        e.addSuppressed(suppressed);
      }
      throw e;
    }
    signal();
    store.signals().publish(StoreSignals.Kind.WORK, id);
    @SuppressWarnings("unchecked")
    JobHandle<A> handle = (JobHandle<A>) handle(id);
    return handle;
  }

  /**
   * Creates the job, unless another holds its idempotency key: then returns that job when the
   * fingerprints match and it is (or becomes) sealed. A job holding the key while its items are
   * still being written may yet fail and be deleted, which frees the key; so a repeat waits for it
   * to be sealed, or gone (and then creates its own), rather than answer with a job that may never
   * exist.
   */
  private Optional<JobId> createOrFindRepeat(NewJob job) {
    long giveUp = System.nanoTime() + MAX_REPEAT_WAIT.toNanos();
    while (true) {
      IdempotencyKeyTakenException taken;
      try {
        store.createJob(job);
        return Optional.empty();
      } catch (IdempotencyKeyTakenException e) {
        taken = e;
      }
      if (!taken.fingerprint().equals(job.fingerprint())) {
        throw new IdempotencyConflictException(
            taken.holder(),
            "the idempotency key '"
                + job.idempotencyKey()
                + "' was used for job "
                + taken.holder()
                + ", submitted with another request");
      }
      while (true) {
        Optional<JobRow> holder = store.job(taken.holder());
        if (holder.isEmpty()) {
          break; // the first submission failed and was deleted: the key is free again
        }
        if (holder.get().sealed()) {
          return Optional.of(taken.holder());
        }
        if (System.nanoTime() - giveUp > 0) {
          throw new IdempotencyConflictException(
              taken.holder(),
              "the idempotency key '"
                  + job.idempotencyKey()
                  + "' is held by job "
                  + taken.holder()
                  + ", whose items are still being stored; try again later");
        }
        sleep(REPEAT_POLL);
        if (Thread.currentThread().isInterrupted()) {
          throw new IllegalStateException(
              "interrupted while waiting for job " + taken.holder() + " to store its items");
        }
      }
    }
  }

  private static void closeQuietly(AutoCloseable closeable) {
    if (closeable != null) {
      try {
        closeable.close();
      } catch (Exception e) {
        log.warn("closing a job's source failed", e);
      }
    }
  }

  Optional<JobHandle<?>> job(JobId id) {
    Handle known = handles.get(id);
    if (known != null) {
      return Optional.of(known);
    }
    // Not registered: a handle joins the map, whose futures the engine completes (reading every
    // failure of the job), only once someone asks for its outcome. A status read, such as each
    // GET of a finished job, then costs a row read, not a walk over the job's failures.
    return store.job(id).map(row -> new Handle(id));
  }

  List<JobStatus> list(int limit) {
    return store.listJobs(limit, null).stream().map(this::status).toList();
  }

  private Handle handle(JobId id) {
    return handles.computeIfAbsent(id, Handle::new);
  }

  // ------------------------------------------------------------------ dispatcher

  private void dispatch() {
    Instant nextReclaim = Instant.MIN;
    Instant nextPurge = Instant.MIN;
    long failures = 0;
    long lastSweep = System.nanoTime() - pollInterval.toNanos();
    boolean deliveriesResumed = false;
    while (!closed) {
      try {
        if (!deliveriesResumed) {
          // Here rather than in start(): a store that fails now is retried like any other.
          resumeDeliveries();
          deliveriesResumed = true;
        }
        Instant now = clock.instant();
        if (!now.isBefore(nextReclaim)) {
          int reclaimed = store.reclaimExpired(now);
          if (reclaimed > 0) {
            log.info("reclaimed {} items whose lease expired", reclaimed);
          }
          nextReclaim = now.plus(lease.dividedBy(2));
        }
        if (!now.isBefore(nextPurge)) {
          // A full batch means more is due: purge again next round rather than next interval.
          boolean more = purge(now) == PURGE_BATCH;
          // A tenth of the retention, so a job outlives it by at most 10%, and at least hourly.
          Duration every = retention.dividedBy(10);
          nextPurge =
              more
                  ? now
                  : now.plus(every.compareTo(MAX_PURGE_INTERVAL) < 0 ? every : MAX_PURGE_INTERVAL);
        }
        boolean busy = false;
        try {
          busy = claimRound(now);
        } finally {
          // Cleared on a failure too, so a failing store never holds the writer back.
          setClaiming(busy);
        }
        if (System.nanoTime() - lastSweep >= pollInterval.toNanos()) {
          finishSettledJobs(now);
          observeHandles();
          lastSweep = System.nanoTime();
        }
        failures = 0;
        if (!busy) {
          await(pollInterval);
        }
      } catch (StoreException e) {
        failures++;
        log.warn("the store failed; retrying (failure {} in a row): {}", failures, e.getMessage());
        await(backoff(failures));
      } catch (RuntimeException | Error e) {
        failures++;
        log.error("the dispatcher failed; retrying", e);
        await(backoff(failures));
      }
    }
  }

  private Duration backoff(long failures) {
    long millis = Math.min(5_000, 50L << Math.min(failures, 7));
    return Duration.ofMillis(millis);
  }

  /**
   * Renews this engine's leases every third of the lease, on a thread of its own: claims, folds and
   * purges on the dispatcher can take longer than a lease, and a lapsed lease lets another engine
   * run a slow call a second time.
   */
  private void beat() {
    long failures = 0;
    while (!closed) {
      Duration pause = lease.dividedBy(3);
      try {
        Instant now = clock.instant();
        renewLeases(now);
        // After the leases, which matter more: a node missing from the list loses nothing.
        store.heartbeat(
            new NodeRow(
                workerId,
                host,
                NodeIdentity.version(),
                startedAt,
                now,
                nodeConcurrency,
                Math.max(0, localRunning.get()),
                false));
        failures = 0;
      } catch (RuntimeException | Error e) {
        failures++;
        log.warn("renewing leases failed (failure {} in a row): {}", failures, e.toString());
        Duration retry = backoff(failures);
        pause = retry.compareTo(pause) < 0 ? retry : pause;
      }
      try {
        Thread.sleep(pause);
      } catch (InterruptedException e) {
        return; // closing
      }
    }
  }

  /**
   * Claims for each active job in turn; true when it claimed a full batch somewhere.
   *
   * <p>Jobs take turns: each round starts one job further down the list, and while several jobs are
   * active a job first gets no more than its fair share of this node's slots (the node's cap over
   * the number of active jobs), whatever its size. Slots that a job cannot use (it has nothing
   * pending, or is at its own cap) go round again to the jobs that filled their share, so the node
   * is never left idle for fairness' sake.
   */
  private boolean claimRound(Instant now) {
    if (draining) {
      return false;
    }
    List<JobId> ids = store.activeJobs();
    Set<JobId> stillActive = Set.copyOf(ids);
    active
        .entrySet()
        .removeIf(
            e -> {
              if (stillActive.contains(e.getKey())) {
                return false;
              }
              // Read again: the list is a moment old, and a job retried since is active again.
              Optional<JobRow> row = store.job(e.getKey());
              if (row.isPresent() && !row.get().state().isFinal()) {
                return false;
              }
              // Ended elsewhere (another node cancelled it, or its deadline passed there): its
              // attempts here can only be refused by the fence, so stop them now.
              e.getValue().stopAll();
              return true;
            });
    List<Active> jobs = new ArrayList<>(ids.size());
    int first = ids.isEmpty() ? 0 : Math.floorMod(nextFirstJob++, ids.size());
    for (int i = 0; i < ids.size(); i++) {
      JobId id = ids.get((first + i) % ids.size());
      Active job = active(id);
      if (job == null) {
        continue;
      }
      if (job.deadlineAt != null && !now.isBefore(job.deadlineAt)) {
        terminate(
            job, JobState.FAILED, "job deadline of " + job.spec.deadlineMillis() + " ms passed");
        continue;
      }
      jobs.add(job);
    }
    boolean full = false;
    List<Active> more = new ArrayList<>();
    for (Active job : jobs) {
      int wanted = Math.min(claimBatch, fairRoom(job, jobs.size()));
      if (wanted <= 0) {
        more.add(job); // at its share already: it may have more once the others have had theirs
        continue;
      }
      if (claimAll(job, wanted, now)) {
        full = true;
        more.add(job);
      }
    }
    if (jobs.size() > 1) {
      for (Active job : more) {
        full |= claimAll(job, claimBatch, now);
      }
    }
    return full;
  }

  /**
   * How many more of this node's slots a job may take before the others have had theirs: all of
   * them when it runs alone, else its share of the node's cap less what it runs already.
   */
  private int fairRoom(Active job, int activeJobs) {
    if (activeJobs <= 1) {
      return Integer.MAX_VALUE;
    }
    int share = Math.max(1, nodeConcurrency / activeJobs);
    return share - job.running.get();
  }

  /**
   * Claims up to {@code wanted} items of a job within this node's free slots and starts them.
   *
   * @return true when it got every item it had slots for, so the job may have more
   */
  private boolean claimAll(Active job, int wanted, Instant now) {
    int room = reserveSlots(wanted);
    if (room == 0) {
      return false;
    }
    String token = owner;
    AtomicInteger running = runningByOwner.computeIfAbsent(token, k -> new AtomicInteger());
    List<ClaimedTask> claimed = List.of();
    try {
      claimed = store.claim(job.id, token, room, now, now.plus(lease));
    } catch (RuntimeException e) {
      // The claim may have committed without us hearing of it: let its items expire.
      owner = newOwnerToken();
      throw e;
    } finally {
      localRunning.addAndGet(claimed.size() - room);
    }
    for (ClaimedTask task : claimed) {
      launch(job, task, running);
    }
    return claimed.size() == room;
  }

  /**
   * Finishes the active jobs whose items have all settled. The writer finishes a job right after
   * recording its last result, but that finish may have failed, or its engine died just before it:
   * without this sweep such a job would stay RUNNING for ever.
   */
  private void finishSettledJobs(Instant now) {
    for (JobId id : store.activeJobs()) {
      Optional<JobRow> row = store.job(id);
      if (row.isEmpty() || row.get().pending() > 0 || row.get().running() > 0) {
        continue;
      }
      Active job = active(id);
      if (job != null) {
        store.finish(id, now, null, null, folder(job)).ifPresent(this::onFinished);
      }
    }
  }

  /** The runtime view of an active job, loaded once from its stored spec. */
  private Active active(JobId id) {
    Active known = active.get(id);
    if (known != null) {
      return known;
    }
    Optional<JobRow> row = store.job(id);
    if (row.isEmpty()) {
      return null;
    }
    DurableSpec spec = decode(row.get().spec(), DurableSpec.class);
    String missing = registry.missing(spec, id);
    if (missing != null) {
      if (unrunnable.add(id)) {
        log.warn("job {} cannot run on this engine until it is registered: {}", id, missing);
      }
      return null;
    }
    Active job = new Active(id, spec, row.get().deadlineAt());
    Active raced = active.putIfAbsent(id, job);
    if (raced == null && spec.consumer() != null) {
      startDelivery(id, spec.consumer());
    }
    return raced != null ? raced : job;
  }

  /** Purges one bounded batch, so the dispatcher stays responsive; returns how many. */
  private int purge(Instant now) {
    // A submission still unsealed after an hour died half-written: free its idempotency key then,
    // not after the finished jobs' whole retention. (No submission streams its items that long.)
    Duration unsealedAge =
        retention.compareTo(UNSEALED_RETENTION) < 0 ? retention : UNSEALED_RETENTION;
    int purged = store.purge(now.minus(retention), now.minus(unsealedAge), PURGE_BATCH);
    store.forgetNodes(now.minus(NODE_RETENTION));
    if (purged > 0) {
      log.info("purged {} jobs older than {}", purged, retention);
    }
    return purged;
  }

  /** Completes local outcome futures of jobs that some engine has finished. */
  private void observeHandles() {
    for (Handle h : handles.values()) {
      if (!h.future.isDone()) {
        store.job(h.id).filter(row -> row.state().isFinal()).ifPresent(this::completeOutcome);
      }
    }
  }

  private void await(Duration timeout) {
    wakeLock.lock();
    try {
      if (!wakeRequested && !closed) {
        wake.await(timeout.toNanos(), TimeUnit.NANOSECONDS);
      }
      wakeRequested = false;
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    } finally {
      wakeLock.unlock();
    }
  }

  private void setClaiming(boolean now) {
    wakeLock.lock();
    try {
      if (claiming != now) {
        claiming = now;
        if (!now) {
          claimsPaused.signalAll();
        }
      }
    } finally {
      wakeLock.unlock();
    }
  }

  /**
   * Takes up to {@code wanted} of this node's slots before a claim, so the dispatcher and the
   * writer, which both claim, can never together run more than the node's cap; a claim that gets
   * fewer items gives the rest back.
   *
   * @return how many slots were taken, 0 when the node is full
   */
  private int reserveSlots(int wanted) {
    while (true) {
      int running = localRunning.get();
      int room = Math.min(wanted, nodeConcurrency - running);
      if (room <= 0) {
        return 0;
      }
      if (localRunning.compareAndSet(running, running + room)) {
        return room;
      }
    }
  }

  /**
   * Waits while the dispatcher claims full batches, for at most MAX_WRITE_DEFERRAL_NANOS; the
   * reports that arrive meanwhile join the batch.
   */
  private void deferWhileClaiming() throws InterruptedException {
    long deadline = System.nanoTime() + MAX_WRITE_DEFERRAL_NANOS;
    wakeLock.lock();
    try {
      while (claiming && !closed) {
        long left = deadline - System.nanoTime();
        if (left <= 0) {
          return;
        }
        claimsPaused.awaitNanos(left);
      }
    } finally {
      wakeLock.unlock();
    }
  }

  /**
   * Wakes the deliveries and a closing engine, but not the dispatcher: new results, no new work.
   */
  private void signalConsumers() {
    wakeLock.lock();
    try {
      delivered.signalAll();
      if (closed) {
        closing.signalAll();
      }
    } finally {
      wakeLock.unlock();
    }
  }

  /** Wakes every waiter: the dispatcher, the deliveries and a closing engine. */
  private void signal() {
    wakeLock.lock();
    try {
      wakeRequested = true;
      wake.signalAll();
      delivered.signalAll();
      if (closed) {
        closing.signalAll();
      }
    } finally {
      wakeLock.unlock();
    }
  }

  // ------------------------------------------------------------------ attempts

  /**
   * Gives an attempt's slot on this node back, waking the dispatcher when it frees a slot of a full
   * node, which any job may take. An attempt whose report follows calls {@link #releaseSlotQuietly}
   * instead: the writer refills the slot in the transaction that records the report, within the
   * job's fair share, and wakes the dispatcher itself when that refill comes up short. Waking it
   * for every freed slot of a full node made it claim items one slot at a time, each in a
   * transaction of its own on the job's lock, while the writer waited behind them.
   */
  private void releaseSlot() {
    if (releaseSlotQuietly()) {
      signal();
    }
  }

  /** Gives an attempt's slot back; true when the node was full. */
  private boolean releaseSlotQuietly() {
    return localRunning.getAndDecrement() >= nodeConcurrency;
  }

  /** Starts an attempt of a claimed item, whose slot on this node its claimer has reserved. */
  private void launch(Active job, ClaimedTask task, AtomicInteger runningUnderOwner) {
    runningUnderOwner.incrementAndGet();
    job.running.incrementAndGet();
    unreported.incrementAndGet();
    try {
      executor.execute(
          () -> {
            try {
              run(job, task, runningUnderOwner);
            } finally {
              unreported.decrementAndGet();
            }
          });
    } catch (RuntimeException e) {
      unreported.decrementAndGet();
      job.running.decrementAndGet();
      releaseSlot();
      runningUnderOwner.decrementAndGet();
      abandonOwnerToken();
      log.warn(
          "could not start an attempt of job {} item {}; it will be reclaimed",
          job.id,
          task.index(),
          e);
    }
  }

  private void run(Active job, ClaimedTask task, AtomicInteger runningUnderOwner) {
    Instant start = clock.instant();
    Duration timeout = job.spec.attemptTimeout();
    Attempt attempt =
        new Attempt(
            job.id, task.index(), task.attempt(), Attempt.deadline(start, timeout, job.deadlineAt));
    job.attempts.add(attempt);
    Future<?> timer;
    try {
      timer = timeout == null ? null : scheduler.schedule(timeout, attempt::timeOut);
    } catch (RuntimeException e) {
      job.attempts.remove(attempt);
      job.running.decrementAndGet();
      releaseSlot();
      runningUnderOwner.decrementAndGet();
      abandonOwnerToken();
      log.warn(
          "could not time an attempt of job {} item {}; it will be reclaimed",
          job.id,
          task.index(),
          e);
      return;
    }
    Object result = null;
    Throwable failure = null;
    boolean began = false;
    try {
      if (attempt.begin()) {
        began = true;
        listener.onAttemptStarted(job.id);
        try {
          Registry.Fn fn = job.fn();
          Object item = json.readValue(task.item(), fn.itemType());
          result = fn.function().apply(item, attempt);
        } catch (Throwable e) {
          failure = e;
        } finally {
          attempt.end();
          listener.onAttemptEnded(job.id);
        }
      } else {
        return; // stopped before it began: its job ended
      }
    } finally {
      if (timer != null) {
        timer.cancel(false);
      }
      job.attempts.remove(attempt);
      runningUnderOwner.decrementAndGet();
      job.running.decrementAndGet();
      boolean reportFollows = began && (attempt.timedOut || !attempt.isCancelled());
      if (releaseSlotQuietly() && !reportFollows) {
        signal();
      }
    }
    if (attempt.timedOut) {
      failure = new AttemptTimeoutException(timeout);
    } else if (attempt.isCancelled()) {
      return; // its job ended while it ran; the store has already cancelled the item
    }
    long millis = Duration.between(start, clock.instant()).toMillis();
    reports.add(new Report(job.id, completion(job, task, result, failure, millis)));
  }

  private Completion completion(
      Active job, ClaimedTask task, Object result, Throwable failure, long millis) {
    if (failure == null) {
      try {
        Object value = result;
        if (job.spec.transform() != null) {
          try {
            Registry.Transform t = job.transform();
            value = t.transform().apply(json.convertValue(result, t.resultType()));
          } catch (RuntimeException e) {
            throw new TransformException(e);
          }
        }
        return new Completion.Succeeded(
            task.index(), task.fence(), task.attempt(), encode(value), millis);
      } catch (RuntimeException e) {
        return new Completion.Failed(
            task.index(), task.fence(), task.attempt(), errorJson(e), millis);
      }
    }
    if (task.attempt() < job.retry.maxAttempts() && job.retry.isRetryable(failure)) {
      Duration delay =
          job.retry.delayBefore(task.attempt(), ThreadLocalRandom.current().nextDouble(), failure);
      return new Completion.Retry(
          task.index(), task.fence(), errorJson(failure), clock.instant().plus(delay));
    }
    return new Completion.Failed(
        task.index(), task.fence(), task.attempt(), errorJson(failure), millis);
  }

  // ------------------------------------------------------------------ writer

  private record Report(JobId job, Completion completion) {}

  /** Queued by close() so a writer waiting a whole poll interval for reports sees it at once. */
  private static final Report WAKE_WRITER = new Report(null, null);

  private void write() {
    List<Report> batch = new ArrayList<>();
    long failures = 0;
    while (!closed || !reports.isEmpty() || !batch.isEmpty()) {
      try {
        if (batch.isEmpty()) {
          Report first = reports.poll(pollInterval.toNanos(), TimeUnit.NANOSECONDS);
          if (first == null || first == WAKE_WRITER) {
            continue;
          }
          batch.add(first);
          deferWhileClaiming();
          reports.drainTo(batch, WRITE_BATCH - 1);
        }
        record(batch);
        batch.clear();
        failures = 0;
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
        return;
      } catch (StoreException e) {
        // Keep the batch and try again: the leases may run out meanwhile, and then the fences
        // make these reports stale rather than double-counted. A batch that keeps failing is
        // dropped in the end, so one poisoned report cannot stop all recording.
        failures++;
        if (failures > 20) {
          log.error(
              "recording results failed {} times; {} reports dropped", failures, batch.size(), e);
          batch.clear();
          abandonOwnerToken();
          failures = 0;
          continue;
        }
        log.warn("recording results failed; retrying (failure {}): {}", failures, e.getMessage());
        sleep(backoff(failures));
        if (closed && failures > 3) {
          return;
        }
      } catch (RuntimeException | Error e) {
        // Not the store's fault, so retrying would fail the same way. The reports are dropped;
        // their leases run out and the items run again, which at-least-once execution allows.
        log.error("recording results failed; {} reports dropped", batch.size(), e);
        batch.clear();
        abandonOwnerToken();
      }
    }
  }

  private static void sleep(Duration d) {
    try {
      Thread.sleep(d);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
  }

  private void record(List<Report> batch) {
    Map<JobId, List<Completion>> byJob = new LinkedHashMap<>();
    for (Report r : batch) {
      if (r != WAKE_WRITER) {
        byJob.computeIfAbsent(r.job(), k -> new ArrayList<>()).add(r.completion());
      }
    }
    Instant now = clock.instant();
    boolean dispatcherNeeded = false;
    for (Map.Entry<JobId, List<Completion>> e : byJob.entrySet()) {
      Active job = active.get(e.getKey());
      if (job == null) {
        job = active(e.getKey());
      }
      List<Completion> completions = e.getValue();
      Recorded recorded = recordAndRefill(e.getKey(), job, completions, now);
      report(e.getKey(), completions, recorded.settled());
      if (!recorded.settled().isEmpty()) {
        store.signals().publish(StoreSignals.Kind.RESULTS, e.getKey());
      }
      if (job != null && !recorded.settled().isEmpty()) {
        afterSettled(job, recorded);
      }
      // A short refill leaves work the dispatcher may have: a raised cap, a deadline, slots of
      // the node for other jobs. A full one leaves it nothing, and waking it costs a claim.
      dispatcherNeeded |= recorded.claimed().size() < completions.size();
    }
    if (dispatcherNeeded) {
      signal();
    } else {
      signalConsumers();
    }
  }

  /**
   * Records one job's reports and, in the same store call, claims as many of its next items as the
   * reports freed slots, then starts them. The slots go straight to the next items, where a
   * separate claim by the dispatcher would leave them empty for another transaction and a thread
   * hand-off; the dispatcher still claims for new jobs, raised caps, due retries and free slots of
   * the node.
   */
  private Recorded recordAndRefill(
      JobId id, Active job, List<Completion> completions, Instant now) {
    boolean mayClaim =
        job != null && !draining && (job.deadlineAt == null || now.isBefore(job.deadlineAt));
    // Every slot the batch freed, not a claim batch's worth: a wave of equally slow calls ends
    // together, and slots left over would idle until the dispatcher's next poll.
    int room =
        mayClaim ? reserveSlots(Math.min(completions.size(), fairRoom(job, active.size()))) : 0;
    String token = owner;
    Recorded recorded = null;
    try {
      recorded = store.completeAndClaim(id, completions, now, token, room, now.plus(lease));
    } catch (RuntimeException e) {
      if (room > 0) {
        // The claim may have committed without us hearing of it: let its items expire.
        owner = newOwnerToken();
      }
      throw e;
    } finally {
      localRunning.addAndGet((recorded == null ? 0 : recorded.claimed().size()) - room);
    }
    if (!recorded.claimed().isEmpty()) {
      AtomicInteger running = runningByOwner.computeIfAbsent(token, k -> new AtomicInteger());
      for (ClaimedTask task : recorded.claimed()) {
        launch(job, task, running);
      }
    }
    return recorded;
  }

  /**
   * Tells the listener what one batch recorded: the settled results the store returned (so each
   * item is reported once, stale reports never) and the retries that were sent.
   */
  private void report(JobId job, List<Completion> sent, List<StoredResult> settled) {
    if (listener == SafeListener.NONE) {
      return;
    }
    for (Completion c : sent) {
      if (c instanceof Completion.Retry) {
        listener.onRetry(job);
      }
    }
    for (StoredResult r : settled) {
      listener.onTaskSettled(
          job,
          r.status() == TaskState.SUCCEEDED ? ItemStatus.SUCCEEDED : ItemStatus.FAILED,
          r.attempts(),
          Duration.ofMillis(r.durationMillis()));
    }
  }

  private void afterSettled(Active job, Recorded recorded) {
    boolean anyFailed = recorded.settled().stream().anyMatch(r -> r.status() == TaskState.FAILED);
    if (anyFailed && job.failure.mode() == FailureMode.FAIL_FAST) {
      Optional<JobRow> row = store.job(job.id);
      if (row.isPresent() && job.failure.isExceeded(row.get().failed(), row.get().total())) {
        terminate(job, JobState.FAILED, null);
        return;
      }
    }
    // Known from the recording itself, since finish() locks the job: most batches are not the last.
    if (recorded.drained()) {
      store.finish(job.id, clock.instant(), null, null, folder(job)).ifPresent(this::onFinished);
    }
  }

  private void terminate(Active job, JobState state, String error) {
    store.finish(job.id, clock.instant(), state, error, folder(job)).ifPresent(this::onFinished);
    job.stopAll();
  }

  private void onFinished(JobRow row) {
    active.remove(row.id());
    store.signals().publish(StoreSignals.Kind.RESULTS, row.id());
    completeOutcome(row);
    signal();
  }

  /** Folds the stored results into the aggregate and decides the state, inside finish(). */
  private JobStore.Folder folder(Active job) {
    return (row, succeeded) -> {
      String aggregate = null;
      if (job.spec.reducer() != null) {
        try {
          aggregate = encode(reduce(job, succeeded));
        } catch (RuntimeException | Error e) {
          return new Verdict(JobState.FAILED, null, "the reducer failed: " + e.getMessage());
        }
      }
      if (job.failure.isExceeded(row.failed(), row.total())) {
        return new Verdict(
            JobState.FAILED, aggregate, job.failure.exceededMessage(row.failed(), row.total()));
      }
      return new Verdict(JobState.SUCCEEDED, aggregate, null);
    };
  }

  private Object reduce(Active job, Iterator<SucceededValue> values) {
    String name = job.spec.reducer();
    if (JsonReducers.isBuiltIn(name)) {
      long[] index = {-1};
      Iterator<JsonNode> nodes =
          new Iterator<>() {
            @Override
            public boolean hasNext() {
              return values.hasNext();
            }

            @Override
            public JsonNode next() {
              SucceededValue next = values.next();
              index[0] = next.index();
              return decode(next.value(), JsonNode.class);
            }
          };
      try {
        return JsonReducers.fold(name, nodes);
      } catch (IllegalArgumentException e) {
        // Name the item whose value the fold refused, so its owner can find it.
        throw index[0] < 0
            ? e
            : new IllegalArgumentException(e.getMessage() + " (item " + index[0] + ")", e);
      }
    }
    Registry.Fold fold = registry.makeReducer(name, job.id, job.spec.reducerConfig());
    Object aggregate = fold.reducer().identity();
    while (values.hasNext()) {
      SucceededValue next = values.next();
      Object value = json.convertValue(decode(next.value(), JsonNode.class), fold.resultType());
      aggregate = fold.reducer().accumulate(aggregate, next.index(), value);
    }
    return aggregate;
  }

  // ------------------------------------------------------------------ consumers

  /** The acknowledgement key under which a consumer's {@link JobFinishedListener} call is kept. */
  private static String finishedKey(String consumerName) {
    return consumerName + "#finished";
  }

  /** Restarts the delivery of every stored job whose consumer has not handled all of it. */
  private void resumeDeliveries() {
    // Every job, page by page: a consumer behind on an old job is owed its results as much as one
    // on a new job, however many jobs the store keeps.
    List<JobRow> page = store.listJobs(RESUME_PAGE, null);
    while (!page.isEmpty()) {
      for (JobRow row : page) {
        DurableSpec spec = decode(row.spec(), DurableSpec.class);
        if (spec.consumer() != null
            && registry.hasConsumer(spec.consumer())
            && owesDelivery(row, spec.consumer())) {
          startDelivery(row.id(), spec.consumer());
        }
      }
      page = page.size() < RESUME_PAGE ? List.of() : nextPage(page);
    }
  }

  /**
   * The page after {@code page}. A cursor naming a job deleted meanwhile (purged, or deleted over
   * the API) reads as the end, so the rows before it are tried in turn: some job of a full page
   * still exists unless the whole page went, and rows read twice only find their delivery running.
   */
  private List<JobRow> nextPage(List<JobRow> page) {
    for (int i = page.size() - 1; i >= 0; i--) {
      List<JobRow> next = store.listJobs(RESUME_PAGE, page.get(i).id());
      if (!next.isEmpty() || store.job(page.get(i).id()).isPresent()) {
        return next;
      }
    }
    return List.of();
  }

  private void startDelivery(JobId id, String consumerName) {
    Thread loop =
        Thread.ofVirtual().name("fanout-delivery-" + id).unstarted(() -> deliver(id, consumerName));
    if (delivering.putIfAbsent(id, loop) == null) {
      loop.start();
    }
  }

  /**
   * Hands a job's stored results to its consumer in seq order, from after the last one it
   * acknowledged, acknowledging as it goes. A consumer that throws gets the same result again after
   * a backoff (never skipped, never spinning); what it handled before is acknowledged first, so a
   * restart does not repeat it. Once the job is final and everything is acknowledged, a consumer
   * that is a {@link JobFinishedListener} is told, and that too is acknowledged, under {@link
   * #finishedKey} with the value {@code lastSeq + 1}: a job that gets new results later is reported
   * again.
   */
  private void deliver(JobId id, String consumerName) {
    DeliveryLease lease = new DeliveryLease(id, consumerName);
    try {
      Optional<JobRow> stored = store.job(id);
      if (stored.isEmpty()) {
        return;
      }
      Registry.Sink sink =
          registry.makeConsumer(
              consumerName, id, decode(stored.get().spec(), DurableSpec.class).consumerConfig());
      @SuppressWarnings("unchecked")
      Class<Object> type = (Class<Object>) sink.resultType();
      long acked = store.acknowledged(id, consumerName);
      int failures = 0;
      while (!closed) {
        if (!lease.hold()) {
          // Another node delivers: done when it has handed everything over, else wait to take
          // over should it die.
          Optional<JobRow> row = store.job(id);
          if (row.isEmpty() || !owesDelivery(row.get(), consumerName)) {
            return;
          }
          lease.awaitTurn();
          continue;
        }
        // Another node may have held the lease since this loop last did, and handed over more.
        acked = Math.max(acked, lease.acknowledged());
        List<StoredResult> page = store.results(id, acked, 500);
        if (page.isEmpty()) {
          Optional<JobRow> row = store.job(id);
          if (row.isEmpty()) {
            return;
          }
          if (!row.get().state().isFinal() || row.get().lastSeq() > acked) {
            awaitDelivery();
            continue;
          }
          try {
            reportFinished(id, consumerName, sink, row.get());
            return;
          } catch (RuntimeException | Error e) {
            failures++;
            backOff(id, consumerName, "the end of the job", failures, e);
            continue;
          }
        }
        long handled = acked;
        Throwable failure = null;
        long failedIndex = -1;
        for (StoredResult r : page) {
          // A slow consumer may outlast the lease: stop where another node may have taken over,
          // and pass over what it handed over meanwhile.
          if (closed || !lease.holdQuietly()) {
            break;
          }
          if (r.seq() <= lease.acknowledged()) {
            handled = Math.max(handled, r.seq());
            continue;
          }
          try {
            sink.consumer().accept(itemResult(r, type));
          } catch (RuntimeException | Error e) {
            failure = e;
            failedIndex = r.index();
            break;
          }
          handled = r.seq();
        }
        if (handled > acked) {
          store.acknowledge(id, consumerName, handled);
          acked = handled;
          failures = 0;
        }
        if (failure != null) {
          failures++;
          backOff(id, consumerName, "item " + failedIndex, failures, failure);
        }
      }
    } catch (RuntimeException e) {
      // The store or the consumer's factory failed: try the whole delivery again after a wait,
      // from the last acknowledgement, rather than stop until the next restart.
      if (!closed) {
        backOff(id, consumerName, "starting the delivery", 1, e);
        delivering.remove(id, Thread.currentThread());
        if (!closed) {
          startDelivery(id, consumerName);
        }
        return;
      }
    } finally {
      lease.release();
      delivering.remove(id, Thread.currentThread());
      // A job retried while this loop was finishing was activated again, but found this loop
      // still registered and started none: look once more, now that it is gone.
      restartIfPending(id, consumerName);
    }
  }

  /**
   * Whether a consumer is still owed something of a job: it is not final, or results after the
   * consumer's acknowledgement, or the report of its end.
   */
  private boolean owesDelivery(JobRow row, String consumerName) {
    return !row.state().isFinal()
        || store.acknowledged(row.id(), consumerName) < row.lastSeq()
        || store.acknowledged(row.id(), finishedKey(consumerName)) <= row.lastSeq();
  }

  /**
   * This node's hold on delivering one job to one consumer: in a cluster every node that runs the
   * job starts a delivery loop, and the store's lease lets one of them hand the results over. The
   * holder renews it every third of the lease; the others look again as often, so a holder that
   * dies is replaced within about a lease and a third.
   */
  private final class DeliveryLease {
    private final JobId id;
    private final String consumerName;

    /**
     * Per loop, not per node: a loop restarted after a failure must not have the old loop's final
     * release cancel the lease it has just taken.
     */
    private final String holder = workerId + "#" + UUID.randomUUID().toString().substring(0, 8);

    private boolean held;
    private long checkedAt;
    private long acknowledged;

    DeliveryLease(JobId id, String consumerName) {
      this.id = id;
      this.consumerName = consumerName;
    }

    /** True when this node holds the lease, asking the store at most every third of the lease. */
    boolean hold() {
      long now = System.nanoTime();
      if (checkedAt != 0 && now - checkedAt < lease.toNanos() / 3) {
        return held;
      }
      Instant at = clock.instant();
      held = store.leaseDelivery(id, consumerName, holder, at, at.plus(lease));
      checkedAt = now;
      if (held) {
        // The lease may have been another's since the last look: its acknowledgements count.
        acknowledged = store.acknowledged(id, consumerName);
      }
      return held;
    }

    /** Like {@link #hold}, with a store failure read as "not held", so handled work is kept. */
    boolean holdQuietly() {
      try {
        return hold();
      } catch (RuntimeException e) {
        log.debug(
            "job {}: could not renew the delivery to '{}': {}", id, consumerName, e.toString());
        held = false;
        return false;
      }
    }

    /** The consumer's acknowledgement as the store had it when the lease was last renewed. */
    long acknowledged() {
      return acknowledged;
    }

    /** Gives the lease up, so another node may take it at once. */
    void release() {
      if (checkedAt == 0) {
        return; // never asked for it
      }
      try {
        store.releaseDelivery(id, consumerName, holder);
      } catch (RuntimeException e) {
        // Then it runs out: another node takes it over later, nothing is lost.
        log.debug(
            "job {}: could not release the delivery to '{}': {}", id, consumerName, e.toString());
      }
    }

    /** Waits until this node should ask for the lease again, or until it closes. */
    void awaitTurn() {
      long wait = lease.toNanos() / 3 - (System.nanoTime() - checkedAt);
      wakeLock.lock();
      try {
        while (wait > 0 && !closed) {
          wait = closing.awaitNanos(wait);
        }
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
      } finally {
        wakeLock.unlock();
      }
    }
  }

  private void restartIfPending(JobId id, String consumerName) {
    if (closed) {
      return;
    }
    try {
      Optional<JobRow> row = store.job(id);
      if (row.isPresent() && owesDelivery(row.get(), consumerName)) {
        startDelivery(id, consumerName);
      }
    } catch (RuntimeException e) {
      log.warn("job {}: could not check for deliveries left to '{}'", id, consumerName, e);
    }
  }

  private void reportFinished(JobId id, String consumerName, Registry.Sink sink, JobRow row) {
    String key = finishedKey(consumerName);
    if (store.acknowledged(id, key) > row.lastSeq()) {
      return;
    }
    if (sink.finished() != null) {
      sink.finished().onJobFinished(status(row));
    }
    store.acknowledge(id, key, row.lastSeq() + 1);
  }

  /**
   * Waits before a consumer gets its result again: full jitter under {@code consumerBackoff}
   * doubled per failure in a row, capped at {@code consumerMaxBackoff}. Only close cuts it short.
   */
  private void backOff(JobId id, String consumerName, String what, int failures, Throwable e) {
    long base = consumerBackoff.toNanos();
    long max = consumerMaxBackoff.toNanos(); // at most a day: FanOut.Builder checks it
    int doublings = Math.min(failures - 1, 62);
    long ceiling =
        doublings >= Long.numberOfLeadingZeros(base) - 1 ? max : Math.min(max, base << doublings);
    long wait = ThreadLocalRandom.current().nextLong(ceiling + 1);
    if (failures == 1) {
      log.warn(
          "job {}: consumer '{}' threw on {}; retrying it with backoff", id, consumerName, what, e);
    } else {
      log.warn(
          "job {}: consumer '{}' threw on {} ({} failures in a row; next try in {} ms): {}",
          id,
          consumerName,
          what,
          failures,
          TimeUnit.NANOSECONDS.toMillis(wait),
          e.toString());
    }
    wakeLock.lock();
    try {
      long left = wait;
      while (left > 0 && !closed) {
        left = closing.awaitNanos(left);
      }
    } catch (InterruptedException ie) {
      Thread.currentThread().interrupt();
    } finally {
      wakeLock.unlock();
    }
  }

  private void awaitDelivery() {
    wakeLock.lock();
    try {
      // Within a third of the lease too, so that waiting never lets the delivery lease lapse.
      delivered.await(Math.min(pollInterval.toNanos(), lease.toNanos() / 3), TimeUnit.NANOSECONDS);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    } finally {
      wakeLock.unlock();
    }
  }

  private <T> ItemResult<T> itemResult(StoredResult r, Class<T> type) {
    boolean ok = r.status() == TaskState.SUCCEEDED;
    return new ItemResult<>(
        r.jobId(),
        r.seq(),
        r.index(),
        ok ? ItemStatus.SUCCEEDED : ItemStatus.FAILED,
        ok ? json.convertValue(decode(r.value(), JsonNode.class), type) : null,
        ok ? null : failure(r.error()),
        r.attempts(),
        Duration.ofMillis(r.durationMillis()));
  }

  // ------------------------------------------------------------------ status and outcome

  JobStatus status(JobRow row) {
    long settled = row.succeeded() + row.failed() + row.cancelled();
    return new JobStatus(
        row.id(),
        row.state(),
        row.sealed() ? OptionalLong.of(row.total()) : OptionalLong.empty(),
        row.sealed() ? row.total() - row.running() - settled : row.pending(),
        row.running(),
        row.succeeded(),
        row.failed(),
        row.cancelled(),
        row.retries(),
        row.maxConcurrency(),
        row.createdAt(),
        row.startedAt(),
        row.finishedAt(),
        row.error());
  }

  private void completeOutcome(JobRow seen) {
    Handle h = handles.get(seen.id());
    if (h == null || h.future.isDone()) {
      return;
    }
    // The row may have been read before a retryFailed() that a caller woken by this very outcome
    // made, and the handle found here may wait for that new run: only the current row decides.
    JobRow row = store.job(seen.id()).orElse(seen);
    if (!row.state().isFinal() || !Objects.equals(row.finishedAt(), seen.finishedAt())) {
      return;
    }
    List<ItemFailure> failures = new ArrayList<>();
    long after = 0;
    // The row's count says whether there is anything to read: a store without an index of the
    // failures (H2) walks every result of the job to find none.
    for (List<StoredResult> page;
        row.failed() > 0 && !(page = store.failures(row.id(), after, 1_000)).isEmpty(); ) {
      for (StoredResult r : page) {
        failures.add(new ItemFailure(r.index(), failure(r.error()), r.attempts()));
      }
      after = page.get(page.size() - 1).seq();
    }
    failures.sort(java.util.Comparator.comparingLong(ItemFailure::index));
    JsonNode aggregate = row.aggregate() == null ? null : decode(row.aggregate(), JsonNode.class);
    // Callers keep their handle; the engine need not, and job(id) makes a new one on demand.
    // Removed before the future completes: a caller woken by it may retry the job and ask for
    // the new run's outcome at once, which must not find this finished handle.
    handles.remove(row.id(), h);
    h.future.complete(new JobOutcome<>(status(row), aggregate, failures));
  }

  private TaskFailedException failure(String errorJson) {
    JsonNode error = decode(errorJson, JsonNode.class);
    return new TaskFailedException(
        error.path("type").asText("unknown"),
        error.hasNonNull("message") ? error.get("message").asText() : null);
  }

  private String errorJson(Throwable e) {
    ObjectNode error = json.createObjectNode();
    error.put("type", e.getClass().getName());
    error.put("message", e.getMessage());
    // A stable code for what programs branch on: the function's own, or the engine's.
    if (e instanceof TaskException task) {
      error.put("code", task.code());
      task.details()
          .forEach(
              (k, v) -> {
                if (!error.has(k)) {
                  try {
                    error.set(k, json.valueToTree(v));
                  } catch (IllegalArgumentException unwritable) {
                    error.put(k, String.valueOf(v));
                  }
                }
              });
    } else if (e instanceof TransformException) {
      error.put("code", "transform_error");
    } else if (e instanceof AttemptTimeoutException) {
      error.put("code", "timeout");
    }
    return error.toString();
  }

  private String encode(Object value) {
    try {
      return json.writeValueAsString(value);
    } catch (JsonProcessingException e) {
      throw new IllegalArgumentException(
          "cannot encode " + value.getClass().getName() + " as JSON: " + e.getOriginalMessage(), e);
    }
  }

  private <T> T decode(String text, Class<T> type) {
    try {
      return json.readValue(text, type);
    } catch (JsonProcessingException e) {
      throw new IllegalStateException(
          "cannot decode stored JSON as " + type.getName() + ": " + e.getOriginalMessage(), e);
    }
  }

  /** An active job as this engine runs it. */
  private final class Active {
    final JobId id;
    final DurableSpec spec;
    final RetryPolicy retry;
    final FailurePolicy failure;
    final Instant deadlineAt;
    final Set<Attempt> attempts = ConcurrentHashMap.newKeySet();

    /** Attempts of this job running on this node, for its fair share of the node's slots. */
    final AtomicInteger running = new AtomicInteger();

    // Made on first use, once per job: a factory's component may hold per-job state.
    private final ReentrantLock making = new ReentrantLock();
    private volatile Registry.Fn fn;
    private volatile Registry.Transform transform;

    Active(JobId id, DurableSpec spec, Instant deadlineAt) {
      this.id = id;
      this.spec = spec;
      this.retry = spec.retryPolicy();
      this.failure = spec.failurePolicy();
      this.deadlineAt = deadlineAt;
    }

    void stopAll() {
      attempts.forEach(Attempt::stop);
    }

    Registry.Fn fn() {
      Registry.Fn f = fn;
      if (f == null) {
        // A lock, not a monitor: the factory may do I/O, which must not pin a carrier thread.
        making.lock();
        try {
          f = fn;
          if (f == null) {
            f = fn = registry.makeFunction(spec.function(), id, spec.functionConfig());
          }
        } finally {
          making.unlock();
        }
      }
      return f;
    }

    Registry.Transform transform() {
      Registry.Transform t = transform;
      if (t == null) {
        making.lock();
        try {
          t = transform;
          if (t == null) {
            t = transform = registry.makeTransform(spec.transform(), id, spec.transformConfig());
          }
        } finally {
          making.unlock();
        }
      }
      return t;
    }
  }

  /** A durable job as a caller holds it; every read goes to the store. */
  private final class Handle implements JobHandle<JsonNode> {
    final JobId id;
    final CompletableFuture<JobOutcome<JsonNode>> future = new CompletableFuture<>();

    Handle(JobId id) {
      this.id = id;
    }

    private JobRow row() {
      return store.job(id).orElseThrow(() -> new NoSuchJobException(id));
    }

    @Override
    public JobId id() {
      return id;
    }

    @Override
    public JobStatus status() {
      JobRow row = row();
      if (row.state().isFinal()) {
        completeOutcome(row);
      }
      return DurableEngine.this.status(row);
    }

    @Override
    public CompletableFuture<JobOutcome<JsonNode>> outcome() {
      start();
      if (!future.isDone()) {
        Handle registered = handles.putIfAbsent(id, this);
        if (registered != null && registered != this) {
          return registered.outcome();
        }
        store.job(id).filter(r -> r.state().isFinal()).ifPresent(r -> completeOutcome(r));
      } else if (!future.isCancelled()) {
        // Completed once; if the job was retried since, follow its new run instead.
        Instant finishedAt = future.join().status().finishedAt();
        Optional<JobRow> now = store.job(id);
        if (now.isPresent() && !Objects.equals(now.get().finishedAt(), finishedAt)) {
          Handle current = handle(id);
          if (current != this) {
            return current.outcome();
          }
        }
      }
      return future.copy();
    }

    @Override
    public Optional<JsonNode> metadata() {
      // Read as stored, not through DurableSpec: the caller's decimals keep every digit (1.50
      // stays 1.50), where the engine's mapper would make them doubles.
      try {
        JsonNode metadata =
            json.reader()
                .with(DeserializationFeature.USE_BIG_DECIMAL_FOR_FLOATS)
                .without(JsonNodeFeature.STRIP_TRAILING_BIGDECIMAL_ZEROES)
                .readTree(row().spec())
                .get("metadata");
        return metadata == null || metadata.isNull() ? Optional.empty() : Optional.of(metadata);
      } catch (JsonProcessingException e) {
        throw new IllegalStateException("job " + id + " has a stored spec that is not JSON", e);
      }
    }

    @Override
    public boolean retryFailed() {
      JobRow row = row();
      if (!row.state().isFinal() || row.state() == JobState.CANCELLED) {
        throw new IllegalStateException(
            "cannot retry the failed items of job "
                + id
                + ": it is "
                + row.state()
                + "; only a SUCCEEDED or FAILED job retries");
      }
      Optional<JobRow> retried = store.retryFailed(id);
      if (retried.isEmpty()) {
        JobState now = row().state();
        if (!now.isFinal() || now == JobState.CANCELLED) {
          throw new IllegalStateException(
              "cannot retry the failed items of job " + id + ": it is " + now);
        }
        return false;
      }
      signal();
      store.signals().publish(StoreSignals.Kind.WORK, id);
      return true;
    }

    @Override
    public boolean cancel() {
      Active job = active.get(id);
      DurableSpec spec = job != null ? job.spec : decode(row().spec(), DurableSpec.class);
      Active runtime = job != null ? job : new Active(id, spec, null);
      Optional<JobRow> ended =
          store.finish(id, clock.instant(), JobState.CANCELLED, null, folder(runtime));
      runtime.stopAll();
      ended.ifPresent(DurableEngine.this::onFinished);
      return ended.isPresent();
    }

    @Override
    public boolean pause() {
      JobRow row = row();
      requireNotFinal(row, "pause");
      if (row.state() == JobState.PAUSED) {
        return false;
      }
      return store.setPaused(id, true);
    }

    @Override
    public boolean resume() {
      JobRow row = row();
      requireNotFinal(row, "resume");
      if (row.state() != JobState.PAUSED) {
        return false;
      }
      boolean resumed = store.setPaused(id, false);
      signal();
      store.signals().publish(StoreSignals.Kind.WORK, id);
      return resumed;
    }

    @Override
    public void setMaxConcurrency(int maxConcurrency) {
      if (maxConcurrency < 1) {
        throw new IllegalArgumentException("maxConcurrency must be >= 1, got " + maxConcurrency);
      }
      requireNotFinal(row(), "setMaxConcurrency");
      store.setMaxConcurrency(id, maxConcurrency);
      signal();
      store.signals().publish(StoreSignals.Kind.WORK, id);
    }

    private void requireNotFinal(JobRow row, String action) {
      if (row.state().isFinal()) {
        throw new IllegalStateException(
            "cannot " + action + " job " + id + ": it is " + row.state());
      }
    }

    @Override
    public String toString() {
      return "DurableJob[" + id + "]";
    }
  }
}
