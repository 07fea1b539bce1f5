package dev.fanout.examples;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.InvalidPathException;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;

/**
 * What a {@link BackupExample} run was asked to do, checked: the folders as real, absolute paths
 * that do not overlap, and the options in range.
 *
 * @param source the folder to back up, a real path
 * @param destination the backup folder, absolute, with every existing part's links resolved
 * @param data the folder of the job's H2 database
 * @param concurrency files copied at once
 * @param maxBytesPerSecond the pace of all writes together, 0 for none
 */
record BackupSettings(
    Path source, Path destination, Path data, int concurrency, long maxBytesPerSecond) {

  /** Files copied at once when {@code --concurrency} is not given. */
  static final int DEFAULT_CONCURRENCY = 8;

  /** The most files copied at once. */
  static final int MAX_CONCURRENCY = 1000;

  /** The job's folder under the destination when {@code --data} is not given. */
  static final String DEFAULT_DATA_FOLDER = ".fanout";

  static final String USAGE =
      """
      usage: backup SOURCE DESTINATION [--data DIR] [--concurrency N] [--max-rate BYTES]
      Backs up every regular file under SOURCE to the same path under DESTINATION, checking each
      copy's SHA-256, as a durable Fanout job: run the same command again after a crash and it
      finishes the job; run it again later and it copies only what is missing or differs.
        --data DIR        where the job is kept (an H2 database); default: DESTINATION/.fanout
        --concurrency N   files copied at once, 1 to 1000; default: 8
        --max-rate BYTES  bytes written per second, in all, such as 512k or 20m; default: no limit
      Symbolic links are neither followed nor copied (SOURCE itself may be one); empty folders,
      permissions and owners are not copied; modification times are.
      Exit status: 0 when every file is backed up, 1 when some file failed, 2 for a usage error.""";

  /** A command line that cannot run, with the reason. */
  static final class UsageError extends Exception {
    private static final long serialVersionUID = 1L;

    UsageError(String message) {
      super(message);
    }
  }

  /**
   * Reads and checks the arguments.
   *
   * @param args {@code SOURCE DESTINATION} and options, in any order
   * @return the settings
   * @throws UsageError naming the problem
   */
  static BackupSettings parse(String... args) throws UsageError {
    List<String> folders = new ArrayList<>();
    String data = null;
    int concurrency = DEFAULT_CONCURRENCY;
    long maxRate = 0;
    for (int i = 0; i < args.length; i++) {
      String arg = args[i];
      switch (arg) {
        case "--data" -> data = value(args, ++i, arg);
        case "--concurrency" -> concurrency = concurrency(value(args, ++i, arg));
        case "--max-rate" -> maxRate = rate(value(args, ++i, arg));
        default -> {
          if (arg.startsWith("-") && arg.length() > 1) {
            throw new UsageError("unknown option " + arg);
          }
          folders.add(arg);
        }
      }
    }
    if (folders.size() != 2) {
      throw new UsageError(
          "expected SOURCE and DESTINATION, got "
              + folders.size()
              + " folder argument"
              + (folders.size() == 1 ? "" : "s"));
    }
    Path sourceArg = path(folders.get(0), "SOURCE");
    if (!Files.exists(sourceArg)) {
      throw new UsageError("the source folder " + sourceArg + " does not exist");
    }
    if (!Files.isDirectory(sourceArg)) {
      throw new UsageError("the source " + sourceArg + " is not a folder");
    }
    Path source;
    try {
      source = sourceArg.toRealPath();
    } catch (IOException e) {
      throw new UsageError("cannot read the source folder " + sourceArg + ": " + e);
    }
    Path destination = real(path(folders.get(1), "DESTINATION"));
    if (Files.exists(destination) && !Files.isDirectory(destination)) {
      throw new UsageError("the destination " + destination + " exists and is not a folder");
    }
    if (destination.equals(source)) {
      throw new UsageError("the destination is the source folder " + source);
    }
    if (destination.startsWith(source)) {
      throw new UsageError(
          "the destination "
              + destination
              + " is inside the source "
              + source
              + ": the backup would back up its own copies; choose a destination outside it");
    }
    if (source.startsWith(destination)) {
      throw new UsageError(
          "the source "
              + source
              + " is inside the destination "
              + destination
              + ": its copies could overwrite the files being backed up");
    }
    Path dataDir =
        data == null ? destination.resolve(DEFAULT_DATA_FOLDER) : real(path(data, "--data"));
    checkData(dataDir, source, destination);
    return new BackupSettings(source, destination, dataDir, concurrency, maxRate);
  }

  private static void checkData(Path data, Path source, Path destination) throws UsageError {
    if (Files.exists(data) && !Files.isDirectory(data)) {
      throw new UsageError("the job folder " + data + " is not a folder");
    }
    if (data.startsWith(source) || source.startsWith(data)) {
      throw new UsageError(
          "the job folder "
              + data
              + " overlaps the source "
              + source
              + ": it would be backed up while in use; give --data a folder elsewhere");
    }
    if (destination.startsWith(data)) {
      throw new UsageError(
          "the job folder "
              + data
              + " must be a folder of its own, not the destination or a folder above it");
    }
    if (data.startsWith(destination)) {
      Path shadowed = source.resolve(destination.relativize(data));
      if (Files.exists(shadowed, LinkOption.NOFOLLOW_LINKS)) {
        throw new UsageError(
            "the source has "
                + shadowed
                + ", whose backup would go into the job folder "
                + data
                + "; give --data a folder outside the destination");
      }
    }
  }

  private static String value(String[] args, int i, String option) throws UsageError {
    if (i >= args.length) {
      throw new UsageError(option + " needs a value");
    }
    return args[i];
  }

  private static int concurrency(String text) throws UsageError {
    try {
      int n = Integer.parseInt(text);
      if (n >= 1 && n <= MAX_CONCURRENCY) {
        return n;
      }
    } catch (NumberFormatException e) {
      // reported below, with the range
    }
    throw new UsageError(
        "--concurrency must be a whole number from 1 to " + MAX_CONCURRENCY + ", got " + text);
  }

  /** Bytes per second: a whole number, optionally with k, m or g (powers of 1024). */
  static long rate(String text) throws UsageError {
    String t = text.strip().toLowerCase(Locale.ROOT);
    int shift =
        switch (t.isEmpty() ? ' ' : t.charAt(t.length() - 1)) {
          case 'k' -> 10;
          case 'm' -> 20;
          case 'g' -> 30;
          default -> 0;
        };
    String digits = shift == 0 ? t : t.substring(0, t.length() - 1);
    try {
      long n = Long.parseLong(digits);
      if (n >= 1 && n <= (Long.MAX_VALUE >> 40)) {
        return n << shift;
      }
    } catch (NumberFormatException e) {
      // reported below
    }
    throw new UsageError(
        "--max-rate must be a positive number of bytes per second, such as 512k or 20m, got "
            + text);
  }

  private static Path path(String text, String what) throws UsageError {
    try {
      return Path.of(text);
    } catch (InvalidPathException e) {
      throw new UsageError(what + " is not a valid path: " + e.getMessage());
    }
  }

  /**
   * The absolute path with the links of its existing part resolved, so that overlaps are judged on
   * the folders themselves, also for a destination that does not exist yet.
   */
  private static Path real(Path path) throws UsageError {
    Path absolute = path.toAbsolutePath().normalize();
    Path existing = absolute;
    while (existing != null && !Files.exists(existing)) {
      existing = existing.getParent();
    }
    if (existing == null) {
      return absolute;
    }
    try {
      return existing.toRealPath().resolve(existing.relativize(absolute));
    } catch (IOException e) {
      throw new UsageError("cannot read " + existing + ": " + e);
    }
  }
}
