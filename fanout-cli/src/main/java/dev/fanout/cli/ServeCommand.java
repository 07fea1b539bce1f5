package dev.fanout.cli;

import dev.fanout.server.FanoutServer;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.Callable;
import java.util.concurrent.CountDownLatch;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.ParameterException;
import picocli.CommandLine.Spec;

/** {@code fanout serve}: the HTTP service, until SIGTERM or Ctrl-C. */
@Command(
    name = "serve",
    description = {
      "Run the Fanout HTTP service: submit jobs with POST /v1/jobs, watch them with"
          + " GET /v1/jobs/{id}, /results and /events.",
      "Jobs live in an embedded H2 database under --data, or in PostgreSQL with --db; unfinished"
          + " jobs resume when the server starts again."
    })
final class ServeCommand implements Callable<Integer> {

  @Spec CommandSpec spec;

  @Option(
      names = "--port",
      paramLabel = "PORT",
      defaultValue = "8080",
      description = "The port, 0 for any free one. Default: ${DEFAULT-VALUE}.")
  int port;

  @Option(
      names = "--bind",
      paramLabel = "ADDRESS",
      defaultValue = "127.0.0.1",
      description =
          "The address to listen on. Any address but loopback needs --token or --no-auth."
              + " Default: ${DEFAULT-VALUE}.")
  String bind;

  @Option(
      names = "--data",
      paramLabel = "DIR",
      defaultValue = "fanout-data",
      description = "The folder of the embedded H2 database. Default: ${DEFAULT-VALUE}.")
  Path data;

  @Option(
      names = "--db",
      paramLabel = "JDBC_URL",
      description =
          "Use this database instead of the embedded one, e.g."
              + " jdbc:postgresql://127.0.0.1:5432/fanout?user=fanout")
  String db;

  @Option(
      names = "--token",
      paramLabel = "TOKEN",
      defaultValue = "${env:FANOUT_TOKEN}",
      description =
          "Require Authorization: Bearer TOKEN on every /v1 route (at least 16 characters)."
              + " Default: the FANOUT_TOKEN environment variable.")
  String token;

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
              + " again at the next start). Default: ${DEFAULT-VALUE}.")
  long graceSeconds;

  @Option(
      names = "--no-auth",
      description =
          "Allow a non-loopback --bind without a token: anyone who reaches it may submit.")
  boolean noAuth;

  @Override
  public Integer call() throws InterruptedException {
    FanoutServer.Builder builder = FanoutServer.builder();
    try {
      builder
          .port(port)
          .bind(bind)
          .dataDir(data)
          .shutdownGrace(java.time.Duration.ofSeconds(graceSeconds));
      if (db != null) {
        builder.jdbcUrl(db);
      }
      if (token != null && !token.isEmpty()) {
        builder.token(token);
      }
      if (noAuth) {
        builder.noAuth();
      }
      if (!allowHosts.isEmpty()) {
        builder.allowHosts(allowHosts);
      }
    } catch (IllegalArgumentException e) {
      throw new ParameterException(spec.commandLine(), e.getMessage());
    }
    FanoutServer server;
    try {
      server = builder.build();
    } catch (IllegalArgumentException e) {
      throw new ParameterException(spec.commandLine(), e.getMessage());
    }
    try {
      server.start();
    } catch (RuntimeException e) {
      spec.commandLine().getErr().println("fanout serve: could not start: " + e.getMessage());
      return CommandLine.ExitCode.SOFTWARE;
    }
    CountDownLatch stopped = new CountDownLatch(1);
    // SIGTERM and Ctrl-C run shutdown hooks: stop accepting, let attempts settle, close the store.
    Runtime.getRuntime()
        .addShutdownHook(
            new Thread(
                () -> {
                  server.close();
                  stopped.countDown();
                },
                "fanout-shutdown"));
    spec.commandLine().getOut().println("Fanout listening on " + server.url());
    spec.commandLine().getOut().flush();
    stopped.await();
    return CommandLine.ExitCode.OK;
  }
}
