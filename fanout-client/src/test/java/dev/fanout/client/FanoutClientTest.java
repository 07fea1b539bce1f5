package dev.fanout.client;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.groups.Tuple.tuple;
import static org.awaitility.Awaitility.await;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import dev.fanout.FailurePolicy;
import dev.fanout.ItemStatus;
import dev.fanout.JobHandle;
import dev.fanout.JobId;
import dev.fanout.JobOutcome;
import dev.fanout.JobSpec;
import dev.fanout.JobState;
import dev.fanout.JobStatus;
import dev.fanout.NoSuchJobException;
import dev.fanout.ResultOrder;
import dev.fanout.RetryPolicy;
import java.io.ByteArrayInputStream;
import java.math.BigDecimal;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.List;
import java.util.Set;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import java.util.stream.Collectors;
import java.util.stream.IntStream;
import java.util.stream.LongStream;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/** The client against a real server: a random port, an H2 file, real HTTP. */
// A guard against a hang (a stream that never ends), not a timing assertion.
@Timeout(value = 3, unit = java.util.concurrent.TimeUnit.MINUTES)
class FanoutClientTest {
  @TempDir Path data;

  private TestServer server;
  private FanoutClient client;

  @BeforeEach
  void start() {
    server = new TestServer(data, null);
    client = clientOf(server.url());
  }

  @AfterEach
  void stop() {
    client.close();
    server.close();
  }

  static FanoutClient clientOf(String url) {
    return FanoutClient.builder(URI.create(url))
        .requestTimeout(Duration.ofSeconds(30))
        .reconnectDelay(Duration.ofMillis(20))
        .reconnectTimeout(Duration.ofSeconds(30))
        .build();
  }

  private JobView awaitFinal(JobId id) {
    await()
        .atMost(Duration.ofSeconds(60))
        .pollInterval(20, TimeUnit.MILLISECONDS)
        .until(() -> client.get(id).state().isFinal());
    return client.get(id);
  }

  private static SubmitRequest.Builder identity() {
    return SubmitRequest.builder().functionName("identity");
  }

  @Test
  void a_10000_item_streamed_submission_runs_to_its_aggregate_and_every_result_streams_once() {
    AtomicLong read = new AtomicLong();
    Stream<Long> items = LongStream.range(0, 10_000).boxed().peek(i -> read.incrementAndGet());

    JobAccepted accepted = client.submit(identity().items(items).reduce("sum").build());

    assertThat(accepted.total()).isEqualTo(10_000);
    assertThat(read.get()).isEqualTo(10_000);
    assertThat(accepted.location().toString())
        .isEqualTo(server.url() + "/v1/jobs/" + accepted.id());
    List<JobResult> results;
    try (Stream<JobResult> stream = client.results(accepted.id())) {
      results = stream.toList();
    }
    assertThat(results).extracting(JobResult::seq).containsExactlyElementsOf(seqs(10_000));
    assertThat(results.stream().map(JobResult::index).collect(Collectors.toSet())).hasSize(10_000);
    assertThat(results).allSatisfy(r -> assertThat(r.value().asLong()).isEqualTo(r.index()));

    JobView job = client.get(accepted.id());
    assertThat(job.state()).isEqualTo(JobState.SUCCEEDED);
    assertThat(job.status().succeeded()).isEqualTo(10_000);
    assertThat(job.aggregate().decimalValue()).isEqualByComparingTo(BigDecimal.valueOf(49_995_000));
    assertThat(client.aggregate(accepted.id()).asLong()).isEqualTo(49_995_000);
  }

  private static List<Long> seqs(int n) {
    return LongStream.rangeClosed(1, n).boxed().toList();
  }

