package dev.fanout;

import java.util.NoSuchElementException;

/** No job has the given ID: it never existed, or it was removed after its retention period. */
public final class NoSuchJobException extends NoSuchElementException {
  private static final long serialVersionUID = 1L;

  /**
   * Creates the exception.
   *
   * @param id the unknown ID
   */
  public NoSuchJobException(JobId id) {
    super("no job with id " + id);
  }
}
