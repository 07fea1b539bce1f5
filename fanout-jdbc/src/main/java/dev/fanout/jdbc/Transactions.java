package dev.fanout.jdbc;

import dev.fanout.spi.StoreException;
import java.sql.Connection;
import java.sql.SQLException;
import javax.sql.DataSource;

/**
 * Runs each store operation in one transaction on one pooled connection: it commits when the work
 * returns, rolls back when it throws, and turns every {@link SQLException} into a {@link
 * StoreException} that names the operation, so the engine knows to retry.
 */
final class Transactions {

  /** One unit of work on a connection whose auto-commit is off. */
  @FunctionalInterface
  interface Work<T> {
    T run(Connection connection) throws SQLException;
  }

  private final DataSource dataSource;

  Transactions(DataSource dataSource) {
    this.dataSource = dataSource;
  }

  /**
   * Runs the work in a transaction.
   *
   * @param operation what the work does, for the message of a failure, e.g. "claim items of job X"
   * @throws StoreException when the database fails; other exceptions pass through after rollback
   */
  <T> T inTransaction(String operation, Work<T> work) {
    try (Connection connection = dataSource.getConnection()) {
      try {
        T result = work.run(connection);
        connection.commit();
        return result;
      } catch (SQLException | RuntimeException | Error e) {
        rollback(connection, e);
        throw e;
      }
    } catch (SQLException e) {
      throw new StoreException("cannot " + operation + ": " + describe(e), e);
    }
  }

  private static void rollback(Connection connection, Throwable failure) {
    try {
      connection.rollback();
    } catch (SQLException rollbackFailure) {
      // The connection is likely broken; the pool discards it. Keep the first failure in front.
      failure.addSuppressed(rollbackFailure);
    }
  }

  /** The message with its SQL state, which tells a deadlock from a lost connection at a glance. */
  static String describe(SQLException e) {
    return e.getSQLState() == null
        ? e.getMessage()
        : e.getMessage() + " [SQLState " + e.getSQLState() + "]";
  }
}
