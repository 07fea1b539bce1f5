package dev.fanout.benchmarks;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.fanout.benchmarks.JobRunrContender.Database;
import dev.fanout.benchmarks.JobRunrContender.Work;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.util.Map;
import org.jobrunr.configuration.JobRunr;
import org.jobrunr.storage.JobStats;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

/**
 * {@link JobRunrContender} on a real H2 file and a real PostgreSQL schema: runs wait for their own
 * jobs, the settings are JobRunr's effective ones, and nothing is left behind.
 */
class JobRunrContenderTest {

  /** The shortest poll interval JobRunr accepts on a SQL database, to keep the test short. */
  private static final int POLL_SECONDS = 5;

  @ParameterizedTest
  @EnumSource(Database.class)
  void runs_wait_for_their_own_jobs_and_close_removes_the_database(Database database)
      throws Exception {
    Path h2Directory;
    String schema;
    try (JobRunrContender contender = JobRunrContender.start(database, 0, POLL_SECONDS)) {
      h2Directory = contender.h2Directory();
      schema = contender.schema();
      assertThat(database == Database.H2 ? h2Directory : schema).isNotNull();
      long succeededBefore = contender.jobStats().getSucceeded();

      double warmUp = contender.run(300, Work.NOOP);
      double measured = contender.run(300, Work.NOOP);
      System.out.printf("%s: 300 NOOP jobs in %.3f s, then %.3f s%n", database, warmUp, measured);

      // The second run returned only after its own 300, not on the first run's.
      JobStats stats = contender.jobStats();
      assertThat(stats.getSucceeded() - succeededBefore).isEqualTo(600);
      assertThat(stats.getFailed()).isZero();
      assertThat(warmUp).isPositive();
      assertThat(measured).isPositive();

      double sleeps = contender.run(20, Work.SLEEP_100_MS);
      assertThat(sleeps).isGreaterThanOrEqualTo(0.1);
      assertThat(contender.jobStats().getSucceeded() - succeededBefore).isEqualTo(620);

      Map<String, String> settings = contender.settings();
      System.out.println(database + ": " + settings);
      assertThat(settings)
          .containsEntry("JobRunr version", JobRunrContender.JOBRUNR_VERSION)
          .containsEntry("poll interval", POLL_SECONDS + " s")
          .containsEntry("dashboard", "off")
          .containsKeys("storage provider", "database", "virtual threads", "worker count");
      assertThat(Integer.parseInt(settings.get("worker count"))).isPositive();
      assertThat(settings.get("virtual threads")).endsWith("(seen on a worker)");
    }
    if (database == Database.H2) {
      assertThat(h2Directory).doesNotExist();
    } else {
      assertThat(schemaExists(schema)).isFalse();
    }
  }

  @Test
  void the_constant_version_is_the_version_of_the_jobrunr_jar() {
    // Outside the shaded jar JobRunr's manifest is there to check the constant against.
    assertThat(JobRunr.class.getPackage().getImplementationVersion())
        .isEqualTo(JobRunrContender.JOBRUNR_VERSION);
  }

  @Test
  void contenders_start_one_after_another_in_one_jvm() throws Exception {
    String firstWorkers;
    try (JobRunrContender first = JobRunrContender.start(Database.H2, 0, POLL_SECONDS)) {
      firstWorkers = first.settings().get("worker count");
      // JobRunr's configuration is global, so a second one at once is refused.
      assertThatThrownBy(() -> JobRunrContender.start(Database.POSTGRES, 0, POLL_SECONDS))
          .isInstanceOf(IllegalStateException.class);
      first.run(10, Work.NOOP);
    }
    try (JobRunrContender second = JobRunrContender.start(Database.POSTGRES, 3, POLL_SECONDS)) {
      assertThat(second.settings()).containsEntry("worker count", "3");
      assertThat(second.run(10, Work.NOOP)).isPositive();
      assertThat(second.jobStats().getSucceeded()).isEqualTo(10);
    }
    try (JobRunrContender third = JobRunrContender.start(Database.H2, 0, POLL_SECONDS)) {
      assertThat(third.settings()).containsEntry("worker count", firstWorkers);
      assertThat(third.run(10, Work.NOOP)).isPositive();
      assertThat(third.jobStats().getSucceeded()).isEqualTo(10);
    }
  }

  @Test
  void rejects_a_poll_interval_jobrunr_does_not_accept_and_stays_usable() throws Exception {
    assertThatThrownBy(() -> JobRunrContender.start(Database.H2, 0, 1))
        .isInstanceOf(IllegalArgumentException.class);
    try (JobRunrContender contender = JobRunrContender.start(Database.H2, 2, POLL_SECONDS)) {
      assertThat(contender.settings()).containsEntry("worker count", "2");
    }
  }

  private static boolean schemaExists(String schema) throws Exception {
    try (Connection c = DriverManager.getConnection(Machine.POSTGRES, Machine.POSTGRES_USER, "");
        PreparedStatement s =
            c.prepareStatement("SELECT 1 FROM information_schema.schemata WHERE schema_name = ?")) {
      s.setString(1, schema);
      try (ResultSet rows = s.executeQuery()) {
        return rows.next();
      }
    }
  }
}
