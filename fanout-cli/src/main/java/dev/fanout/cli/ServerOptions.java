package dev.fanout.cli;

import java.net.URI;
import java.net.URISyntaxException;
import java.util.Locale;
import java.util.Optional;
import picocli.CommandLine.Option;

/**
 * The options of every command that talks to a server: {@code --server} and {@code --token}, also
 * taken from {@code FANOUT_SERVER} and {@code FANOUT_TOKEN} by {@link EnvDefaults}. Add it to a
 * command with {@code @Mixin ServerOptions server;}.
 */
final class ServerOptions {
  /** The server when neither {@code --server} nor {@code FANOUT_SERVER} says: {@code serve}'s. */
  static final String DEFAULT_SERVER = "http://127.0.0.1:8080";

  @Option(
      names = "--server",
      paramLabel = "URL",
      defaultValue = DEFAULT_SERVER,
      description =
          "The Fanout server. Default: the FANOUT_SERVER environment variable, else "
              + DEFAULT_SERVER
              + ".")
  String server;

  // No ${DEFAULT-VALUE} in the description: help must never print a token.
  @Option(
      names = "--token",
      paramLabel = "TOKEN",
      description =
          "Sent as Authorization: Bearer TOKEN. Default: the FANOUT_TOKEN environment variable.")
  String token;

  /**
   * The server's base URL, checked.
   *
   * @return an http or https URL without a trailing slash
   * @throws CliException a usage error when it is not an http or https URL
   */
  URI serverUrl() {
    String text = server.strip();
    while (text.endsWith("/")) {
      text = text.substring(0, text.length() - 1);
    }
    URI uri;
    try {
      uri = new URI(text);
    } catch (URISyntaxException e) {
      throw CliException.usage("--server: not a URL: " + server + " (" + e.getReason() + ")", e);
    }
    String scheme = uri.getScheme() == null ? "" : uri.getScheme().toLowerCase(Locale.ROOT);
    if (!(scheme.equals("http") || scheme.equals("https")) || uri.getHost() == null) {
      throw CliException.usage(
          "--server must be an http or https URL such as " + DEFAULT_SERVER + ", got " + server);
    }
    return uri;
  }

  /**
   * The token, when one was given.
   *
   * @return the token, or empty
   */
  Optional<String> token() {
    return token == null || token.isBlank() ? Optional.empty() : Optional.of(token);
  }
}
