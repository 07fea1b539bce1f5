package dev.fanout.client;

import com.fasterxml.jackson.databind.JsonNode;
import dev.fanout.ItemFailure;
import dev.fanout.ItemStatus;
import dev.fanout.JobHandle;
import dev.fanout.JobId;
import dev.fanout.JobOutcome;
import dev.fanout.JobStatus;
import dev.fanout.TaskFailedException;
import java.util.ArrayList;
import java.util.List;
import java.util.Objects;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.stream.Stream;

/**
 * A job on a Fanout server, behind the library's {@link JobHandle}: every call is a request. The
 * outcome follows the job's event stream (without its results) on a virtual thread until {@code
 * done}, then reads the failed items and the aggregate.
 *
 * @param <A> the aggregate type: {@link JsonNode}, or {@code Void} for a job without a reducer
 */
final class RemoteJobHandle<A> implements JobHandle<A> {
  private static final int PAGE = 1_000;

  private final FanoutClient client;
  private final JobId id;
  private volatile JsonNode metadata;
  private CompletableFuture<JobOutcome<A>> outcome;

  RemoteJobHandle(FanoutClient client, JobId id) {
    this(client, id, null);
  }

  RemoteJobHandle(FanoutClient client, JobId id, JsonNode metadata) {
    this.client = client;
    this.id = id;
    this.metadata = metadata;
  }

  @Override
  public JobId id() {
    return id;
  }

  /**
   * {@inheritDoc}
   *
   * @throws dev.fanout.NoSuchJobException when the server no longer has the job
   */
  @Override
  public JobStatus status() {
    return view().status();
  }

  private JobView view() {
    try {
      JobView view = client.get(id);
      metadata = view.metadata();
      return view;
    } catch (FanoutApiException e) {
      throw FanoutClient.translated(id, e);
    }
  }

  /**
   * {@inheritDoc}
   *
   * <p>Remotely: the future fails with a {@link FanoutClientException} when the job's events could
   * not be followed to the end, or with a {@link java.util.concurrent.CancellationException} when
   * the client is closed first. A failed item's error is a {@link TaskFailedException} whose type
   * is the API's error code, such as {@code http_error}.
   */
  @Override
  public synchronized CompletableFuture<JobOutcome<A>> outcome() {
    // A finished outcome stays valid until the job runs again (retry-failed), which gives it a
    // new end; a failed one is tried again.
    boolean stale =
        outcome == null || outcome.isCompletedExceptionally() || (outcome.isDone() && endedAgain());
    if (stale) {
      CompletableFuture<JobOutcome<A>> next = new CompletableFuture<>();
      Thread.ofVirtual().name("fanout-outcome-" + id).start(() -> follow(next));
      outcome = next;
    }
    return outcome.copy();
  }

  /** Tells whether the job is no longer where the finished outcome found it. */
  private boolean endedAgain() {
    JobStatus then = outcome.join().status();
    JobStatus now = status();
    return now.state() != then.state() || !Objects.equals(now.finishedAt(), then.finishedAt());
  }

  private void follow(CompletableFuture<JobOutcome<A>> future) {
    try (Stream<JobEvent> events = client.events(id, Long.MAX_VALUE)) {
      JobView done =
          events
              .filter(JobEvent.Done.class::isInstance)
              .map(e -> ((JobEvent.Done) e).job())
              .findFirst()
              .orElseThrow(() -> new IllegalStateException("the events of " + id + " ended"));
      List<ItemFailure> failures = new ArrayList<>();
      long after = 0;
      for (ResultPage page; ; after = page.next()) {
        page = client.results(id, after, PAGE, ItemStatus.FAILED);
        for (JobResult r : page.results()) {
          JobResult.Error e = r.error();
          failures.add(
              new ItemFailure(
                  r.index(), new TaskFailedException(e.code(), e.message()), r.attempts()));
        }
        if (page.done() || page.results().isEmpty() && page.next() == after) {
          break;
        }
      }
      failures.sort((a, b) -> Long.compare(a.index(), b.index()));
      @SuppressWarnings("unchecked")
      A aggregate = (A) aggregateOf(done);
      future.complete(new JobOutcome<>(done.status(), aggregate, failures));
    } catch (RuntimeException e) {
      future.completeExceptionally(e);
    }
  }

  /** The aggregate, read on its own route when it was too large for the final job's view. */
  private JsonNode aggregateOf(JobView done) {
    if (!done.aggregate().isNull()) {
      return done.aggregate();
    }
    try {
      JsonNode full = client.aggregate(id);
      return full.isNull() ? null : full;
    } catch (FanoutApiException e) {
      return null; // running again already (retry-failed): the final view's null stands
    }
  }

  @Override
  public boolean cancel() {
    return client.cancel(id);
  }

  @Override
  public boolean pause() {
    return client.pause(id);
  }

  @Override
  public boolean resume() {
    return client.resume(id);
  }

  @Override
  public void setMaxConcurrency(int maxConcurrency) {
    client.setMaxConcurrency(id, maxConcurrency);
  }

  /** The metadata as the server last showed it; read once when it has not been yet. */
  @Override
  public Optional<JsonNode> metadata() {
    JsonNode m = metadata;
    if (m == null) {
      m = view().metadata();
    }
    return m.isNull() ? Optional.empty() : Optional.of(m);
  }

  /**
   * {@inheritDoc}
   *
   * @throws IllegalStateException when the job is not final, or was cancelled
   */
  @Override
  public boolean retryFailed() {
    try {
      client.retryFailed(id);
      synchronized (this) {
        outcome = null; // the job runs again: the next outcome is that run's
      }
      return true;
    } catch (FanoutApiException e) {
      if (e.status() == 409 && e.code().equals("nothing_to_retry")) {
        return false;
      }
      throw FanoutClient.translated(id, e);
    }
  }

  @Override
  public String toString() {
    return "remote job " + id + " on " + client.baseUri();
  }
}
