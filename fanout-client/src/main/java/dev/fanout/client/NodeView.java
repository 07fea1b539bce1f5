package dev.fanout.client;

import java.time.Instant;
import java.util.Objects;

/**
 * One node of the server's cluster ({@code GET /v1/cluster}): a {@code fanout serve} or {@code
 * fanout worker} sharing its database.
 *
 * @param id the node's ID ({@code --node-id}); its HTTP function calls carry it as {@code
 *     X-Fanout-Node}
 * @param host the host it runs on
 * @param version the Fanout version it runs
 * @param startedAt when it started
 * @param lastSeen its last heartbeat; once stopped, when it stopped
 * @param state what its row and the answering server's lease say of it
 * @param concurrency the most items it runs at once
 * @param running the items it was running at its last heartbeat
 * @param self true for the node that answered the request
 */
public record NodeView(
    String id,
    String host,
    String version,
    Instant startedAt,
    Instant lastSeen,
    State state,
    int concurrency,
    int running,
    boolean self) {

  /** Checks the fields. */
  public NodeView {
    Objects.requireNonNull(id, "id");
    Objects.requireNonNull(host, "host");
    Objects.requireNonNull(version, "version");
    Objects.requireNonNull(startedAt, "startedAt");
    Objects.requireNonNull(lastSeen, "lastSeen");
    Objects.requireNonNull(state, "state");
  }

  /** A node's state, judged by the answering server from the node's row and its own lease. */
  public enum State {
    /** Seen within the lease: it runs its items and renews their leases. */
    ACTIVE,
    /**
     * Not seen for longer than the lease: dead or cut off from the database. Its leases have run
     * out, so other nodes run its items, and a late result it sends is refused.
     */
    LOST,
    /** It shut down cleanly. */
    STOPPED
  }
}
