package dev.fanout.examples;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.lang.reflect.Method;
import java.lang.reflect.Modifier;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;

/** The one command the README gives for each example: {@code fanout-examples/run NAME}. */
class RunScriptTest {

  // Surefire runs the tests in the module's folder, where the script is.
  private static final Path SCRIPT = Path.of("run");
  private static final Pattern CASE = Pattern.compile("^\\s*(\\w+)\\) main=(\\S+) ;;$");

  @Test
  void every_example_the_script_names_is_a_class_with_a_main_method() throws Exception {
    Map<String, String> mains = new LinkedHashMap<>();
    for (String line : Files.readAllLines(SCRIPT, StandardCharsets.UTF_8)) {
      Matcher m = CASE.matcher(line);
      if (m.matches()) {
        mains.put(m.group(1), m.group(2));
      }
    }

    assertThat(mains)
        .containsExactly(
            Map.entry("squares", SquaresExample.class.getName()),
            Map.entry("backup", BackupExample.class.getName()));
    for (String main : mains.values()) {
      Method method = Class.forName(main).getMethod("main", String[].class);
      assertThat(Modifier.isStatic(method.getModifiers())).as(main).isTrue();
    }
    assertThat(Files.isExecutable(SCRIPT)).isTrue();
  }

  @Test
  void an_unknown_example_is_a_usage_error_that_lists_the_examples()
      throws IOException, InterruptedException {
    Process run =
        new ProcessBuilder("bash", SCRIPT.toString(), "nonsense")
            .redirectInput(ProcessBuilder.Redirect.from(Path.of("/dev/null").toFile()))
            .redirectErrorStream(true)
            .start();
    String output = new String(run.getInputStream().readAllBytes(), StandardCharsets.UTF_8);

    assertThat(run.waitFor()).isEqualTo(2);
    assertThat(output)
        .contains("usage: fanout-examples/run squares [COUNT]")
        .contains("fanout-examples/run backup SOURCE DESTINATION");
  }

  @Test
  void the_readme_starts_each_example_with_the_script() throws IOException {
    String readme = Files.readString(Path.of("..", "README.md"), StandardCharsets.UTF_8);

    assertThat(readme)
        .contains("$ fanout-examples/run squares 8\n")
        .contains("$ fanout-examples/run backup /tmp/demo/photos /tmp/demo/backup\n");
  }
}
