package dev.fanout.client;

import com.fasterxml.jackson.core.JacksonException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.MissingNode;
import dev.fanout.FailurePolicy;
import dev.fanout.ItemStatus;
import dev.fanout.JobClient;
import dev.fanout.JobHandle;
import dev.fanout.JobId;
import dev.fanout.JobSpec;
import dev.fanout.JobState;
import dev.fanout.JobStatus;
import dev.fanout.NoSuchJobException;
import dev.fanout.RetryPolicy;
import java.io.IOException;
import java.io.InputStream;
import java.net.ConnectException;
import java.net.URI;
import java.net.URLEncoder;
import java.net.http.HttpClient;
import java.net.http.HttpConnectTimeoutException;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.net.http.HttpTimeoutException;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Objects;
import java.util.Optional;
import java.util.Set;
import java.util.Spliterator;
import java.util.Spliterators;
import java.util.concurrent.CancellationException;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.stream.Stream;
import java.util.stream.StreamSupport;

/**
 * A client of a Fanout server's HTTP API v1, for a Java service that fans out through a remote
 * Fanout instead of running an engine itself.
 *
 * <pre>{@code
 * try (FanoutClient client =
 *     FanoutClient.builder(URI.create("http://127.0.0.1:8080")).token(token).build()) {
 *   JobAccepted job =
 *       client.submit(
 *           SubmitRequest.builder().functionName("demo").items(numbers).reduce("sum").build());
 *   try (Stream<JobResult> results = client.results(job.id())) {   // until the job is done
 *     results.forEach(r -> System.out.println(r.index() + " -> " + r.value()));
 *   }
 *   System.out.println(client.get(job.id()).aggregate());
 * }
 * }</pre>
 *
 * <h2>Two ways in</h2>
 *
 * <p>The remote API mirrors the HTTP routes: {@link #submit(SubmitRequest)}, {@link #get}, {@link
 * #list(JobState, int, JobId)}, {@link #cancelJob}, {@link #pauseJob}, {@link #resumeJob}, {@link
 * #changeMaxConcurrency}, {@link #retryFailed}, {@link #delete}, {@link #aggregate}, {@link
 * #results(JobId, long, int, ItemStatus)}, the event stream as {@link #results(JobId)} and {@link
 * #events}, and the server's cluster as {@link #cluster()}. Each returns what the server answered,
 * and each error answer is a {@link FanoutApiException} with its status and stable code.
 *
 * <p>The client also implements {@link JobClient}, so code written against the library's interface
 * can be pointed at a remote server. Those methods keep the interface's contract: an unknown job is
 * an empty {@code Optional} or a {@link NoSuchJobException}, a change to a finished job an {@link
 * IllegalStateException}, a value the server refuses ({@code 422}) an {@link
 * IllegalArgumentException}, each with the {@link FanoutApiException} as its cause; other errors
 * are thrown as they are. {@link #submit(JobSpec)} accepts only specs built from names the server
 * knows, since a Java lambda cannot travel over HTTP; see there.
 *
 * <p>Failures to reach the server are {@link FanoutUnreachableException}s; a refused token is a
 * {@link FanoutApiException} whose {@link FanoutApiException#isUnauthorized()} is true. Both are
 * {@link FanoutClientException}s.
 *
 * <p>A client is thread-safe; share one per server. {@link #close()} ends its open event streams,
 * and closes the HTTP client when the builder made it.
 */
public final class FanoutClient implements JobClient, AutoCloseable {

  private static final int LIST_PAGE = 1_000;

  private final String base;
  private final String token;
  private final HttpClient http;
  private final boolean ownsHttp;
  private final Duration requestTimeout;
  private final Duration reconnectDelay;
  private final Duration reconnectTimeout;
  private final Set<AutoCloseable> open = ConcurrentHashMap.newKeySet();
  private volatile boolean closed;

  private FanoutClient(Builder b) {
    String uri = b.baseUri.toString();
    this.base = uri.endsWith("/") ? uri.substring(0, uri.length() - 1) : uri;
    this.token = b.token;
    this.ownsHttp = b.httpClient == null;
    this.http =
        b.httpClient != null
            ? b.httpClient
            : HttpClient.newBuilder()
                // Plain HTTP/1.1: no h2c upgrade dance on cleartext, and every proxy speaks it.
                .version(HttpClient.Version.HTTP_1_1)
                .connectTimeout(b.connectTimeout)
                .build();
    this.requestTimeout = b.requestTimeout;
    this.reconnectDelay = b.reconnectDelay;
    this.reconnectTimeout = b.reconnectTimeout;
  }

