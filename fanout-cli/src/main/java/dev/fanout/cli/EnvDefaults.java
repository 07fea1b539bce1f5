package dev.fanout.cli;

import java.util.Map;
import java.util.Objects;
import picocli.CommandLine.IDefaultValueProvider;
import picocli.CommandLine.Model.ArgSpec;
import picocli.CommandLine.Model.OptionSpec;

/**
 * Takes the defaults of the options every remote command shares from the environment: {@code
 * FANOUT_SERVER} for {@code --server} and {@code FANOUT_TOKEN} for {@code --token}, in whichever
 * command declares them (they come with {@link ServerOptions}; {@code serve --token} gets the
 * same).
 *
 * <p>A value given on the command line always wins. An unset or blank variable leaves the option's
 * own {@code defaultValue}. A provider rather than {@code ${env:...}} in each annotation, so the
 * mapping is in one place and a test can hand in its own environment.
 */
final class EnvDefaults implements IDefaultValueProvider {
  /** Which variable gives which option its default, by the option's longest name. */
  static final Map<String, String> VARIABLES =
      Map.of("--server", "FANOUT_SERVER", "--token", "FANOUT_TOKEN");

  private final Map<String, String> env;

  /**
   * Creates the provider.
   *
   * @param env the environment, usually {@code System.getenv()}
   */
  EnvDefaults(Map<String, String> env) {
    this.env = Objects.requireNonNull(env, "env");
  }

  @Override
  public String defaultValue(ArgSpec argSpec) {
    if (argSpec instanceof OptionSpec option) {
      String variable = VARIABLES.get(option.longestName());
      if (variable != null) {
        String value = env.get(variable);
        if (value != null && !value.isBlank()) {
          return value;
        }
      }
    }
    return null;
  }
}
