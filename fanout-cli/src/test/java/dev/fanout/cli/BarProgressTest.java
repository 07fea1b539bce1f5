package dev.fanout.cli;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import org.junit.jupiter.api.Test;

class BarProgressTest {

  @Test
  void the_bar_shows_done_of_total_and_the_failed_count() {
    ByteArrayOutputStream bytes = new ByteArrayOutputStream();
    BarProgress bar =
        new BarProgress(new PrintStream(bytes, true, StandardCharsets.UTF_8), "fanout run", 0);

    bar.update(3, 0, -1);
    bar.update(7, 2, 10);
    bar.update(10, 2, 10);
    bar.close();
    bar.close();

    String drawn = bytes.toString(StandardCharsets.UTF_8);
    assertThat(drawn).contains("fanout run", "10/10", "2 failed", "100%");
  }
}