  /**
   * A builder for a client of the server at {@code baseUri}.
   *
   * @param baseUri the server's base URI, such as {@code http://127.0.0.1:8080}; a path is kept, so
   *     a server behind a proxy at {@code https://host/fanout} works
   * @return a new builder
   * @throws IllegalArgumentException when the URI is not absolute http or https
   */
  public static Builder builder(URI baseUri) {
    return new Builder(baseUri);
  }

  /**
   * The server's base URI, without a trailing slash.
   *
   * @return the URI
   */
  public URI baseUri() {
    return URI.create(base);
  }

  // ------------------------------------------------------------------ submit

  /**
   * Submits a job and returns once the server has stored it and all of its items ({@code 202}). The
   * items are written into the request body as they are read from the request's source, so a source
   * of millions is never held in memory. The request is sent with {@code Expect: 100-continue}, so
   * a server that refuses it (a bad token) does so before the items are sent.
   *
   * @param request the job
   * @return the server's acknowledgement, with the job's ID and total
   * @throws FanoutApiException when the server refuses the job, such as {@code 422
   *     unknown_function}
   * @throws FanoutUnreachableException when the server could not be reached or the connection broke
   * @throws IllegalArgumentException when {@link SubmitRequest.Builder#itemsJson} items are not
   *     valid JSON (the message names the line); nothing is stored then
   * @throws IllegalStateException when the request's one-shot items were already submitted
   * @throws RuntimeException whatever the items' source threw while they were read; nothing is
   *     stored then
   */
  public JobAccepted submit(SubmitRequest request) {
    Objects.requireNonNull(request, "request");
    requireOpen();
    SubmitBody body =
        new SubmitBody(
            JsonViews.JSON, request.fields(JsonViews.JSON), request.openItems(JsonViews.JSON));
    AtomicBoolean given = new AtomicBoolean();
    HttpRequest.Builder post =
        requestTo("/v1/jobs")
            .header("Content-Type", "application/json")
            .expectContinue(true)
            // The body may be large: the request timeout bounds the wait for an answer, not the
            // upload, so the submission itself has none.
            .POST(
                HttpRequest.BodyPublishers.ofInputStream(
                    () -> {
                      if (!given.compareAndSet(false, true)) {
                        throw new IllegalStateException(
                            "the items are read once; the request cannot be sent again");
                      }
                      return body;
                    }));
    if (request.idempotencyKey() != null) {
      post.header("Idempotency-Key", request.idempotencyKey());
    }
    HttpRequest built = post.build();
    JsonNode answer;
    try {
      answer = exchange("POST", "/v1/jobs", built).body();
    } catch (FanoutUnreachableException e) {
      if (body.failure() != null) {
        throw body.failure();
      }
      throw diagnoseBrokenUpload(e);
    } finally {
      try {
        body.close();
      } catch (IOException e) {
        // The items were read to their end or abandoned; closing their source is best effort.
      }
    }
    if (body.failure() != null) {
      throw body.failure();
    }
    JobId id = JobId.of(answer.path("id").asText());
    return new JobAccepted(
        id, answer.path("total").asLong(), URI.create(base + "/v1/jobs/" + id.value()));
  }

  /**
   * A server that refuses a request early may close the connection while the body is still being
   * sent, and the refusal is then lost under the broken upload. One small request tells a refused
   * token from a server that went away.
   */
  private FanoutClientException diagnoseBrokenUpload(FanoutUnreachableException broken) {
    try {
      exchange("GET", "/v1/jobs?limit=1", requestTo("/v1/jobs?limit=1").GET().build());
    } catch (FanoutApiException refused) {
      refused.addSuppressed(broken);
      return refused;
    } catch (FanoutUnreachableException | CancellationException stillBroken) {
      // The server is gone indeed: report the upload's own failure.
    }
    return broken;
  }

