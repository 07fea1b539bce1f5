package dev.fanout.jdbc.crash;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Path;
import java.sql.Connection;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A worker killed with SIGKILL and restarted under the same worker ID, as a process with a stable
 * name (a StatefulSet pod, a systemd unit) is: the worker ID must be unique among running engines,
 * and the dead one is not running. Its leases must still run out, and its items be run again.
 */
@Tag("crash")
class PostgresWorkerIdReuseTest {

  private static final int ITEMS = 3_000;
  private static final String WORKER_ID = "stable-worker";

  /** Far beyond how long the job takes; only a job that never ends waits this long. */
  private static final long GIVE_UP_MILLIS = 30_000;

  private static PostgresSchema schema;

  @TempDir Path folder;

  /**
   * Creates the class's schema before its first test; skips (under CI, fails) every test when the
   * server is down, so each one shows as skipped.
   */
  @BeforeEach
  void createSchemaOnce() {
    if (schema == null) {
      schema = PostgresSchema.create("fanout_reuse_");
    }
  }

  @AfterAll
  static void dropSchema() {
    if (schema != null) {
      schema.close();
      schema = null;
    }
  }

  @Test
  void a_worker_restarted_under_the_killed_ones_id_lets_the_dead_leases_run_out() throws Exception {
    StoreTarget target = schema.target();
    List<String> common = new ArrayList<>(target.args());
    common.add("calls=" + folder.resolve("calls.log"));
    List<String> submit = new ArrayList<>(common);
    submit.addAll(List.of("mode=submit", "items=" + ITEMS, "concurrency=64"));
    String jobId;
    List<Long> held;
    try (WorkerProcess first = WorkerProcess.start("first", WORKER_ID, submit, folder)) {
      jobId = first.awaitJobId();
      // Early, so the job is far from its end when the kill comes: the kill forks processes
      // from this JVM and may wait out a stall of a loaded machine while the worker goes on.
      first.awaitSettled(ITEMS / 10);
      first.killMidCall(new Random());
      try (Connection connection = target.connect()) {
        held =
            StoredJob.read(connection, jobId).runningItems().stream()
                .map(StoredJob.RunningItem::index)
                .toList();
      }
    }
    assertThat(held).as("items the killed worker held").isNotEmpty();

    List<String> resume = new ArrayList<>(common);
    resume.addAll(List.of("mode=resume", "job=" + jobId));
    try (WorkerProcess second = WorkerProcess.start("second", WORKER_ID, resume, folder)) {
      StoredJob job;
      long giveUpAt = System.currentTimeMillis() + GIVE_UP_MILLIS;
      do {
        Thread.sleep(100);
        try (Connection connection = target.connect()) {
          job = StoredJob.read(connection, jobId);
        }
      } while (!job.isFinal() && System.currentTimeMillis() < giveUpAt);
      assertThat(job.isFinal())
          .as(
              "the job ended; %d s after the restart, at %s, it reads %s (the killed worker held %s)",
              GIVE_UP_MILLIS / 1000, Instant.now(), job, held)
          .isTrue();
      assertThat(job.state()).isEqualTo("SUCCEEDED");
      assertThat(second.awaitExit()).as("the second worker's exit code").isZero();
    }
  }
}
