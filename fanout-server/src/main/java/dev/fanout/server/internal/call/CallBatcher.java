package dev.fanout.server.internal.call;

import com.fasterxml.jackson.databind.JsonNode;
import dev.fanout.TaskContext;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Objects;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.locks.Condition;
import java.util.concurrent.locks.ReentrantLock;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Coalesces the attempts of one job that run at the same time into batch calls: the engine runs a
 * function once per item, and this turns those runs back into calls of up to {@code size} items.
 *
 * <p>An attempt joins the open batch and waits. A batch closes to newcomers when it is full; it is
 * sent when it is full, when the job's whole {@code maxConcurrency} is waiting here or in calls (no
 * other item can arrive before a call returns, so waiting longer only adds latency), or when the
 * linger has passed since its first item joined. It then waits for the job's {@link CallLimiter}
 * (one permit per call), still taking newcomers meanwhile, so a throttled job sends fuller batches.
 * Each batch is sent by a virtual thread of its own, never by an attempt's thread: an attempt that
 * is interrupted (cancelled, timed out) only leaves, and the others' call goes on. An attempt that
 * leaves before its batch is sealed is taken out of it; when every attempt of a sent batch has
 * left, the call is cancelled.
 *
 * <p>The answer is split back by position: the batch is sent in ascending index order, and the
 * sender returns one result per item in that order. A failed call fails every item of the batch
 * with the same classified {@link CallException} (each gets its own copy), and each item then
 * retries on its own under the job's retry policy.
 */
final class CallBatcher {

  /** Sends one sealed batch. */
  @FunctionalInterface
  interface Sender {
    /**
     * Makes the call.
     *
     * @param batch the attempts, in ascending index order, never empty
     * @param permit the call's permit; the sender reports the outcome on it
     * @return one result per attempt, in the same order
     * @throws CallException when the call failed; every attempt of the batch fails with it
     * @throws InterruptedException when every attempt left and the call was abandoned
     */
    List<JsonNode> send(List<Entry> batch, CallLimiter.Permit permit) throws InterruptedException;
  }

  /** One attempt waiting for its batch's answer. */
  static final class Entry {
    private final JsonNode item;
    private final TaskContext context;
    private final CompletableFuture<JsonNode> result = new CompletableFuture<>();
    // Guarded by the batcher's lock.
    private Batch batch;
    private boolean sent;
    private boolean left;

    private Entry(JsonNode item, TaskContext context) {
      this.item = item;
      this.context = context;
    }

    /**
     * The item, sent as one element of the batch's array.
     *
     * @return the item, never null (JSON null is a node)
     */
    JsonNode item() {
      return item;
    }

    /**
     * The attempt: its index, number and deadline.
     *
     * @return the context
     */
    TaskContext context() {
      return context;
    }
  }

  private final class Batch {
    private final List<Entry> entries = new ArrayList<>();
    private final Condition wake = lock.newCondition();
    private Thread sender;
    private boolean ready;
    private boolean sealed;
    private int live;
  }

  private static final Logger log = LoggerFactory.getLogger(CallBatcher.class);

  private static final Comparator<Entry> BY_INDEX =
      Comparator.comparingLong((Entry e) -> e.context.index());

  private final int size;
  private final long lingerNanos;
  private final CallLimiter limiter;
  private final Sender sender;
  private final String threadName;

  private final ReentrantLock lock = new ReentrantLock();
  private Batch open;
  private int held;
  private int maxItems;

  /**
   * Creates the batcher of one job.
   *
   * @param size the most items per call, at least 2
   * @param linger how long a batch that is not full waits for more items after its first one
   * @param maxItems the job's {@code maxConcurrency}: when this many items wait here or are in
   *     calls, a batch is sent at once
   * @param limiter the job's limiter, one permit per call
   * @param sender makes the calls
   * @param threadName the name of the threads that send
   */
  CallBatcher(
      int size,
      Duration linger,
      int maxItems,
      CallLimiter limiter,
      Sender sender,
      String threadName) {
    if (size < 2) {
      throw new IllegalArgumentException("a batch size must be at least 2, got " + size);
    }
    checkMaxItems(maxItems);
    if (linger.isNegative()) {
      throw new IllegalArgumentException("the linger must not be negative, got " + linger);
    }
    this.size = size;
    this.lingerNanos = linger.toNanos();
    this.maxItems = maxItems;
    this.limiter = Objects.requireNonNull(limiter, "limiter");
    this.sender = Objects.requireNonNull(sender, "sender");
    this.threadName = threadName;
  }

  /**
   * Changes the job's {@code maxConcurrency}, which decides when no more items can arrive.
   *
   * @param maxItems the new cap, at least 1
   */
  void setMaxItems(int maxItems) {
    checkMaxItems(maxItems);
    lock.lock();
    try {
      this.maxItems = maxItems;
      if (open != null && held >= maxItems) {
        markReady(open);
      }
    } finally {
      lock.unlock();
    }
  }

  /**
   * The attempts inside {@link #call} now: waiting for their batch, or for its answer.
   *
   * @return the count
   */
  int held() {
    lock.lock();
    try {
      return held;
    } finally {
      lock.unlock();
    }
  }

