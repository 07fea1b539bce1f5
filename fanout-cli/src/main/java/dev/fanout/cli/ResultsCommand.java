package dev.fanout.cli;

import dev.fanout.ItemStatus;
import dev.fanout.client.FanoutClient;
import dev.fanout.client.JobEvent;
import dev.fanout.client.JobResult;
import dev.fanout.client.ResultPage;
import java.io.PrintWriter;
import java.util.Iterator;
import java.util.stream.Stream;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

/** {@code fanout results ID}: a job's results as NDJSON on standard output. */
@Command(
    name = "results",
    description = {
      "Print a job's results, one JSON object per line in completion order: {\"seq\", \"index\","
          + " \"status\", \"value\" or \"error\", \"attempts\", \"durationMs\"}.",
      "Without --follow it prints the results there are now; with --follow it prints each as it"
          + " comes until the job is final (reconnecting if the connection drops, with no line"
          + " lost or repeated), then exits 0 when the job SUCCEEDED, 1 when it ended FAILED or"
          + " CANCELLED."
    },
    footerHeading = "%nExample:%n",
    footer = {
      "  fanout results 0192f1e4-7b1c-7d3e-9a4f-2b6c8d0e1f23 --follow | jq -c '[.index, .value]'"
    })
final class ResultsCommand extends RemoteCommand {
  private static final int PAGE = 1_000;

  @Mixin JobIdArgument target;

  @Option(names = "--follow", description = "Keep printing results until the job is final.")
  boolean follow;

  @Option(
      names = "--status",
      paramLabel = "STATUS",
      description = "Only results with this status: ${COMPLETION-CANDIDATES}.")
  ItemStatus status;

  @Override
  int run(FanoutClient client) {
    PrintWriter out = out();
    if (!follow) {
      long after = 0;
      for (ResultPage page; ; after = page.next()) {
        page = client.results(target.id, after, PAGE, status);
        page.results().forEach(r -> out.println(r.json().toString()));
        out.flush();
        if (page.done() || page.results().isEmpty()) {
          return ExitCodes.OK;
        }
      }
    }
    try (Stream<JobEvent> events = client.events(target.id, 0)) {
      for (Iterator<JobEvent> it = events.iterator(); it.hasNext(); ) {
        switch (it.next()) {
          case JobEvent.Result r -> print(out, r.result());
          case JobEvent.Done d -> {
            out.flush();
            return exitCode(d.job());
          }
          case JobEvent.Progress p -> out.flush(); // a lull: let a reader see what came
        }
      }
    }
    throw CliException.failed(
        "the events of job " + target.id + " ended before it was final", null);
  }

  private void print(PrintWriter out, JobResult r) {
    if (status == null || r.status() == status) {
      out.println(r.json().toString());
    }
  }
}
