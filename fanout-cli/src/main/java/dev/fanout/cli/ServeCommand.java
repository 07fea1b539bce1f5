package dev.fanout.cli;

import dev.fanout.server.FanoutServer;
import java.nio.file.Path;
import java.util.concurrent.Callable;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
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

  @Mixin NodeOptions node;

  @Option(
      names = "--no-auth",
      description =
          "Allow a non-loopback --bind without a token: anyone who reaches it may submit.")
  boolean noAuth;

  @Override
  public Integer call() throws InterruptedException {
    FanoutServer.Builder builder = FanoutServer.builder();
    try {
      builder.port(port).bind(bind).dataDir(data);
      node.applyTo(builder);
      if (db != null) {
        builder.jdbcUrl(db);
      }
      if (token != null && !token.isEmpty()) {
        builder.token(token);
      }
      if (noAuth) {
        builder.noAuth();
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
    NodeOptions.runUntilStopped(
        server, spec.commandLine().getOut(), "Fanout listening on " + server.url());
    return CommandLine.ExitCode.OK;
  }
}