  /**
   * Adds one attempt's item to a batch and waits for its result.
   *
   * @param item the item, never null
   * @param context the attempt
   * @return the item's element of the batch's answer
   * @throws CallException when the batch's call failed
   * @throws InterruptedException when this thread was interrupted; the item leaves its batch
   */
  JsonNode call(JsonNode item, TaskContext context) throws InterruptedException {
    Objects.requireNonNull(item, "item");
    if (Thread.interrupted() || context.isCancelled()) {
      throw new InterruptedException("not sent: the attempt was cancelled");
    }
    Entry entry = new Entry(item, context);
    Thread toStart = join(entry);
    try {
      if (toStart != null) {
        start(toStart, entry.batch);
      }
      return entry.result.get();
    } catch (InterruptedException e) {
      leave(entry);
      throw e;
    } catch (ExecutionException e) {
      throw rethrow(e.getCause());
    } finally {
      lock.lock();
      try {
        held--;
      } finally {
        lock.unlock();
      }
    }
  }

  private Thread join(Entry entry) {
    lock.lock();
    try {
      held++;
      Thread toStart = null;
      Batch batch = open;
      if (batch == null) {
        Batch fresh = new Batch();
        fresh.sender = Thread.ofVirtual().name(threadName).unstarted(() -> run(fresh));
        open = fresh;
        batch = fresh;
        toStart = fresh.sender;
      }
      entry.batch = batch;
      batch.entries.add(entry);
      if (batch.entries.size() >= size) {
        open = null;
        markReady(batch);
      } else if (held >= maxItems) {
        markReady(batch);
      }
      return toStart;
    } finally {
      lock.unlock();
    }
  }

  private void start(Thread thread, Batch batch) {
    try {
      thread.start();
    } catch (RuntimeException | Error e) {
      lock.lock();
      try {
        if (open == batch) {
          open = null;
        }
        batch.sealed = true;
      } finally {
        lock.unlock();
      }
      fail(
          batch.entries,
          new CallException(
              CallException.CALL_ERROR,
              null,
              true,
              null,
              "could not start the thread that sends a batch: " + e,
              e));
    }
  }

  // With the lock held.
  private void markReady(Batch batch) {
    batch.ready = true;
    batch.wake.signal();
  }

  /** An attempt gives up its place: out of its batch if not yet sent, else it stops listening. */
  private void leave(Entry entry) {
    lock.lock();
    try {
      Batch batch = entry.batch;
      if (!batch.sealed) {
        batch.entries.remove(entry);
        if (batch.entries.isEmpty()) {
          // Nobody is left to send for: let the sender go, and newcomers open a new batch.
          if (open == batch) {
            open = null;
          }
          batch.sender.interrupt();
        }
      } else if (entry.sent && !entry.left) {
        entry.left = true;
        if (--batch.live == 0) {
          // The interrupt cancels the exchange: nobody wants its answer any more.
          batch.sender.interrupt();
        }
      }
    } finally {
      lock.unlock();
    }
  }

  private void run(Batch batch) {
    CallLimiter.Permit permit = null;
    List<Entry> sent = List.of();
    try {
      lock.lock();
      try {
        long left = lingerNanos;
        while (!batch.ready && left > 0) {
          left = batch.wake.awaitNanos(left);
        }
      } finally {
        lock.unlock();
      }
      permit = limiter.acquire();
      sent = seal(batch);
      if (sent.isEmpty()) {
        return;
      }
      List<JsonNode> results = sender.send(sent, permit);
      for (int i = 0; i < sent.size(); i++) {
        sent.get(i).result.complete(results.get(i));
      }
    } catch (CallException e) {
      fail(sent, e);
    } catch (InterruptedException e) {
      // Every attempt left (only then is this thread interrupted); say so to any that did not.
      fail(
          sent,
          new CallException(
              CallException.CALL_ERROR, null, true, null, "the batch call was abandoned", e));
    } catch (RuntimeException | Error e) {
      // A bug: the attempts must still not wait for ever, and each reports it as its failure.
      log.error("sending a batch failed unexpectedly", e);
      fail(sealedOrAll(batch, sent), e);
    } finally {
      if (permit != null) {
        permit.close();
      }
    }
  }

  private List<Entry> seal(Batch batch) {
    lock.lock();
    try {
      if (open == batch) {
        open = null;
      }
      batch.sealed = true;
      List<Entry> sent = new ArrayList<>(batch.entries);
      sent.sort(BY_INDEX);
      for (Entry e : sent) {
        e.sent = true;
      }
      batch.live = sent.size();
      return sent;
    } finally {
      lock.unlock();
    }
  }

  private List<Entry> sealedOrAll(Batch batch, List<Entry> sent) {
    if (!sent.isEmpty()) {
      return sent;
    }
    lock.lock();
    try {
      if (open == batch) {
        open = null;
      }
      batch.sealed = true;
      return new ArrayList<>(batch.entries);
    } finally {
      lock.unlock();
    }
  }

  private static void fail(List<Entry> entries, Throwable failure) {
    for (Entry e : entries) {
      // Each attempt gets its own exception: the engine records and may decorate what it catches.
      e.result.completeExceptionally(failure instanceof CallException call ? call.copy() : failure);
    }
  }

  private static RuntimeException rethrow(Throwable cause) {
    if (cause instanceof RuntimeException e) {
      return e;
    }
    if (cause instanceof Error e) {
      throw e;
    }
    return new IllegalStateException(cause);
  }

  private static void checkMaxItems(int maxItems) {
    if (maxItems < 1) {
      throw new IllegalArgumentException("maxConcurrency must be at least 1, got " + maxItems);
    }
  }
}
