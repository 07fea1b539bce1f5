package dev.fanout.client;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.fanout.JobId;
import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.net.ConnectException;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Deque;
import java.util.List;
import org.junit.jupiter.api.Test;

/**
 * The event reader on scripted connections: how it parses the SSE text, what it retries, and that a
 * result is returned once whatever the server repeats.
 */
class EventFeedTest {
  private static final JobId JOB = JobId.of("0192f1e4-7b1c-7d3e-9a4f-2b6c8d0e1f23");
  private static final String DONE =
      "event: done\ndata: {\"id\":\""
          + JOB
          + "\",\"status\":\"SUCCEEDED\",\"total\":3,"
          + "\"createdAt\":\"2024-01-01T00:00:00Z\",\"aggregate\":6}\n\n";

  /** Each connection: a stream to return, or a failure to throw. */
  private final Deque<Object> connections = new ArrayDeque<>();

  private final List<Long> askedAfter = new ArrayList<>();

  private EventFeed feed(Duration reconnectTimeout) {
    return new EventFeed(
        (job, after) -> {
          askedAfter.add(after);
          Object next = connections.removeFirst();
          if (next instanceof IOException e) {
            throw e;
          }
          if (next instanceof RuntimeException e) {
            throw e;
          }
          return new ByteArrayInputStream(((String) next).getBytes(StandardCharsets.UTF_8));
        },
        JOB,
        0,
        Duration.ofMillis(1),
        reconnectTimeout,
        () -> {});
  }

  private static String result(long seq, long index) {
    return "id: "
        + seq
        + "\nevent: result\ndata: {\"seq\":"
        + seq
        + ",\"index\":"
        + index
        + ",\"status\":\"SUCCEEDED\",\"value\":"
        + index
        + ",\"attempts\":1,\"durationMs\":2}\n\n";
  }

  private static List<Long> seqs(EventFeed feed) {
    List<Long> seqs = new ArrayList<>();
    while (feed.hasNext()) {
      if (feed.next() instanceof JobEvent.Result r) {
        seqs.add(r.result().seq());
      }
    }
    return seqs;
  }

  @Test
  void a_dropped_connection_resumes_after_the_last_seq_and_a_repeat_is_dropped() {
    connections.add(": stream\n\n" + result(1, 0) + result(2, 1) + "id: 3\nevent: res");
    // A server that resumed one too early: seq 2 again, then the rest.
    connections.add(result(2, 1) + result(3, 2) + DONE);

    EventFeed feed = feed(Duration.ofSeconds(5));

    assertThat(seqs(feed)).containsExactly(1L, 2L, 3L);
    assertThat(askedAfter).containsExactly(0L, 2L);
    assertThat(feed.reconnects()).isEqualTo(1);
  }

  @Test
  void refused_connections_and_gateway_errors_are_retried_until_the_server_is_back() {
    connections.add(new ConnectException("Connection refused"));
    connections.add(new FanoutApiException("GET", "/events", 503, "unexpected_response", "down"));
    connections.add(result(1, 0) + result(2, 1) + result(3, 2) + DONE);

    assertThat(seqs(feed(Duration.ofSeconds(30)))).containsExactly(1L, 2L, 3L);
  }

  @Test
  void a_refusal_that_will_not_pass_ends_the_feed_at_once() {
    connections.add(new FanoutApiException("GET", "/events", 404, "job_not_found", "gone"));

    assertThatThrownBy(feed(Duration.ofSeconds(30))::hasNext)
        .isInstanceOfSatisfying(
            FanoutApiException.class, e -> assertThat(e.code()).isEqualTo("job_not_found"));
  }

  @Test
  void a_server_that_stays_away_past_the_reconnect_timeout_is_unreachable() {
    for (int i = 0; i < 10_000; i++) {
      connections.add(new ConnectException("Connection refused"));
    }

    assertThatThrownBy(feed(Duration.ofMillis(50))::hasNext)
        .isInstanceOf(FanoutUnreachableException.class)
        .hasMessageContaining("could not open the event stream of job " + JOB)
        .hasMessageContaining("connection refused");
  }

  @Test
  void comments_crlf_multi_line_data_and_unknown_events_are_read_as_sse_says() {
    connections.add(
        ": hello\r\n\r\nevent: something-new\r\ndata: {}\r\n\r\n"
            + "id: 1\r\nevent: result\r\ndata: {\"seq\":1,\"index\":4,\"status\":\"FAILED\",\r\n"
            + "data: \"error\":{\"code\":\"http_error\",\"message\":\"no\",\"httpStatus\":500},"
            + "\"attempts\":3,\"durationMs\":9}\r\n\r\n"
            + "event: progress\ndata: {\"id\":\""
            + JOB
            + "\",\"status\":\"RUNNING\",\"total\":1,\"succeeded\":0,\"failed\":1}\n\n"
            + DONE);

    EventFeed feed = feed(Duration.ofSeconds(5));
    List<JobEvent> events = new ArrayList<>();
    feed.forEachRemaining(events::add);

    assertThat(events).hasSize(3);
    JobResult failed = ((JobEvent.Result) events.get(0)).result();
    assertThat(failed.index()).isEqualTo(4);
    assertThat(failed.error()).isEqualTo(new JobResult.Error("http_error", "no", 500));
    assertThat(failed.attempts()).isEqualTo(3);
    assertThat(((JobEvent.Progress) events.get(1)).settled()).isEqualTo(1);
    assertThat(((JobEvent.Done) events.get(2)).job().aggregate().asLong()).isEqualTo(6);
    assertThat(feed.hasNext()).isFalse();
  }

  @Test
  void an_event_that_is_not_json_is_an_error_not_a_lost_connection() {
    connections.add("event: result\ndata: {not json\n\n");

    assertThatThrownBy(feed(Duration.ofSeconds(5))::hasNext)
        .isInstanceOf(IllegalStateException.class)
        .hasMessageContaining("not JSON");
  }
}
