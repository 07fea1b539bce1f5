package dev.fanout.client;

import com.fasterxml.jackson.databind.JsonNode;
import java.time.Duration;
import java.util.List;
import java.util.Objects;
import java.util.Optional;

/**
 * The server's cluster ({@code GET /v1/cluster}): every node sharing its database that has
 * heartbeated and not yet been forgotten, oldest first.
 *
 * @param nodes the nodes, oldest first
 * @param lease the answering server's lease, by which it judged each node {@link
 *     NodeView.State#LOST}
 * @param json the server's object as it came, for printing it unchanged
 */
public record ClusterView(List<NodeView> nodes, Duration lease, JsonNode json) {

  /** Checks the fields and freezes the list. */
  public ClusterView {
    nodes = List.copyOf(nodes);
    Objects.requireNonNull(lease, "lease");
    Objects.requireNonNull(json, "json");
  }

  /**
   * The node that answered the request.
   *
   * @return the node, or empty when its row is not (yet) in the list, as before its first heartbeat
   */
  public Optional<NodeView> self() {
    return nodes.stream().filter(NodeView::self).findFirst();
  }
}
