package dev.fanout.testing;

import dev.fanout.Scheduler;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.time.ZoneId;
import java.time.ZoneOffset;
import java.util.ArrayList;
import java.util.List;
import java.util.PriorityQueue;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;

/**
 * A clock that stands still until a test moves it, and a scheduler whose actions run when the clock
 * passes their time. Give the same instance to {@code FanOut.builder().clock(..)} and {@code
 * .scheduler(..)}: timeouts, backoffs and deadlines then fire on {@link #advance(Duration)}, on the
 * calling thread, instead of after real sleeps.
 */
public final class FakeTime extends Clock implements Scheduler {
  private final PriorityQueue<Timer> timers = new PriorityQueue<>();
  private Instant now;
  private long sequence;

  /** Starts at 2026-01-01T00:00:00Z. */
  public FakeTime() {
    this(Instant.parse("2026-01-01T00:00:00Z"));
  }

  /**
   * Starts at {@code start}.
   *
   * @param start the first instant
   */
  public FakeTime(Instant start) {
    this.now = start;
  }

  @Override
  public synchronized Instant instant() {
    return now;
  }

  @Override
  public ZoneId getZone() {
    return ZoneOffset.UTC;
  }

  @Override
  public Clock withZone(ZoneId zone) {
    throw new UnsupportedOperationException("FakeTime is always UTC");
  }

  @Override
  public synchronized Future<?> schedule(Duration delay, Runnable action) {
    Timer timer = new Timer(now.plus(delay), sequence++, action);
    timers.add(timer);
    return timer;
  }

  /**
   * Moves the clock forward, running every action that falls due on the way, in time order.
   *
   * @param step how far to move
   */
  public void advance(Duration step) {
    Instant target;
    synchronized (this) {
      target = now.plus(step);
    }
    for (; ; ) {
      Timer due;
      synchronized (this) {
        due = timers.peek();
        if (due == null || due.at.isAfter(target)) {
          now = target;
          return;
        }
        timers.poll();
        if (due.at.isAfter(now)) {
          now = due.at;
        }
      }
      due.fire();
    }
  }

  /**
   * The actions waiting to fire, for tests that check a timer was set or cancelled.
   *
   * @return how many live timers there are
   */
  public synchronized int pendingTimers() {
    int n = 0;
    for (Timer t : timers) {
      if (!t.isCancelled()) {
        n++;
      }
    }
    return n;
  }

  /**
   * The due times of the live timers, for diagnostics.
   *
   * @return the due times
   */
  public synchronized List<Instant> dueTimes() {
    List<Instant> out = new ArrayList<>();
    for (Timer t : timers) {
      if (!t.isCancelled()) {
        out.add(t.at);
      }
    }
    return out;
  }

  private final class Timer implements Future<Object>, Comparable<Timer> {
    final Instant at;
    final long seq;
    final Runnable action;
    private boolean cancelled;
    private boolean done;

    Timer(Instant at, long seq, Runnable action) {
      this.at = at;
      this.seq = seq;
      this.action = action;
    }

    void fire() {
      synchronized (FakeTime.this) {
        if (cancelled) {
          return;
        }
        done = true;
      }
      action.run();
    }

    @Override
    public int compareTo(Timer o) {
      int c = at.compareTo(o.at);
      return c != 0 ? c : Long.compare(seq, o.seq);
    }

    @Override
    public boolean cancel(boolean mayInterruptIfRunning) {
      synchronized (FakeTime.this) {
        if (done || cancelled) {
          return false;
        }
        cancelled = true;
        timers.remove(this);
        return true;
      }
    }

    @Override
    public boolean isCancelled() {
      synchronized (FakeTime.this) {
        return cancelled;
      }
    }

    @Override
    public boolean isDone() {
      synchronized (FakeTime.this) {
        return done || cancelled;
      }
    }

    @Override
    public Object get() {
      throw new UnsupportedOperationException("FakeTime timers carry no value");
    }

    @Override
    public Object get(long timeout, TimeUnit unit) {
      throw new UnsupportedOperationException("FakeTime timers carry no value");
    }
  }
}
