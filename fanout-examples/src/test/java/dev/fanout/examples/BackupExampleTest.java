package dev.fanout.examples;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.PrintStream;
import java.io.RandomAccessFile;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class BackupExampleTest {

  @TempDir Path tmp;

  /** What one in-process run printed, and its exit status. */
  private record Run(int exit, String out, String err) {
    BackupReport report() {
      return BackupReport.parse(out);
    }
  }

  private static Run backup(FileCopier.Hooks hooks, Object... args) {
    var out = new ByteArrayOutputStream();
    var err = new ByteArrayOutputStream();
    int exit;
    try (var o = new PrintStream(out, true, StandardCharsets.UTF_8);
        var e = new PrintStream(err, true, StandardCharsets.UTF_8)) {
      String[] strings = new String[args.length];
      for (int i = 0; i < args.length; i++) {
        strings[i] = args[i].toString();
      }
      exit = BackupExample.run(strings, o, e, hooks);
    }
    return new Run(
        exit, out.toString(StandardCharsets.UTF_8), err.toString(StandardCharsets.UTF_8));
  }

  private static Run backup(Object... args) {
    return backup(FileCopier.Hooks.NONE, args);
  }

  /** A source tree with the awkward cases: empty files, a large file, spaces, non-ASCII names. */
  private Path sourceTree() throws IOException {
    Path src = tmp.resolve("source");
    Trees.write(src, "readme.txt", "hello, backup\n");
    Trees.write(src, "empty", new byte[0]);
    Trees.write(src, "docs/empty too.txt", new byte[0]);
    Trees.write(src, "docs/deep/er/still/deeper/note.md", "# notes\n");
    Trees.write(src, "media/big.bin", Trees.randomBytes(5 * 1024 * 1024 + 17, 1));
    Trees.write(src, "with space/ünïcødé ✓.txt", "ü\n");
    Trees.write(src, "日本語/ファイル 1.txt", "こんにちは");
    Trees.write(src, ".hidden/.dotfile", "x");
    for (int i = 0; i < 30; i++) {
      Trees.write(src, "many/file-" + i + ".dat", Trees.randomBytes(1000 + i * 97, 100 + i));
    }
    return src;
  }

  @Test
  void backs_up_every_file_at_its_relative_path_with_the_same_sha256_and_sums_the_bytes()
      throws IOException {
    Path src = sourceTree();
    Files.createSymbolicLink(src.resolve("link-to-file"), src.resolve("readme.txt"));
    Files.createSymbolicLink(src.resolve("link-to-folder"), src.resolve("docs"));
    Path dst = tmp.resolve("backup");
    Map<String, String> expected = Trees.sha256s(src);
    long bytes = Trees.totalBytes(src);

    Run run = backup(src, dst, "--concurrency", 4);

    assertThat(run.exit()).as(run.err()).isZero();
    assertThat(Trees.sha256s(dst)).isEqualTo(expected);
    assertThat(Trees.temporaryFiles(dst)).isEmpty();
    BackupReport report = run.report();
    int n = expected.size();
    assertThat(report.counts()).containsExactly((long) n, (long) n, 0L, 0L, 0L);
    assertThat(report.bytesAndRun()).containsExactly(bytes, bytes, (long) n, bytes);
    // Each file was pushed to the consumer as it settled, once per file.
    List<String> copiedLines = new ArrayList<>();
    for (String path : expected.keySet()) {
      copiedLines.add("copied    " + path + " (" + Trees.size(src.resolve(path)) + " bytes)");
    }
    assertThat(report.lines().stream().filter(l -> l.startsWith("copied ")))
        .containsExactlyInAnyOrderElementsOf(copiedLines);
    assertThat(report.lines())
        .anyMatch(
            l ->
                l.matches(
                    "submitted job \\S+: "
                        + n
                        + " files; skipped 2 entries that are not a regular file .*"));
    // Links are not followed, nor copied as links.
    assertThat(dst.resolve("link-to-file")).doesNotExist();
    assertThat(dst.resolve("link-to-folder")).doesNotExist();
    assertThat(Files.getLastModifiedTime(dst.resolve("media/big.bin")))
        .isEqualTo(Files.getLastModifiedTime(src.resolve("media/big.bin")));
    assertThat(dst.resolve(".fanout")).isDirectory();
  }

  @Test
  void a_rerun_copies_nothing_and_leaves_every_backup_file_untouched() throws IOException {
    Path src = sourceTree();
    Path dst = tmp.resolve("backup");
    assertThat(backup(src, dst).exit()).isZero();
    Map<String, Object> keys = Trees.fileKeys(dst);

    Run again = backup(src, dst);

    assertThat(again.exit()).as(again.err()).isZero();
    BackupReport report = again.report();
    long n = keys.size();
    assertThat(report.counts()).containsExactly(n, 0L, 0L, n, 0L);
    assertThat(report.bytesAndRun()).containsExactly(Trees.totalBytes(src), 0L, 0L, 0L);
    assertThat(report.lines()).noneMatch(l -> l.startsWith("copied "));
    assertThat(Trees.fileKeys(dst)).isEqualTo(keys);
    assertThat(Trees.sha256s(dst)).isEqualTo(Trees.sha256s(src));
  }

  @Test
  void a_rerun_replaces_damaged_backup_files_and_copies_missing_and_new_ones() throws IOException {
    Path src = sourceTree();
    Path dst = tmp.resolve("backup");
    assertThat(backup(src, dst).exit()).isZero();
    // Same size, one byte flipped: only the SHA-256 can tell.
    try (var file = new RandomAccessFile(dst.resolve("media/big.bin").toFile(), "rw")) {
      file.seek(3 * 1024 * 1024);
      int b = file.read();
      file.seek(3 * 1024 * 1024);
      file.write(b ^ 0x01);
    }
    Files.write(dst.resolve("readme.txt"), "hello".getBytes(StandardCharsets.UTF_8));
    Files.delete(dst.resolve("日本語/ファイル 1.txt"));
    Trees.write(src, "new/one.txt", "new since the last backup");
    long n = Trees.sha256s(src).size();

    Run again = backup(src, dst);

    assertThat(again.exit()).as(again.err()).isZero();
    assertThat(Trees.sha256s(dst)).isEqualTo(Trees.sha256s(src));
    BackupReport report = again.report();
    assertThat(report.counts()).containsExactly(n, 2L, 2L, n - 4, 0L);
    long rewritten =
        Trees.size(src.resolve("media/big.bin"))
            + Trees.size(src.resolve("readme.txt"))
            + Trees.size(src.resolve("日本語/ファイル 1.txt"))
            + Trees.size(src.resolve("new/one.txt"));
    assertThat(report.written()).isEqualTo(rewritten);
    assertThat(report.lines())
        .contains(
            "replaced  media/big.bin (5242897 bytes; the backup differed)",
            "replaced  readme.txt (14 bytes; the backup differed)",
            "copied    日本語/ファイル 1.txt (15 bytes)",
            "copied    new/one.txt (25 bytes)");
  }

  @Test
  void a_copy_whose_sha256_differs_from_the_source_fails_its_file_at_once_and_is_deleted()
      throws IOException {
    Path src = sourceTree();
    Path dst = tmp.resolve("backup");
    Path damaged = dst.resolve("media/big.bin");
    FileCopier.Hooks flipFirstByte =
        new FileCopier.Hooks() {
          @Override
          public void written(Path copy) throws IOException {
            if (copy.getParent().equals(damaged.getParent())) {
              byte[] bytes = Files.readAllBytes(copy);
              bytes[0] ^= 0x01;
              Files.write(copy, bytes);
            }
          }
        };

    Run run = backup(flipFirstByte, src, dst);

    assertThat(run.exit()).isEqualTo(BackupExample.EXIT_FAILED);
    assertThat(damaged).doesNotExist();
    assertThat(Trees.temporaryFiles(dst)).isEmpty();
    Map<String, String> others = Trees.sha256s(src);
    others.remove("media/big.bin");
    assertThat(Trees.sha256s(dst)).isEqualTo(others);
    BackupReport report = run.report();
    assertThat(report.failed()).isEqualTo(1);
    assertThat(report.files()).isEqualTo(others.size());
    assertThat(report.lines())
        .anyMatch(l -> l.matches("failed    media/big\\.bin: the copy's SHA-256 \\w+ differs .*"))
        .contains("failed files:")
        // Not retried: another attempt would not make a bad disk good.
        .anyMatch(l -> l.matches("  checksum_mismatch: media/big\\.bin: .*\\(1 attempts\\)"));
    assertThat(run.out()).contains("job ").contains(" FAILED in ");
  }

  @Test
  void a_file_the_backup_cannot_hold_is_reported_with_its_code_and_the_rest_is_backed_up()
      throws IOException {
    Path src = sourceTree();
    Path dst = tmp.resolve("backup");
    Files.createDirectories(dst.resolve("readme.txt"));

    Run run = backup(src, dst);

    assertThat(run.exit()).isEqualTo(BackupExample.EXIT_FAILED);
    assertThat(dst.resolve("readme.txt")).isDirectory();
    Map<String, String> others = Trees.sha256s(src);
    others.remove("readme.txt");
    assertThat(Trees.sha256s(dst)).isEqualTo(others);
    assertThat(run.report().lines())
        .anyMatch(
            l ->
                l.equals(
                    "  target_not_a_file: readme.txt: "
                        + dst.resolve("readme.txt")
                        + " exists and is not a regular file; move it away (1 attempts)"));
  }

  @Test
  void an_empty_source_backs_up_nothing_and_succeeds() throws IOException {
    Path src = Files.createDirectories(tmp.resolve("empty source"));
    Path dst = tmp.resolve("backup");

    Run run = backup(src, dst);

    assertThat(run.exit()).as(run.err()).isZero();
    assertThat(run.report().counts()).containsExactly(0L, 0L, 0L, 0L, 0L);
    assertThat(run.report().bytesAndRun()).containsExactly(0L, 0L, 0L, 0L);
    assertThat(Trees.sha256s(dst)).isEmpty();
  }

  @Test
  void the_job_can_be_kept_outside_the_destination() throws IOException {
    Path src = sourceTree();
    Path dst = tmp.resolve("backup");
    Path data = tmp.resolve("jobs");

    Run run = backup(src, dst, "--data", data, "--max-rate", "64m");

    assertThat(run.exit()).as(run.err()).isZero();
    assertThat(data.resolve("fanout.mv.db")).isRegularFile();
    assertThat(dst.resolve(".fanout")).doesNotExist();
    assertThat(Trees.sha256s(dst)).isEqualTo(Trees.sha256s(src));
  }

  @Test
  void bad_arguments_and_overlapping_folders_are_refused_with_the_reason() throws IOException {
    Path src = Files.createDirectories(tmp.resolve("src"));
    Trees.write(src, "a.txt", "a");
    Path file = Trees.write(tmp, "plain-file", "x");
    Path dst = tmp.resolve("dst");
    Path withJobName = Files.createDirectories(tmp.resolve("has-fanout"));
    Trees.write(withJobName, ".fanout/x", "x");

    assertRefused("expected SOURCE and DESTINATION, got 1 folder argument", src);
    assertRefused("unknown option --fast", src, dst, "--fast");
    assertRefused("--data needs a value", src, dst, "--data");
    assertRefused(
        "--concurrency must be a whole number from 1 to 1000, got 0",
        src,
        dst,
        "--concurrency",
        "0");
    assertRefused(
        "--concurrency must be a whole number from 1 to 1000, got many",
        src,
        dst,
        "--concurrency",
        "many");
    assertRefused(
        "--max-rate must be a positive number of bytes per second", src, dst, "--max-rate", "fast");
    assertRefused(
        "the source folder " + tmp.resolve("missing") + " does not exist",
        tmp.resolve("missing"),
        dst);
    assertRefused("the source " + file + " is not a folder", file, dst);
    assertRefused(
        "the destination " + file.toRealPath() + " exists and is not a folder", src, file);
    assertRefused("the destination is the source folder", src, src);
    assertRefused(
        "the destination " + src.toRealPath().resolve("inner") + " is inside the source",
        src,
        src.resolve("inner"));
    assertRefused("the source " + src.toRealPath() + " is inside the destination", src, tmp);
    assertRefused(
        "the job folder " + src.toRealPath().resolve("jobs") + " overlaps the source",
        src,
        dst,
        "--data",
        src.resolve("jobs"));
    assertRefused("must be a folder of its own", src, dst, "--data", dst);
    assertRefused(
        "the source has " + withJobName.toRealPath().resolve(".fanout"), withJobName, dst);
    assertThat(dst).doesNotExist();
  }

  private static void assertRefused(String reason, Object... args) {
    Run run = backup(args);
    assertThat(run.exit()).as(run.out() + run.err()).isEqualTo(BackupExample.EXIT_USAGE);
    assertThat(run.err()).startsWith("backup: ").contains(reason);
    assertThat(run.out()).isEmpty();
  }

  @Test
  void help_lists_the_options() {
    Run run = backup("--help");

    assertThat(run.exit()).isZero();
    assertThat(run.out()).contains("--data DIR", "--concurrency N", "--max-rate BYTES");
  }

  @Test
  void the_source_argument_may_be_a_symbolic_link_to_the_folder() throws IOException {
    Path real = sourceTree();
    Path link = Files.createSymbolicLink(tmp.resolve("source-link"), real);
    Path dst = tmp.resolve("backup");

    Run run = backup(link, dst);

    assertThat(run.exit()).as(run.err()).isZero();
    assertThat(Trees.sha256s(dst)).isEqualTo(Trees.sha256s(real));
    assertThat(Files.isDirectory(dst.resolve("docs"), LinkOption.NOFOLLOW_LINKS)).isTrue();
  }
}
