package dev.fanout.spi;

import java.time.Instant;
import java.util.Objects;

/**
 * One engine (a node of a cluster) as the store keeps it: written by the node's heartbeat, read by
 * whoever lists the cluster.
 *
 * @param id the node's worker ID, unique per running engine; its leases carry it
 * @param host the host name the node runs on
 * @param version the Fanout version the node runs
 * @param startedAt when the node started
 * @param lastSeen the node's last heartbeat (or, once stopped, when it stopped)
 * @param concurrency the most attempts the node runs at once
 * @param running the attempts it was running at its last heartbeat
 * @param stopped true once the node shut down cleanly; a node that died stays unstopped and simply
 *     stops being seen
 */
public record NodeRow(
    String id,
    String host,
    String version,
    Instant startedAt,
    Instant lastSeen,
    int concurrency,
    int running,
    boolean stopped) {

  /** Checks the fields. */
  public NodeRow {
    Objects.requireNonNull(id, "id");
    Objects.requireNonNull(host, "host");
    Objects.requireNonNull(version, "version");
    Objects.requireNonNull(startedAt, "startedAt");
    Objects.requireNonNull(lastSeen, "lastSeen");
    if (concurrency < 1) {
      throw new IllegalArgumentException("concurrency must be >= 1, got " + concurrency);
    }
    if (running < 0) {
      throw new IllegalArgumentException("running must be >= 0, got " + running);
    }
  }
}
