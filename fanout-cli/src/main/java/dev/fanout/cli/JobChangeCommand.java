package dev.fanout.cli;

import dev.fanout.JobId;
import dev.fanout.client.FanoutClient;
import dev.fanout.client.JobView;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;

/**
 * The commands that change one job and print it as the server answered: cancel, pause, resume,
 * retry-failed. Exit code 0 once the server made the change; 1 when it refused, such as a job that
 * is already final ({@code 409 job_final}).
 */
abstract class JobChangeCommand extends RemoteCommand {

  @Mixin JobIdArgument target;

  @Mixin OutputOptions output;

  /** Asks the server for the change and returns the job it answers with. */
  abstract JobView change(FanoutClient client, JobId id);

  @Override
  final int run(FanoutClient client) {
    printJob(client, output, change(client, target.id));
    return ExitCodes.OK;
  }

  @Command(
      name = "cancel",
      description = {
        "Cancel a job: items not started never start, running calls are interrupted, results"
            + " already in are kept. Cancelling a cancelled job does nothing."
      },
      footerHeading = "%nExample:%n",
      footer = {"  fanout cancel 0192f1e4-7b1c-7d3e-9a4f-2b6c8d0e1f23"})
  static final class Cancel extends JobChangeCommand {
    @Override
    JobView change(FanoutClient client, JobId id) {
      return client.cancelJob(id);
    }
  }

  @Command(
      name = "pause",
      description = {"Pause a job: running calls finish, no new ones start until resume."},
      footerHeading = "%nExample:%n",
      footer = {"  fanout pause 0192f1e4-7b1c-7d3e-9a4f-2b6c8d0e1f23"})
  static final class Pause extends JobChangeCommand {
    @Override
    JobView change(FanoutClient client, JobId id) {
      return client.pauseJob(id);
    }
  }

  @Command(
      name = "resume",
      description = {"Resume a paused job."},
      footerHeading = "%nExample:%n",
      footer = {"  fanout resume 0192f1e4-7b1c-7d3e-9a4f-2b6c8d0e1f23"})
  static final class Resume extends JobChangeCommand {
    @Override
    JobView change(FanoutClient client, JobId id) {
      return client.resumeJob(id);
    }
  }

  @Command(
      name = "retry-failed",
      description = {
        "Run the failed items of a finished job again. The job is RUNNING again; each new result"
            + " replaces the failed one, and the aggregate is folded anew when all have settled."
      },
      footerHeading = "%nExample:%n",
      footer = {
        "  fanout retry-failed 0192f1e4-7b1c-7d3e-9a4f-2b6c8d0e1f23",
        "  fanout watch 0192f1e4-7b1c-7d3e-9a4f-2b6c8d0e1f23"
      })
  static final class RetryFailed extends JobChangeCommand {
    @Override
    JobView change(FanoutClient client, JobId id) {
      return client.retryFailed(id);
    }
  }
}
