package dev.fanout;

/**
 * Why a stored item failed, as read back from the store: the original exception's class name and
 * message. Durable jobs report failures with it, since the original exception object did not
 * survive being stored.
 */
public final class TaskFailedException extends RuntimeException {
  private static final long serialVersionUID = 1L;

  private final String type;

  /**
   * Creates the exception.
   *
   * @param type the original exception's class name
   * @param message the original exception's message, or null
   */
  public TaskFailedException(String type, String message) {
    super(type + (message == null ? "" : ": " + message), null, false, false);
    this.type = type;
  }

  /**
   * The original exception's class name.
   *
   * @return a fully qualified class name
   */
  public String type() {
    return type;
  }
}
