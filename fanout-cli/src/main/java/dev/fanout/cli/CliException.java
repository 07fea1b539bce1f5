package dev.fanout.cli;

/**
 * A failure a command reports to its user as one line on standard error and an exit code, without a
 * stack trace: a bad items file found while reading it, a server that cannot be reached. Picocli's
 * own {@code ParameterException} covers what is wrong on the command line itself.
 */
final class CliException extends RuntimeException {
  private static final long serialVersionUID = 1L;

  private final int exitCode;

  private CliException(int exitCode, String message, Throwable cause) {
    super(message, cause);
    this.exitCode = exitCode;
  }

  /**
   * A usage error found after parsing, such as a malformed items file: exit code {@value
   * ExitCodes#USAGE}.
   *
   * @param message what is wrong, naming the file, option or value
   * @return the exception
   */
  static CliException usage(String message) {
    return new CliException(ExitCodes.USAGE, message, null);
  }

  /**
   * A usage error with its underlying cause, kept for debugging; only the message is shown.
   *
   * @param message what is wrong
   * @param cause what was thrown
   * @return the exception
   */
  static CliException usage(String message, Throwable cause) {
    return new CliException(ExitCodes.USAGE, message, cause);
  }

  /**
   * The server could not be reached or refused the token: exit code {@value ExitCodes#UNREACHABLE}.
   *
   * @param message what happened, naming the server
   * @param cause what was thrown, or null
   * @return the exception
   */
  static CliException unreachable(String message, Throwable cause) {
    return new CliException(ExitCodes.UNREACHABLE, message, cause);
  }

  /**
   * The command failed for a reason that is neither a usage error nor the server: exit code {@value
   * ExitCodes#JOB_FAILED}.
   *
   * @param message what happened
   * @param cause what was thrown, or null
   * @return the exception
   */
  static CliException failed(String message, Throwable cause) {
    return new CliException(ExitCodes.JOB_FAILED, message, cause);
  }

  /**
   * The exit code the command ends with.
   *
   * @return one of {@link ExitCodes}
   */
  int exitCode() {
    return exitCode;
  }
}
