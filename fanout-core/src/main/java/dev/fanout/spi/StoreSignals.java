package dev.fanout.spi;

import dev.fanout.JobId;
import java.util.List;
import java.util.Objects;
import java.util.concurrent.CopyOnWriteArrayList;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Wake-ups between the engines and servers that share a store: "a job has work to claim" and "a job
 * has new results". They only save waiting: every reader still polls, slowly, so a signal that is
 * lost (a dropped connection, a crashed publisher) costs a poll interval and nothing else.
 *
 * <p>A signal reaches every subscriber of every process sharing the store, the publisher's own
 * included, at least once and possibly merged with others of the same kind and job. A store shared
 * by one process only uses {@link #local()}; PostgreSQL carries them with LISTEN/NOTIFY.
 */
public interface StoreSignals {

  /** What a signal says happened. */
  enum Kind {
    /** A job has items to claim: it was sealed, resumed, retried, or its cap was raised. */
    WORK,
    /** A job recorded results, or became final. */
    RESULTS
  }

  /** Receives signals; called on the store's thread, so it must only hand work on, never block. */
  @FunctionalInterface
  interface Listener {
    /**
     * Takes one signal.
     *
     * @param kind what happened
     * @param job the job it happened to, or null for any job: the store may have missed signals
     *     (its connection dropped) and says so to everyone
     */
    void signalled(Kind kind, JobId job);
  }

  /** Ends a subscription. */
  interface Subscription extends AutoCloseable {
    /** Stops the listener's signals; it may get one that was already on its way. */
    @Override
    void close();
  }

  /**
   * Tells every subscriber, in this process and in every other sharing the store, that something
   * happened to a job. Never blocks on the network and never throws: a signal is a hint.
   *
   * @param kind what happened
   * @param job the job
   */
  void publish(Kind kind, JobId job);

  /**
   * Starts sending signals to a listener.
   *
   * @param listener the listener
   * @return the subscription, to close when done
   */
  Subscription subscribe(Listener listener);

  /**
   * Signals that reach the subscribers of this process only, at once, on the publisher's thread:
   * enough for a store no other process shares.
   *
   * @return new, independent signals
   */
  static StoreSignals local() {
    return new Local();
  }

  /** {@link #local()}: a list of listeners called in turn. */
  final class Local implements StoreSignals {
    private static final Logger log = LoggerFactory.getLogger(StoreSignals.class);
    private final List<Listener> listeners = new CopyOnWriteArrayList<>();

    private Local() {}

    @Override
    public void publish(Kind kind, JobId job) {
      deliver(kind, job);
    }

    /**
     * Calls every listener of this process; for a store that carries signals between processes,
     * with what it received.
     *
     * @param kind what happened
     * @param job the job, or null for any job
     */
    public void deliver(Kind kind, JobId job) {
      Objects.requireNonNull(kind, "kind");
      for (Listener l : listeners) {
        try {
          l.signalled(kind, job);
        } catch (RuntimeException e) {
          log.warn("a signal listener failed on {} for job {}", kind, job, e);
        }
      }
    }

    @Override
    public Subscription subscribe(Listener listener) {
      Objects.requireNonNull(listener, "listener");
      // A wrapper per subscription, so subscribing one listener twice needs closing twice.
      Listener entry = listener::signalled;
      listeners.add(entry);
      return () -> listeners.remove(entry);
    }
  }
}
