package dev.fanout.cli;

import dev.fanout.server.FanoutServer;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.Callable;
import java.util.concurrent.CountDownLatch;
import picocli.CommandLine.Command;
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

  @Option(
      names = "--allow-hosts",
      paramLabel = "HOSTS",
      split = ",",
      description =
          "Let HTTP functions call only these hosts: names, IP literals, or *.example.com."
              + " Link-local and cloud metadata addresses are refused in any case.")
  List<String> allowHosts = List.of();

  @Option(
      names = "--grace-seconds",
      paramLabel = "SECONDS",
      defaultValue = "30",
      description =
          "On SIGTERM, how long running calls may finish before they are stopped (their items run"
              + " again on another node). Default: ${DEFAULT-VALUE}.")
  long graceSeconds;

  /** The URL without the password a query parameter may carry: error messages end up in logs. */
  static String redacted(String jdbcUrl) {
    return jdbcUrl.replaceAll("(?i)(password=)[^&;]*", "$1***");
  }

  @Override
  public Integer call() throws InterruptedException {
    if (graceSeconds < 0) {
      throw CliException.usage("--grace-seconds must be 0 or more, got " + graceSeconds);
    }
    FanoutServer worker;
    try {
      FanoutServer.Builder builder =
          FanoutServer.builder()
              .workerOnly()
              .jdbcUrl(db)
              .shutdownGrace(Duration.ofSeconds(graceSeconds));
      if (!allowHosts.isEmpty()) {
        builder.allowHosts(allowHosts);
      }
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
    CountDownLatch stopped = new CountDownLatch(1);
    // SIGTERM and Ctrl-C run shutdown hooks: let running attempts settle, close the store.
    Runtime.getRuntime()
        .addShutdownHook(
            new Thread(
                () -> {
                  worker.close();
                  stopped.countDown();
                },
                "fanout-shutdown"));
    spec.commandLine().getOut().println("Fanout worker running the jobs of the database");
    spec.commandLine().getOut().flush();
    stopped.await();
    return ExitCodes.OK;
  }
}
