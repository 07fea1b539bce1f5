package dev.fanout.cli;

import dev.fanout.server.FanoutServer;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

/**
 * {@code fanout worker}: runs the jobs of a shared database, beside the servers that accept them,
 * until SIGTERM or Ctrl-C. It serves no HTTP.
 */
@Command(
    name = "worker",
    description = {
      "Run the items of the jobs in a shared database, with the servers that accept them:"
          + " each job's maxConcurrency holds across every node, and a node that dies leaves its"
          + " items to the others once their leases run out.",
      "A worker serves no HTTP; submit and watch jobs through a fanout serve on the same database."
    },
    footerHeading = "%nExample:%n",
    footer = {"  fanout worker --db 'jdbc:postgresql://127.0.0.1:5432/fanout?user=fanout'"})
final class WorkerCommand implements Callable<Integer> {

  @Spec CommandSpec spec;

  @Option(
      names = "--db",
      paramLabel = "JDBC_URL",
      required = true,
      description =
          "The database the servers use, e.g. jdbc:postgresql://127.0.0.1:5432/fanout?user=fanout."
              + " The embedded H2 store opens in one process only, so a worker cannot share it.")
  String db;

  @Mixin NodeOptions node;

  /** The URL without the password a query parameter may carry: error messages end up in logs. */
  static String redacted(String jdbcUrl) {
    return jdbcUrl.replaceAll("(?i)(password=)[^&;]*", "$1***");
  }

  @Override
  public Integer call() throws InterruptedException {
    if (node.graceSeconds < 0) {
      throw CliException.usage("--grace-seconds must be 0 or more, got " + node.graceSeconds);
    }
    FanoutServer worker;
    try {
      FanoutServer.Builder builder = FanoutServer.builder().workerOnly().jdbcUrl(db);
      node.applyTo(builder);
      worker = builder.build();
    } catch (IllegalArgumentException e) {
      throw CliException.usage(e.getMessage());
    }
    try {
      worker.start();
    } catch (RuntimeException e) {
      throw CliException.unreachable(
          "cannot open the database " + redacted(db) + ": " + e.getMessage(), e);
    }
    NodeOptions.runUntilStopped(
        worker, spec.commandLine().getOut(), "Fanout worker running the jobs of the database");
    return ExitCodes.OK;
  }
}