  @Test
  void every_option_of_the_request_reaches_the_server() {
    JsonNode metadata = JsonNodeFactory.instance.objectNode().put("owner", "tests");
    JobAccepted accepted =
        client.submit(
            SubmitRequest.builder()
                .functionName("identity")
                .functionTimeout(Duration.ofSeconds(5))
                .items(List.of(1, 2, 3, 4))
                .transform(". * 10")
                .reduceJq(". + $item", JsonNodeFactory.instance.numberNode(100))
                .maxConcurrency(3)
                .retry(2, Duration.ofMillis(1), Duration.ofMillis(5))
                .timeout(Duration.ofSeconds(10))
                .deadline(Duration.ofMinutes(5))
                .failurePolicy(FailurePolicy.failFast().toleratingFailures(1))
                .order(dev.fanout.ResultOrder.COMPLETION)
                .batchSize(1)
                .metadata(metadata)
                .build());

    JobView job = awaitFinal(accepted.id());
    assertThat(job.state()).isEqualTo(JobState.SUCCEEDED);
    assertThat(job.aggregate().asLong()).isEqualTo(200);
    assertThat(job.status().maxConcurrency()).isEqualTo(3);
    assertThat(job.metadata()).isEqualTo(metadata);
  }

  @Test
  void a_webhook_and_an_http_function_are_sent_with_the_job() throws Exception {
    List<String> deliveries = new java.util.concurrent.CopyOnWriteArrayList<>();
    List<String> calls = new java.util.concurrent.CopyOnWriteArrayList<>();
    com.sun.net.httpserver.HttpServer receiver =
        com.sun.net.httpserver.HttpServer.create(
            new java.net.InetSocketAddress(java.net.InetAddress.getLoopbackAddress(), 0), 0);
    receiver.createContext(
        "/hook",
        exchange -> {
          deliveries.add(
              new String(exchange.getRequestBody().readAllBytes(), StandardCharsets.UTF_8));
          exchange.sendResponseHeaders(204, -1);
          exchange.close();
        });
    receiver.createContext(
        "/double",
        exchange -> {
          calls.add(exchange.getRequestHeaders().getFirst("X-Api-Key"));
          long n =
              Long.parseLong(
                  new String(exchange.getRequestBody().readAllBytes(), StandardCharsets.UTF_8)
                      .strip());
          byte[] answer = ("{\"twice\": " + (2 * n) + "}").getBytes(StandardCharsets.UTF_8);
          exchange.getResponseHeaders().add("Content-Type", "application/json");
          exchange.sendResponseHeaders(200, answer.length);
          exchange.getResponseBody().write(answer);
          exchange.close();
        });
    receiver.start();
    try {
      String base = "http://127.0.0.1:" + receiver.getAddress().getPort();
      JobId id =
          client
              .submit(
                  SubmitRequest.builder()
                      .functionUrl(URI.create(base + "/double"))
                      .functionHeader("X-Api-Key", "k-123")
                      .rateLimitPerSecond(1000)
                      .items(List.of(1, 2, 3))
                      .transform(".twice")
                      .reduce("sum")
                      .webhook(URI.create(base + "/hook"), "s3cret")
                      .build())
              .id();

      assertThat(awaitFinal(id).aggregate().asLong()).isEqualTo(12);
      assertThat(calls).containsOnly("k-123").hasSize(3);
      await().atMost(Duration.ofSeconds(30)).until(() -> deliveries.size() == 4);
      assertThat(deliveries.getLast()).contains("\"event\":\"done\"");
    } finally {
      receiver.stop(0);
    }
  }

  @Test
  void input_order_and_a_batch_size_reach_the_server() {
    JobAccepted accepted =
        client.submit(
            identity()
                .items(List.of(30, 10, 20, 40))
                .order(ResultOrder.INPUT)
                .reduce("collect")
                .build());

    try (Stream<JobResult> results = client.results(accepted.id())) {
      assertThat(results.toList())
          .extracting(JobResult::index, JobResult::seq)
          .containsExactly(tuple(0L, 1L), tuple(1L, 2L), tuple(2L, 3L), tuple(3L, 4L));
    }
    // A named function takes one item a call: the server names the field it refuses.
    assertThatThrownBy(() -> client.submit(identity().items(List.of(1)).batchSize(2).build()))
        .isInstanceOfSatisfying(
            FanoutApiException.class,
            e -> {
              assertThat(e.status()).isEqualTo(422);
              assertThat(e.serverMessage()).contains("batchSize");
            });
  }

