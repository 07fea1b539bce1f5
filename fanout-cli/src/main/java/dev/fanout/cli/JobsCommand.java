package dev.fanout.cli;

import dev.fanout.JobId;
import dev.fanout.JobState;
import dev.fanout.JobStatus;
import dev.fanout.client.FanoutClient;
import dev.fanout.client.JobPage;
import dev.fanout.client.JobView;
import java.io.PrintWriter;
import java.util.Locale;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

/** {@code fanout jobs}: the server's jobs, newest first. */
@Command(
    name = "jobs",
    description = {
      "List the server's jobs, newest first: one line each, or one JSON object per line with"
          + " --output json. --after takes the last ID of a page to show the next."
    },
    footerHeading = "%nExample:%n",
    footer = {"  fanout jobs --status RUNNING --limit 10"})
final class JobsCommand extends RemoteCommand {

  @Option(
      names = "--status",
      paramLabel = "STATE",
      description = "Only jobs in this state: ${COMPLETION-CANDIDATES}.")
  JobState status;

  @Option(
      names = "--limit",
      paramLabel = "N",
      defaultValue = "20",
      description = "At most this many jobs, 1 to 1000. Default: ${DEFAULT-VALUE}.")
  int limit;

  @Option(
      names = "--after",
      paramLabel = "ID",
      converter = JobIdConverter.class,
      description = "Start after this job: the last ID of the page before.")
  JobId after;

  @Mixin OutputOptions output;

  @Override
  int run(FanoutClient client) {
    if (limit < 1 || limit > 1000) {
      throw CliException.usage("--limit must be between 1 and 1000, got " + limit);
    }
    JobPage page = client.list(status, limit, after);
    PrintWriter out = out();
    if (output.json()) {
      page.jobs().forEach(j -> out.println(j.json().toString()));
    } else if (page.jobs().isEmpty()) {
      out.println("no jobs");
    } else {
      out.println(row("ID", "STATUS", "TOTAL", "SUCCEEDED", "FAILED", "CREATED"));
      for (JobView j : page.jobs()) {
        JobStatus s = j.status();
        out.println(
            row(
                s.id().value(),
                s.state().name(),
                s.total().isPresent() ? Long.toString(s.total().getAsLong()) : "?",
                Long.toString(s.succeeded()),
                Long.toString(s.failed()),
                s.createdAt().toString()));
      }
      page.next()
          .ifPresent(n -> out.println("more: fanout jobs --limit " + limit + " --after " + n));
    }
    out.flush();
    return ExitCodes.OK;
  }

  private static String row(String... cells) {
    return String.format(Locale.ROOT, "%-36s  %-9s  %7s  %9s  %6s  %s", (Object[]) cells);
  }
}
