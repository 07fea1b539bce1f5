package dev.fanout.cli;

import dev.fanout.examples.SquaresExample;
import java.time.Duration;
import java.util.concurrent.Callable;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.ParameterException;
import picocli.CommandLine.Spec;

/** {@code fanout demo}: runs {@link SquaresExample} and checks its sum. */
@Command(
    name = "demo",
    description = {
      "Square 1 to N in parallel, each as a simulated slow remote call.",
      "Prints the job ID at once, each square as it arrives, then the sum, which must equal"
          + " n(n+1)(2n+1)/6."
    })
final class DemoCommand implements Callable<Integer> {

  /** A minute: slower calls only make the demo look hung. */
  private static final long MAX_LATENCY_MILLIS = 60_000;

  @Spec CommandSpec spec;

  @Option(
      names = "--count",
      paramLabel = "N",
      defaultValue = "" + SquaresExample.DEFAULT_COUNT,
      description =
          "How many numbers to square, 1 to "
              + SquaresExample.MAX_COUNT
              + ". Default: ${DEFAULT-VALUE}.")
  int count;

  @Option(
      names = "--max-latency-ms",
      paramLabel = "MS",
      defaultValue = "" + SquaresExample.DEFAULT_MAX_LATENCY_MILLIS,
      description =
          "The slowest simulated call, in milliseconds, 0 to "
              + MAX_LATENCY_MILLIS
              + "; each call takes between a sixth of it and all of it. Default: ${DEFAULT-VALUE}.")
  long maxLatencyMs;

  @Override
  public Integer call() {
    // Checked here rather than left to the example, so a bad value is a usage error (exit 2).
    if (count < 1 || count > SquaresExample.MAX_COUNT) {
      throw new ParameterException(
          spec.commandLine(),
          "--count must be between 1 and " + SquaresExample.MAX_COUNT + ", got " + count);
    }
    if (maxLatencyMs < 0 || maxLatencyMs > MAX_LATENCY_MILLIS) {
      throw new ParameterException(
          spec.commandLine(),
          "--max-latency-ms must be between 0 and " + MAX_LATENCY_MILLIS + ", got " + maxLatencyMs);
    }
    long sum;
    try {
      sum = SquaresExample.run(count, Duration.ofMillis(maxLatencyMs), System.out);
    } catch (IllegalStateException jobFailed) {
      spec.commandLine().getErr().println("fanout demo: " + jobFailed.getMessage());
      return CommandLine.ExitCode.SOFTWARE;
    }
    long expected = SquaresExample.expectedSum(count);
    if (sum != expected) {
      spec.commandLine()
          .getErr()
          .println("fanout demo: the sum is " + sum + " but should be " + expected);
      return CommandLine.ExitCode.SOFTWARE;
    }
    return CommandLine.ExitCode.OK;
  }
}
