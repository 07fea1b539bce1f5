package dev.fanout.benchmarks;

import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.atomic.AtomicLong;

/**
 * Shows whether the embedded H2 keeps every committed update of a row that transactions lock with
 * {@code SELECT ... FOR UPDATE}, when some of them end with a rollback instead of a commit. Each
 * thread, in a loop: locks the one row, reads its counter, and either ends the transaction (a
 * rollback, or a commit with nothing written) or writes the counter plus one and commits. At the
 * end the counter must equal the number of commits that wrote it.
 *
 * <p>The durable store locks a job's row this way for every change, and rolls a transaction back
 * when it fails. On H2 2.3.232 and 2.4.240 (this machine, 2 vCPUs) the rollbacks cost committed
 * updates: tens to a couple of hundred of 60,000, every run, where transactions that commit instead
 * lost none. The notes of {@code docs/benchmarks.md} say what this means for recording results. Not
 * a scenario of the runner: it measures no speed.
 *
 * <pre>
 * java -cp fanout-benchmarks/target/benchmarks.jar dev.fanout.benchmarks.H2RollbackRace \
 *     [rollback|commit] [threads] [rounds per thread]   # default: rollback 4 20000
 * </pre>
 */
public final class H2RollbackRace {

  private H2RollbackRace() {}

  /**
   * Runs the race once on a new database in a temporary folder and prints what it found.
   *
   * @param args how the transactions that write nothing end, threads, rounds per thread
   * @throws Exception when the database fails
   */
  public static void main(String[] args) throws Exception {
    boolean rollback = args.length < 1 || args[0].equals("rollback");
    int threads = args.length > 1 ? Integer.parseInt(args[1]) : 4;
    int rounds = args.length > 2 ? Integer.parseInt(args[2]) : 20_000;
    Path folder = Files.createTempDirectory("fanout-h2-rollback");
    try {
      run(folder, rollback, threads, rounds);
    } finally {
      Bench.deleteTree(folder);
    }
  }

  private static void run(Path folder, boolean rollback, int threads, int rounds) throws Exception {
    String url = "jdbc:h2:file:" + folder.resolve("race") + ";WRITE_DELAY=0";
    try (Connection connection = DriverManager.getConnection(url);
        Statement statement = connection.createStatement()) {
      statement.execute("CREATE TABLE counter (id INT PRIMARY KEY, n BIGINT NOT NULL)");
      statement.execute("INSERT INTO counter VALUES (1, 0)");
    }
    AtomicLong writes = new AtomicLong();
    ExecutorService pool = Executors.newFixedThreadPool(threads);
    try {
      List<Future<Void>> racers = new ArrayList<>();
      for (int t = 0; t < threads; t++) {
        racers.add(pool.submit(() -> race(url, rounds, rollback, writes)));
      }
      for (Future<Void> racer : racers) {
        racer.get();
      }
    } finally {
      pool.shutdown();
    }
    long counter;
    try (Connection connection = DriverManager.getConnection(url);
        Statement statement = connection.createStatement();
        ResultSet row = statement.executeQuery("SELECT n FROM counter WHERE id = 1")) {
      row.next();
      counter = row.getLong(1);
    }
    System.out.printf(
        Locale.ROOT,
        "%s: %,d committed writes, counter %,d, %,d lost%n",
        rollback ? "transactions that write nothing roll back" : "every transaction commits",
        writes.get(),
        counter,
        writes.get() - counter);
  }

  private static Void race(String url, int rounds, boolean rollback, AtomicLong writes)
      throws SQLException {
    try (Connection connection = DriverManager.getConnection(url);
        PreparedStatement lock =
            connection.prepareStatement("SELECT n FROM counter WHERE id = 1 FOR UPDATE");
        PreparedStatement write =
            connection.prepareStatement("UPDATE counter SET n = ? WHERE id = 1")) {
      connection.setAutoCommit(false);
      connection.setTransactionIsolation(Connection.TRANSACTION_READ_COMMITTED);
      for (int i = 0; i < rounds; i++) {
        long n;
        try (ResultSet row = lock.executeQuery()) {
          row.next();
          n = row.getLong(1);
        }
        if (ThreadLocalRandom.current().nextInt(4) == 0) {
          // A transaction that changed its mind, as a store's does when it throws.
          if (rollback) {
            connection.rollback();
          } else {
            connection.commit();
          }
          continue;
        }
        write.setLong(1, n + 1);
        write.executeUpdate();
        connection.commit();
        writes.incrementAndGet();
      }
    }
    return null;
  }
}
