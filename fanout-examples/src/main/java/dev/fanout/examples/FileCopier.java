package dev.fanout.examples;

import dev.fanout.TaskException;
import java.io.IOException;
import java.io.InputStream;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.FileAlreadyExistsException;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.nio.file.attribute.BasicFileAttributes;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.HexFormat;
import java.util.Map;
import java.util.Objects;
import java.util.concurrent.atomic.AtomicLong;

/**
 * Backs up one file: the function {@link BackupExample} fans out. It copies the file from the
 * source folder to the same relative path under the destination, so that the backup never shows a
 * half-written file under its final name, and checks the copy's SHA-256.
 *
 * <ol>
 *   <li>When the destination already holds a regular file of the same size and SHA-256, nothing is
 *       written ({@link CopyResult.Outcome#UNCHANGED}); this is what lets a re-run copy only what
 *       is missing, and lets an item that ran when the process died run again harmlessly.
 *   <li>Otherwise the bytes go to a temporary file beside the target ({@value #TEMP_PREFIX} and a
 *       hash of the name), hashed as they are read, forced to disk, and read back: a copy whose
 *       SHA-256 differs from the source's is deleted and fails the item ({@code checksum_mismatch},
 *       not retried). A good copy gets the source's modification time and is renamed over the
 *       target in one atomic step.
 *   <li>The temporary name is the same for every attempt at a file, so the next attempt overwrites
 *       what a killed one left behind.
 * </ol>
 *
 * <p>Failures another attempt cannot fix are {@link TaskException}s with a code: {@code
 * source_missing}, {@code source_not_a_file}, {@code target_not_a_file}, {@code reserved_path},
 * {@code bad_path}, {@code checksum_mismatch}. Other I/O errors (a full disk, say) are retried by
 * the job's retry policy.
 */
final class FileCopier {

  /** How the temporary copies' names start. */
  static final String TEMP_PREFIX = ".fanout-partial-";

  private static final HexFormat HEX = HexFormat.of();

  /** Points in a copy where tests step in: to damage a copy, or to hold one where it stands. */
  interface Hooks {
    /** No hooks. */
    Hooks NONE = new Hooks() {};

    /** After a copy is written under its temporary name, before it is checked. */
    default void written(Path temporaryCopy) throws IOException {}

    /** After a copy is renamed to its final name, before the item returns its result. */
    default void moved(Path target) throws InterruptedException {}
  }

  private final Path source;
  private final Path destination;
  private final Path reserved;
  private final Throttle throttle;
  private final Hooks hooks;
  private final AtomicLong filesWritten = new AtomicLong();
  private final AtomicLong bytesWritten = new AtomicLong();

  /**
   * @param source the source folder, a real path
   * @param destination the destination folder, absolute and normalized
   * @param reserved a folder no file may be written into (the job's own), absolute and normalized
   * @param throttle paces the writes
   * @param hooks where tests step in
   */
  FileCopier(Path source, Path destination, Path reserved, Throttle throttle, Hooks hooks) {
    this.source = Objects.requireNonNull(source, "source");
    this.destination = Objects.requireNonNull(destination, "destination");
    this.reserved = Objects.requireNonNull(reserved, "reserved");
    this.throttle = Objects.requireNonNull(throttle, "throttle");
    this.hooks = Objects.requireNonNull(hooks, "hooks");
  }

  /** How many files this copier wrote, in this process: the files one run copied. */
  long filesWritten() {
    return filesWritten.get();
  }

  /** How many bytes this copier wrote, in this process. */
  long bytesWritten() {
    return bytesWritten.get();
  }

