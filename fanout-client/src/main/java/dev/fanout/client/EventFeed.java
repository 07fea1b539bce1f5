package dev.fanout.client;

import com.fasterxml.jackson.core.JacksonException;
import com.fasterxml.jackson.databind.JsonNode;
import dev.fanout.JobId;
import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStream;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.Iterator;
import java.util.NoSuchElementException;
import java.util.concurrent.CancellationException;

/**
 * Reads a job's server-sent events, and reconnects with {@code Last-Event-ID} whenever the
 * connection ends before {@code done}: a broken connection, a server that restarts, a proxy that
 * cuts long requests. Since the server resumes after the last {@code seq} named, and this reader
 * also drops any result at or below it, each result is returned once and none is skipped.
 *
 * <p>It gives up, with {@link FanoutUnreachableException}, when no connection could be opened for
 * the reconnect timeout; an error answer (the job was deleted, the token refused) ends it at once.
 */
final class EventFeed implements Iterator<JobEvent>, AutoCloseable {

  /** Opens the event stream of the job after a seq; answers 200 with the stream, or throws. */
  interface Opener {
    InputStream open(JobId job, long afterSeq) throws IOException;
  }

  private final Opener opener;
  private final JobId job;
  private final Duration reconnectDelay;
  private final Duration reconnectTimeout;
  private final Runnable onClose;
  private long lastSeq;
  private InputStream stream;
  private BufferedReader reader;
  private JobEvent next;
  private boolean done;
  private volatile boolean closed;
  private long failingSince = -1;
  private int reconnects;
  private boolean connected;

  EventFeed(
      Opener opener,
      JobId job,
      long afterSeq,
      Duration reconnectDelay,
      Duration reconnectTimeout,
      Runnable onClose) {
    this.opener = opener;
    this.job = job;
    this.lastSeq = afterSeq;
    this.reconnectDelay = reconnectDelay;
    this.reconnectTimeout = reconnectTimeout;
    this.onClose = onClose;
  }

  /** How many times the feed opened the stream again after losing it; for tests and logs. */
  int reconnects() {
    return reconnects;
  }

  @Override
  public boolean hasNext() {
    if (next != null) {
      return true;
    }
    while (!done) {
      if (closed) {
        throw new CancellationException("the event stream of job " + job + " was closed");
      }
      if (reader == null) {
        connect();
        continue;
      }
      JobEvent e;
      try {
        e = read();
      } catch (IOException lost) {
        e = null;
      }
      if (e == null) {
        // The connection ended before done, cleanly or not: resume after the last seq.
        disconnect();
        reconnects++;
        continue;
      }
      if (e instanceof JobEvent.Done) {
        done = true;
        disconnect();
      }
      next = e;
      return true;
    }
    return false;
  }

  @Override
  public JobEvent next() {
    if (!hasNext()) {
      throw new NoSuchElementException();
    }
    JobEvent e = next;
    next = null;
    return e;
  }

  private void connect() {
    try {
      stream = opener.open(job, lastSeq);
      reader = new BufferedReader(new InputStreamReader(stream, StandardCharsets.UTF_8));
      failingSince = -1;
      connected = true;
    } catch (IOException e) {
      waitToRetry(e, null);
    } catch (FanoutApiException e) {
      // A gateway's 502, 503 or 504 while the server restarts is as passing as a refused
      // connection; any other refusal (404: the job was deleted; 401) is final.
      if (e.status() < 500) {
        throw e;
      }
      waitToRetry(e, e);
    }
  }

  private void waitToRetry(Exception failure, FanoutApiException answer) {
    long now = System.nanoTime();
    if (failingSince < 0) {
      failingSince = now;
    }
    if (now - failingSince >= reconnectTimeout.toNanos()) {
      if (answer != null) {
        throw answer;
      }
      throw new FanoutUnreachableException(
          (connected
                  ? "lost the event stream of job " + job + " and could not open it again"
                  : "could not open the event stream of job " + job)
              + " within "
              + reconnectTimeout
              + ": "
              + (failure instanceof IOException io
                  ? FanoutClient.describe(io)
                  : failure.getMessage()),
          failure);
    }
    try {
      Thread.sleep(reconnectDelay);
    } catch (InterruptedException interrupted) {
      Thread.currentThread().interrupt();
      throw new CancellationException("interrupted while reconnecting to job " + job);
    }
  }

  /**
   * The next event, skipping comments, unknown events and results already returned; null when the
   * stream ends. The {@code id} field is not read: a result's {@code seq}, in its data, is the
   * same.
   */
  private JobEvent read() throws IOException {
    String name = "message";
    StringBuilder data = null;
    for (String line; (line = reader.readLine()) != null; ) {
      if (line.isEmpty()) {
        if (data != null) {
          JobEvent e = event(name, data.toString());
          if (e != null) {
            return e;
          }
        }
        name = "message";
        data = null;
        continue;
      }
      if (line.startsWith(":")) {
        continue;
      }
      int colon = line.indexOf(':');
      String field = colon < 0 ? line : line.substring(0, colon);
      String value = colon < 0 ? "" : line.substring(colon + 1);
      if (value.startsWith(" ")) {
        value = value.substring(1);
      }
      switch (field) {
        case "event" -> name = value;
        case "data" ->
            data = data == null ? new StringBuilder(value) : data.append('\n').append(value);
        default -> {}
      }
    }
    return null;
  }

  private JobEvent event(String name, String data) {
    JsonNode json;
    try {
      json = JsonViews.JSON.readTree(data);
    } catch (JacksonException e) {
      // Not a lost connection: reconnecting would read the same event again.
      throw new IllegalStateException(
          "the server sent a " + name + " event that is not JSON: " + JsonViews.abbreviate(data),
          e);
    }
    return switch (name) {
      case "result" -> {
        JobResult r = JsonViews.result(json);
        if (r.seq() <= lastSeq) {
          yield null; // already returned before a reconnect
        }
        lastSeq = r.seq();
        yield new JobEvent.Result(r);
      }
      case "progress" -> JsonViews.progress(json);
      case "done" -> new JobEvent.Done(JsonViews.job(json));
      default -> null; // an event this client does not know: skip it
    };
  }

  private void disconnect() {
    InputStream s = stream;
    stream = null;
    reader = null;
    if (s != null) {
      try {
        s.close();
      } catch (IOException ignored) {
        // Already broken; a new connection follows or the feed ends.
      }
    }
  }

  @Override
  public void close() {
    if (closed) {
      return;
    }
    closed = true;
    InputStream s = stream;
    if (s != null) {
      try {
        s.close();
      } catch (IOException ignored) {
        // Closing is all that is asked.
      }
    }
    onClose.run();
  }
}
