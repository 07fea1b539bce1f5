package dev.fanout.examples;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.Map;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.condition.EnabledOnOs;
import org.junit.jupiter.api.condition.OS;
import org.junit.jupiter.api.io.TempDir;

/**
 * Kills a backup with SIGKILL while it copies, then runs the same command again, as a user would:
 * the second run must resume the same job, copy only what the first did not finish, and leave the
 * backup equal to the source with no temporary copy anywhere.
 */
@Tag("crash")
@EnabledOnOs(OS.LINUX)
class BackupCrashTest {

  private static final int FILES = 80;
  private static final int FILE_SIZE = 32 * 1024;

  @TempDir Path tmp;

  @Test
  void a_backup_killed_midway_is_resumed_by_the_same_command_which_copies_only_what_is_missing()
      throws Exception {
    Path src = tmp.resolve("source");
    for (int i = 0; i < FILES; i++) {
      Trees.write(src, "dir-" + i % 8 + "/file " + i + ".bin", Trees.randomBytes(FILE_SIZE, i));
    }
    Trees.write(src, "big/movie.bin", Trees.randomBytes(1024 * 1024, -1));
    Trees.write(src, "empty/a", new byte[0]);
    Trees.write(src, "empty/b", new byte[0]);
    Map<String, String> expected = Trees.sha256s(src);
    Path dst = tmp.resolve("backup");
    Path logs = Files.createDirectories(tmp.resolve("logs"));

    // Slowed to a quarter MiB a second in all, so that the kill lands while copies are under way;
    // and the first file copied is held between taking its final name and being recorded.
    String jobId;
    String held;
    Map<String, String> before;
    Map<String, Object> keysBefore;
    try (BackupProcess first =
        BackupProcess.start(
            "first", logs, HeldBackup.class, src, dst, "--concurrency", 4, "--max-rate", "256k")) {
      jobId = first.awaitLine("submitted job ").split(" ")[2].replace(":", "");

      // The job's database admits one process: a second backup into it is turned away.
      try (BackupProcess second = BackupProcess.start("second", logs, src, dst)) {
        assertThat(second.awaitExit()).as(second.tail()).isEqualTo(BackupExample.EXIT_USAGE);
        assertThat(second.errors())
            .contains("backup: cannot open the job folder " + dst.resolve(".fanout"))
            .contains("is another backup using it?");
      }

      killWhileCopying(first, dst, expected);
      held =
          dst.relativize(Path.of(first.printed(HeldBackup.HELD).orElseThrow().substring(5)))
              .toString();

      before = Trees.sha256s(dst);
      keysBefore = Trees.fileKeys(dst);
    }
    // Nothing under a final name is partial: what is there is whole and right.
    assertThat(before).isNotEmpty().hasSizeLessThan(expected.size());
    before.forEach((path, sha) -> assertThat(sha).as(path).isEqualTo(expected.get(path)));
    assertThat(Trees.temporaryFiles(dst)).isNotEmpty();

    // While it is unfinished, the job folder serves no other backup.
    Path other = Files.createDirectories(tmp.resolve("other source"));
    try (BackupProcess intruder =
        BackupProcess.start(
            "intruder",
            logs,
            other,
            tmp.resolve("other backup"),
            "--data",
            dst.resolve(".fanout"))) {
      assertThat(intruder.awaitExit()).as(intruder.tail()).isEqualTo(BackupExample.EXIT_USAGE);
      assertThat(intruder.errors()).contains("holds the unfinished job " + jobId);
    }

    // The same command again (the pace is not part of the job, so it may change).
    String output;
    try (BackupProcess again = BackupProcess.start("again", logs, src, dst, "--concurrency", 4)) {
      assertThat(again.awaitExit()).as(again.tail()).isEqualTo(BackupExample.EXIT_OK);
      output = again.output();
    }

    assertThat(Trees.sha256s(dst)).isEqualTo(expected);
    assertThat(Trees.temporaryFiles(dst)).isEmpty();
    // Files whole before the crash were not copied again: the same inode, never renamed over.
    Map<String, Object> keysAfter = new HashMap<>(Trees.fileKeys(dst));
    keysAfter.keySet().retainAll(keysBefore.keySet());
    assertThat(keysAfter).isEqualTo(keysBefore);
    assertThat(before).containsKey(held);

    BackupReport report = BackupReport.parse(output);
    assertThat(report.jobId()).isEqualTo(jobId);
    assertThat(output).contains("resuming job " + jobId + ": ");
    long missing = expected.size() - before.size();
    long missingBytes =
        expected.keySet().stream()
            .filter(path -> !before.containsKey(path))
            .mapToLong(path -> Trees.size(src.resolve(path)))
            .sum();
    assertThat(report.runFiles()).isEqualTo(missing);
    assertThat(report.runBytes()).isEqualTo(missingBytes);
    // The job's fan-in covers both runs: every file once, and every byte.
    assertThat(report.files()).isEqualTo(expected.size());
    assertThat(report.copied() + report.unchanged()).isEqualTo(expected.size());
    // The held file's item ran again, and found its copy whole.
    assertThat(report.unchanged()).isPositive();
    assertThat(output).contains("unchanged " + held + "\n");
    assertThat(report.replaced()).isZero();
    assertThat(report.failed()).isZero();
    assertThat(report.bytes()).isEqualTo(Trees.totalBytes(src));
  }

  /**
   * Freezes the backup, and kills it if a file is held, at least ten files are in the backup, and a
   * copy is half written (under whatever name); else lets it go on a moment and looks again. It
   * dies in the state looked at.
   */
  private static void killWhileCopying(BackupProcess backup, Path dst, Map<String, String> expected)
      throws Exception {
    for (int look = 0; look < 2_000; look++) {
      assertThat(backup.isAlive()).as("the backup ended before it was killed").isTrue();
      backup.freeze();
      Map<String, String> present = Trees.sha256s(dst);
      if (backup.printed(HeldBackup.HELD).isPresent()
          && present.size() >= 10
          && halfWritten(dst, present, expected)) {
        assertThat(backup.kill()).isEqualTo(BackupProcess.KILLED_BY_SIGKILL);
        return;
      }
      backup.thaw();
      Thread.sleep(10);
    }
    throw new AssertionError("never found a copy under way" + backup.tail());
  }

  private static boolean halfWritten(
      Path dst, Map<String, String> present, Map<String, String> expected) throws IOException {
    for (Path temp : Trees.temporaryFiles(dst)) {
      if (Files.size(temp) > 0) {
        return true;
      }
    }
    return present.entrySet().stream()
        .anyMatch(file -> !file.getValue().equals(expected.get(file.getKey())));
  }
}
