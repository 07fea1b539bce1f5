package dev.fanout.examples;

import java.util.Objects;

/**
 * What backing up one file did: the result of {@link BackupExample}'s function, stored as JSON with
 * the item.
 *
 * @param path the file's path relative to the source (and to the destination)
 * @param bytes the file's size: what was copied, or what was found already backed up
 * @param outcome whether it was copied, copied over a backup that differed, or left as it was
 * @param sha256 the file's SHA-256 in hex, which the backup's copy was checked against
 */
record CopyResult(String path, long bytes, Outcome outcome, String sha256) {

  /** What happened to one file. */
  enum Outcome {
    /** The backup had no such file; it was copied. */
    COPIED,
    /** The backup had a different file there (corrupted, or the source changed); it was copied. */
    REPLACED,
    /** The backup already had the same bytes; nothing was written. */
    UNCHANGED
  }

  CopyResult {
    Objects.requireNonNull(path, "path");
    Objects.requireNonNull(outcome, "outcome");
    Objects.requireNonNull(sha256, "sha256");
  }

  /** Whether this file's bytes were written to the backup. */
  boolean written() {
    return outcome != Outcome.UNCHANGED;
  }
}