  @Test
  void a_server_refusal_carries_its_status_code_and_message() {
    assertThatThrownBy(
            () ->
                client.submit(
                    SubmitRequest.builder().functionName("nope").items(List.of(1)).build()))
        .isInstanceOfSatisfying(
            FanoutApiException.class,
            e -> {
              assertThat(e.status()).isEqualTo(422);
              assertThat(e.code()).isEqualTo("unknown_function");
              assertThat(e.serverMessage()).contains("nope").contains("identity");
              assertThat(e.getMessage()).startsWith("POST /v1/jobs answered 422 unknown_function");
            });
  }

  @Test
  void an_unknown_job_is_404_job_not_found_or_empty_through_the_job_client() {
    JobId unknown = JobId.of("0192f1e4-7b1c-7d3e-9a4f-2b6c8d0e1f23");

    assertThatThrownBy(() -> client.get(unknown))
        .isInstanceOfSatisfying(
            FanoutApiException.class,
            e -> {
              assertThat(e.status()).isEqualTo(404);
              assertThat(e.code()).isEqualTo("job_not_found");
              assertThat(e.isUnauthorized()).isFalse();
            });
    assertThat(client.status(unknown)).isEmpty();
    assertThat(client.job(unknown)).isEmpty();
    assertThatThrownBy(() -> client.cancel(unknown))
        .isInstanceOf(NoSuchJobException.class)
        .hasCauseInstanceOf(FanoutApiException.class);
    assertThatThrownBy(() -> client.pause(unknown)).isInstanceOf(NoSuchJobException.class);
    assertThatThrownBy(() -> client.results(unknown).toList())
        .isInstanceOfSatisfying(
            FanoutApiException.class, e -> assertThat(e.code()).isEqualTo("job_not_found"));
  }

  @Test
  void cancel_pause_resume_and_concurrency_change_a_running_job() {
    JobId id =
        client
            .submit(
                SubmitRequest.builder()
                    .functionName("gated")
                    .items(IntStream.range(0, 20).boxed().toList())
                    .maxConcurrency(2)
                    .build())
            .id();

    assertThat(client.pauseJob(id).state()).isEqualTo(JobState.PAUSED);
    assertThat(client.pause(id)).as("already paused").isFalse();
    assertThat(client.changeMaxConcurrency(id, 7).status().maxConcurrency()).isEqualTo(7);
    client.setMaxConcurrency(id, 5);
    assertThat(client.get(id).status().maxConcurrency()).isEqualTo(5);
    assertThat(client.resume(id)).isTrue();
    assertThat(client.resume(id)).as("not paused any more").isFalse();
    assertThat(client.resumeJob(id).state()).isIn(JobState.RUNNING, JobState.ACCEPTED);
    assertThat(client.pause(id)).isTrue();
    assertThat(client.get(id).state()).isEqualTo(JobState.PAUSED);

    assertThat(client.cancelJob(id).state()).isEqualTo(JobState.CANCELLED);
    assertThat(client.cancelJob(id).state())
        .as("200 when already cancelled")
        .isEqualTo(JobState.CANCELLED);
    assertThat(client.cancel(id)).as("already final").isFalse();
    assertThatThrownBy(() -> client.pauseJob(id))
        .isInstanceOfSatisfying(
            FanoutApiException.class,
            e -> {
              assertThat(e.status()).isEqualTo(409);
              assertThat(e.code()).isEqualTo("job_final");
            });
    assertThatThrownBy(() -> client.pause(id)).isInstanceOf(IllegalStateException.class);
    assertThatThrownBy(() -> client.setMaxConcurrency(id, 3))
        .isInstanceOf(IllegalStateException.class)
        .hasCauseInstanceOf(FanoutApiException.class);
    assertThatThrownBy(() -> client.changeMaxConcurrency(id, 0))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("maxConcurrency");
  }

