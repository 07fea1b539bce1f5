package dev.fanout.cli;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import dev.fanout.client.ClusterView;
import dev.fanout.client.NodeView;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import org.junit.jupiter.api.Test;

/** The table {@code fanout cluster} prints, with the time held still. */
class ClusterCommandTest {
  private static final Instant NOW = Instant.parse("2026-11-28T20:41:12Z");

  private static NodeView node(String id, NodeView.State state, Duration ago, boolean self) {
    return new NodeView(
        id,
        id + ".internal",
        "0.1.0",
        NOW.minus(Duration.ofHours(1)),
        NOW.minus(ago),
        state,
        200,
        37,
        self);
  }

  private static String print(List<NodeView> nodes) {
    StringWriter text = new StringWriter();
    try (PrintWriter out = new PrintWriter(text)) {
      ClusterCommand.print(
          out,
          new ClusterView(nodes, Duration.ofSeconds(30), JsonNodeFactory.instance.objectNode()),
          NOW);
    }
    return text.toString();
  }

  @Test
  void each_node_is_one_aligned_line_and_the_answering_node_is_starred() {
    String table =
        print(
            List.of(
                node("web-1", NodeView.State.ACTIVE, Duration.ofSeconds(2), true),
                node("worker-7", NodeView.State.LOST, Duration.ofMinutes(3), false),
                node("worker-8", NodeView.State.STOPPED, Duration.ofDays(3), false)));

    List<String> lines = table.lines().toList();
    assertThat(lines).hasSize(4);
    assertThat(lines.get(0))
        .startsWith("ID")
        .contains("HOST", "STATE", "RUNNING/CAP", "LAST SEEN", "VERSION");
    assertThat(lines.get(1))
        .startsWith("web-1 *")
        .contains("web-1.internal", "active", "37/200", "2s ago", "0.1.0");
    assertThat(lines.get(2)).startsWith("worker-7 ").contains("lost", "3m ago");
    assertThat(lines.get(3)).startsWith("worker-8 ").contains("stopped", "3d ago");
    // Aligned: every line has its state at the same column.
    int column = lines.get(0).indexOf("STATE");
    assertThat(lines.subList(1, 4))
        .extracting(l -> l.substring(column).split(" ")[0])
        .containsExactly("active", "lost", "stopped");
  }

  @Test
  void an_empty_cluster_says_so() {
    assertThat(print(List.of())).isEqualToIgnoringNewLines("no nodes have reported yet");
  }

  @Test
  void last_seen_counts_back_in_its_largest_whole_unit() {
    assertThat(ClusterCommand.ago(NOW, NOW)).isEqualTo("0s ago");
    assertThat(ClusterCommand.ago(NOW.minusSeconds(119), NOW)).isEqualTo("119s ago");
    assertThat(ClusterCommand.ago(NOW.minusSeconds(120), NOW)).isEqualTo("2m ago");
    assertThat(ClusterCommand.ago(NOW.minus(Duration.ofHours(5)), NOW)).isEqualTo("5h ago");
    assertThat(ClusterCommand.ago(NOW.minus(Duration.ofDays(9)), NOW)).isEqualTo("9d ago");
    // Another machine's clock may run ahead of this one.
    assertThat(ClusterCommand.ago(NOW.plusSeconds(1), NOW)).isEqualTo("just now");
  }
}
