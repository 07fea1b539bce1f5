package dev.fanout.client;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** {@link FanoutClient#cluster()}: the server's node list, read over HTTP and typed. */
class ClusterTest {
  @TempDir Path data;

  @Test
  void the_cluster_of_a_real_server_holds_the_server_itself_as_active() {
    try (TestServer server = new TestServer(data, TestServer.TOKEN);
        FanoutClient client =
            FanoutClient.builder(java.net.URI.create(server.url()))
                .token(TestServer.TOKEN)
                .build()) {
      // The server's row appears with its first heartbeat.
      await()
          .atMost(Duration.ofSeconds(30))
          .pollInterval(20, TimeUnit.MILLISECONDS)
          .until(() -> client.cluster().self().isPresent());

      ClusterView cluster = client.cluster();
      NodeView self = cluster.self().orElseThrow();
      assertThat(self.id()).isEqualTo(server.nodeId());
      assertThat(self.state()).isEqualTo(NodeView.State.ACTIVE);
      assertThat(self.concurrency()).isPositive();
      assertThat(self.host()).isNotBlank();
      assertThat(self.lastSeen()).isAfterOrEqualTo(self.startedAt());
      assertThat(cluster.lease()).isEqualTo(Duration.ofSeconds(2));
      assertThat(cluster.json().get("nodes").isArray()).isTrue();
    }
  }

  @Test
  void every_state_and_a_fractional_lease_are_read_from_the_answer() throws Exception {
    String answer =
        """
        {"nodes": [
          {"id": "a", "host": "h1", "version": "1.0", "startedAt": "2026-01-01T00:00:00Z",
           "lastSeen": "2026-01-01T00:01:00Z", "state": "active", "concurrency": 50,
           "running": 3, "self": true},
          {"id": "b", "host": "h2", "version": "1.0", "startedAt": "2026-01-01T00:00:00Z",
           "lastSeen": "2026-01-01T00:00:10Z", "state": "lost", "concurrency": 20,
           "running": 4, "self": false},
          {"id": "c", "host": "h3", "version": "0.9", "startedAt": "2026-01-01T00:00:00Z",
           "lastSeen": "2026-01-01T00:00:20Z", "state": "stopped", "concurrency": 10,
           "running": 0, "self": false}],
         "leaseSeconds": 1.5}
        """;

    ClusterView cluster = JsonViews.cluster(JsonViews.JSON.readTree(answer));

    assertThat(cluster.lease()).isEqualTo(Duration.ofMillis(1500));
    assertThat(cluster.nodes())
        .extracting(NodeView::id, NodeView::state, NodeView::running, NodeView::self)
        .containsExactly(
            org.assertj.core.groups.Tuple.tuple("a", NodeView.State.ACTIVE, 3, true),
            org.assertj.core.groups.Tuple.tuple("b", NodeView.State.LOST, 4, false),
            org.assertj.core.groups.Tuple.tuple("c", NodeView.State.STOPPED, 0, false));
    assertThat(cluster.nodes().get(1).lastSeen()).isEqualTo(Instant.parse("2026-01-01T00:00:10Z"));
    assertThat(cluster.self().orElseThrow().id()).isEqualTo("a");
  }
}
