package dev.fanout.cli;

import java.util.Map;
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
 * <p>Exit codes ({@link ExitCodes}): 0 success, 1 the job finished FAILED or CANCELLED (or the
 * command failed), 2 a usage error (picocli's own code for bad arguments), 3 the server could not
 * be reached or refused the token. {@link #commandLine} wires them.
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
      RunCommand.class,
      ServeCommand.class,
      WorkerCommand.class,
      SubmitCommand.class,
      StatusCommand.class,
      JobsCommand.class,
      ClusterCommand.class,
      WatchCommand.class,
      ResultsCommand.class,
      JobChangeCommand.Cancel.class,
      JobChangeCommand.Pause.class,
      JobChangeCommand.Resume.class,
      SetConcurrencyCommand.class,
      JobChangeCommand.RetryFailed.class
    },
    footerHeading = "%nExample:%n",
    footer = {"  fanout demo --count 200"},
    exitCodeListHeading = "%nExit codes:%n",
    exitCodeList = {
      ExitCodes.OK + ":success; for a job, it finished SUCCEEDED",
      ExitCodes.JOB_FAILED + ":the job finished FAILED or CANCELLED, or the command failed",
      ExitCodes.USAGE
          + ":usage error: unknown command or option, a bad value, a missing or malformed items"
          + " file",
      ExitCodes.UNREACHABLE + ":the server could not be reached, or refused the token"
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
    System.exit(commandLine(System.getenv()).execute(args));
  }

  /**
   * The command line with everything every subcommand relies on: {@code FANOUT_SERVER} and {@code
   * FANOUT_TOKEN} as defaults ({@link EnvDefaults}), enum values in any case ({@code --output
   * json}), and a {@link CliException} turned into one line on standard error and its exit code.
   * Other exceptions keep picocli's handling: a stack trace and exit code 1.
   *
   * @param env the environment the defaults come from
   * @return the command line, ready to {@code execute}
   */
  static CommandLine commandLine(Map<String, String> env) {
    CommandLine commandLine = new CommandLine(new FanoutCommand());
    // Set after the subcommands exist: picocli hands these settings down to those present.
    commandLine.setCaseInsensitiveEnumValuesAllowed(true);
    commandLine.setDefaultValueProvider(new EnvDefaults(env));
    commandLine.setExecutionExceptionHandler(
        (e, failed, parseResult) -> {
          if (e instanceof CliException cli) {
            failed
                .getErr()
                .println(failed.getCommandSpec().qualifiedName() + ": " + e.getMessage());
            failed.getErr().flush();
            return cli.exitCode();
          }
          throw e;
        });
    return commandLine;
  }

  /** Without a subcommand there is nothing to do: say how to use it, as for any usage error. */
  @Override
  public Integer call() {
    spec.commandLine().usage(spec.commandLine().getErr());
    return CommandLine.ExitCode.USAGE;
  }
}
