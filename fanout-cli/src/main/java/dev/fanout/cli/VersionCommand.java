package dev.fanout.cli;

import java.util.concurrent.Callable;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Spec;

/**
 * {@code fanout version}: the same line as {@code fanout --version}, for scripts that prefer it.
 */
@Command(name = "version", description = "Print the version and exit.")
final class VersionCommand implements Callable<Integer> {

  @Spec CommandSpec spec;

  @Override
  public Integer call() {
    spec.commandLine().getOut().println(VersionProvider.versionLine());
    return CommandLine.ExitCode.OK;
  }
}