  /**
   * Submits a job given as a library {@link JobSpec}, for code written against {@link JobClient}.
   *
   * <p>Only what the HTTP API can carry is accepted: a spec whose function is given by name ({@code
   * JobSpec.items(...).function("demo")}), with a reducer given by name (such as {@code "sum"}),
   * and the retry policy, concurrency cap, attempt timeout, deadline, failure policy, metadata and
   * idempotency key. Its items are written as JSON by Jackson. The server's own fingerprint of a
   * keyed submission is the body's hash, so the spec's fingerprint is not sent.
   *
   * @param spec the job
   * @param <A> the aggregate type; the remote aggregate is JSON, so this is {@link JsonNode} (or
   *     {@code Void} for a spec without a reducer)
   * @return a handle on the remote job
   * @throws UnsupportedOperationException for a spec that carries a lambda (function, transform,
   *     consumer or reducer), a named transform or consumer, a component configuration or a job
   *     name: none of them exists in the HTTP API; use {@link #submit(SubmitRequest)}, which also
   *     takes a function URL and a jq transform
   * @throws IllegalArgumentException when the server refuses a value ({@code 422}), such as an
   *     unknown function or reducer, or when the metadata is not a JSON object
   * @throws FanoutClientException for other errors
   */
  @Override
  public <A> JobHandle<A> submit(JobSpec<?, ?, A> spec) {
    Objects.requireNonNull(spec, "spec");
    SubmitRequest request = toRequest(spec);
    JobAccepted accepted;
    try {
      accepted = submit(request);
    } catch (FanoutApiException e) {
      if (e.status() == 422) {
        throw new IllegalArgumentException(e.serverMessage(), e);
      }
      throw e;
    }
    return new RemoteJobHandle<>(this, accepted.id());
  }

  private static SubmitRequest toRequest(JobSpec<?, ?, ?> spec) {
    String remedy = "; submit a SubmitRequest, which speaks the HTTP API as it is";
    if (!spec.isDurable()) {
      throw new UnsupportedOperationException(
          "a remote server cannot run a Java lambda: give the function by a name the server knows"
              + " (JobSpec.items(...).function(\"demo\"))"
              + remedy);
    }
    if (spec.functionConfig().isPresent()
        || spec.transformName().isPresent()
        || spec.consumerName().isPresent()
        || spec.reducerConfig().isPresent()
        || spec.name().isPresent()) {
      throw new UnsupportedOperationException(
          "the HTTP API has no named transform or consumer, no component configuration and no"
              + " job name"
              + remedy
              + " (a jq transform, a webhook, metadata)");
    }
    JobSpec.Source<?> source = spec.openSource();
    Stream<?> items =
        StreamSupport.stream(
            Spliterators.spliteratorUnknownSize(source.iterator(), Spliterator.ORDERED), false);
    if (source.closeable() != null) {
      items =
          items.onClose(
              () -> {
                try {
                  source.closeable().close();
                } catch (Exception e) {
                  throw new IllegalStateException("closing the spec's items failed", e);
                }
              });
    }
    SubmitRequest.Builder b =
        SubmitRequest.builder().functionName(spec.functionName().orElseThrow()).items(items);
    spec.reducerName().ifPresent(b::reduce);
    RetryPolicy retry = spec.retryPolicy();
    FailurePolicy failure = spec.failurePolicy();
    b.maxConcurrency(spec.maxConcurrency())
        .retry(retry.maxAttempts(), retry.backoff(), retry.maxBackoff())
        .failurePolicy(failure);
    spec.attemptTimeout().ifPresent(b::timeout);
    spec.deadline().ifPresent(b::deadline);
    spec.metadata().ifPresent(b::metadata);
    spec.idempotencyKey().ifPresent(b::idempotencyKey);
    return b.build();
  }

  // ------------------------------------------------------------------ read

  /**
   * The job as the server shows it now.
   *
   * @param id the job
   * @return the job, with its aggregate once final
   * @throws FanoutApiException {@code 404 job_not_found} when the server has no such job
   * @throws FanoutUnreachableException when the server could not be reached
   */
  public JobView get(JobId id) {
    return JsonViews.job(call("GET", jobPath(id), null));
  }

  /**
   * The handle of a remote job, when the server knows it.
   *
   * @param id the job
   * @return the handle, or empty when the server answers {@code 404}
   * @throws FanoutClientException for other errors
   */
  @Override
  public Optional<JobHandle<?>> job(JobId id) {
    return find(id).map(view -> new RemoteJobHandle<>(this, id, view.metadata()));
  }

  /**
   * The status of a remote job.
   *
   * @param id the job
   * @return the status, or empty when the server answers {@code 404}
   * @throws FanoutClientException for other errors
   */
  @Override
  public Optional<JobStatus> status(JobId id) {
    return find(id).map(JobView::status);
  }

  private Optional<JobView> find(JobId id) {
    try {
      return Optional.of(get(id));
    } catch (FanoutApiException e) {
      if (e.status() == 404) {
        return Optional.empty();
      }
      throw e;
    }
  }

