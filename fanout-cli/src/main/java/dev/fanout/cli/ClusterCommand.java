package dev.fanout.cli;

import dev.fanout.client.ClusterView;
import dev.fanout.client.FanoutClient;
import dev.fanout.client.NodeView;
import java.io.PrintWriter;
import java.time.Duration;
import java.time.Instant;
import java.util.Locale;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;

/** {@code fanout cluster}: the nodes sharing the server's database, with their state and load. */
@Command(
    name = "cluster",
    description = {
      "List the nodes sharing the server's database (fanout serve and fanout worker), oldest first:"
          + " their state (active; lost: not seen within the lease, its items go to other nodes;"
          + " stopped), the items they run against their cap, and when each was last seen."
          + " The node that answered is marked with *."
    },
    footerHeading = "%nExample:%n",
    footer = {"  fanout cluster --server http://10.0.0.5:8080 --output json"})
final class ClusterCommand extends RemoteCommand {

  @Mixin OutputOptions output;

  @Override
  int run(FanoutClient client) {
    ClusterView cluster = client.cluster();
    PrintWriter out = out();
    if (output.json()) {
      out.println(cluster.json().toString());
    } else {
      print(out, cluster, Instant.now());
    }
    out.flush();
    return ExitCodes.OK;
  }

  /** Prints the table, one node a line, LAST SEEN counted back from {@code now}. */
  static void print(PrintWriter out, ClusterView cluster, Instant now) {
    if (cluster.nodes().isEmpty()) {
      out.println("no nodes have reported yet");
      return;
    }
    int idWidth = "ID".length();
    int hostWidth = "HOST".length();
    for (NodeView n : cluster.nodes()) {
      idWidth = Math.max(idWidth, n.id().length() + 2);
      hostWidth = Math.max(hostWidth, n.host().length());
    }
    String format = "%-" + idWidth + "s  %-" + hostWidth + "s  %-7s  %11s  %-9s  %s";
    out.println(
        String.format(
            Locale.ROOT, format, "ID", "HOST", "STATE", "RUNNING/CAP", "LAST SEEN", "VERSION"));
    for (NodeView n : cluster.nodes()) {
      out.println(
          String.format(
              Locale.ROOT,
              format,
              n.self() ? n.id() + " *" : n.id(),
              n.host(),
              n.state().name().toLowerCase(Locale.ROOT),
              n.running() + "/" + n.concurrency(),
              ago(n.lastSeen(), now),
              n.version()));
    }
  }

  /**
   * How long ago a time was, in its largest whole unit: {@code 2s ago}, {@code 5m ago}, {@code 3h
   * ago}, {@code 4d ago}. A time ahead of {@code now} (the clocks of two machines differ) is {@code
   * just now}.
   */
  static String ago(Instant then, Instant now) {
    Duration d = Duration.between(then, now);
    if (d.isNegative()) {
      return "just now";
    }
    long s = d.toSeconds();
    if (s < 120) {
      return s + "s ago";
    }
    if (s < 2 * 3600) {
      return s / 60 + "m ago";
    }
    if (s < 2 * 86_400) {
      return s / 3600 + "h ago";
    }
    return s / 86_400 + "d ago";
  }
}
