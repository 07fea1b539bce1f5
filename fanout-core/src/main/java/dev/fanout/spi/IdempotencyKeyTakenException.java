package dev.fanout.spi;

import dev.fanout.JobId;

/**
 * {@link JobStore#createJob} found another job holding the new job's idempotency key, sealed or
 * not; nothing was stored. The caller compares fingerprints to tell a repeat from a conflict.
 */
public final class IdempotencyKeyTakenException extends IllegalStateException {
  private static final long serialVersionUID = 1L;

  /** Transient because a JobId need not be serializable. */
  private final transient JobId holder;

  private final String fingerprint;

  /**
   * Creates the exception.
   *
   * @param key the key
   * @param holder the job holding it
   * @param fingerprint the fingerprint stored with that job
   */
  public IdempotencyKeyTakenException(String key, JobId holder, String fingerprint) {
    super("the idempotency key '" + key + "' is held by job " + holder);
    this.holder = holder;
    this.fingerprint = fingerprint;
  }

  /**
   * The job holding the key.
   *
   * @return its ID
   */
  public JobId holder() {
    return holder;
  }

  /**
   * The fingerprint stored with the job holding the key.
   *
   * @return the fingerprint
   */
  public String fingerprint() {
    return fingerprint;
  }
}
