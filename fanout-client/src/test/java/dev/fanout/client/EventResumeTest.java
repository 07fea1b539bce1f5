package dev.fanout.client;

import static org.assertj.core.api.Assertions.assertThat;

import dev.fanout.JobId;
import dev.fanout.JobState;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.List;
import java.util.stream.IntStream;
import java.util.stream.LongStream;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * The results stream over connections that break: a proxy that cuts every connection mid-stream,
 * and a server that stops and starts again on the same data. Each result arrives once, none is
 * missing, and the stream ends after done.
 */
// A guard against a hang (a stream that never ends), not a timing assertion.
@Timeout(value = 3, unit = java.util.concurrent.TimeUnit.MINUTES)
class EventResumeTest {
  @TempDir Path data;

  private TestServer server;
  private CuttingProxy proxy;
  private FanoutClient direct;
  private FanoutClient viaProxy;

  @BeforeEach
  void start() throws Exception {
    server = new TestServer(data, null);
    proxy = new CuttingProxy(server.port());
    direct = FanoutClientTest.clientOf(server.url());
    viaProxy = FanoutClientTest.clientOf(proxy.url());
  }

  @AfterEach
  void stop() throws Exception {
    viaProxy.close();
    direct.close();
    proxy.close();
    server.close();
  }

  @Test
  void a_stream_cut_every_few_kilobytes_resumes_with_nothing_lost_or_repeated() {
    JobId id =
        direct
            .submit(
                SubmitRequest.builder()
                    .functionName("identity")
                    .items(IntStream.range(0, 3_000).boxed())
                    .reduce("count")
                    .build())
            .id();
    proxy.cutEachConnectionAfter(4 * 1024);

    List<JobResult> results;
    try (Stream<JobResult> stream = viaProxy.results(id)) {
      results = stream.toList();
    }

    assertThat(proxy.connections()).as("the stream was cut and reopened").isGreaterThan(10);
    assertThat(results)
        .extracting(JobResult::seq)
        .containsExactlyElementsOf(LongStream.rangeClosed(1, 3_000).boxed().toList());
    assertThat(FanoutClientTest.indexes(results)).hasSize(3_000);
    assertThat(direct.get(id).aggregate().asLong()).isEqualTo(3_000);
  }

  @Test
  void a_stream_follows_its_job_across_a_server_restart_on_the_same_data() {
    JobId id =
        direct
            .submit(
                SubmitRequest.builder()
                    .functionName("slow")
                    .items(IntStream.range(0, 2_000).boxed())
                    .maxConcurrency(4)
                    .reduce("count")
                    .build())
            .id();

    List<JobResult> results = new ArrayList<>();
    try (Stream<JobResult> stream = viaProxy.results(id)) {
      Iterator<JobResult> it = stream.iterator();
      while (results.size() < 100) {
        results.add(it.next());
      }
      server.stop(); // ends the stream without done; the proxy now finds no server
      server.start(0);
      proxy.target(server.port());
      it.forEachRemaining(results::add);
    }

    try (FanoutClient after = FanoutClientTest.clientOf(server.url())) {
      assertThat(after.get(id).state()).isEqualTo(JobState.SUCCEEDED);
      assertThat(after.get(id).aggregate().asLong()).isEqualTo(2_000);
      List<Long> stored = new ArrayList<>();
      long next = 0;
      for (ResultPage page; ; next = page.next()) {
        page = after.results(id, next, 1_000, null);
        page.results().forEach(r -> stored.add(r.seq()));
        if (page.done()) {
          break;
        }
      }
      assertThat(results).extracting(JobResult::seq).containsExactlyElementsOf(stored);
    }
    assertThat(FanoutClientTest.indexes(results)).hasSize(2_000);
  }
}
