package dev.fanout.examples;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.fanout.TaskException;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class FileCopierTest {

  @TempDir Path tmp;
  private Path src;
  private Path dst;
  private Path jobs;

  @BeforeEach
  void folders() throws IOException {
    src = Files.createDirectories(tmp.resolve("src")).toRealPath();
    dst = tmp.toRealPath().resolve("dst");
    jobs = dst.resolve(".fanout");
  }

  private FileCopier copier(FileCopier.Hooks hooks) {
    return new FileCopier(src, dst, jobs, new Throttle(0), hooks);
  }

  private FileCopier copier() {
    return copier(FileCopier.Hooks.NONE);
  }

  @Test
  void copies_a_file_into_new_folders_and_reports_its_size_and_sha256() throws Exception {
    Path file = Trees.write(src, "a/b/c.bin", Trees.randomBytes(200_000, 7));

    CopyResult result = copier().copy("a/b/c.bin");

    assertThat(result)
        .isEqualTo(
            new CopyResult("a/b/c.bin", 200_000, CopyResult.Outcome.COPIED, Trees.sha256(file)));
    assertThat(Trees.sha256(dst.resolve("a/b/c.bin"))).isEqualTo(Trees.sha256(file));
  }

  @Test
  void a_copy_that_differs_from_the_source_is_deleted_and_fails_without_a_retry() throws Exception {
    Trees.write(src, "f.txt", "the source");
    Path old = Trees.write(dst, "f.txt", "the old backup");
    FileCopier copier =
        copier(
            new FileCopier.Hooks() {
              @Override
              public void written(Path copy) throws IOException {
                byte[] bytes = Files.readAllBytes(copy);
                bytes[bytes.length - 1] ^= 0x20;
                Files.write(copy, bytes);
              }
            });

    assertThatThrownBy(() -> copier.copy("f.txt"))
        .isInstanceOfSatisfying(
            TaskException.class,
            e -> {
              assertThat(e.code()).isEqualTo("checksum_mismatch");
              assertThat(e.retryable()).isFalse();
              assertThat(e.details())
                  .containsEntry("path", "f.txt")
                  .containsEntry("sourceSha256", Trees.sha256(src.resolve("f.txt")))
                  .containsKey("copySha256");
            });
    // The backup keeps what it had; no half-checked copy is left beside it.
    assertThat(old).hasContent("the old backup");
    assertThat(Trees.temporaryFiles(dst)).isEmpty();
    assertThat(copier.filesWritten()).isZero();
  }

  @Test
  void the_next_attempt_overwrites_the_temporary_copy_a_killed_one_left() throws Exception {
    Path file = Trees.write(src, "photos/p.jpg", Trees.randomBytes(10_000, 3));
    Path left =
        Trees.write(
            dst,
            "photos/" + FileCopier.temporaryName(Path.of("p.jpg")),
            Trees.randomBytes(50_000, 4));

    copier().copy("photos/p.jpg");

    assertThat(left).doesNotExist();
    assertThat(Trees.sha256(dst.resolve("photos/p.jpg"))).isEqualTo(Trees.sha256(file));
  }

  @Test
  void a_file_already_backed_up_with_the_same_sha256_is_not_written() throws Exception {
    Path file = Trees.write(src, "same.txt", "same bytes");
    Path backup = Trees.write(dst, "same.txt", "same bytes");
    Object inode = Files.readAttributes(backup, "unix:ino").get("ino");

    CopyResult result = copier().copy("same.txt");

    assertThat(result.outcome()).isEqualTo(CopyResult.Outcome.UNCHANGED);
    assertThat(result.sha256()).isEqualTo(Trees.sha256(file));
    assertThat(Files.readAttributes(backup, "unix:ino").get("ino")).isEqualTo(inode);
  }

  @Test
  void a_backup_of_the_same_size_with_other_bytes_is_replaced() throws Exception {
    Path file = Trees.write(src, "same-size.txt", "abcdef");
    Trees.write(dst, "same-size.txt", "abcdeX");

    CopyResult result = copier().copy("same-size.txt");

    assertThat(result.outcome()).isEqualTo(CopyResult.Outcome.REPLACED);
    assertThat(Trees.sha256(dst.resolve("same-size.txt"))).isEqualTo(Trees.sha256(file));
  }

  @Test
  void a_file_gone_from_the_source_fails_with_source_missing_and_its_stale_copy_is_removed()
      throws Exception {
    Path left = Trees.write(dst, "gone/" + FileCopier.temporaryName(Path.of("x")), "partial");

    assertFailsWith("source_missing", "gone/x");
    assertThat(left).doesNotExist();
  }

  @Test
  void paths_outside_the_folders_and_inside_the_job_folder_are_refused() throws Exception {
    Trees.write(src, ".fanout/fanout.mv.db", "not a database");

    assertFailsWith("bad_path", "../outside.txt");
    assertFailsWith("bad_path", "/etc/passwd");
    assertFailsWith("reserved_path", ".fanout/fanout.mv.db");
  }

  @Test
  void a_source_entry_that_became_a_folder_fails_with_source_not_a_file() throws Exception {
    Files.createDirectories(src.resolve("now-a-folder"));

    assertFailsWith("source_not_a_file", "now-a-folder");
  }

  @Test
  void temporary_names_are_fixed_per_file_and_short() {
    String longName = "x".repeat(255);

    assertThat(FileCopier.temporaryName(Path.of(longName)))
        .isEqualTo(FileCopier.temporaryName(Path.of(longName)))
        .isNotEqualTo(FileCopier.temporaryName(Path.of("y")))
        .startsWith(FileCopier.TEMP_PREFIX)
        .hasSize(FileCopier.TEMP_PREFIX.length() + 16);
  }

  private void assertFailsWith(String code, String relative) {
    assertThatThrownBy(() -> copier().copy(relative))
        .isInstanceOfSatisfying(
            TaskException.class,
            e -> {
              assertThat(e.code()).isEqualTo(code);
              assertThat(e.retryable()).isFalse();
              assertThat(e.getMessage()).startsWith(relative + ": ");
            });
  }
}
