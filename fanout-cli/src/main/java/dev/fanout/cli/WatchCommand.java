package dev.fanout.cli;

import dev.fanout.JobId;
import dev.fanout.JobStatus;
import dev.fanout.client.FanoutClient;
import dev.fanout.client.JobEvent;
import dev.fanout.client.JobView;
import java.io.PrintStream;
import java.util.Iterator;
import java.util.stream.Stream;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;

/** {@code fanout watch ID}: a job's progress until it is final, then the job. */
@Command(
    name = "watch",
    description = {
      "Follow a job until it is final: a live progress bar on a terminal (done/total, rate, ETA,"
          + " failed count), a plain progress line every few seconds elsewhere, both on standard"
          + " error; then the final job on standard output.",
      "Exits 0 when the job SUCCEEDED, 1 when it ended FAILED or CANCELLED."
    },
    footerHeading = "%nExample:%n",
    footer = {"  fanout watch 0192f1e4-7b1c-7d3e-9a4f-2b6c8d0e1f23"})
final class WatchCommand extends RemoteCommand {

  @Mixin JobIdArgument target;

  @Mixin OutputOptions output;

  @Mixin ProgressOptions progress;

  @Override
  int run(FanoutClient client) {
    JobView job = follow(client, target.id, progress, System.err, "fanout watch");
    printJob(client, output, job);
    return exitCode(job);
  }

  /**
   * Shows a job's progress until it is final, from the server's {@code progress} events (the
   * results are not read), reconnecting when the stream drops.
   *
   * @param client the client
   * @param id the job
   * @param options how to show it
   * @param err standard error, where the display goes
   * @param label the display's title
   * @return the final job
   */
  static JobView follow(
      FanoutClient client, JobId id, ProgressOptions options, PrintStream err, String label) {
    JobView start = client.get(id);
    if (start.state().isFinal()) {
      return start;
    }
    try (Progress display = options.open(err, label, start.status().settled(), false);
        Stream<JobEvent> events = client.events(id, Long.MAX_VALUE)) {
      show(display, start.status());
      for (Iterator<JobEvent> it = events.iterator(); it.hasNext(); ) {
        switch (it.next()) {
          case JobEvent.Progress p -> display.update(p.settled(), p.failed(), p.total().orElse(-1));
          case JobEvent.Done d -> {
            show(display, d.job().status());
            return d.job();
          }
          case JobEvent.Result ignored -> {}
        }
      }
    }
    throw CliException.failed("the events of job " + id + " ended before it was final", null);
  }

  private static void show(Progress display, JobStatus s) {
    display.update(s.settled(), s.failed(), s.total().orElse(-1));
  }
}
