package dev.fanout.cli;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.core.json.JsonWriteFeature;
import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectReader;
import com.fasterxml.jackson.databind.ObjectWriter;
import com.fasterxml.jackson.databind.node.NullNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import com.fasterxml.jackson.databind.node.TextNode;
import dev.fanout.ComponentFactory;
import dev.fanout.TaskContext;
import dev.fanout.TaskException;
import dev.fanout.TaskFunction;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.List;
import java.util.Map;

/**
 * The function behind {@code fanout run --exec COMMAND}: runs {@code /bin/sh -c COMMAND} once per
 * attempt, with every {@code {}} replaced by the item's JSON, single-quoted ({@link ShellCommand}),
 * and the item's JSON and a newline on its standard input.
 *
 * <ul>
 *   <li>Exit status 0: the result is standard output with trailing newlines removed, as JSON when
 *       it is one valid JSON value, else as a string; empty output is null (as for an HTTP
 *       function's empty answer).
 *   <li>Any other status fails the attempt (retried by the job's policy), with the status and the
 *       tail of standard error in the message and {@code exitStatus} in the details.
 *   <li>An interrupt (the attempt's timeout, the job cancelled, the command stopped) kills the
 *       command and every process it started that is still its descendant.
 *   <li>A command that died of SIGHUP, SIGINT or SIGTERM (Ctrl-C reaches it too) is reported only
 *       after {@link #STOP_WAIT}, so that a stopping run leaves its item to resume.
 * </ul>
 *
 * <p>In {@code {}} the JSON escapes characters outside ASCII as {@code \\uXXXX}: the same value,
 * and a command line the JVM passes intact whatever the locale. Standard input carries plain UTF-8.
 * The command sees {@code FANOUT_JOB_ID}, {@code FANOUT_ITEM_INDEX} and {@code FANOUT_ATTEMPT} in
 * its environment. It exists only in the local CLI, never behind the HTTP API: a server must not
 * run shell commands its clients send.
 */
final class ExecFunction implements TaskFunction<JsonNode, JsonNode> {
  /** The name jobs give the function factory; stored with a durable job. */
  static final String NAME = "fanout.exec";

  /** Standard output beyond this fails the item: a result is a value, not a bulk transfer. */
  static final int MAX_OUTPUT_BYTES = 16 << 20;

  /**
   * How long a command that died of SIGHUP, SIGINT or SIGTERM waits for this process's own stop
   * (see {@link #apply}).
   */
  static final Duration STOP_WAIT = Duration.ofSeconds(2);

  /** How much of the end of standard error a failure's message keeps. */
  static final int STDERR_TAIL_BYTES = 2000;

  private static final ObjectWriter ARGUMENT =
      Json.MAPPER.writer().with(JsonWriteFeature.ESCAPE_NON_ASCII.mappedFeature());
  private static final ObjectReader RESULT =
      Json.MAPPER.reader().with(DeserializationFeature.FAIL_ON_TRAILING_TOKENS);

  private final String command;

  private ExecFunction(String command) {
    this.command = command;
  }

  /**
   * The configuration a job stores for this function.
   *
   * @param command the {@code --exec} value
   * @return {@code {"command": command}}
   */
  static ObjectNode config(String command) {
    return Json.object().put("command", command);
  }

  /**
   * The factory the CLI registers under {@link #NAME}; a resumed job makes its function again from
   * the command stored with it.
   *
   * @return the factory
   */
  static ComponentFactory<TaskFunction<? super JsonNode, ?>> factory() {
    return (job, config) -> {
      if (config == null || !config.path("command").isTextual()) {
        throw new IllegalArgumentException(NAME + " needs {\"command\": \"...\"}");
      }
      String command = config.get("command").asText();
      ShellCommand.check(command);
      return new ExecFunction(command);
    };
  }

  @Override
  public JsonNode apply(JsonNode item, TaskContext context) throws Exception {
    ProcessBuilder builder =
        new ProcessBuilder(
            "/bin/sh", "-c", ShellCommand.forItem(command, ARGUMENT.writeValueAsString(item)));
    Map<String, String> env = builder.environment();
    env.put("FANOUT_JOB_ID", context.jobId().toString());
    env.put("FANOUT_ITEM_INDEX", Long.toString(context.index()));
    env.put("FANOUT_ATTEMPT", Integer.toString(context.attempt()));
    Process process;
    try {
      process = builder.start();
    } catch (IOException e) {
      // Not retried: the same command line would fail the same way (say, too long for exec).
      throw new TaskException(
          "exec_error", "cannot start /bin/sh: " + e.getMessage(), false, null, Map.of(), e);
    }
    byte[] input = (Json.MAPPER.writeValueAsString(item) + "\n").getBytes(StandardCharsets.UTF_8);
    // Three threads: a command that fills one pipe while we block on another would hang forever.
    Thread feeder = Thread.ofVirtual().name("fanout-exec-stdin").start(() -> feed(process, input));
    Capture out = Capture.head(process.getInputStream(), MAX_OUTPUT_BYTES);
    Capture err = Capture.tail(process.getErrorStream(), STDERR_TAIL_BYTES);
    int status;
    try {
      status = process.waitFor();
      out.join();
      err.join();
      feeder.join();
    } catch (InterruptedException e) {
      killTree(process);
      throw e;
    }
    if (status == 128 + 1 || status == 128 + 2 || status == 128 + 15) {
      // Ctrl-C signals the terminal's whole foreground process group: the command dies of it a
      // moment before this JVM's shutdown stops the attempt. Waiting for that interrupt leaves
      // the item to be resumed, where reporting at once would spend one of its attempts (or,
      // with --max-attempts 1, fail it). A signal from elsewhere is reported after the wait.
      Thread.sleep(STOP_WAIT.toMillis());
    }
    if (status != 0) {
      throw new TaskException(
          "exit_status",
          describe(status) + stderr(err.bytes()),
          true,
          null,
          Map.of("exitStatus", status),
          null);
    }
    if (out.overflowed()) {
      throw new TaskException(
          "output_too_large",
          "the command wrote more than " + (MAX_OUTPUT_BYTES >> 20) + " MiB to standard output",
          false,
          null,
          Map.of(),
          null);
    }
    return result(out.bytes());
  }