  /**
   * Every job the server keeps, newest first, read page by page. A server with many jobs answers
   * many pages; {@link #list(JobState, int, JobId)} reads one.
   *
   * @return the statuses
   * @throws FanoutClientException when a page could not be read
   */
  @Override
  public List<JobStatus> list() {
    List<JobStatus> all = new ArrayList<>();
    JobId after = null;
    do {
      JobPage page = list(null, LIST_PAGE, after);
      page.jobs().forEach(j -> all.add(j.status()));
      after = page.next().orElse(null);
    } while (after != null);
    return all;
  }

  /**
   * One page of the server's jobs, newest first.
   *
   * @param status only jobs in this state, or null for all
   * @param limit at most this many, 1 to 1,000
   * @param after the {@link JobPage#next()} of the page before, or null for the first page
   * @return the page
   * @throws IllegalArgumentException when {@code limit} is out of range
   * @throws FanoutClientException when the server refuses or cannot be reached
   */
  public JobPage list(JobState status, int limit, JobId after) {
    if (limit < 1 || limit > LIST_PAGE) {
      throw new IllegalArgumentException("limit must be between 1 and 1000, got " + limit);
    }
    StringBuilder path = new StringBuilder("/v1/jobs?limit=").append(limit);
    if (status != null) {
      path.append("&status=").append(status.name());
    }
    if (after != null) {
      path.append("&after=").append(after.value());
    }
    JsonNode answer = call("GET", path.toString(), null);
    List<JobView> jobs = new ArrayList<>();
    answer.path("jobs").forEach(j -> jobs.add(JsonViews.job(j)));
    JsonNode next = answer.get("next");
    return new JobPage(
        jobs,
        next == null || next.isNull() ? Optional.empty() : Optional.of(JobId.of(next.asText())));
  }

  /**
   * A final job's aggregate, also when it is too large (over 64 KiB) for {@link #get}.
   *
   * @param id the job
   * @return the aggregate, a JSON null when the job has no reducer
   * @throws FanoutApiException {@code 409 job_not_final} while it runs, {@code 404} when unknown
   * @throws FanoutUnreachableException when the server could not be reached
   */
  public JsonNode aggregate(JobId id) {
    return call("GET", jobPath(id) + "/aggregate", null);
  }

  /**
   * One page of a job's results, in {@code seq} (completion) order.
   *
   * @param id the job
   * @param after the last {@code seq} already read (0 for the start); exclusive
   * @param limit at most this many, 1 to 1,000
   * @param only only results with this status, or null for both
   * @return the page, whose {@link ResultPage#next()} is the {@code after} of the next one
   * @throws IllegalArgumentException when {@code after} or {@code limit} is out of range
   * @throws FanoutClientException when the server refuses or cannot be reached
   */
  public ResultPage results(JobId id, long after, int limit, ItemStatus only) {
    if (after < 0) {
      throw new IllegalArgumentException("after must be >= 0, got " + after);
    }
    if (limit < 1 || limit > LIST_PAGE) {
      throw new IllegalArgumentException("limit must be between 1 and 1000, got " + limit);
    }
    String path =
        jobPath(id)
            + "/results?after="
            + after
            + "&limit="
            + limit
            + (only == null ? "" : "&status=" + only.name());
    JsonNode answer = call("GET", path, null);
    List<JobResult> results = new ArrayList<>();
    answer.path("results").forEach(r -> results.add(JsonViews.result(r)));
    return new ResultPage(results, answer.path("next").asLong(), answer.path("done").asBoolean());
  }

  /**
   * Every result of a job, from the first, as the job produces them: the stream follows the job's
   * server-sent events and ends after its {@code done} event. A dropped connection is reopened with
   * {@code Last-Event-ID}, so no result is lost or repeated. Close the stream (try with resources)
   * to stop early.
   *
   * @param id the job
   * @return the results in {@code seq} order, lazily
   * @throws FanoutApiException from the stream's operations, when the server refuses it (an unknown
   *     job: {@code 404})
   * @throws FanoutUnreachableException from the stream's operations, when no connection could be
   *     opened again within the reconnect timeout
   */
  public Stream<JobResult> results(JobId id) {
    return events(id, 0)
        .mapMulti(
            (e, sink) -> {
              if (e instanceof JobEvent.Result r) {
                sink.accept(r.result());
              }
            });
  }

