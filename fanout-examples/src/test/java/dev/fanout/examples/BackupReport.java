package dev.fanout.examples;

import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * The summary a backup printed, read back from its standard output.
 *
 * @param files files backed up
 * @param copied of which copied anew
 * @param replaced of which copied over a backup that differed
 * @param unchanged of which left as they were
 * @param failed files that failed
 * @param bytes the size of all files backed up
 * @param written the bytes of the copied and replaced ones
 * @param runFiles the files this process wrote
 * @param runBytes the bytes this process wrote
 * @param lines every line printed
 */
record BackupReport(
    long files,
    long copied,
    long replaced,
    long unchanged,
    long failed,
    long bytes,
    long written,
    long runFiles,
    long runBytes,
    List<String> lines) {

  private static final Pattern FILES =
      Pattern.compile(
          "files: (\\d+) \\((\\d+) copied, (\\d+) replaced, (\\d+) unchanged\\), (\\d+) failed");
  private static final Pattern BYTES = Pattern.compile("bytes: (\\d+) in all, (\\d+) written");
  private static final Pattern RUN = Pattern.compile("this run wrote (\\d+) files, (\\d+) bytes");

  static BackupReport parse(String output) {
    List<String> lines = output.lines().toList();
    Matcher f = find(FILES, lines, output);
    Matcher b = find(BYTES, lines, output);
    Matcher r = find(RUN, lines, output);
    return new BackupReport(
        number(f, 1),
        number(f, 2),
        number(f, 3),
        number(f, 4),
        number(f, 5),
        number(b, 1),
        number(b, 2),
        number(r, 1),
        number(r, 2),
        lines);
  }

  /** Files, copied, replaced, unchanged, failed: the counts, for one assertion. */
  List<Long> counts() {
    return List.of(files, copied, replaced, unchanged, failed);
  }

  /** Bytes in all, bytes written, and this run's files and bytes. */
  List<Long> bytesAndRun() {
    return List.of(bytes, written, runFiles, runBytes);
  }

  /** The job's ID, from the line that announced its submission or its resumption. */
  String jobId() {
    for (String line : lines) {
      Matcher m = Pattern.compile("^(?:submitted|resuming) job (\\S+):").matcher(line);
      if (m.find()) {
        return m.group(1);
      }
    }
    throw new AssertionError("no job ID in:\n" + String.join("\n", lines));
  }

  private static Matcher find(Pattern pattern, List<String> lines, String output) {
    for (String line : lines) {
      Matcher m = pattern.matcher(line);
      if (m.matches()) {
        return m;
      }
    }
    throw new AssertionError("no line matching " + pattern + " in:\n" + output);
  }

  private static long number(Matcher m, int group) {
    return Long.parseLong(m.group(group));
  }
}
