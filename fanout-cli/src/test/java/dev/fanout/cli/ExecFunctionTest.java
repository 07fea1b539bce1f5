package dev.fanout.cli;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.awaitility.Awaitility.await;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.IntNode;
import com.fasterxml.jackson.databind.node.NullNode;
import com.fasterxml.jackson.databind.node.TextNode;
import dev.fanout.JobId;
import dev.fanout.TaskContext;
import dev.fanout.TaskException;
import dev.fanout.TaskFunction;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.Optional;
import java.util.UUID;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.atomic.AtomicReference;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class ExecFunctionTest {

  @TempDir Path dir;

  private static final TaskContext CONTEXT =
      new TaskContext() {
        private final JobId job = JobId.of(UUID.randomUUID().toString());

        @Override
        public JobId jobId() {
          return job;
        }

        @Override
        public long index() {
          return 7;
        }

        @Override
        public int attempt() {
          return 2;
        }

        @Override
        public Optional<Instant> deadline() {
          return Optional.empty();
        }

        @Override
        public boolean isCancelled() {
          return false;
        }
      };

  private static TaskFunction<? super JsonNode, ?> exec(String command) {
    return ExecFunction.factory().create(null, ExecFunction.config(command));
  }

  private static Object run(String command, JsonNode item) throws Exception {
    return exec(command).apply(item, CONTEXT);
  }

  @Test
  void standard_output_is_the_result_as_json_when_it_is_json() throws Exception {
    assertThat(run("echo '{\"a\": [1, 2]}'", NullNode.instance).toString())
        .isEqualTo("{\"a\":[1,2]}");
    assertThat(run("expr {} + 1", IntNode.valueOf(41))).isEqualTo(IntNode.valueOf(42));
  }

  @Test
  void other_output_is_a_string_without_its_trailing_newlines_and_no_output_is_null()
      throws Exception {
    assertThat(run("printf 'hello world\\n\\r\\n\\n'", NullNode.instance))
        .isEqualTo(TextNode.valueOf("hello world"));
    assertThat(run("echo 1 2", NullNode.instance)).isEqualTo(TextNode.valueOf("1 2"));
    assertThat(run("true", NullNode.instance)).isEqualTo(NullNode.instance);
  }

  @Test
  void the_item_is_on_standard_input_and_the_attempt_in_the_environment() throws Exception {
    JsonNode item = Json.parse("{\"name\": \"Zoë\"}");

    Object out = run("printf '%s|' \"$FANOUT_ITEM_INDEX\" \"$FANOUT_ATTEMPT\"; cat", item);

    assertThat(out).isEqualTo(TextNode.valueOf("7|2|{\"name\":\"Zoë\"}"));
  }

  @Test
  void a_command_that_ignores_a_large_item_on_stdin_still_finishes() throws Exception {
    String big = "x".repeat(1 << 20); // larger than a pipe's buffer

    assertThat(run("echo done", TextNode.valueOf(big))).isEqualTo(TextNode.valueOf("done"));
  }

  @Test
  void a_non_zero_exit_is_a_retryable_failure_with_the_status_and_the_end_of_stderr() {
    assertThatThrownBy(
            () ->
                run(
                    "for i in $(seq 1 2000); do echo noise $i >&2; done; exit 3",
                    NullNode.instance))
        .isInstanceOfSatisfying(
            TaskException.class,
            e -> {
              assertThat(e.code()).isEqualTo("exit_status");
              assertThat(e.retryable()).isTrue();
              assertThat(e.details()).containsEntry("exitStatus", 3);
              assertThat(e.getMessage())
                  .startsWith("the command exited with status 3; stderr: ")
                  .endsWith("noise 2000")
                  .doesNotContain("noise 1\n")
                  .hasSizeLessThan(ExecFunction.STDERR_TAIL_BYTES + 100);
            });
  }

  @Test
  void too_much_output_fails_the_item_for_good() {
    assertThatThrownBy(
            () ->
                run(
                    "head -c " + (ExecFunction.MAX_OUTPUT_BYTES + 1) + " /dev/zero",
                    NullNode.instance))
        .isInstanceOfSatisfying(
            TaskException.class,
            e -> {
              assertThat(e.code()).isEqualTo("output_too_large");
              assertThat(e.retryable()).isFalse();
            });
  }

  @Test
  void an_interrupt_kills_the_command_and_its_children() throws Exception {
    Path pid = dir.resolve("sleeper.pid");
    AtomicReference<Thread> attempt = new AtomicReference<>();
    CompletableFuture<Object> running =
        CompletableFuture.supplyAsync(
            () -> {
              attempt.set(Thread.currentThread());
              try {
                return run("sleep 120 & echo $! > " + pid + "; wait", NullNode.instance);
              } catch (Exception e) {
                throw new RuntimeException(e);
              }
            });
    await().atMost(Duration.ofSeconds(30)).until(() -> Files.exists(pid) && Files.size(pid) > 0);
    long sleeper = Long.parseLong(Files.readString(pid, StandardCharsets.UTF_8).strip());

    attempt.get().interrupt();

    assertThatThrownBy(running::get)
        .isInstanceOf(ExecutionException.class)
        .hasRootCauseInstanceOf(InterruptedException.class);
    await()
        .atMost(Duration.ofSeconds(30))
        .until(() -> ProcessHandle.of(sleeper).map(p -> !p.isAlive()).orElse(true));
  }

  @Test
  void a_command_killed_by_ctrl_c_waits_for_the_run_to_stop_rather_than_fail_its_item()
      throws Exception {
    Path marker = dir.resolve("dying");
    AtomicReference<Thread> attempt = new AtomicReference<>();
    CompletableFuture<Object> running =
        CompletableFuture.supplyAsync(
            () -> {
              attempt.set(Thread.currentThread());
              try {
                return run("touch " + marker + "; kill -INT $$", NullNode.instance);
              } catch (Exception e) {
                throw new RuntimeException(e);
              }
            });
    await().atMost(Duration.ofSeconds(30)).until(() -> Files.exists(marker));

    attempt.get().interrupt(); // what the engine's close does to a stopping run's attempts

    assertThatThrownBy(running::get).hasRootCauseInstanceOf(InterruptedException.class);
  }

  @Test
  void a_command_killed_by_a_signal_with_no_stop_behind_it_fails_after_the_wait() {
    assertThatThrownBy(() -> run("kill -TERM $$", NullNode.instance))
        .isInstanceOfSatisfying(
            TaskException.class,
            e -> {
              assertThat(e.code()).isEqualTo("exit_status");
              assertThat(e.getMessage()).contains("killed by signal 15");
            });
  }

  @Test
  void a_configuration_without_a_command_or_with_a_quoted_placeholder_is_refused() {
    assertThatThrownBy(() -> ExecFunction.factory().create(null, Json.object()))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("command");
    assertThatThrownBy(() -> ExecFunction.factory().create(null, ExecFunction.config("echo '{}'")))
        .isInstanceOf(IllegalArgumentException.class);
  }
}