  /**
   * A job's server-sent events after a {@code seq}: each result, progress now and then while the
   * counts change, and the {@code done} event with the final job, after which the stream ends. A
   * dropped connection is reopened with {@code Last-Event-ID}, so no result is lost or repeated.
   * Close the stream (try with resources) to stop early.
   *
   * <p>Pass {@code Long.MAX_VALUE} as {@code afterSeq} to watch a job's progress and end without
   * reading its results.
   *
   * @param id the job
   * @param afterSeq the last {@code seq} already seen, or 0 for every result
   * @return the events, lazily
   * @throws IllegalArgumentException when {@code afterSeq} is negative
   * @throws IllegalStateException when the client is closed
   */
  public Stream<JobEvent> events(JobId id, long afterSeq) {
    Objects.requireNonNull(id, "id");
    if (afterSeq < 0) {
      throw new IllegalArgumentException("afterSeq must be >= 0, got " + afterSeq);
    }
    requireOpen();
    EventFeed[] self = new EventFeed[1];
    EventFeed feed =
        new EventFeed(
            this::openEvents,
            id,
            afterSeq,
            reconnectDelay,
            reconnectTimeout,
            () -> open.remove(self[0]));
    self[0] = feed;
    open.add(feed);
    return StreamSupport.stream(
            Spliterators.spliteratorUnknownSize(feed, Spliterator.ORDERED | Spliterator.NONNULL),
            false)
        .onClose(feed::close);
  }

  /** Opens the event stream; an I/O failure is for the feed to retry, an error answer is not. */
  private InputStream openEvents(JobId id, long afterSeq) throws IOException {
    String path = jobPath(id) + "/events";
    HttpRequest.Builder get = requestTo(path).header("Accept", "text/event-stream").GET();
    if (afterSeq > 0) {
      get.header("Last-Event-ID", Long.toString(afterSeq));
    }
    HttpResponse<InputStream> response;
    try {
      response = http.send(get.build(), HttpResponse.BodyHandlers.ofInputStream());
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new CancellationException("interrupted while opening the events of job " + id);
    }
    if (response.statusCode() != 200) {
      try (InputStream in = response.body()) {
        throw apiError("GET", path, response.statusCode(), in);
      }
    }
    return response.body();
  }

  /**
   * The nodes sharing the server's database ({@code fanout serve} and {@code fanout worker}), with
   * their state, cap and load.
   *
   * @return the cluster as the server sees it now
   * @throws FanoutApiException when the server refuses, such as a bad token
   * @throws FanoutUnreachableException when the server could not be reached
   */
  public ClusterView cluster() {
    return JsonViews.cluster(call("GET", "/v1/cluster", null));
  }

  // ------------------------------------------------------------------ change

  /**
   * Cancels a job: items not started never start, running attempts are interrupted, settled results
   * are kept.
   *
   * @param id the job
   * @return the job, {@code CANCELLED}
   * @throws FanoutApiException {@code 409 job_final} when it already SUCCEEDED or FAILED; {@code
   *     404} when unknown
   * @throws FanoutUnreachableException when the server could not be reached
   */
  public JobView cancelJob(JobId id) {
    return JsonViews.job(call("POST", jobPath(id) + "/cancel", ""));
  }

  /**
   * Pauses a job: running attempts finish, no new ones start.
   *
   * @param id the job
   * @return the job after the change
   * @throws FanoutApiException {@code 409 job_final} when final; {@code 404} when unknown
   * @throws FanoutUnreachableException when the server could not be reached
   */
  public JobView pauseJob(JobId id) {
    return JsonViews.job(call("POST", jobPath(id) + "/pause", ""));
  }

  /**
   * Resumes a paused job.
   *
   * @param id the job
   * @return the job after the change
   * @throws FanoutApiException {@code 409 job_final} when final; {@code 404} when unknown
   * @throws FanoutUnreachableException when the server could not be reached
   */
  public JobView resumeJob(JobId id) {
    return JsonViews.job(call("POST", jobPath(id) + "/resume", ""));
  }

  /**
   * Changes how many items of a running job run at once ({@code PATCH /v1/jobs/{id}}).
   *
   * @param id the job
   * @param maxConcurrency 1 to 100,000
   * @return the job after the change
   * @throws IllegalArgumentException when below 1
   * @throws FanoutApiException {@code 409 job_final} when final; {@code 422} when too large
   * @throws FanoutUnreachableException when the server could not be reached
   */
  public JobView changeMaxConcurrency(JobId id, int maxConcurrency) {
    if (maxConcurrency < 1) {
      throw new IllegalArgumentException("maxConcurrency must be >= 1, got " + maxConcurrency);
    }
    return JsonViews.job(call("PATCH", jobPath(id), "{\"maxConcurrency\":" + maxConcurrency + "}"));
  }

