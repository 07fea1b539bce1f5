package dev.fanout.cli;

import dev.fanout.JobId;
import picocli.CommandLine.Parameters;

/**
 * The job a command is about, as its first argument: {@code fanout status ID}. Add it with
 * {@code @Mixin JobIdArgument job;}. A malformed ID is a usage error naming it.
 */
final class JobIdArgument {
  @Parameters(
      index = "0",
      paramLabel = "ID",
      converter = RemoteCommand.JobIdConverter.class,
      description = "The job's ID, as submit printed it.")
  JobId id;
}
