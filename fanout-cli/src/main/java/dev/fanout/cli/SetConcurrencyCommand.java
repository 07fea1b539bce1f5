package dev.fanout.cli;

import dev.fanout.client.FanoutClient;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Parameters;

/** {@code fanout set-concurrency ID N}: how many items of a running job run at once. */
@Command(
    name = "set-concurrency",
    description = {
      "Change how many items of a running job run at once. Lowering it lets running calls finish;"
          + " raising it starts more at once."
    },
    footerHeading = "%nExample:%n",
    footer = {"  fanout set-concurrency 0192f1e4-7b1c-7d3e-9a4f-2b6c8d0e1f23 50"})
final class SetConcurrencyCommand extends RemoteCommand {

  @Mixin JobIdArgument target;

  @Parameters(index = "1", paramLabel = "N", description = "The new cap, 1 to 100000.")
  int maxConcurrency;

  @Mixin OutputOptions output;

  @Override
  int run(FanoutClient client) {
    if (maxConcurrency < 1) {
      throw CliException.usage("N must be at least 1, got " + maxConcurrency);
    }
    printJob(client, output, client.changeMaxConcurrency(target.id, maxConcurrency));
    return ExitCodes.OK;
  }
}
