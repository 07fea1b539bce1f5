package dev.fanout.cli;

import dev.fanout.client.FanoutClient;
import dev.fanout.client.JobView;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;

/** {@code fanout status ID}: one job's state, counts, aggregate and first failures. */
@Command(
    name = "status",
    description = {
      "Show a job: its state, its counts, its aggregate once final, and its first failed items.",
      "Exits 1 when the job ended FAILED or CANCELLED, 0 otherwise."
    },
    footerHeading = "%nExample:%n",
    footer = {"  fanout status 0192f1e4-7b1c-7d3e-9a4f-2b6c8d0e1f23 --output json"})
final class StatusCommand extends RemoteCommand {

  @Mixin JobIdArgument target;

  @Mixin OutputOptions output;

  @Override
  int run(FanoutClient client) {
    JobView job = client.get(target.id);
    printJob(client, output, job);
    return exitCode(job);
  }
}
