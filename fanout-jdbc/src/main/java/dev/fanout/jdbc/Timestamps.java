package dev.fanout.jdbc;

import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Types;
import java.time.Instant;
import java.time.OffsetDateTime;
import java.time.ZoneOffset;
import java.time.temporal.ChronoUnit;

/**
 * Moves instants in and out of {@code TIMESTAMP(3) WITH TIME ZONE} columns, always in UTC and
 * always cut to the millisecond, so that H2 and PostgreSQL (which round finer digits differently)
 * store the same value and every instant reads back exactly as it was written.
 */
final class Timestamps {

  private Timestamps() {}

  /** Binds an instant, or SQL NULL for null. */
  static void bind(PreparedStatement statement, int parameter, Instant instant)
      throws SQLException {
    if (instant == null) {
      statement.setNull(parameter, Types.TIMESTAMP_WITH_TIMEZONE);
    } else {
      statement.setObject(
          parameter,
          OffsetDateTime.ofInstant(instant.truncatedTo(ChronoUnit.MILLIS), ZoneOffset.UTC));
    }
  }

  /** Reads an instant, or null for SQL NULL. */
  static Instant read(ResultSet row, String column) throws SQLException {
    OffsetDateTime value = row.getObject(column, OffsetDateTime.class);
    return value == null ? null : value.toInstant();
  }
}
