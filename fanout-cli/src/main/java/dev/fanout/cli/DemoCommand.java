package dev.fanout.cli;

import dev.fanout.JobState;
import dev.fanout.client.FanoutClient;
import dev.fanout.client.JobAccepted;
import dev.fanout.client.JobResult;
import dev.fanout.client.JobView;
import dev.fanout.client.SubmitRequest;
import dev.fanout.server.FanoutServer;
import java.io.IOException;
import java.io.PrintStream;
import java.io.UncheckedIOException;
import java.net.URI;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Comparator;
import java.util.Iterator;
import java.util.concurrent.Callable;
import java.util.concurrent.CountDownLatch;
import java.util.stream.LongStream;
import java.util.stream.Stream;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

/**
 * {@code fanout demo}: a whole Fanout in one command. It starts a server on a data folder of its
 * own, submits a job of the built-in {@code demo} function over HTTP, shows the progress and each
 * result as it arrives, and checks the fan-in.
 */
@Command(
    name = "demo",
    description = {
      "Start a server on a temporary data folder, submit N numbers to the built-in demo function"
          + " (50 to 500 ms a call, 3%% of first attempts fail transiently, and are retried),"
          + " and show the progress and each square as it arrives, then the sum, which must equal"
          + " n(n+1)(2n+1)/6.",
      "Exits 0 when the job SUCCEEDED with the right sum; --keep then keeps serving until Ctrl-C."
    },
    footerHeading = "%nExample:%n",
    footer = {"  fanout demo --count 200 --keep"})
final class DemoCommand implements Callable<Integer> {

  /** The most numbers: their squares' sum stays exact in a JSON number. */
  static final int MAX_COUNT = 100_000;

  @Option(
      names = "--count",
      paramLabel = "N",
      defaultValue = "1000",
      description =
          "How many numbers to square, 1 to " + MAX_COUNT + ". Default: ${DEFAULT-VALUE}.")
  int count;

  @Option(
      names = "--max-concurrency",
      paramLabel = "N",
      defaultValue = "100",
      description = "How many calls run at once, 1 to 10000. Default: ${DEFAULT-VALUE}.")
  int maxConcurrency;

  @Option(
      names = "--port",
      paramLabel = "PORT",
      defaultValue = "0",
      description =
          "The server's port on 127.0.0.1; 0 takes any free one. Default: ${DEFAULT-VALUE}.")
  int port;

  @Option(
      names = "--keep",
      description = "Keep serving after the job, until Ctrl-C, to look at it over the API.")
  boolean keep;

  @Option(
      names = "--quiet-results",
      description = "Show only the progress and the fan-in, not one line per result.")
  boolean quietResults;

  @Mixin ProgressOptions progress;

  @Override
  public Integer call() throws Exception {
    if (count < 1 || count > MAX_COUNT) {
      throw CliException.usage("--count must be between 1 and " + MAX_COUNT + ", got " + count);
    }
    if (maxConcurrency < 1 || maxConcurrency > 10_000) {
      throw CliException.usage(
          "--max-concurrency must be between 1 and 10000, got " + maxConcurrency);
    }
    if (port < 0 || port > 65_535) {
      throw CliException.usage("--port must be between 0 and 65535, got " + port);
    }
    PrintStream out = System.out;
    Path data = Files.createTempDirectory("fanout-demo");
    FanoutServer server;
    try {
      server = FanoutServer.builder().port(port).dataDir(data).build().start();
    } catch (RuntimeException e) {
      deleteTree(data);
      throw CliException.failed("could not start the demo server: " + e.getMessage(), e);
    }
    boolean succeeded;
    boolean serving = false;
    try (FanoutClient client = FanoutClient.builder(URI.create(server.url())).build()) {
      out.println("Fanout demo server on " + server.url() + " (data in " + data + ")");
      JobAccepted accepted =
          client.submit(
              SubmitRequest.builder()
                  .functionName("demo")
                  .items(LongStream.rangeClosed(1, count).boxed())
                  .reduce("sum")
                  .maxConcurrency(maxConcurrency)
                  .build());
      // Printed before any result exists: the submission answers at once with the ID.
      out.println("submitted job " + accepted.id() + ": " + count + " numbers to square");
      out.flush();
      succeeded = follow(client, accepted, out);
      if (keep) {
        out.println(
            "Still serving on "
                + server.url()
                + ": open "
                + server.url()
                + "/ for the dashboard, or GET "
                + accepted.location());
        out.println("Press Ctrl-C to stop.");
        out.flush();
        serving = true;
        awaitInterrupt(server, data);
        return succeeded ? ExitCodes.OK : ExitCodes.JOB_FAILED;
      }
    } finally {
      // With --keep the shutdown hook closes the server; until it is registered, this does.
      if (!serving) {
        server.close();
        deleteTree(data);
      }
    }
    return succeeded ? ExitCodes.OK : ExitCodes.JOB_FAILED;
  }