  @Test
  void the_job_client_cancel_says_whether_this_call_cancelled() {
    JobId id =
        client
            .submit(SubmitRequest.builder().functionName("gated").items(List.of(1, 2)).build())
            .id();

    assertThat(client.cancel(id)).isTrue();
    assertThat(client.cancel(id)).isFalse();
    JobView job = awaitFinal(id);
    assertThat(job.state()).isEqualTo(JobState.CANCELLED);
    assertThat(job.status().cancelled()).isEqualTo(2);
  }

  @Test
  void failed_items_are_paged_retried_and_the_aggregate_is_folded_again() {
    JobId id =
        client
            .submit(
                SubmitRequest.builder()
                    .functionName("flaky")
                    .items(IntStream.range(0, 10).boxed().toList())
                    .retry(1)
                    .reduce("sum")
                    .build())
            .id();
    JobView failed = awaitFinal(id);
    assertThat(failed.state()).isEqualTo(JobState.FAILED);
    assertThat(failed.aggregate().asLong()).isEqualTo(0 + 2 + 4 + 6 + 8);

    ResultPage failures = client.results(id, 0, 100, ItemStatus.FAILED);
    assertThat(failures.results())
        .extracting(JobResult::index)
        .containsExactlyInAnyOrder(1L, 3L, 5L, 7L, 9L);
    assertThat(failures.results())
        .allSatisfy(
            r -> {
              assertThat(r.succeeded()).isFalse();
              assertThat(r.error().code()).isEqualTo("function_error");
              assertThat(r.error().message()).contains("odd");
              assertThat(r.value()).isNull();
            });
    ResultPage firstThree = client.results(id, 0, 3, null);
    assertThat(firstThree.results()).extracting(JobResult::seq).containsExactly(1L, 2L, 3L);
    assertThat(firstThree.next()).isEqualTo(3);
    assertThat(firstThree.done()).isFalse();
    ResultPage rest = client.results(id, firstThree.next(), 100, null);
    assertThat(rest.results()).hasSize(7);
    assertThat(rest.done()).isTrue();

    server.healed.set(true);
    JobView retried = client.retryFailed(id);
    assertThat(retried.state()).isIn(JobState.RUNNING, JobState.SUCCEEDED);
    JobView again = awaitFinal(id);
    assertThat(again.state()).isEqualTo(JobState.SUCCEEDED);
    assertThat(again.aggregate().asLong()).isEqualTo(45);
    assertThatThrownBy(() -> client.retryFailed(id))
        .isInstanceOfSatisfying(
            FanoutApiException.class, e -> assertThat(e.code()).isEqualTo("nothing_to_retry"));
  }

  @Test
  void jobs_are_listed_newest_first_page_by_page_and_a_final_job_is_deleted() {
    List<JobId> ids = new ArrayList<>();
    for (int i = 0; i < 5; i++) {
      ids.add(client.submit(identity().items(List.of(i)).build()).id());
    }
    ids.forEach(this::awaitFinal);

    JobPage first = client.list(null, 2, null);
    assertThat(first.jobs()).extracting(JobView::id).containsExactly(ids.get(4), ids.get(3));
    assertThat(first.jobs()).allSatisfy(j -> assertThat(j.aggregate().isNull()).isTrue());
    JobPage second = client.list(null, 2, first.next().orElseThrow());
    assertThat(second.jobs()).extracting(JobView::id).containsExactly(ids.get(2), ids.get(1));
    assertThat(client.list(JobState.FAILED, 10, null).jobs()).isEmpty();
    assertThat(client.list()).extracting(JobStatus::id).containsExactlyElementsOf(ids.reversed());

    client.delete(ids.get(0));
    assertThat(client.status(ids.get(0))).isEmpty();
    assertThatThrownBy(() -> client.list(null, 0, null))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("limit");
  }

