package dev.fanout.cli;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.fail;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;

/** Runs the packaged {@code fanout.jar} in a child JVM, as a user's shell would. */
final class FanoutJar {

  private FanoutJar() {}

  /** What one run printed and how it exited. */
  record Run(int exitCode, String out, String err) {

    /** The exit code, stdout and stderr together, for assertion messages. */
    String describe() {
      return "exit code " + exitCode + "\n--- stdout ---\n" + out + "--- stderr ---\n" + err;
    }
  }

  static Path jar() {
    String jar = System.getProperty("fanout.jar");
    assertThat(jar).as("system property fanout.jar (set by the failsafe plugin)").isNotBlank();
    Path path = Path.of(jar);
    assertThat(path).as("the runnable jar; run 'mvn package' first").isRegularFile();
    return path;
  }

  /** The command line that runs the jar with these arguments, on the JDK running the tests. */
  static List<String> command(String... args) {
    List<String> command = new ArrayList<>();
    command.add(Path.of(System.getProperty("java.home"), "bin", "java").toString());
    command.add("-jar");
    command.add(jar().toString());
    command.addAll(List.of(args));
    return command;
  }

  static Run run(Path workDir, String... args) throws IOException, InterruptedException {
    return runWithStdin(workDir, null, args);
  }

  /** Runs the jar with {@code stdin} as its standard input (none, at end of file, when null). */
  static Run runWithStdin(Path workDir, String stdin, String... args)
      throws IOException, InterruptedException {
    Path in = workDir.resolve("stdin.txt");
    Files.writeString(in, stdin == null ? "" : stdin, StandardCharsets.UTF_8);
    return run(workDir, Map.of(), in, args);
  }

  /**
   * Runs the jar with extra environment variables and, when {@code stdin} is given, that file as
   * its standard input.
   */
  static Run run(Path workDir, Map<String, String> env, Path stdin, String... args)
      throws IOException, InterruptedException {
    Process process = start(workDir, env, stdin, args);
    Path err = workDir.resolve("stderr.txt");
    // A guard against a hung child, not a timing assertion: the demo takes well under a second.
    if (!process.waitFor(2, TimeUnit.MINUTES)) {
      process.destroyForcibly().waitFor();
      fail("fanout %s did not exit; stderr so far:%n%s", args, Files.readString(err));
    }
    return new Run(
        process.exitValue(),
        Files.readString(workDir.resolve("stdout.txt"), StandardCharsets.UTF_8),
        Files.readString(err, StandardCharsets.UTF_8));
  }

  /**
   * Starts the jar without waiting for it; its output goes to {@code stdout.txt} and {@code
   * stderr.txt} in {@code workDir}, and its standard input is {@code stdin}, or an empty file when
   * null, so it never waits for a pipe nobody writes.
   */
  static Process start(Path workDir, Map<String, String> env, Path stdin, String... args)
      throws IOException {
    Path in = stdin;
    if (in == null) {
      in = workDir.resolve("stdin.txt");
      Files.writeString(in, "", StandardCharsets.UTF_8);
    }
    // Files rather than pipes: nothing has to drain them while the child runs.
    ProcessBuilder builder =
        new ProcessBuilder(command(args))
            .directory(workDir.toFile())
            .redirectInput(in.toFile())
            .redirectOutput(workDir.resolve("stdout.txt").toFile())
            .redirectError(workDir.resolve("stderr.txt").toFile());
    // The machine's own settings must not leak into a test.
    builder.environment().remove("FANOUT_SERVER");
    builder.environment().remove("FANOUT_TOKEN");
    builder.environment().putAll(env);
    return builder.start();
  }
}
