package dev.fanout.server.internal.api;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.fanout.spi.NodeRow;
import java.time.Duration;
import java.time.Instant;
import org.junit.jupiter.api.Test;

/** A node's state in {@code GET /v1/cluster}: judged by its row, the lease and the time. */
class NodeViewTest {
  private static final Instant NOW = Instant.parse("2026-01-02T03:04:05Z");
  private static final Duration LEASE = Duration.ofSeconds(30);

  private static NodeRow seen(Instant lastSeen, boolean stopped) {
    return new NodeRow("n1", "h1", "1.0", NOW.minusSeconds(3600), lastSeen, 8, 2, stopped);
  }

  @Test
  void a_node_seen_within_the_lease_is_active_up_to_its_last_instant() {
    assertThat(Views.nodeState(seen(NOW, false), LEASE, NOW)).isEqualTo("active");
    assertThat(Views.nodeState(seen(NOW.minus(LEASE), false), LEASE, NOW)).isEqualTo("active");
  }

  @Test
  void a_node_not_seen_for_longer_than_the_lease_is_lost() {
    assertThat(Views.nodeState(seen(NOW.minus(LEASE).minusMillis(1), false), LEASE, NOW))
        .isEqualTo("lost");
  }

  @Test
  void a_stopped_node_is_stopped_however_long_ago_it_was_seen() {
    assertThat(Views.nodeState(seen(NOW, true), LEASE, NOW)).isEqualTo("stopped");
    assertThat(Views.nodeState(seen(NOW.minusSeconds(86_400), true), LEASE, NOW))
        .isEqualTo("stopped");
  }

  @Test
  void the_view_has_every_field_and_marks_only_the_reading_node_as_self() {
    ObjectNode view = Views.node(seen(NOW, false), "n1", LEASE, NOW);
    assertThat(view.properties().stream().map(e -> e.getKey()))
        .containsExactly(
            "id",
            "host",
            "version",
            "startedAt",
            "lastSeen",
            "state",
            "concurrency",
            "running",
            "self");
    assertThat(view.get("lastSeen").asText()).isEqualTo("2026-01-02T03:04:05Z");
    assertThat(view.get("running").asInt()).isEqualTo(2);
    assertThat(view.get("self").asBoolean()).isTrue();
    assertThat(Views.node(seen(NOW, false), "other", LEASE, NOW).get("self").asBoolean()).isFalse();
  }
}