  @Test
  void a_running_job_can_be_neither_deleted_nor_asked_for_its_aggregate() {
    JobId id =
        client.submit(SubmitRequest.builder().functionName("gated").items(List.of(1)).build()).id();

    assertThatThrownBy(() -> client.delete(id))
        .isInstanceOfSatisfying(
            FanoutApiException.class, e -> assertThat(e.code()).isEqualTo("job_not_final"));
    assertThatThrownBy(() -> client.aggregate(id))
        .isInstanceOfSatisfying(
            FanoutApiException.class, e -> assertThat(e.code()).isEqualTo("job_not_final"));
    assertThatThrownBy(() -> client.retryFailed(id))
        .isInstanceOfSatisfying(
            FanoutApiException.class, e -> assertThat(e.code()).isEqualTo("job_not_final"));
  }

  @Test
  void events_bring_progress_then_every_result_then_one_done_with_the_final_job() {
    JobId id =
        client
            .submit(
                SubmitRequest.builder()
                    .functionName("gated")
                    .items(IntStream.range(0, 50).boxed().toList())
                    .reduce("count")
                    .build())
            .id();

    List<JobEvent> events = new ArrayList<>();
    try (Stream<JobEvent> stream = client.events(id, 0)) {
      Iterator<JobEvent> it = stream.iterator();
      events.add(it.next()); // the job waits at the gate: only progress can come first
      server.gate.countDown();
      it.forEachRemaining(events::add);
    }

    assertThat(events.getFirst()).isInstanceOf(JobEvent.Progress.class);
    assertThat(((JobEvent.Progress) events.getFirst()).id()).isEqualTo(id);
    assertThat(events.stream().filter(JobEvent.Result.class::isInstance)).hasSize(50);
    JobEvent last = events.getLast();
    assertThat(last).isInstanceOf(JobEvent.Done.class);
    JobView done = ((JobEvent.Done) last).job();
    assertThat(done.state()).isEqualTo(JobState.SUCCEEDED);
    assertThat(done.aggregate().asLong()).isEqualTo(50);
    assertThat(events.stream().filter(JobEvent.Done.class::isInstance)).hasSize(1);
  }

  @Test
  void events_after_the_last_seq_watch_the_progress_without_the_results() {
    JobId id = client.submit(identity().items(List.of(1, 2, 3)).build()).id();
    awaitFinal(id);

    List<JobEvent> events;
    try (Stream<JobEvent> stream = client.events(id, Long.MAX_VALUE)) {
      events = stream.toList();
    }
    assertThat(events).hasSize(1).first().isInstanceOf(JobEvent.Done.class);
    try (Stream<JobEvent> stream = client.events(id, 2)) {
      assertThat(stream.filter(JobEvent.Result.class::isInstance))
          .extracting(e -> ((JobEvent.Result) e).result().seq())
          .containsExactly(3L);
    }
  }

  @Test
  void an_idempotency_key_makes_a_repeat_answer_the_first_job_and_another_body_a_conflict() {
    SubmitRequest request = identity().items(List.of(1, 2, 3)).idempotencyKey("order-42").build();

    JobAccepted first = client.submit(request);
    JobAccepted repeat = client.submit(request);

    assertThat(repeat.id()).isEqualTo(first.id());
    assertThat(repeat.total()).isEqualTo(3);
    assertThatThrownBy(
            () -> client.submit(identity().items(List.of(9)).idempotencyKey("order-42").build()))
        .isInstanceOfSatisfying(
            FanoutApiException.class,
            e -> {
              assertThat(e.status()).isEqualTo(409);
              assertThat(e.code()).isEqualTo("idempotency_conflict");
            });
  }