  /**
   * Backs up one file.
   *
   * @param relative the file's path relative to the source folder
   * @return what was done
   * @throws TaskException for a failure that another attempt cannot fix
   * @throws IOException for one that it might
   * @throws InterruptedException when the job is stopped
   */
  CopyResult copy(String relative) throws IOException, InterruptedException {
    Path from = inside(source, relative);
    Path to = inside(destination, relative);
    if (to.startsWith(reserved)) {
      throw failure(
          "reserved_path",
          relative,
          "would be written into " + reserved + ", where the backup keeps its job");
    }
    Path temp = to.resolveSibling(temporaryName(to.getFileName()));
    BasicFileAttributes attrs;
    try {
      attrs = Files.readAttributes(from, BasicFileAttributes.class, LinkOption.NOFOLLOW_LINKS);
    } catch (NoSuchFileException e) {
      Files.deleteIfExists(temp);
      throw failure("source_missing", relative, "is no longer in the source folder");
    }
    if (!attrs.isRegularFile()) {
      throw failure("source_not_a_file", relative, "is no longer a regular file in the source");
    }

    CopyResult.Outcome outcome = CopyResult.Outcome.COPIED;
    BasicFileAttributes existing = attributesOrNull(to);
    if (existing != null) {
      if (!existing.isRegularFile()) {
        throw failure(
            "target_not_a_file", relative, to + " exists and is not a regular file; move it away");
      }
      if (existing.size() == attrs.size()) {
        String sha = sha256(from);
        if (sha.equals(sha256(to))) {
          return new CopyResult(relative, attrs.size(), CopyResult.Outcome.UNCHANGED, sha);
        }
      }
      outcome = CopyResult.Outcome.REPLACED;
    }

    try {
      Files.createDirectories(to.getParent());
    } catch (FileAlreadyExistsException e) {
      throw failure(
          "target_not_a_file", relative, "a parent folder of " + to + " is a file in the backup");
    }
    boolean moved = false;
    try {
      Copy written = write(from, temp);
      Files.setLastModifiedTime(temp, attrs.lastModifiedTime());
      hooks.written(temp);
      String copied = sha256(temp);
      if (!copied.equals(written.sha256())) {
        throw new TaskException(
            "checksum_mismatch",
            relative
                + ": the copy's SHA-256 "
                + copied
                + " differs from the source's "
                + written.sha256()
                + "; the copy was deleted",
            false,
            null,
            Map.of("path", relative, "sourceSha256", written.sha256(), "copySha256", copied),
            null);
      }
      Files.move(temp, to, StandardCopyOption.ATOMIC_MOVE);
      moved = true;
      filesWritten.incrementAndGet();
      bytesWritten.addAndGet(written.bytes());
      hooks.moved(to);
      return new CopyResult(relative, written.bytes(), outcome, written.sha256());
    } finally {
      if (!moved) {
        Files.deleteIfExists(temp);
      }
    }
  }

  /** Whether a file is a temporary copy, left by a copy that has not finished. */
  static boolean isTemporary(Path file) {
    return file.getFileName().toString().startsWith(TEMP_PREFIX);
  }

  /**
   * The temporary copy's name: fixed per file, so that the next attempt replaces a killed one's,
   * and short, so that a long name plus the prefix never exceeds what the file system allows.
   */
  static String temporaryName(Path fileName) {
    byte[] hash = digest().digest(fileName.toString().getBytes(StandardCharsets.UTF_8));
    return TEMP_PREFIX + HEX.formatHex(hash, 0, 8);
  }

  /** The SHA-256 of a file, in hex. */
  static String sha256(Path file) throws IOException {
    MessageDigest digest = digest();
    byte[] buffer = new byte[64 * 1024];
    try (InputStream in = Files.newInputStream(file, LinkOption.NOFOLLOW_LINKS)) {
      for (int n; (n = in.read(buffer)) > 0; ) {
        digest.update(buffer, 0, n);
      }
    }
    return HEX.formatHex(digest.digest());
  }

  private record Copy(long bytes, String sha256) {}

  /** Copies the bytes, hashing them as they are read, and forces them to disk. */
  private Copy write(Path from, Path temp) throws IOException, InterruptedException {
    MessageDigest digest = digest();
    byte[] buffer = new byte[throttle.chunkSize()];
    long bytes = 0;
    try (InputStream in = Files.newInputStream(from, LinkOption.NOFOLLOW_LINKS);
        FileChannel out =
            FileChannel.open(
                temp,
                StandardOpenOption.CREATE,
                StandardOpenOption.TRUNCATE_EXISTING,
                StandardOpenOption.WRITE)) {
      for (int n; (n = in.read(buffer)) > 0; ) {
        digest.update(buffer, 0, n);
        throttle.acquire(n);
        ByteBuffer chunk = ByteBuffer.wrap(buffer, 0, n);
        while (chunk.hasRemaining()) {
          out.write(chunk);
        }
        bytes += n;
      }
      // A crash of the machine after the rename must not leave an empty file under the name.
      out.force(true);
    }
    return new Copy(bytes, HEX.formatHex(digest.digest()));
  }

  private static Path inside(Path folder, String relative) {
    Path path = folder.resolve(relative).normalize();
    if (!path.startsWith(folder) || path.equals(folder)) {
      throw failure("bad_path", relative, "is not a path inside " + folder);
    }
    return path;
  }

  private static BasicFileAttributes attributesOrNull(Path path) throws IOException {
    try {
      return Files.readAttributes(path, BasicFileAttributes.class, LinkOption.NOFOLLOW_LINKS);
    } catch (NoSuchFileException e) {
      return null;
    }
  }

  private static TaskException failure(String code, String relative, String problem) {
    return new TaskException(
        code, relative + ": " + problem, false, null, Map.of("path", relative), null);
  }

  private static MessageDigest digest() {
    try {
      return MessageDigest.getInstance("SHA-256");
    } catch (NoSuchAlgorithmException e) {
      throw new IllegalStateException("every Java platform has SHA-256", e);
    }
  }
}
