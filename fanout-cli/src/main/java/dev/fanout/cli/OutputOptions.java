package dev.fanout.cli;

import picocli.CommandLine.Option;

/**
 * {@code --output text|json} for every command that prints a job. Add it with {@code @Mixin
 * OutputOptions output;} and print through {@link JobReport}.
 */
final class OutputOptions {
  /** How a command prints what it has to say. */
  enum Format {
    /** Lines for people; their wording may change between versions. */
    TEXT,
    /** One JSON object per line, in the shapes of the HTTP API (docs/api.md), for scripts. */
    JSON
  }

  // Lower-case values work because FanoutCommand.commandLine() allows case-insensitive enums.
  @Option(
      names = "--output",
      paramLabel = "FORMAT",
      defaultValue = "text",
      description =
          "text (for people) or json (one JSON object in the HTTP API's shape, for scripts)."
              + " Default: text.")
  Format format = Format.TEXT;

  /**
   * Tells whether JSON was asked for.
   *
   * @return true for {@code --output json}
   */
  boolean json() {
    return format == Format.JSON;
  }
}
