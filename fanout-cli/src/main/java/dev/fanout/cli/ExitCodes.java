package dev.fanout.cli;

/**
 * The exit codes of every {@code fanout} command, so scripts can tell a failed job from a typo from
 * a server that is down. {@link FanoutCommand#commandLine} maps exceptions onto them.
 */
final class ExitCodes {
  /** The command did what was asked; for a job, it finished SUCCEEDED. */
  static final int OK = 0;

  /**
   * The job finished FAILED or CANCELLED, or the command itself failed (for instance a bug, which
   * picocli reports with its stack trace).
   */
  static final int JOB_FAILED = 1;

  /**
   * The command line or its inputs are wrong: an unknown option, a bad value, a missing or
   * malformed items file. Nothing was submitted.
   */
  static final int USAGE = 2;

  /** The server could not be reached, or refused the token. */
  static final int UNREACHABLE = 3;

  private ExitCodes() {}
}
