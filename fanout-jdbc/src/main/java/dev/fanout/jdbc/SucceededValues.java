package dev.fanout.jdbc;

import dev.fanout.spi.StoreException;
import dev.fanout.spi.SucceededValue;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.util.ArrayDeque;
import java.util.Iterator;
import java.util.NoSuchElementException;

/**
 * A job's succeeded result values in index order, read a page at a time on the finishing
 * transaction's connection. Paging by index keeps memory flat for a million results on either
 * database, where a single open result set would be buffered whole by some drivers.
 */
final class SucceededValues implements Iterator<SucceededValue> {

  static final int PAGE_SIZE = 1000;

  /**
   * A page of a job's items in index order, of every state: the reader passes over all but the
   * succeeded ones. The primary key's range and order leave a planner nothing to misjudge. With a
   * state condition PostgreSQL went by statistics taken when the job was sealed, where no item had
   * succeeded yet, and for each page scanned and sorted every item after the page's start: a fold
   * cost grew with the square of the job's size. H2 has no index by state to use. The failed and
   * cancelled items cost a row each, so a fold stays linear in the job's size.
   */
  static String pageSql(Dialect dialect) {
    return "SELECT idx, state, result FROM fanout_item WHERE "
        + dialect.itemsBetweenSql()
        + " ORDER BY "
        + dialect.itemOrderSql()
        + " FETCH FIRST "
        + PAGE_SIZE
        + " ROWS ONLY";
  }

  private final Connection connection;
  private final Dialect.JobRef job;
  private final Dialect dialect;
  private final String pageSql;
  private final ArrayDeque<SucceededValue> page = new ArrayDeque<>();
  private long lastIndex = -1;
  private boolean exhausted;

  SucceededValues(Connection connection, Dialect.JobRef job, Dialect dialect) {
    this.connection = connection;
    this.job = job;
    this.dialect = dialect;
    this.pageSql = pageSql(dialect);
  }

  @Override
  public boolean hasNext() {
    // A page may hold no succeeded item at all where the query returns every state.
    while (page.isEmpty() && !exhausted) {
      readPage();
    }
    return !page.isEmpty();
  }

  @Override
  public SucceededValue next() {
    if (!hasNext()) {
      throw new NoSuchElementException("no more succeeded results of job " + job.id());
    }
    return page.poll();
  }

  private void readPage() {
    try (PreparedStatement statement = connection.prepareStatement(pageSql)) {
      dialect.bindItemsBetween(statement, 1, job, lastIndex + 1, Long.MAX_VALUE);
      try (ResultSet rows = statement.executeQuery()) {
        int read = 0;
        while (rows.next()) {
          lastIndex = rows.getLong("idx");
          read++;
          if ("SUCCEEDED".equals(rows.getString("state"))) {
            page.add(new SucceededValue(lastIndex, rows.getString("result")));
          }
        }
        exhausted = read < PAGE_SIZE;
      }
    } catch (SQLException e) {
      throw new StoreException(
          "cannot read the results of job " + job.id() + ": " + Transactions.describe(e), e);
    }
  }
}