  @Test
  void json_items_are_read_from_an_array_or_ndjson_and_bad_json_names_its_line() {
    JobAccepted array =
        client.submit(identity().itemsJson(utf8("[1, {\"a\": 2}, \"three\", null]")).build());
    JobAccepted ndjson =
        client.submit(
            identity().itemsJson(utf8("1\n{\"a\": 2}\n\n\"three\"\n")).reduce("count").build());

    assertThat(array.total()).isEqualTo(4);
    assertThat(ndjson.total()).isEqualTo(3);
    assertThat(awaitFinal(ndjson.id()).aggregate().asLong()).isEqualTo(3);
    assertThatThrownBy(() -> client.submit(identity().itemsJson(utf8("1\n2\n{\"a\": \n")).build()))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("line 3");
    assertThatThrownBy(() -> client.submit(identity().itemsJson(utf8("[1, 2")).build()))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("not closed");
    assertThat(client.list()).as("nothing stored from bad items").hasSize(2);
  }

  private static ByteArrayInputStream utf8(String s) {
    return new ByteArrayInputStream(s.getBytes(StandardCharsets.UTF_8));
  }

  @Test
  void what_the_items_source_throws_is_rethrown_and_nothing_is_stored() {
    Iterator<Integer> failing =
        IntStream.range(0, 100_000)
            .boxed()
            .map(
                i -> {
                  if (i == 50_000) {
                    throw new IllegalStateException("item source broke at 50000");
                  }
                  return i;
                })
            .iterator();

    assertThatThrownBy(() -> client.submit(identity().items(failing).build()))
        .isInstanceOf(IllegalStateException.class)
        .hasMessage("item source broke at 50000");
    assertThat(client.list()).isEmpty();
  }

  @Test
  void a_one_shot_request_cannot_be_submitted_twice_and_an_iterable_one_can() {
    SubmitRequest once = identity().items(Stream.of(1, 2)).build();
    client.submit(once);
    assertThatThrownBy(() -> client.submit(once))
        .isInstanceOf(IllegalStateException.class)
        .hasMessageContaining("only once");
    SubmitRequest again = identity().items(List.of(1, 2)).build();
    assertThat(client.submit(again).id()).isNotEqualTo(client.submit(again).id());
  }

  @Test
  void a_named_job_spec_runs_remotely_behind_the_job_client_interface() throws Exception {
    JobSpec<Integer, JsonNode, JsonNode> spec =
        JobSpec.items(List.of(1, 2, 3, 4))
            .function("flaky")
            .reduce("sum")
            .retry(RetryPolicy.none())
            .maxConcurrency(4)
            .build();

    JobHandle<JsonNode> handle = client.submit(spec);
    JobOutcome<JsonNode> outcome = handle.outcome().get(60, TimeUnit.SECONDS);

    assertThat(outcome.state()).isEqualTo(JobState.FAILED);
    assertThat(outcome.aggregate().asLong()).isEqualTo(2 + 4);
    assertThat(outcome.failures()).extracting(f -> f.index()).containsExactly(0L, 2L);
    assertThat(outcome.failures().getFirst().error())
        .isInstanceOf(dev.fanout.TaskFailedException.class)
        .hasMessageContaining("odd 1");
    assertThat(handle.status().state()).isEqualTo(JobState.FAILED);
    assertThat(handle.metadata()).isEmpty();

    server.healed.set(true);
    assertThat(handle.retryFailed()).isTrue();
    JobOutcome<JsonNode> retried = handle.outcome().get(60, TimeUnit.SECONDS);
    assertThat(retried.state()).isEqualTo(JobState.SUCCEEDED);
    assertThat(retried.aggregate().asLong()).isEqualTo(10);
    assertThat(retried.failures()).isEmpty();
    assertThat(handle.retryFailed()).as("nothing left to retry").isFalse();

    JobHandle<?> found = client.job(handle.id()).orElseThrow();
    assertThat(found.status().succeeded()).isEqualTo(4);
  }