  /** Shows each result and the progress until the job is final; true when the fan-in is right. */
  private boolean follow(FanoutClient client, JobAccepted accepted, PrintStream out) {
    long seen = 0;
    long failed = 0;
    try (Progress display = progress.open(System.err, "fanout demo", 0, !quietResults);
        Stream<JobResult> results = client.results(accepted.id())) {
      for (Iterator<JobResult> it = results.iterator(); it.hasNext(); ) {
        JobResult r = it.next();
        seen++;
        failed += r.succeeded() ? 0 : 1;
        if (!quietResults) {
          out.println(
              r.succeeded()
                  ? (r.index() + 1) + " -> " + r.value() + attemptsNote(r)
                  : (r.index() + 1) + " FAILED: " + r.error().message());
        }
        display.update(seen, failed, count);
      }
    } catch (Exception e) {
      throw CliException.failed("following job " + accepted.id() + " failed: " + e, e);
    }
    JobView job = client.get(accepted.id());
    long expected = (long) count * (count + 1) * (2L * count + 1) / 6;
    long sum = job.aggregate() == null ? -1 : job.aggregate().asLong();
    out.println(
        "job "
            + job.id()
            + " "
            + job.state()
            + ": "
            + job.status().succeeded()
            + " succeeded, "
            + job.status().failed()
            + " failed, "
            + job.status().retries()
            + " transient failures retried");
    boolean match = job.state() == JobState.SUCCEEDED && sum == expected;
    out.println(
        "sum = " + sum + ", n(n+1)(2n+1)/6 = " + expected + (match ? " (match)" : " (MISMATCH)"));
    out.println("the job over the API: " + client.baseUri() + "/v1/jobs/" + job.id());
    out.println("the job on the dashboard: " + client.baseUri() + "/#/jobs/" + job.id());
    out.flush();
    return match;
  }

  private static String attemptsNote(JobResult r) {
    int retries = r.attempts() - 1;
    return retries == 0
        ? ""
        : " (after " + retries + " transient failure" + (retries == 1 ? "" : "s") + ")";
  }

  /** Serves until Ctrl-C or SIGTERM, then closes the server and removes its data. */
  private static void awaitInterrupt(FanoutServer server, Path data) throws InterruptedException {
    CountDownLatch stopped = new CountDownLatch(1);
    Runtime.getRuntime()
        .addShutdownHook(
            new Thread(
                () -> {
                  server.close();
                  deleteTree(data);
                  stopped.countDown();
                },
                "fanout-demo-shutdown"));
    stopped.await();
  }

  private static void deleteTree(Path dir) {
    try (Stream<Path> paths = Files.walk(dir)) {
      paths
          .sorted(Comparator.reverseOrder())
          .forEach(
              p -> {
                try {
                  Files.deleteIfExists(p);
                } catch (IOException e) {
                  throw new UncheckedIOException(e);
                }
              });
    } catch (IOException | UncheckedIOException e) {
      System.err.println("fanout demo: could not remove " + dir + ": " + e.getMessage());
    }
  }
}
