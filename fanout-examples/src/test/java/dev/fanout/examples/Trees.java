package dev.fanout.examples;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.nio.file.attribute.BasicFileAttributes;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.TreeMap;
import java.util.stream.Stream;

/** Folder trees for the backup tests: making them, and reading them back by SHA-256. */
final class Trees {

  private Trees() {}

  /** Writes a file, creating its folders. */
  static Path write(Path root, String relative, byte[] content) throws IOException {
    Path file = root.resolve(relative);
    Files.createDirectories(file.getParent());
    return Files.write(file, content);
  }

  static Path write(Path root, String relative, String content) throws IOException {
    return write(root, relative, content.getBytes(StandardCharsets.UTF_8));
  }

  /** Random bytes from a seeded generator, so a failing run can be repeated. */
  static byte[] randomBytes(int size, long seed) {
    byte[] bytes = new byte[size];
    new Random(seed).nextBytes(bytes);
    return bytes;
  }

  /**
   * Every regular file under a folder, by relative path, with its SHA-256; the job's folder and
   * temporary copies are left out (see {@link #temporaryFiles}).
   */
  static Map<String, String> sha256s(Path root) {
    Map<String, String> files = new TreeMap<>();
    for (Path file : regularFiles(root)) {
      if (!FileCopier.isTemporary(file)) {
        files.put(root.relativize(file).toString(), sha256(file));
      }
    }
    return files;
  }

  /** The sum of the sizes of the files {@link #sha256s} lists. */
  static long totalBytes(Path root) {
    long total = 0;
    for (Path file : regularFiles(root)) {
      if (!FileCopier.isTemporary(file)) {
        total += size(file);
      }
    }
    return total;
  }

  /** The temporary copies under a folder: what a copy leaves while it is under way. */
  static List<Path> temporaryFiles(Path root) {
    return regularFiles(root).stream().filter(FileCopier::isTemporary).toList();
  }

  /** Each file's identity on disk (its inode): a file copied again gets a new one. */
  static Map<String, Object> fileKeys(Path root) {
    Map<String, Object> keys = new TreeMap<>();
    for (Path file : regularFiles(root)) {
      if (!FileCopier.isTemporary(file)) {
        try {
          keys.put(
              root.relativize(file).toString(),
              Files.readAttributes(file, BasicFileAttributes.class, LinkOption.NOFOLLOW_LINKS)
                  .fileKey());
        } catch (IOException e) {
          throw new UncheckedIOException(e);
        }
      }
    }
    return keys;
  }

  static String sha256(Path file) {
    try {
      return FileCopier.sha256(file);
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  static long size(Path file) {
    try {
      return Files.size(file);
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  private static List<Path> regularFiles(Path root) {
    Path jobFolder = root.resolve(BackupSettings.DEFAULT_DATA_FOLDER);
    try (Stream<Path> all = Files.walk(root)) {
      return all.filter(p -> !p.startsWith(jobFolder))
          .filter(p -> Files.isRegularFile(p, LinkOption.NOFOLLOW_LINKS))
          .toList();
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }
}
