package dev.fanout.cli;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.fanout.ItemStatus;
import dev.fanout.JobId;
import dev.fanout.client.FanoutApiException;
import dev.fanout.client.FanoutClient;
import dev.fanout.client.FanoutUnreachableException;
import dev.fanout.client.JobResult;
import dev.fanout.client.JobView;
import java.io.PrintWriter;
import java.net.URI;
import java.util.List;
import java.util.concurrent.Callable;
import picocli.CommandLine.ITypeConverter;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Spec;
import picocli.CommandLine.TypeConversionException;

/**
 * What every command that talks to a server shares: {@code --server} and {@code --token} (also from
 * {@code FANOUT_SERVER} and {@code FANOUT_TOKEN}), one {@link FanoutClient} for the command's run,
 * and the mapping of the client's errors onto exit codes: no answer or a refused token is 3, a
 * request the server finds malformed or invalid (400, 413, 415, 422) is a usage error (2), any
 * other refusal (an unknown job, a conflict) is 1.
 */
abstract class RemoteCommand implements Callable<Integer> {

  @Spec CommandSpec spec;

  @Mixin ServerOptions server;

  /**
   * Runs the command against the server.
   *
   * @param client a client of the server, closed after the run
   * @return the exit code
   */
  abstract int run(FanoutClient client);

  @Override
  public final Integer call() {
    URI url = server.serverUrl();
    FanoutClient.Builder builder = FanoutClient.builder(url);
    try {
      server.token().ifPresent(builder::token);
    } catch (IllegalArgumentException e) {
      throw CliException.usage("--token: " + e.getMessage(), e);
    }
    try (FanoutClient client = builder.build()) {
      return run(client);
    } catch (FanoutUnreachableException e) {
      throw CliException.unreachable(e.getMessage(), e);
    } catch (FanoutApiException e) {
      if (e.isUnauthorized()) {
        throw CliException.unreachable(
            "the Fanout server at "
                + url
                + " refused the token ("
                + (server.token().isPresent()
                    ? "check --token or FANOUT_TOKEN"
                    : "give one with --token or FANOUT_TOKEN")
                + "): "
                + e.serverMessage(),
            e);
      }
      String message = e.serverMessage() + " (" + e.status() + " " + e.code() + ")";
      throw switch (e.status()) {
        case 400, 413, 415, 422 -> CliException.usage(message, e);
        default -> CliException.failed(message, e);
      };
    }
  }

  /** Standard output, where the command's result goes. */
  PrintWriter out() {
    return spec.commandLine().getOut();
  }

  /**
   * Prints a job as text or as the server's JSON, with its first failed items in the text form.
   *
   * @param client the client, to read the failures
   * @param output the format
   * @param job the job
   */
  void printJob(FanoutClient client, OutputOptions output, JobView job) {
    List<JsonNode> failures =
        output.json() || job.status().failed() == 0
            ? List.of()
            : client
                .results(job.id(), 0, JobReport.FAILURES_SHOWN, ItemStatus.FAILED)
                .results()
                .stream()
                .map(JobResult::json)
                .toList();
    JobReport.print(out(), output, (ObjectNode) job.json(), failures);
  }

  /**
   * The exit code for a job that was waited for or looked at: 1 when it ended FAILED or CANCELLED.
   *
   * @param job the job
   * @return the exit code
   */
  static int exitCode(JobView job) {
    return JobReport.isFinal(job.state().name()) ? JobReport.exitCode(job.json()) : ExitCodes.OK;
  }

  /** Reads a job ID argument, so a malformed one is a usage error naming it. */
  static final class JobIdConverter implements ITypeConverter<JobId> {
    @Override
    public JobId convert(String value) {
      try {
        return JobId.of(value.strip());
      } catch (IllegalArgumentException e) {
        throw new TypeConversionException(e.getMessage());
      }
    }
  }
}