  /**
   * Turns a command's standard output into its result.
   *
   * @param stdout the bytes it wrote
   * @return the JSON value they hold, else the text as a string; null for no output
   */
  static JsonNode result(byte[] stdout) {
    String text = new String(stdout, StandardCharsets.UTF_8);
    int end = text.length();
    while (end > 0 && (text.charAt(end - 1) == '\n' || text.charAt(end - 1) == '\r')) {
      end--;
    }
    text = text.substring(0, end);
    if (text.isEmpty()) {
      return NullNode.instance;
    }
    try {
      JsonNode value = RESULT.readTree(text);
      if (value != null && !value.isMissingNode()) {
        return value;
      }
    } catch (JsonProcessingException notJson) {
      // Not one JSON value: kept as the text it is.
    }
    return TextNode.valueOf(text);
  }

  /**
   * Kills a process and its descendants. The descendants are listed first: once the shell dies, its
   * children are adopted by init and no longer found through it.
   */
  static void killTree(Process process) {
    List<ProcessHandle> tree = process.descendants().toList();
    process.destroyForcibly();
    for (ProcessHandle p : tree) {
      p.descendants().forEach(ProcessHandle::destroyForcibly);
      p.destroyForcibly();
    }
  }

  private static String describe(int status) {
    // The JVM reports a process killed by signal N as 128 + N, as shells do.
    if (status > 128 && status <= 128 + 64) {
      return "the command was killed by signal " + (status - 128) + " (exit status " + status + ")";
    }
    return "the command exited with status " + status;
  }

  private static String stderr(byte[] tail) {
    String text = new String(tail, StandardCharsets.UTF_8).strip();
    return text.isEmpty() ? "" : "; stderr: " + text;
  }

  private static void feed(Process process, byte[] input) {
    try (OutputStream stdin = process.getOutputStream()) {
      stdin.write(input);
    } catch (IOException e) {
      // The command exited or closed its input without reading it all: its choice, not a failure.
    }
  }

  /** Reads one of the command's output streams to its end on a virtual thread. */
  private static final class Capture {
    private final Thread thread;
    private final int limit;
    private final boolean keepTail;
    private final ByteArrayOutputStream kept = new ByteArrayOutputStream();
    private volatile boolean overflowed;
    private byte[] tail;

    private Capture(InputStream in, int limit, boolean keepTail) {
      this.limit = limit;
      this.keepTail = keepTail;
      this.thread = Thread.ofVirtual().name("fanout-exec-output").start(() -> drain(in));
    }

    /** Keeps the first {@code limit} bytes, and notes whether there were more. */
    static Capture head(InputStream in, int limit) {
      return new Capture(in, limit, false);
    }

    /** Keeps the last {@code limit} bytes. */
    static Capture tail(InputStream in, int limit) {
      return new Capture(in, limit, true);
    }

    void join() throws InterruptedException {
      thread.join();
    }

    boolean overflowed() {
      return overflowed;
    }

    byte[] bytes() {
      return keepTail ? tail : kept.toByteArray();
    }

    private void drain(InputStream in) {
      byte[] buffer = new byte[8192];
      try (in) {
        for (int n; (n = in.read(buffer)) >= 0; ) {
          int room = limit - kept.size();
          if (keepTail) {
            kept.write(buffer, 0, n);
            if (kept.size() > 2 * limit) {
              byte[] all = kept.toByteArray();
              kept.reset();
              kept.write(all, all.length - limit, limit);
            }
          } else if (room > 0) {
            kept.write(buffer, 0, Math.min(room, n));
            overflowed |= n > room;
          } else {
            overflowed = true; // keep reading, so the command is never blocked on a full pipe
          }
        }
      } catch (IOException e) {
        // The process was killed, or closed the stream: what was read is what there is.
      }
      if (keepTail) {
        byte[] all = kept.toByteArray();
        tail =
            all.length <= limit
                ? all
                : java.util.Arrays.copyOfRange(all, all.length - limit, all.length);
      }
    }
  }
}
