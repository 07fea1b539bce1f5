package dev.fanout.cli;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.util.concurrent.TimeUnit;
import net.jqwik.api.Arbitraries;
import net.jqwik.api.Arbitrary;
import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import net.jqwik.api.Provide;
import org.junit.jupiter.api.Test;

class ShellCommandTest {

  @Test
  void a_single_quote_closes_escapes_and_reopens() {
    assertThat(ShellCommand.quote("it's")).isEqualTo("'it'\\''s'");
    assertThat(ShellCommand.quote("")).isEqualTo("''");
  }

  @Test
  void every_placeholder_is_replaced_and_the_inserted_text_is_not_searched_again() {
    assertThat(ShellCommand.forItem("echo {} {}", "\"{}\"")).isEqualTo("echo '\"{}\"' '\"{}\"'");
    assertThat(ShellCommand.forItem("jq .x", "1")).isEqualTo("jq .x");
  }

  @Test
  void a_quoted_placeholder_or_a_blank_command_is_refused() {
    assertThatThrownBy(() -> ShellCommand.check("echo '{}'"))
        .hasMessageContaining("write {} without quotes");
    assertThatThrownBy(() -> ShellCommand.check("echo \"{}\""))
        .hasMessageContaining("write {} without quotes");
    assertThatThrownBy(() -> ShellCommand.check("  ")).hasMessageContaining("needs a command");
    ShellCommand.check("printf '%s' {}");
  }

  /**
   * The real sh gets the quoted text back as one argument, unchanged, whatever it holds: quotes,
   * backslashes, $, backquotes, globs, newlines, spaces, non-ASCII.
   */
  @Property(tries = 150)
  void sh_reads_the_quoted_text_back_unchanged(@ForAll("shellHostile") String text)
      throws IOException, InterruptedException {
    Process sh =
        new ProcessBuilder(
                "/bin/sh",
                "-c",
                "printf '%s' " + ShellCommand.quote(text) + "; printf '|%s' \"$#\"")
            .redirectErrorStream(true)
            .start();
    byte[] out = sh.getInputStream().readAllBytes();
    assertThat(sh.waitFor(30, TimeUnit.SECONDS)).isTrue();

    assertThat(new String(out, StandardCharsets.UTF_8)).isEqualTo(text + "|0");
  }

  @Provide
  Arbitrary<String> shellHostile() {
    return Arbitraries.strings()
        .withChars("'\"\\$`*?[]{};&|<>()!#~ \t\n=%-")
        .withCharRange('a', 'c')
        .withChars('é', '€', '✓')
        .ofMaxLength(40);
  }
}
