package dev.fanout.server;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import com.fasterxml.jackson.databind.JsonNode;
import dev.fanout.spi.NodeRow;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.HashMap;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@code GET /v1/cluster} on a real server over H2: its own node, and rows written through the
 * store as other nodes would write them, each in one of the three states.
 */
class ClusterTest {
  private static final String TOKEN = "cluster-test-token-0123456789";
  private static final Duration LEASE = Duration.ofMinutes(5);

  @TempDir Path data;

  private FanoutServer server;
  private Http http;

  @BeforeEach
  void start() {
    server =
        FanoutServer.builder()
            .port(0)
            .dataDir(data)
            .token(TOKEN)
            .nodeId("node-under-test")
            .concurrency(7)
            .pollInterval(Duration.ofMillis(20))
            // Long, so a row written as just seen stays active however slow the machine is.
            .leaseDuration(LEASE)
            .build()
            .start();
    http = new Http(server.url(), TOKEN);
  }

  @AfterEach
  void stop() {
    server.close();
  }

  private Map<String, JsonNode> nodesById() {
    Http.Response r = http.get("/v1/cluster");
    assertThat(r.status()).as(r.body()).isEqualTo(200);
    Map<String, JsonNode> byId = new HashMap<>();
    r.json().get("nodes").forEach(n -> byId.put(n.get("id").asText(), n));
    return byId;
  }

  @Test
  void the_server_lists_itself_as_an_active_node_with_its_cap_and_lease() {
    await()
        .atMost(Duration.ofSeconds(30))
        .pollInterval(20, TimeUnit.MILLISECONDS)
        .until(() -> nodesById().containsKey("node-under-test"));

    JsonNode cluster = http.get("/v1/cluster").json();
    assertThat(cluster.get("leaseSeconds").asLong()).isEqualTo(LEASE.toSeconds());
    JsonNode self = nodesById().get("node-under-test");
    assertThat(self.get("state").asText()).isEqualTo("active");
    assertThat(self.get("self").asBoolean()).isTrue();
    assertThat(self.get("concurrency").asInt()).isEqualTo(7);
    assertThat(self.get("running").asInt()).isZero();
    assertThat(self.get("host").asText()).isNotBlank();
    assertThat(self.get("version").asText()).isNotBlank();
    assertThat(Instant.parse(self.get("lastSeen").asText()))
        .isAfterOrEqualTo(Instant.parse(self.get("startedAt").asText()));
  }

  @Test
  void other_nodes_are_active_lost_or_stopped_by_their_rows_and_the_lease() {
    Instant now = Instant.now();
    Instant longAgo = now.minus(LEASE.multipliedBy(3));
    server.store().heartbeat(new NodeRow("peer-active", "host-a", "9.9.9", now, now, 50, 3, false));
    server
        .store()
        .heartbeat(new NodeRow("peer-lost", "host-b", "9.9.9", longAgo, longAgo, 20, 4, false));
    server
        .store()
        .heartbeat(new NodeRow("peer-stopped", "host-c", "9.9.8", longAgo, longAgo, 10, 0, false));
    server.store().leave("peer-stopped", longAgo.plusSeconds(1));

    Map<String, JsonNode> nodes = nodesById();

    JsonNode active = nodes.get("peer-active");
    assertThat(active).as("%s", nodes).isNotNull();
    assertThat(active.get("state").asText()).isEqualTo("active");
    assertThat(active.get("self").asBoolean()).isFalse();
    assertThat(active.get("host").asText()).isEqualTo("host-a");
    assertThat(active.get("version").asText()).isEqualTo("9.9.9");
    assertThat(active.get("concurrency").asInt()).isEqualTo(50);
    assertThat(active.get("running").asInt()).isEqualTo(3);

    JsonNode lost = nodes.get("peer-lost");
    assertThat(lost.get("state").asText()).isEqualTo("lost");
    assertThat(lost.get("running").asInt()).isEqualTo(4);
    assertThat(Instant.parse(lost.get("lastSeen").asText())).isBefore(now);

    JsonNode stopped = nodes.get("peer-stopped");
    assertThat(stopped.get("state").asText()).isEqualTo("stopped");
    assertThat(stopped.get("self").asBoolean()).isFalse();
  }

  @Test
  void the_cluster_needs_the_token() {
    Http.Response r = new Http(server.url(), null).get("/v1/cluster");
    assertThat(r.status()).isEqualTo(401);
    assertThat(r.errorCode()).isEqualTo("unauthorized");
  }
}
