package dev.fanout.cli;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.PrintWriter;
import java.io.StringWriter;
import java.util.Map;
import java.util.concurrent.Callable;
import org.junit.jupiter.api.Test;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;

/**
 * The pieces every command shares, in process: env defaults, {@code --output}, and the mapping of a
 * {@link CliException} to its exit code.
 */
class CommandLineWiringTest {

  @Command(name = "probe")
  static final class Probe implements Callable<Integer> {
    @Mixin ServerOptions server;
    @Mixin OutputOptions output;

    String seenServer;
    String seenToken;

    @Override
    public Integer call() {
      seenServer = server.serverUrl().toString();
      seenToken = server.token().orElse("<none>");
      return output.json() ? 10 : 11;
    }
  }

  @Command(name = "fail")
  static final class Fail implements Callable<Integer> {
    int code;

    @Override
    public Integer call() {
      throw switch (code) {
        case 2 -> CliException.usage("items.ndjson line 17, column 3: bad");
        case 3 -> CliException.unreachable("cannot reach http://127.0.0.1:1", null);
        default -> CliException.failed("it broke", null);
      };
    }
  }

  private final StringWriter err = new StringWriter();

  private CommandLine commandLine(Map<String, String> env, Object sub) {
    CommandLine cl = FanoutCommand.commandLine(env);
    // Added after commandLine() set its defaults, as a later subcommand would not inherit them;
    // so set them on it the same way.
    CommandLine subLine = new CommandLine(sub);
    subLine.setDefaultValueProvider(new EnvDefaults(env));
    subLine.setCaseInsensitiveEnumValuesAllowed(true);
    cl.addSubcommand(subLine);
    cl.setErr(new PrintWriter(err, true));
    return cl;
  }

  @Test
  void server_and_token_default_from_the_environment() {
    Probe probe = new Probe();
    CommandLine cl =
        commandLine(
            Map.of("FANOUT_SERVER", "http://fanout.test:9000/", "FANOUT_TOKEN", "t0k3n"), probe);

    cl.execute("probe");

    assertThat(probe.seenServer).isEqualTo("http://fanout.test:9000");
    assertThat(probe.seenToken).isEqualTo("t0k3n");
  }

  @Test
  void the_command_line_wins_over_the_environment() {
    Probe probe = new Probe();
    CommandLine cl = commandLine(Map.of("FANOUT_SERVER", "http://env.test:1"), probe);

    cl.execute("probe", "--server", "https://flag.test:2", "--token", "flag");

    assertThat(probe.seenServer).isEqualTo("https://flag.test:2");
    assertThat(probe.seenToken).isEqualTo("flag");
  }

  @Test
  void without_the_environment_the_server_is_the_local_default_and_there_is_no_token() {
    Probe probe = new Probe();
    CommandLine cl = commandLine(Map.of("FANOUT_SERVER", "  "), probe);

    cl.execute("probe");

    assertThat(probe.seenServer).isEqualTo(ServerOptions.DEFAULT_SERVER);
    assertThat(probe.seenToken).isEqualTo("<none>");
  }

  @Test
  void output_takes_json_in_any_case_and_defaults_to_text() {
    assertThat(commandLine(Map.of(), new Probe()).execute("probe", "--output", "json"))
        .isEqualTo(10);
    assertThat(commandLine(Map.of(), new Probe()).execute("probe", "--output", "JSON"))
        .isEqualTo(10);
    assertThat(commandLine(Map.of(), new Probe()).execute("probe")).isEqualTo(11);
    assertThat(commandLine(Map.of(), new Probe()).execute("probe", "--output", "yaml"))
        .isEqualTo(ExitCodes.USAGE);
  }

  @Test
  void a_server_that_is_not_an_http_url_is_a_usage_error() {
    int code = commandLine(Map.of("FANOUT_SERVER", "ftp://x"), new Probe()).execute("probe");

    assertThat(code).isEqualTo(ExitCodes.USAGE);
    assertThat(err.toString())
        .contains("--server must be an http or https URL")
        .contains("ftp://x");
  }

  @Test
  void a_cli_exception_becomes_one_line_and_its_exit_code() {
    for (int expected : new int[] {ExitCodes.USAGE, ExitCodes.UNREACHABLE, ExitCodes.JOB_FAILED}) {
      Fail fail = new Fail();
      fail.code = expected;
      err.getBuffer().setLength(0);

      int code = commandLine(Map.of(), fail).execute("fail");

      assertThat(code).isEqualTo(expected);
      assertThat(err.toString().lines()).hasSize(1).first().asString().startsWith("fanout fail: ");
    }
  }
}
