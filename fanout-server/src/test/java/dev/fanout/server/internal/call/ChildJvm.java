package dev.fanout.server.internal.call;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;

/**
 * A {@code main} class run as a child JVM on the test classpath: for a stub that must hold
 * thousands of connections in a process of its own, and for JVM-wide settings (a hosts file) that a
 * test cannot change in its own JVM. Closing it kills the process.
 */
final class ChildJvm implements AutoCloseable {
  private final Process process;
  private final BufferedReader out;

  private ChildJvm(Process process) {
    this.process = process;
    this.out =
        new BufferedReader(new InputStreamReader(process.getInputStream(), StandardCharsets.UTF_8));
  }

  /**
   * Starts {@code main} of a class in a new JVM.
   *
   * @param main the class
   * @param jvmOptions options such as {@code -Dname=value}
   * @param args the program's arguments
   * @return the running process
   * @throws IOException when it cannot start
   */
  static ChildJvm start(Class<?> main, List<String> jvmOptions, String... args) throws IOException {
    return start(main, jvmOptions, null, args);
  }

  /**
   * Starts {@code main} of a class in a new JVM, with an extra classpath entry first.
   *
   * @param main the class
   * @param jvmOptions options such as {@code -Dname=value}
   * @param classpathFirst a directory or jar searched before the test classpath, or null
   * @param args the program's arguments
   * @return the running process
   * @throws IOException when it cannot start
   */
  static ChildJvm start(Class<?> main, List<String> jvmOptions, Path classpathFirst, String... args)
      throws IOException {
    String classpath = System.getProperty("java.class.path");
    if (classpathFirst != null) {
      classpath = classpathFirst + java.io.File.pathSeparator + classpath;
    }
    List<String> command = new ArrayList<>();
    command.add(Path.of(System.getProperty("java.home"), "bin", "java").toString());
    // Quick to start and small: these processes live for seconds.
    command.addAll(List.of("-XX:TieredStopAtLevel=1", "-XX:+UseSerialGC", "-Xshare:auto"));
    command.addAll(jvmOptions);
    command.addAll(List.of("-cp", classpath, main.getName()));
    command.addAll(List.of(args));
    Process process =
        new ProcessBuilder(command).redirectError(ProcessBuilder.Redirect.INHERIT).start();
    return new ChildJvm(process);
  }

  /** Runs {@link StubFunctionServer} in its own JVM and waits for its port. */
  static ChildJvm stubServer() throws IOException {
    // The JDK server closes connections beyond 200 idle ones, racing the client that is about to
    // reuse them ("header parser received no bytes"); a stub for many connections must keep them.
    return start(
        StubFunctionServer.class, List.of("-Dsun.net.httpserver.maxIdleConnections=100000"));
  }

  /**
   * Reads the next line the process printed, waiting up to 60 s.
   *
   * @return the line
   * @throws IOException when the process ended or said nothing in time
   */
  String readLine() throws IOException {
    CompletableFuture<String> line =
        CompletableFuture.supplyAsync(
            () -> {
              try {
                return out.readLine();
              } catch (IOException e) {
                throw new IllegalStateException(e);
              }
            });
    try {
      String text = line.get(60, TimeUnit.SECONDS);
      if (text == null) {
        throw new IOException("child JVM ended, exit code " + process.waitFor());
      }
      return text;
    } catch (Exception e) {
      if (e instanceof IOException io) {
        throw io;
      }
      throw new IOException("no output from the child JVM", e);
    }
  }

  /**
   * Reads every remaining line until the process ends.
   *
   * @return the lines
   * @throws IOException when reading fails
   */
  List<String> readAll() throws IOException {
    List<String> lines = new ArrayList<>();
    for (String line = out.readLine(); line != null; line = out.readLine()) {
      lines.add(line);
    }
    return lines;
  }

  @Override
  public void close() {
    process.destroy();
    try {
      if (!process.waitFor(10, TimeUnit.SECONDS)) {
        process.destroyForcibly().waitFor(10, TimeUnit.SECONDS);
      }
    } catch (InterruptedException e) {
      process.destroyForcibly();
      Thread.currentThread().interrupt();
    }
  }
}
