package dev.fanout.cli;

/**
 * How {@code fanout run --exec COMMAND} puts an item into its command line: every {@code {}} in
 * COMMAND becomes the item's JSON text, wrapped in single quotes for {@code sh}, so whatever the
 * item holds (spaces, quotes, {@code $}, backquotes, newlines) reaches the command as one argument,
 * unchanged and never run as shell code.
 *
 * <p>Inside single quotes {@code sh} interprets nothing; the one character that cannot appear there
 * is the single quote itself, which is written as {@code '\''} (close the quotes, an escaped quote,
 * open them again). So {@code it's} becomes {@code 'it'\''s'}.
 *
 * <p>Because of that quoting, {@code {}} must stand unquoted in COMMAND: inside {@code '...'} it
 * would close the user's own quotes, and inside {@code "..."} the quotes would reach the command.
 * {@link #check} refuses both.
 */
final class ShellCommand {
  /** What COMMAND writes where the item goes. */
  static final String PLACEHOLDER = "{}";

  private ShellCommand() {}

  /**
   * Checks a command template.
   *
   * @param template the {@code --exec} value
   * @throws IllegalArgumentException when it is blank or quotes the placeholder
   */
  static void check(String template) {
    if (template.isBlank()) {
      throw new IllegalArgumentException("--exec needs a command, such as 'echo {}'");
    }
    if (template.contains("'" + PLACEHOLDER + "'")
        || template.contains("\"" + PLACEHOLDER + "\"")) {
      throw new IllegalArgumentException(
          "--exec: write {} without quotes around it; fanout quotes the item itself"
              + " (got: "
              + template
              + ")");
    }
  }

  /**
   * Quotes a string for {@code sh} as one word.
   *
   * @param text any text without NUL characters (JSON text has none)
   * @return the text in single quotes
   */
  static String quote(String text) {
    return "'" + text.replace("'", "'\\''") + "'";
  }

  /**
   * The command line for one item.
   *
   * @param template the checked {@code --exec} value
   * @param itemJson the item's JSON text
   * @return the template with every {@code {}} replaced by the quoted item; the inserted text is
   *     not searched again
   */
  static String forItem(String template, String itemJson) {
    return template.replace(PLACEHOLDER, quote(itemJson));
  }
}