  @Test
  void a_spec_with_a_lambda_or_a_part_the_api_lacks_is_refused_with_the_way_out() {
    JobSpec<Integer, Integer, Void> lambda =
        JobSpec.of(List.of(1), (Integer n, dev.fanout.TaskContext c) -> n);
    assertThatThrownBy(() -> client.submit(lambda))
        .isInstanceOf(UnsupportedOperationException.class)
        .hasMessageContaining("lambda")
        .hasMessageContaining("SubmitRequest");
    JobSpec<Integer, JsonNode, Void> named =
        JobSpec.items(List.of(1)).function("identity").consumer("somewhere").build();
    assertThatThrownBy(() -> client.submit(named))
        .isInstanceOf(UnsupportedOperationException.class)
        .hasMessageContaining("consumer");
    JobSpec<Integer, JsonNode, JsonNode> unknown =
        JobSpec.items(List.of(1)).function("identity").reduce("median").build();
    assertThatThrownBy(() -> client.submit(unknown))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("median")
        .hasCauseInstanceOf(FanoutApiException.class);
    assertThat(client.list()).isEmpty();
  }

  @Test
  void a_closed_client_refuses_requests_and_ends_its_open_event_streams() {
    JobId id =
        client.submit(SubmitRequest.builder().functionName("gated").items(List.of(1)).build()).id();
    Stream<JobEvent> events = client.events(id, 0);
    Iterator<JobEvent> it = events.iterator();
    assertThat(it.next()).isInstanceOf(JobEvent.Progress.class);

    client.close();

    assertThatThrownBy(it::hasNext).isInstanceOf(java.util.concurrent.CancellationException.class);
    assertThatThrownBy(() -> client.get(id)).isInstanceOf(IllegalStateException.class);
  }

  @Test
  void a_server_that_is_not_there_is_unreachable() throws Exception {
    int port;
    try (java.net.ServerSocket s = new java.net.ServerSocket(0)) {
      port = s.getLocalPort();
    }
    try (FanoutClient nowhere =
        FanoutClient.builder(URI.create("http://127.0.0.1:" + port))
            .connectTimeout(Duration.ofSeconds(5))
            .reconnectDelay(Duration.ofMillis(10))
            .reconnectTimeout(Duration.ofMillis(100))
            .build()) {
      JobId id = JobId.of("0192f1e4-7b1c-7d3e-9a4f-2b6c8d0e1f23");
      assertThatThrownBy(() -> nowhere.get(id))
          .isInstanceOf(FanoutUnreachableException.class)
          .hasMessageContaining("127.0.0.1:" + port)
          .hasMessageContaining("connection refused");
      assertThatThrownBy(() -> nowhere.submit(identity().items(List.of(1)).build()))
          .isInstanceOf(FanoutUnreachableException.class);
      assertThatThrownBy(() -> nowhere.results(id).toList())
          .isInstanceOf(FanoutUnreachableException.class)
          .hasMessageContaining("could not open the event stream");
    }
  }

  @Test
  void an_answer_that_is_not_the_api_error_object_is_an_unexpected_response() throws Exception {
    com.sun.net.httpserver.HttpServer proxy =
        com.sun.net.httpserver.HttpServer.create(
            new java.net.InetSocketAddress(java.net.InetAddress.getLoopbackAddress(), 0), 0);
    proxy.createContext(
        "/",
        exchange -> {
          byte[] page = "<html>502 Bad Gateway</html>".getBytes(StandardCharsets.UTF_8);
          exchange.sendResponseHeaders(502, page.length);
          exchange.getResponseBody().write(page);
          exchange.close();
        });
    proxy.start();
    try (FanoutClient viaProxy = clientOf("http://127.0.0.1:" + proxy.getAddress().getPort())) {
      assertThatThrownBy(() -> viaProxy.list(null, 10, null))
          .isInstanceOfSatisfying(
              FanoutApiException.class,
              e -> {
                assertThat(e.status()).isEqualTo(502);
                assertThat(e.code()).isEqualTo(FanoutApiException.UNEXPECTED_RESPONSE);
                assertThat(e.serverMessage()).contains("Bad Gateway");
              });
    } finally {
      proxy.stop(0);
    }
  }

  static Set<Long> indexes(List<JobResult> results) {
    return results.stream().map(JobResult::index).collect(Collectors.toSet());
  }
}
