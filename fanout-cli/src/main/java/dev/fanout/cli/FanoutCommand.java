package dev.fanout.cli;

import java.util.concurrent.Callable;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.ScopeType;
import picocli.CommandLine.Spec;

/**
 * The {@code fanout} command. It does nothing by itself; each subcommand lives in its own class and
 * is listed here.
 *
 * <p>Exit codes: 0 success, 1 a job or command failed, 2 a usage error (picocli's own code for bad
 * arguments).
 */
@Command(
    name = "fanout",
    scope = ScopeType.INHERIT,
    mixinStandardHelpOptions = true,
    versionProvider = VersionProvider.class,
    description = {
      "Fan-out/fan-in jobs for the JVM: one request becomes many parallel calls whose results"
          + " come back together."
    },
    subcommands = {
      CommandLine.HelpCommand.class,
      VersionCommand.class,
      DemoCommand.class,
      ServeCommand.class
    },
    footerHeading = "%nExample:%n",
    footer = {"  fanout demo --count 20 --max-latency-ms 5"},
    exitCodeListHeading = "%nExit codes:%n",
    exitCodeList = {
      "0:success",
      "1:the job or the command failed",
      "2:usage error: unknown command or option, or a bad value"
    })
public final class FanoutCommand implements Callable<Integer> {

  @Spec CommandSpec spec;

  FanoutCommand() {}

  /**
   * Runs the command line and exits with its code.
   *
   * @param args the arguments after {@code fanout}
   */
  public static void main(String[] args) {
    System.exit(new CommandLine(new FanoutCommand()).execute(args));
  }

  /** Without a subcommand there is nothing to do: say how to use it, as for any usage error. */
  @Override
  public Integer call() {
    spec.commandLine().usage(spec.commandLine().getErr());
    return CommandLine.ExitCode.USAGE;
  }
}