  /**
   * Runs the failed items of a finished job again: the job returns to RUNNING, each failed item's
   * new result replaces the failed one under a new {@code seq}, and a new {@code done} follows.
   *
   * @param id the job
   * @return the job, RUNNING again
   * @throws FanoutApiException {@code 409} with {@code job_not_final}, {@code job_cancelled} or
   *     {@code nothing_to_retry}; {@code 404} when unknown
   * @throws FanoutUnreachableException when the server could not be reached
   */
  public JobView retryFailed(JobId id) {
    return JsonViews.job(call("POST", jobPath(id) + "/retry-failed", ""));
  }

  /**
   * Deletes a final job and its results; its idempotency key is free again.
   *
   * @param id the job
   * @throws FanoutApiException {@code 409 job_not_final} while it runs; {@code 404} when unknown
   * @throws FanoutUnreachableException when the server could not be reached
   */
  public void delete(JobId id) {
    call("DELETE", jobPath(id), null);
  }

  /**
   * Cancels a remote job.
   *
   * @param id the job
   * @return true when this call cancelled it; false when it was already final
   * @throws NoSuchJobException when the server has no such job
   * @throws FanoutClientException for other errors
   */
  @Override
  public boolean cancel(JobId id) {
    try {
      // 202: this call cancelled it; 200: it was cancelled before.
      return send("POST", jobPath(id) + "/cancel", "").status() == 202;
    } catch (FanoutApiException e) {
      if (e.status() == 409) {
        return false;
      }
      throw translated(id, e);
    }
  }

  /**
   * Pauses a remote job. The server answers a pause with the job whatever it was, so this reads the
   * job first: between that read and the pause another client may change it.
   *
   * @param id the job
   * @return true when the job was not paused before; false when it already was
   * @throws NoSuchJobException when the server has no such job
   * @throws IllegalStateException when the job is final
   * @throws FanoutClientException for other errors
   */
  @Override
  public boolean pause(JobId id) {
    return change(id, true);
  }

  /**
   * Resumes a remote job. The server answers a resume with the job whatever it was, so this reads
   * the job first: between that read and the resume another client may change it.
   *
   * @param id the job
   * @return true when the job was paused before; false when it was not
   * @throws NoSuchJobException when the server has no such job
   * @throws IllegalStateException when the job is final
   * @throws FanoutClientException for other errors
   */
  @Override
  public boolean resume(JobId id) {
    return change(id, false);
  }

  private boolean change(JobId id, boolean pause) {
    try {
      JobState before = get(id).state();
      if (before.isFinal()) {
        throw new IllegalStateException(
            "job " + id + " is " + before + "; it can no longer change");
      }
      if ((before == JobState.PAUSED) == pause) {
        return false;
      }
      if (pause) {
        pauseJob(id);
      } else {
        resumeJob(id);
      }
      return true;
    } catch (FanoutApiException e) {
      throw translated(id, e);
    }
  }

  /**
   * Changes a remote job's concurrency cap.
   *
   * @param id the job
   * @param maxConcurrency 1 to 100,000
   * @throws NoSuchJobException when the server has no such job
   * @throws IllegalArgumentException when out of range
   * @throws IllegalStateException when the job is final
   * @throws FanoutClientException for other errors
   */
  @Override
  public void setMaxConcurrency(JobId id, int maxConcurrency) {
    try {
      changeMaxConcurrency(id, maxConcurrency);
    } catch (FanoutApiException e) {
      throw translated(id, e);
    }
  }

  /**
   * The {@link JobClient} contract's exception for an error answer about one job: unknown is {@link
   * NoSuchJobException}, a conflict {@link IllegalStateException}, a refused value {@link
   * IllegalArgumentException}; the rest as it is.
   */
  static RuntimeException translated(JobId id, FanoutApiException e) {
    RuntimeException contract =
        switch (e.status()) {
          case 404 -> new NoSuchJobException(id);
          case 409 -> new IllegalStateException(e.serverMessage());
          case 422 -> new IllegalArgumentException(e.serverMessage());
          default -> e;
        };
    if (contract != e) {
      contract.initCause(e);
    }
    return contract;
  }

  // ------------------------------------------------------------------ plumbing

  /** Ends the open event streams, and closes the HTTP client when the builder made it. */
  @Override
  public void close() {
    if (closed) {
      return;
    }
    closed = true;
    for (AutoCloseable feed : List.copyOf(open)) {
      try {
        feed.close();
      } catch (Exception e) {
        // Closing is all that is asked.
      }
    }
    if (ownsHttp) {
      http.close();
    }
  }

