package dev.fanout.server.internal.api;

import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.fanout.JobHandle;
import dev.fanout.JobStatus;
import dev.fanout.server.FanoutServer.StreamSettings;
import dev.fanout.spi.JobStore;
import dev.fanout.spi.StoredResult;
import java.io.IOException;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.locks.LockSupport;

/**
 * One client's server-sent event stream of a job: a {@code result} event per settled item in
 * sequence order (the SSE id is the seq, so {@code Last-Event-ID} resumes with nothing lost or
 * repeated), {@code progress} at most every progress interval while counts change, a comment line
 * when idle for the keep-alive interval, and one {@code done} with the final job. It runs on the
 * request's virtual thread and reads the store, so any number of clients may watch one job.
 *
 * <p>Once caught up it waits for the store's signal that the job has new results (from whichever
 * node recorded them), and reads again at the latest after the poll interval, since a signal may be
 * lost; it also wakes for a progress event held back by the progress interval and for the
 * keep-alive.
 */
final class EventStream {
  /** The least time between two reads of the store that a signal woke. */
  private static final Duration MIN_READ_GAP = Duration.ofMillis(20);

  private static final int PAGE = 500;

  private final Api api;
  private final JobHandle<?> job;
  private final JobStore store;
  private final StreamSettings settings;
  private final AtomicBoolean shuttingDown;
  private final JobWakeups wakeups;
  private final OutputStream out;
  private long lastSeq;

  EventStream(
      Api api,
      JobHandle<?> job,
      JobStore store,
      StreamSettings settings,
      AtomicBoolean shuttingDown,
      JobWakeups wakeups,
      OutputStream out,
      long after) {
    this.api = api;
    this.job = job;
    this.store = store;
    this.settings = settings;
    this.shuttingDown = shuttingDown;
    this.wakeups = wakeups;
    this.out = out;
    this.lastSeq = after;
  }

  void run() throws IOException {
    long lastWrite = System.nanoTime();
    long lastProgress = 0;
    String lastProgressBody = null;
    // Registered before the first read, so a signal that comes while reading is not lost.
    try (JobWakeups.Waiter waiter = wakeups.register(job.id())) {
      // Tell the client at once that the stream is open, before the first result.
      write(": stream of job " + job.id() + "\n\n");
      while (!shuttingDown.get() && !Thread.currentThread().isInterrupted()) {
        long readAt = System.nanoTime();
        // The state first: once final, every result is stored, so a short page means the end.
        JobStatus status = job.status();
        boolean isFinal = status.state().isFinal();
        List<StoredResult> page = store.results(job.id(), lastSeq, PAGE);
        StringBuilder events = new StringBuilder();
        for (StoredResult r : page) {
          lastSeq = r.seq();
          event(events, r.seq(), "result", api.resultView(r));
        }
        long now = System.nanoTime();
        long progressInterval = settings.progressInterval().toNanos();
        boolean progressHeld = false;
        if (!isFinal) {
          String body = api.progressView(status).toString();
          if (!body.equals(lastProgressBody)) {
            if (now - lastProgress >= progressInterval) {
              event(events, -1, "progress", body);
              lastProgressBody = body;
              lastProgress = now;
            } else {
              progressHeld = true;
            }
          }
        }
        boolean done = isFinal && page.size() < PAGE;
        if (done) {
          event(events, -1, "done", api.finalView(job));
        }
        if (!events.isEmpty()) {
          write(events.toString());
          lastWrite = now;
        } else if (now - lastWrite >= settings.keepAliveInterval().toNanos()) {
          write(": keep-alive\n\n");
          lastWrite = now;
        }
        if (done) {
          return;
        }
        if (page.size() < PAGE) {
          long wait =
              Math.min(
                  settings.pollInterval().toNanos(),
                  lastWrite + settings.keepAliveInterval().toNanos() - now);
          if (progressHeld) {
            wait = Math.min(wait, lastProgress + progressInterval - now);
          }
          if (waiter.await(Duration.ofNanos(Math.max(wait, 1)))) {
            // Signals come per recorded batch, hundreds a second on a busy job: read at most
            // every MIN_READ_GAP, so each stream costs the store a bounded rate of queries.
            long since = System.nanoTime() - readAt;
            if (since < MIN_READ_GAP.toNanos()) {
              LockSupport.parkNanos(MIN_READ_GAP.toNanos() - since);
            }
          }
        }
      }
    } catch (IOException clientGone) {
      // The client went away; it resumes with Last-Event-ID when it comes back.
    }
  }

  private static void event(StringBuilder b, long id, String name, Object data) {
    if (id >= 0) {
      b.append("id: ").append(id).append('\n');
    }
    b.append("event: ").append(name).append('\n');
    b.append("data: ").append(data instanceof ObjectNode n ? n.toString() : data).append("\n\n");
  }

  private void write(String s) throws IOException {
    out.write(s.getBytes(StandardCharsets.UTF_8));
    out.flush();
  }
}
