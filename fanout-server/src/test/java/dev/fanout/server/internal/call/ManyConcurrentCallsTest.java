package dev.fanout.server.internal.call;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.IntNode;
import java.net.URI;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import org.eclipse.jetty.client.HttpClient;
import org.junit.jupiter.api.Test;

/**
 * Many calls at once through one function, against a stub in its own JVM (so the thousands of
 * sockets of both ends do not share one process's limits).
 */
class ManyConcurrentCallsTest {

  @Test
  void two_thousand_concurrent_calls_at_concurrency_500_all_succeed_once_each() throws Exception {
    int calls = 2000;
    int concurrency = 500;
    HttpClient client = HttpFunction.newClient(Duration.ofSeconds(10));
    try (ChildJvm stubProcess = ChildJvm.stubServer()) {
      int port = Integer.parseInt(stubProcess.readLine().strip());
      CallLimiter limiter = new CallLimiter(concurrency, null);
      HttpFunction function =
          HttpFunction.builder(
                  HttpFunctionConfig.of(URI.create("http://127.0.0.1:" + port + "/f?delayMs=20")),
                  client)
              .limiter(limiter)
              .build();
      FakeTaskContext job = FakeTaskContext.of(0);

      List<Future<JsonNode>> results = new ArrayList<>();
      try (ExecutorService threads = Executors.newVirtualThreadPerTaskExecutor()) {
        for (int i = 0; i < calls; i++) {
          FakeTaskContext context = new FakeTaskContext(job.jobId(), i, 1, job.deadline());
          IntNode item = IntNode.valueOf(i);
          results.add(threads.submit(() -> function.apply(item, context)));
        }
      }

      for (int i = 0; i < calls; i++) {
        assertThat(results.get(i).get()).isEqualTo(IntNode.valueOf(i));
      }
      JsonNode stats = stats(client, port);
      assertThat(stats.get("calls").asInt()).isEqualTo(calls);
      assertThat(stats.get("keys").asInt()).isEqualTo(calls);
      assertThat(stats.get("maxPerKey").asInt()).isEqualTo(1);
      assertThat(stats.get("peakInFlight").asInt()).isBetween(2, concurrency);
      assertThat(limiter.inFlight()).isZero();
    } finally {
      HttpFunction.stopClient(client);
    }
  }

  private static JsonNode stats(HttpClient client, int port) throws Exception {
    return new ObjectMapper()
        .readTree(client.GET("http://127.0.0.1:" + port + "/stats").getContentAsString());
  }
}
