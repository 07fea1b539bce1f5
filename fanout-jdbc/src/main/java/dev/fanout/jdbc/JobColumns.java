package dev.fanout.jdbc;

import dev.fanout.JobId;
import dev.fanout.JobState;
import dev.fanout.spi.JobRow;
import java.sql.ResultSet;
import java.sql.SQLException;

/** The columns of {@code fanout_job} that make a {@link JobRow}, and how to read them. */
final class JobColumns {

  /** Every column a {@link JobRow} needs, for a SELECT list. */
  static final String ALL =
      "id, sealed, state, paused, spec, total, max_concurrency, pending, running, succeeded,"
          + " failed, cancelled, retries, last_seq, created_at, started_at, finished_at,"
          + " deadline_at, aggregate, error";

  /** The states a job is in before it is final, as an SQL condition on {@code state}. */
  static final String NOT_FINAL = "state IN ('ACCEPTED', 'RUNNING')";

  private JobColumns() {}

  /** Reads the current row, selected with {@link #ALL}. */
  static JobRow read(ResultSet row) throws SQLException {
    JobState stored = JobState.valueOf(row.getString("state"));
    // Paused is a flag on top of ACCEPTED or RUNNING, so resuming restores whichever it was.
    JobState state = row.getBoolean("paused") && !stored.isFinal() ? JobState.PAUSED : stored;
    return new JobRow(
        JobId.of(row.getString("id")),
        row.getBoolean("sealed"),
        state,
        row.getString("spec"),
        row.getLong("total"),
        row.getInt("max_concurrency"),
        row.getLong("pending"),
        row.getLong("running"),
        row.getLong("succeeded"),
        row.getLong("failed"),
        row.getLong("cancelled"),
        row.getLong("retries"),
        row.getLong("last_seq"),
        Timestamps.read(row, "created_at"),
        Timestamps.read(row, "started_at"),
        Timestamps.read(row, "finished_at"),
        Timestamps.read(row, "deadline_at"),
        row.getString("aggregate"),
        row.getString("error"));
  }
}
