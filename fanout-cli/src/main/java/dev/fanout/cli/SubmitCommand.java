package dev.fanout.cli;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import dev.fanout.client.FanoutClient;
import dev.fanout.client.JobAccepted;
import dev.fanout.client.JobView;
import dev.fanout.client.SubmitRequest;
import java.net.URI;
import java.net.URISyntaxException;
import picocli.CommandLine.ArgGroup;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

/** {@code fanout submit}: a job to a server, its items streamed from a file or stdin. */
@Command(
    name = "submit",
    description = {
      "Submit a job to a Fanout server. The items, a JSON array or NDJSON (one JSON value per"
          + " line) from a file or stdin (-), are streamed to the server as they are read.",
      "Prints the job's ID once the server has stored the job and its items, or with --wait"
          + " follows it (progress on standard error) and prints the final job with its aggregate;"
          + " then exits 0 when it SUCCEEDED, 1 when it ended FAILED or CANCELLED."
    },
    footerHeading = "%nExamples:%n",
    footer = {
      "  seq 1 1000 | fanout submit --function demo --items - --reduce sum --wait",
      "  fanout submit --server http://fanout:8080 --items docs.ndjson \\",
      "      --function-url http://scorer:9000/score --transform .score \\",
      "      --reduce avg --max-concurrency 200"
    })
final class SubmitCommand extends RemoteCommand {

  @ArgGroup(exclusive = true, multiplicity = "1")
  Function function;

  /** Exactly one of the two ways to name the function. */
  static final class Function {
    @Option(
        names = "--function-url",
        paramLabel = "URL",
        required = true,
        description = "POST each item to this http(s) URL; the JSON answer is its result.")
    String url;

    @Option(
        names = "--function",
        paramLabel = "NAME",
        required = true,
        description = "Run the function the server knows by this name, such as demo or identity.")
    String name;
  }

  @Option(
      names = "--items",
      paramLabel = "FILE",
      required = true,
      description = "The items: a JSON array or NDJSON file, or - for standard input.")
  String items;

  @Option(
      names = "--reduce",
      paramLabel = "R",
      description =
          "The fan-in: sum, count, min, max, avg, collect, concat or merge; or a jq fold as JSON,"
              + " such as '{\"jq\": \". + $item\", \"init\": 0}'.")
  String reduce;

  @Option(
      names = "--transform",
      paramLabel = "JQ",
      description = "A jq expression applied to each result, such as .score.")
  String transform;

  @Option(
      names = "--max-concurrency",
      paramLabel = "N",
      description = "Items running at once, 1 to 100000. Default: the server's, 1000.")
  Integer maxConcurrency;

  @Option(
      names = "--max-attempts",
      paramLabel = "N",
      description = "Attempts per item, 1 to 100. Default: the server's, 3.")
  Integer maxAttempts;

  @Option(
      names = "--idempotency-key",
      paramLabel = "KEY",
      description =
          "Makes the submission safe to repeat: the same key and items answer with the first job.")
  String idempotencyKey;

  @Option(
      names = "--wait",
      description = "Follow the job until it is final, then print it with its aggregate.")
  boolean await;

  @Mixin OutputOptions output;

  @Mixin ProgressOptions progress;

  @Override
  int run(FanoutClient client) {
    SubmitRequest.Builder request = SubmitRequest.builder();
    try {
      if (function.url != null) {
        request.functionUrl(url(function.url));
      } else {
        request.functionName(function.name);
      }
      if (reduce != null) {
        reduce(request, reduce.strip());
      }
      if (transform != null) {
        request.transform(transform);
      }
      if (maxConcurrency != null) {
        request.maxConcurrency(maxConcurrency);
      }
      if (maxAttempts != null) {
        request.retry(maxAttempts);
      }
      if (idempotencyKey != null) {
        request.idempotencyKey(idempotencyKey);
      }
    } catch (IllegalArgumentException e) {
      throw CliException.usage(e.getMessage(), e);
    }
    JobAccepted accepted;
    // The reader fails with a usage error naming the line; the client rethrows it as it was.
    try (ItemReader reader = ItemReader.open(items, System.in)) {
      accepted = client.submit(request.items(reader).build());
    }
    if (!await) {
      if (output.json()) {
        printJob(client, output, client.get(accepted.id()));
      } else {
        out().println(accepted.id());
        out().flush();
      }
      return ExitCodes.OK;
    }
    System.err.println("submitted job " + accepted.id() + " (" + accepted.total() + " items)");
    JobView job = WatchCommand.follow(client, accepted.id(), progress, System.err, "fanout submit");
    printJob(client, output, job);
    return exitCode(job);
  }

  private static URI url(String text) {
    try {
      return new URI(text.strip());
    } catch (URISyntaxException e) {
      throw CliException.usage("--function-url: not a URL: " + text + " (" + e.getReason() + ")");
    }
  }

  private static void reduce(SubmitRequest.Builder request, String reduce) {
    if (!reduce.startsWith("{")) {
      request.reduce(reduce);
      return;
    }
    JsonNode fold;
    try {
      fold = Json.MAPPER.readTree(reduce);
    } catch (JsonProcessingException e) {
      throw CliException.usage("--reduce: not valid JSON: " + e.getOriginalMessage(), e);
    }
    if (!fold.path("jq").isTextual()) {
      throw CliException.usage(
          "--reduce: a jq fold is {\"jq\": \"<expression>\", \"init\": <value>}, got " + reduce);
    }
    request.reduceJq(
        fold.get("jq").asText(),
        fold.path("init").isMissingNode()
            ? com.fasterxml.jackson.databind.node.NullNode.instance
            : fold.get("init"));
  }
}