  private void requireOpen() {
    if (closed) {
      throw new IllegalStateException("the client is closed");
    }
  }

  private static String jobPath(JobId id) {
    Objects.requireNonNull(id, "id");
    return "/v1/jobs/" + URLEncoder.encode(id.value(), StandardCharsets.UTF_8);
  }

  private HttpRequest.Builder requestTo(String path) {
    HttpRequest.Builder b = HttpRequest.newBuilder(URI.create(base + path));
    if (token != null) {
      b.header("Authorization", "Bearer " + token);
    }
    return b;
  }

  private JsonNode call(String method, String path, String jsonBody) {
    return send(method, path, jsonBody).body();
  }

  private Answer send(String method, String path, String jsonBody) {
    requireOpen();
    HttpRequest.Builder b = requestTo(path).timeout(requestTimeout);
    if (jsonBody == null) {
      b.method(method, HttpRequest.BodyPublishers.noBody());
    } else {
      b.header("Content-Type", "application/json")
          .method(method, HttpRequest.BodyPublishers.ofString(jsonBody));
    }
    return exchange(method, path, b.build());
  }

  /** A successful answer: its status and its JSON body (missing for a 204). */
  private record Answer(int status, JsonNode body) {}

  private Answer exchange(String method, String path, HttpRequest request) {
    HttpResponse<InputStream> response;
    try {
      response = http.send(request, HttpResponse.BodyHandlers.ofInputStream());
    } catch (IOException e) {
      throw unreachable(method, path, e);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new CancellationException("interrupted during " + method + " " + path);
    }
    int status = response.statusCode();
    try (InputStream in = response.body()) {
      if (status < 200 || status > 299) {
        throw apiError(method, path, status, in);
      }
      if (status == 204) {
        return new Answer(status, MissingNode.getInstance());
      }
      try {
        JsonNode body = JsonViews.JSON.readTree(in);
        return new Answer(status, body == null ? MissingNode.getInstance() : body);
      } catch (JacksonException e) {
        throw new FanoutApiException(
            method,
            path,
            status,
            FanoutApiException.UNEXPECTED_RESPONSE,
            "the answer is not JSON: " + e.getOriginalMessage());
      }
    } catch (IOException e) {
      throw unreachable(method, path, e);
    }
  }

  private FanoutUnreachableException unreachable(String method, String path, IOException e) {
    return new FanoutUnreachableException(
        "no answer from the Fanout server at "
            + base
            + " to "
            + method
            + " "
            + path
            + ": "
            + describe(e),
        e);
  }

  /** Says what went wrong with a connection in words, since many of these have no message. */
  static String describe(IOException e) {
    if (e instanceof HttpConnectTimeoutException) {
      return "the connection timed out";
    }
    if (e instanceof HttpTimeoutException) {
      return "no answer within the request timeout";
    }
    if (e instanceof ConnectException) {
      return "connection refused" + (e.getMessage() == null ? "" : " (" + e.getMessage() + ")");
    }
    return e.getMessage() != null ? e.getMessage() : e.getClass().getSimpleName();
  }

  private static FanoutApiException apiError(String method, String path, int status, InputStream in)
      throws IOException {
    byte[] raw = in.readNBytes(64 * 1024);
    String text = new String(raw, StandardCharsets.UTF_8);
    try {
      JsonNode error = JsonViews.JSON.readTree(raw).path("error");
      if (error.path("code").isTextual()) {
        return new FanoutApiException(
            method, path, status, error.get("code").asText(), error.path("message").asText(""));
      }
    } catch (JacksonException notJson) {
      // Not the API's error object: a proxy's page, say. Reported below as it is.
    }
    return new FanoutApiException(
        method,
        path,
        status,
        FanoutApiException.UNEXPECTED_RESPONSE,
        text.isBlank() ? "(an empty body)" : JsonViews.abbreviate(text.strip()));
  }

  /**
   * Configures a {@link FanoutClient}. Each option may be set once; a nonsense value fails when it
   * is set, naming the option.
   */
  public static final class Builder {
    private final URI baseUri;
    private String token;
    private HttpClient httpClient;
    private Duration connectTimeout;
    private Duration requestTimeout;
    private Duration reconnectDelay;
    private Duration reconnectTimeout;

