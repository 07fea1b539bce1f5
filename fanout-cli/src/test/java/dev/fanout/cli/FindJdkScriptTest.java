package dev.fanout.cli;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.fail;

import java.io.File;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Runs {@code scripts/find-jdk.sh} in a bash whose environment hides every real JDK: no JAVA_HOME,
 * no java on PATH, and FANOUT_JDK_DIRS in place of the usual install folders.
 */
class FindJdkScriptTest {

  /** What the script may reasonably call; none of it is java. */
  private static final List<String> TOOLS =
      List.of(
          "grep",
          "readlink",
          "dirname",
          "basename",
          "sed",
          "sort",
          "head",
          "tail",
          "tr",
          "cut",
          "ls",
          "cat",
          "find",
          "uname",
          "awk");

  @TempDir Path tmp;

  private Path bin;
  private Path home;

  @BeforeEach
  void hideTheRealJdks() throws IOException {
    // /usr/bin holds java as well as the tools, so PATH gets a folder with the tools only. They are
    // small scripts rather than links, which the temp dir's cleanup would warn about.
    bin = Files.createDirectory(tmp.resolve("bin"));
    for (String tool : TOOLS) {
      Optional<Path> real = onPath(tool);
      if (real.isPresent()) {
        executable(bin.resolve(tool), "#!/bin/sh\nexec '" + real.get() + "' \"$@\"\n");
      }
    }
    home = Files.createDirectory(tmp.resolve("home"));
  }

  @Test
  void without_any_jdk_it_fails_with_exit_code_one_and_says_so() throws Exception {
    Path empty = Files.createDirectory(tmp.resolve("no-jdks-here"));

    Result result = findJdk(empty.toString());

    assertThat(result.exitCode()).as(result.describe()).isEqualTo(1);
    assertThat(result.err()).contains("no JDK 21 or newer").doesNotContain("command not found");
  }

  @Test
  void it_picks_the_newest_jdk_in_the_folders_fanout_jdk_dirs_lists() throws Exception {
    Path jdks = Files.createDirectory(tmp.resolve("jdks"));
    fakeJdk(jdks.resolve("jdk-17"), "17");
    Path jdk25 = fakeJdk(jdks.resolve("jdk-25"), "25.0.1");
    fakeJdk(jdks.resolve("jdk-21"), "21");

    Result result = findJdk(jdks.toString());

    assertThat(result.exitCode()).as(result.describe()).isZero();
    assertThat(result.out().strip()).isEqualTo(jdk25.toString());
  }

  @Test
  void a_jdk_older_than_21_is_not_enough() throws Exception {
    Path jdks = Files.createDirectory(tmp.resolve("jdks"));
    fakeJdk(jdks.resolve("jdk-17"), "17");
    fakeJdk(jdks.resolve("jdk-8"), "1.8");

    Result result = findJdk(jdks.toString());

    assertThat(result.exitCode()).as(result.describe()).isEqualTo(1);
    assertThat(result.err()).contains("no JDK 21 or newer");
  }

  private record Result(int exitCode, String out, String err) {
    String describe() {
      return "exit code " + exitCode + "\n--- stdout ---\n" + out + "--- stderr ---\n" + err;
    }
  }

  private Result findJdk(String jdkDirs) throws IOException, InterruptedException {
    Path root = Path.of(System.getProperty("fanout.repo.root")).toRealPath();
    Path bash = onPath("bash").orElseThrow(() -> new AssertionError("bash is not on PATH"));
    var builder =
        new ProcessBuilder(
                bash.toString(),
                "-c",
                ". scripts/find-jdk.sh && fanout_find_jdk && echo \"$FANOUT_JAVA_HOME\"")
            .directory(root.toFile())
            .redirectOutput(tmp.resolve("stdout.txt").toFile())
            .redirectError(tmp.resolve("stderr.txt").toFile());
    Map<String, String> env = builder.environment();
    env.clear();
    env.put("PATH", bin.toString());
    env.put("HOME", home.toString());
    env.put("FANOUT_JDK_DIRS", jdkDirs);
    Process process = builder.start();
    // A guard against a hung script, not a timing assertion.
    if (!process.waitFor(1, TimeUnit.MINUTES)) {
      process.destroyForcibly().waitFor();
      fail("find-jdk.sh did not finish");
    }
    return new Result(
        process.exitValue(),
        Files.readString(tmp.resolve("stdout.txt"), StandardCharsets.UTF_8),
        Files.readString(tmp.resolve("stderr.txt"), StandardCharsets.UTF_8));
  }

  /**
   * A folder that looks like a JDK to the script: bin/javac, and a bin/java telling its version.
   */
  private static Path fakeJdk(Path home, String specificationVersion) throws IOException {
    Path bin = Files.createDirectories(home.resolve("bin"));
    String java =
        "#!/bin/sh\necho '    java.specification.version = " + specificationVersion + "' >&2\n";
    executable(bin.resolve("java"), java);
    executable(bin.resolve("javac"), "#!/bin/sh\n");
    return home;
  }

  private static void executable(Path file, String script) throws IOException {
    Files.writeString(file, script);
    Files.setPosixFilePermissions(file, PosixFilePermissions.fromString("rwxr-xr-x"));
  }

  private static Optional<Path> onPath(String name) {
    return Arrays.stream(System.getenv("PATH").split(File.pathSeparator))
        .map(dir -> Path.of(dir, name))
        .filter(Files::isExecutable)
        .findFirst();
  }
}
