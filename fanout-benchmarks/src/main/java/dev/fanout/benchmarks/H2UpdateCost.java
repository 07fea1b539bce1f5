package dev.fanout.benchmarks;

import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.PreparedStatement;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/**
 * Measures what an update of an item row costs the embedded H2, by the indexes of its table, with
 * the durable store's shape of work: rows claimed and then settled in batches, each batch a
 * committed transaction on a file database written at every commit ({@code WRITE_DELAY=0}).
 *
 * <p>Three layouts of the same columns, taking turns on fresh databases:
 *
 * <ul>
 *   <li>{@code store}: as {@code fanout_item} is since the V6 migration: the primary key {@code
 *       (job_id, idx)}, which H2 keeps as a unique index beside the rows (it keys rows by a single
 *       integer column only), and {@code (job_id, seq, idx)};
 *   <li>{@code store+1}: the same and one more index, of columns no update changes;
 *   <li>{@code one-key}: a {@code BIGINT} primary key that numbers the job and the item, which H2
 *       uses as the rows' own key, and {@code (job_id, seq, idx)}.
 * </ul>
 *
 * <p>H2 moves every index entry of a row it updates, whichever columns change (its {@code
 * Table.updateRows} removes the old row from each index, then adds the new one), so {@code store+1}
 * costs more than {@code store} although its extra index never changes, and {@code one-key} less.
 * Not a scenario of the runner: it measures the database, not Fanout.
 *
 * <pre>
 * java -cp fanout-benchmarks/target/benchmarks.jar dev.fanout.benchmarks.H2UpdateCost \
 *     [rows] [rows per transaction] [rounds]   # default: 100000 32 3
 * </pre>
 */
public final class H2UpdateCost {

  private H2UpdateCost() {}

  /** One table layout: its DDL and how its statements find an item. */
  private record Layout(String name, List<String> ddl, boolean oneKey) {}

  private static final String COLUMNS =
      """
      job_id VARCHAR(36) NOT NULL, idx BIGINT NOT NULL, state VARCHAR(16) NOT NULL,
      payload VARCHAR NOT NULL, attempts INTEGER NOT NULL, fence BIGINT NOT NULL,
      owner VARCHAR, lease_until BIGINT, seq BIGINT, result VARCHAR""";

  private static final List<Layout> LAYOUTS =
      List.of(
          new Layout(
              "store",
              List.of(
                  "CREATE TABLE item (" + COLUMNS + ", PRIMARY KEY (job_id, idx))",
                  "CREATE INDEX item_by_seq ON item (job_id, seq, idx)"),
              false),
          new Layout(
              "store+1",
              List.of(
                  "CREATE TABLE item (" + COLUMNS + ", PRIMARY KEY (job_id, idx))",
                  "CREATE INDEX item_by_seq ON item (job_id, seq, idx)",
                  "CREATE INDEX item_unchanged ON item (job_id, payload, idx)"),
              false),
          new Layout(
              "one-key",
              List.of(
                  "CREATE TABLE item (id BIGINT PRIMARY KEY, " + COLUMNS + ")",
                  "CREATE INDEX item_by_seq ON item (job_id, seq, idx)"),
              true));

  /**
   * Runs each layout {@code rounds} times, in turns, and prints the microseconds per row of the
   * claims and of the settles.
   *
   * @param args rows, rows per transaction, rounds
   * @throws Exception when the database fails
   */
  public static void main(String[] args) throws Exception {
    int rows = args.length > 0 ? Integer.parseInt(args[0]) : 100_000;
    int batch = args.length > 1 ? Integer.parseInt(args[1]) : 32;
    int rounds = args.length > 2 ? Integer.parseInt(args[2]) : 3;
    Map<String, List<String>> claims = new LinkedHashMap<>();
    Map<String, List<String>> settles = new LinkedHashMap<>();
    for (int round = 0; round <= rounds; round++) {
      for (Layout layout : LAYOUTS) {
        double[] micros = measure(layout, rows, batch);
        if (round > 0) { // the first round warms the JIT up
          claims
              .computeIfAbsent(layout.name(), k -> new ArrayList<>())
              .add(String.format(Locale.ROOT, "%.1f", micros[0]));
          settles
              .computeIfAbsent(layout.name(), k -> new ArrayList<>())
              .add(String.format(Locale.ROOT, "%.1f", micros[1]));
        }
      }
    }
    System.out.printf(
        "µs per row updated, %,d rows, %d rows per transaction, %d rounds:%n", rows, batch, rounds);
    for (Layout layout : LAYOUTS) {
      System.out.printf(
          "  %-8s claims %s; settles %s%n",
          layout.name(),
          String.join(" / ", claims.get(layout.name())),
          String.join(" / ", settles.get(layout.name())));
    }
  }

  /** The microseconds per row of claiming every row, then of settling every row. */
  private static double[] measure(Layout layout, int rows, int batch) throws Exception {
    Path folder = Files.createTempDirectory("fanout-h2-update");
    try (Connection c =
        DriverManager.getConnection("jdbc:h2:file:" + folder.resolve("cost") + ";WRITE_DELAY=0")) {
      try (Statement s = c.createStatement()) {
        for (String ddl : layout.ddl()) {
          s.execute(ddl);
        }
        s.execute(
            (layout.oneKey() ? "INSERT INTO item (id, " : "INSERT INTO item (")
                + "job_id, idx, state, payload, attempts, fence) SELECT "
                + (layout.oneKey() ? "(CAST(1 AS BIGINT) * 4294967296) + X, " : "")
                + "'00000000-0000-0000-0000-000000000001', X, 'PENDING', CAST(X AS VARCHAR), 0, 0"
                + " FROM SYSTEM_RANGE(0, "
                + (rows - 1)
                + ")");
      }
      c.setAutoCommit(false);
      String where =
          layout.oneKey()
              ? " WHERE id >= 4294967296 + ? AND id < 4294967296 + ?"
              : " WHERE job_id = '00000000-0000-0000-0000-000000000001' AND idx >= ? AND idx < ?";
      double claim =
          timed(
              c,
              "UPDATE item SET state = 'RUNNING', owner = 'w', lease_until = 1,"
                  + " attempts = attempts + 1, fence = fence + 1"
                  + where,
              rows,
              batch);
      double settle =
          timed(
              c,
              "UPDATE item SET state = 'SUCCEEDED', seq = idx + 1, result = payload,"
                  + " lease_until = NULL"
                  + where,
              rows,
              batch);
      return new double[] {claim, settle};
    } finally {
      Bench.deleteTree(folder);
    }
  }

  /** Runs an update over every row, {@code batch} rows per committed transaction. */
  private static double timed(Connection c, String sql, int rows, int batch) throws SQLException {
    long t0 = System.nanoTime();
    try (PreparedStatement update = c.prepareStatement(sql)) {
      for (int from = 0; from < rows; from += batch) {
        update.setLong(1, from);
        update.setLong(2, from + batch);
        if (update.executeUpdate() != Math.min(batch, rows - from)) {
          throw new IllegalStateException("an update missed rows: " + sql);
        }
        c.commit();
      }
    }
    return (System.nanoTime() - t0) / 1e3 / rows;
  }
}