    private Builder(URI baseUri) {
      Objects.requireNonNull(baseUri, "baseUri");
      String scheme = baseUri.getScheme();
      if (!baseUri.isAbsolute()
          || baseUri.getHost() == null
          || !("http".equalsIgnoreCase(scheme) || "https".equalsIgnoreCase(scheme))) {
        throw new IllegalArgumentException(
            "the server's base URI must be absolute http or https, such as"
                + " http://127.0.0.1:8080; got "
                + baseUri);
      }
      if (baseUri.getQuery() != null || baseUri.getFragment() != null) {
        throw new IllegalArgumentException(
            "the server's base URI must have no query or fragment, got " + baseUri);
      }
      this.baseUri = baseUri;
    }

    /**
     * Sends {@code Authorization: Bearer <token>} with every request.
     *
     * @param token the server's token
     * @return this builder
     * @throws IllegalArgumentException when empty or holding whitespace or control characters
     * @throws IllegalStateException when already set
     */
    public Builder token(String token) {
      Objects.requireNonNull(token, "token");
      Options.requireUnset(this.token, "token");
      if (token.isEmpty() || !token.chars().allMatch(c -> c > 0x20 && c < 0x7f)) {
        throw new IllegalArgumentException("token must be visible ASCII characters without spaces");
      }
      this.token = token;
      return this;
    }

    /**
     * Uses this HTTP client (for a proxy, TLS settings, an executor, or a test's own) instead of
     * one the builder makes. The client is not closed by {@link FanoutClient#close()}, and its own
     * connect timeout applies.
     *
     * @param httpClient the client
     * @return this builder
     * @throws IllegalStateException when already set, or when a connect timeout was set
     */
    public Builder httpClient(HttpClient httpClient) {
      Objects.requireNonNull(httpClient, "httpClient");
      Options.requireUnset(this.httpClient, "httpClient");
      if (connectTimeout != null) {
        throw new IllegalStateException(
            "connectTimeout configures the client the builder makes; set it on your httpClient");
      }
      this.httpClient = httpClient;
      return this;
    }

    /**
     * Sets how long opening a connection may take.
     *
     * @param timeout positive (default 10 s)
     * @return this builder
     * @throws IllegalArgumentException when not positive
     * @throws IllegalStateException when already set, or when an httpClient was given
     */
    public Builder connectTimeout(Duration timeout) {
      Options.requireUnset(connectTimeout, "connectTimeout");
      if (httpClient != null) {
        throw new IllegalStateException(
            "connectTimeout configures the client the builder makes; set it on your httpClient");
      }
      this.connectTimeout = Options.requirePositive(timeout, "connectTimeout");
      return this;
    }

    /**
     * Sets how long a request may wait for its answer. A submission's upload and an event stream
     * are not bounded by it: they last as long as the items and the job.
     *
     * @param timeout positive (default 30 s)
     * @return this builder
     * @throws IllegalArgumentException when not positive
     * @throws IllegalStateException when already set
     */
    public Builder requestTimeout(Duration timeout) {
      Options.requireUnset(requestTimeout, "requestTimeout");
      this.requestTimeout = Options.requirePositive(timeout, "requestTimeout");
      return this;
    }

    /**
     * Sets how long an event stream waits before it tries again to reopen a lost connection.
     *
     * @param delay positive (default 1 s)
     * @return this builder
     * @throws IllegalArgumentException when not positive
     * @throws IllegalStateException when already set
     */
    public Builder reconnectDelay(Duration delay) {
      Options.requireUnset(reconnectDelay, "reconnectDelay");
      this.reconnectDelay = Options.requirePositive(delay, "reconnectDelay");
      return this;
    }

    /**
     * Sets how long an event stream keeps trying to reopen a lost connection before it fails with
     * {@link FanoutUnreachableException}; a server restart within it goes unnoticed.
     *
     * @param timeout positive (default 60 s)
     * @return this builder
     * @throws IllegalArgumentException when not positive
     * @throws IllegalStateException when already set
     */
    public Builder reconnectTimeout(Duration timeout) {
      Options.requireUnset(reconnectTimeout, "reconnectTimeout");
      this.reconnectTimeout = Options.requirePositive(timeout, "reconnectTimeout");
      return this;
    }

    /**
     * Builds the client.
     *
     * @return the client
     */
    public FanoutClient build() {
      connectTimeout = Objects.requireNonNullElse(connectTimeout, Duration.ofSeconds(10));
      requestTimeout = Objects.requireNonNullElse(requestTimeout, Duration.ofSeconds(30));
      reconnectDelay = Objects.requireNonNullElse(reconnectDelay, Duration.ofSeconds(1));
      reconnectTimeout = Objects.requireNonNullElse(reconnectTimeout, Duration.ofSeconds(60));
      return new FanoutClient(this);
    }
  }
}
