package dev.fanout.cli;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import org.junit.jupiter.api.Test;

class PlainProgressTest {

  private final AtomicLong now = new AtomicLong(1_000_000_000L);
  private final ByteArrayOutputStream bytes = new ByteArrayOutputStream();
  private final PlainProgress progress =
      new PlainProgress(
          new PrintStream(bytes, true, StandardCharsets.UTF_8), "fanout run", now::get);

  @Test
  void a_line_shows_done_of_total_the_failed_count_the_rate_and_the_eta() {
    progress.update(0, 0, 1000);
    advanceSeconds(3);
    progress.update(450, 3, 1000);

    assertThat(progress.line(now.get()))
        .isEqualTo("fanout run: 450/1000 done (45%), 3 failed, 150.0/s, ETA 0:00:04");
  }

  @Test
  void before_any_progress_the_eta_is_unknown() {
    progress.update(0, 0, 10);
    advanceSeconds(1);

    assertThat(progress.line(now.get()))
        .isEqualTo("fanout run: 0/10 done (0%), 0 failed, 0.0/s, ETA ?");
  }

  @Test
  void an_unknown_total_shows_the_count_alone() {
    progress.update(7, 1, -1);
    advanceSeconds(1);
    progress.update(17, 1, -1);

    assertThat(progress.line(now.get())).isEqualTo("fanout run: 17 done, 1 failed, 10.0/s");
  }

  @Test
  void the_rate_of_a_resumed_job_counts_only_what_this_run_did() {
    progress.update(900, 0, 1000);
    advanceSeconds(2);
    progress.update(950, 0, 1000);

    assertThat(progress.line(now.get())).contains("950/1000 done (95%)", "25.0/s", "ETA 0:00:02");
  }

  @Test
  void close_prints_the_last_state_once() {
    progress.update(10, 2, 10);
    progress.close();
    progress.close();

    assertThat(bytes.toString(StandardCharsets.UTF_8))
        .isEqualTo("fanout run: 10/10 done (100%), 2 failed, 0.0/s\n");
  }

  @Test
  void started_it_prints_a_line_every_interval() throws InterruptedException {
    PlainProgress timed =
        new PlainProgress(
                new PrintStream(bytes, true, StandardCharsets.UTF_8), "watch", System::nanoTime)
            .start(java.time.Duration.ofMillis(5));
    timed.update(1, 0, 2);
    // A guard against a hung timer, not a timing assertion: it polls until lines appear.
    long giveUp = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
    while (bytes.toString(StandardCharsets.UTF_8).lines().count() < 3
        && System.nanoTime() < giveUp) {
      Thread.sleep(5);
    }
    timed.close();

    assertThat(bytes.toString(StandardCharsets.UTF_8).lines())
        .hasSizeGreaterThanOrEqualTo(3)
        .allSatisfy(l -> assertThat(l).startsWith("watch: "));
  }

  @Test
  void close_does_not_repeat_the_line_the_timer_printed_last() {
    progress.update(1, 0, 2);
    progress.print();
    progress.update(2, 0, 2);
    progress.print();
    advanceSeconds(1);
    progress.close();

    assertThat(bytes.toString(StandardCharsets.UTF_8).lines())
        .containsExactly(
            "fanout run: 1/2 done (50%), 0 failed, 0.0/s, ETA ?",
            "fanout run: 2/2 done (100%), 0 failed, 0.0/s");
  }

  @Test
  void clock_formats_hours_minutes_and_seconds() {
    assertThat(PlainProgress.clock(0)).isEqualTo("0:00:00");
    assertThat(PlainProgress.clock(65)).isEqualTo("0:01:05");
    assertThat(PlainProgress.clock(3 * 3600 + 7)).isEqualTo("3:00:07");
  }

  private void advanceSeconds(long s) {
    now.addAndGet(TimeUnit.SECONDS.toNanos(s));
  }
}
