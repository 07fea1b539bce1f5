package dev.fanout.jdbc;

import static org.assertj.core.api.Assertions.assertThat;

import dev.fanout.JobId;
import dev.fanout.spi.StoreSignals;
import dev.fanout.spi.StoreSignals.Kind;
import java.sql.Connection;
import java.sql.Statement;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * Signals between two stores on one PostgreSQL schema, as two nodes of a cluster have them: over
 * LISTEN/NOTIFY, once each, and again after the listening connection is killed.
 */
class PostgresSignalsTest {
  private static final JobId JOB_1 = JobId.of("00000000-0000-0000-0000-000000000001");
  private static final JobId JOB_2 = JobId.of("00000000-0000-0000-0000-000000000002");

  private PostgresTestDatabase database;
  private JdbcJobStore a;
  private JdbcJobStore b;
  private final BlockingQueue<String> heardByA = new LinkedBlockingQueue<>();
  private final BlockingQueue<String> heardByB = new LinkedBlockingQueue<>();

  @BeforeEach
  void open() {
    database = PostgresTestDatabase.create();
    a = database.open();
    b = database.open();
    a.signals().subscribe((kind, job) -> heardByA.add(kind + " " + job));
    b.signals().subscribe((kind, job) -> heardByB.add(kind + " " + job));
  }

  @AfterEach
  void close() {
    for (AutoCloseable c : new AutoCloseable[] {a, b, database}) {
      try {
        if (c != null) {
          c.close();
        }
      } catch (Exception e) {
        throw new IllegalStateException(e);
      }
    }
  }

  @Test
  void a_signal_published_by_one_store_reaches_the_other_and_its_own_subscribers_once()
      throws Exception {
    a.signals().publish(Kind.WORK, JOB_1);
    a.signals().publish(Kind.RESULTS, JOB_2);

    assertThat(next(heardByB)).isEqualTo("WORK " + JOB_1);
    assertThat(next(heardByB)).isEqualTo("RESULTS " + JOB_2);
    assertThat(next(heardByA)).isEqualTo("WORK " + JOB_1);
    assertThat(next(heardByA)).isEqualTo("RESULTS " + JOB_2);
    // A round trip the other way, so a's own notifications have surely come back to it by now.
    b.signals().publish(Kind.WORK, JOB_2);
    assertThat(next(heardByA)).isEqualTo("WORK " + JOB_2);
    assertThat(heardByA).as("a's own signals, heard once").isEmpty();
  }

  @Test
  void a_burst_of_signals_for_one_job_arrives_merged_not_lost() throws Exception {
    for (int i = 0; i < 1_000; i++) {
      a.signals().publish(Kind.RESULTS, JOB_1);
    }
    assertThat(next(heardByB)).isEqualTo("RESULTS " + JOB_1);
    b.signals().publish(Kind.WORK, JOB_2);
    // Everything a sent arrived before b's own round trip finished... or is merged into fewer.
    String heard;
    int results = 1;
    while (!(heard = next(heardByB)).equals("WORK " + JOB_2)) {
      assertThat(heard).isEqualTo("RESULTS " + JOB_1);
      results++;
    }
    assertThat(results).as("merged").isLessThan(1_000);
  }

  @Test
  void a_store_whose_listening_connection_dies_says_so_to_everyone_and_hears_again()
      throws Exception {
    // Kill the listening connections of this schema's stores (channels are named per schema),
    // not those of other tests running meanwhile.
    String channel = "fanout_results_" + Integer.toHexString(database.schema().hashCode());
    try (Connection c = database.connect();
        Statement s = c.createStatement()) {
      s.execute(
          "SELECT pg_terminate_backend(pid) FROM pg_stat_activity"
              + " WHERE query = 'LISTEN "
              + channel
              + "' AND pid <> pg_backend_pid()");
    }
    // Each store reconnects and wakes its subscribers for any job, since it may have missed some.
    assertThat(next(heardByB)).isIn("WORK null", "RESULTS null");
    assertThat(next(heardByB)).isIn("WORK null", "RESULTS null");

    a.signals().publish(Kind.WORK, JOB_1);
    String heard;
    do {
      heard = next(heardByB);
    } while (heard.endsWith(" null"));
    assertThat(heard).isEqualTo("WORK " + JOB_1);
  }

  private static String next(BlockingQueue<String> queue) throws InterruptedException {
    String s = queue.poll(30, TimeUnit.SECONDS);
    assertThat(s).as("a signal within 30 s").isNotNull();
    return s;
  }

  /** Keeps the import of StoreSignals honest: subscriptions end when closed. */
  @Test
  void a_closed_subscription_hears_nothing_more() throws Exception {
    BlockingQueue<String> heard = new LinkedBlockingQueue<>();
    StoreSignals.Subscription s = b.signals().subscribe((kind, job) -> heard.add(kind + ""));
    s.close();
    a.signals().publish(Kind.WORK, JOB_1);
    assertThat(next(heardByB)).isEqualTo("WORK " + JOB_1);
    assertThat(heard).isEmpty();
  }
}
