package dev.fanout.jdbc;

import dev.fanout.spi.StoreException;
import java.time.Duration;
import java.util.Arrays;
import java.util.Comparator;
import java.util.Objects;
import java.util.Optional;
import java.util.concurrent.ThreadLocalRandom;
import java.util.function.Predicate;
import javax.sql.DataSource;
import org.flywaydb.core.Flyway;
import org.flywaydb.core.api.FlywayException;
import org.flywaydb.core.api.MigrationInfo;
import org.flywaydb.core.api.MigrationVersion;
import org.flywaydb.core.api.configuration.FluentConfiguration;

/**
 * Brings the store's tables to the newest version this jar ships, with Flyway, when the store
 * opens. Refuses a database whose schema is newer than that: an older Fanout writing to tables it
 * does not know would corrupt them, and Flyway's default is to ignore such versions silently.
 */
final class SchemaMigrator {

  /** Fanout's own history table, so it never mixes with an application's Flyway history. */
  static final String HISTORY_TABLE = "fanout_schema_history";

  private final Flyway flyway;
  private final String redactedUrl;

  /**
   * @param schema the schema to keep the tables in, or null for the connection's current schema
   */
  SchemaMigrator(DataSource dataSource, Dialect dialect, String schema, String redactedUrl) {
    this.redactedUrl = redactedUrl;
    FluentConfiguration configuration =
        Flyway.configure(SchemaMigrator.class.getClassLoader())
            .dataSource(dataSource)
            .locations("classpath:db/migration/" + dialect.migrationFolder())
            .table(HISTORY_TABLE)
            // Applications often keep Fanout's tables in their own, non-empty schema; Flyway
            // refuses such a schema unless told to start its history there.
            .baselineOnMigrate(true)
            .baselineVersion("0");
    if (schema != null) {
      configuration.schemas(schema);
    }
    this.flyway = configuration.load();
  }

  /**
   * Migrates to the newest shipped version.
   *
   * @return the schema version after migrating
   * @throws StoreException when the schema is newer than this jar, or a migration fails
   */
  MigrationVersion migrate() {
    for (int attempt = 1; ; attempt++) {
      try {
        return migrateOnce();
      } catch (StoreException e) {
        // Nodes starting together on a new database race in Flyway: one may decide to baseline
        // the schema (it saw no history table) while another has just created that table to
        // migrate, and fail. Once the table exists, a new try waits on Flyway's lock for the
        // other node's migration and finds it done; a migration that is really broken fails
        // the same way every time, and its last error is the one reported.
        if (!(e.getCause() instanceof FlywayException) || attempt >= MAX_ATTEMPTS) {
          throw e;
        }
        try {
          Thread.sleep(
              Duration.ofMillis(100L * attempt + ThreadLocalRandom.current().nextInt(100)));
        } catch (InterruptedException interrupted) {
          Thread.currentThread().interrupt();
          throw e;
        }
      }
    }
  }

  /** How many times {@link #migrate} tries, against the race of nodes starting together. */
  static final int MAX_ATTEMPTS = 5;

  private MigrationVersion migrateOnce() {
    try {
      MigrationInfo[] known = flyway.info().all();
      MigrationVersion shipped = newest(known, info -> info.getState().isResolved());
      MigrationVersion applied = newest(known, info -> info.getState().isApplied());
      if (applied.compareTo(shipped) > 0) {
        throw new StoreException(
            "the job store schema at "
                + redactedUrl
                + " is at version "
                + applied
                + ", newer than version "
                + shipped
                + ", the newest this Fanout knows; a newer Fanout has used this database, so"
                + " upgrade this one to it (or point this one at another database)");
      }
      flyway.migrate();
      return newest(flyway.info().applied(), info -> true);
    } catch (FlywayException e) {
      throw new StoreException(
          "cannot migrate the job store schema at " + redactedUrl + ": " + e.getMessage(), e);
    }
  }

  private static MigrationVersion newest(MigrationInfo[] infos, Predicate<MigrationInfo> which) {
    Optional<MigrationVersion> newest =
        Arrays.stream(infos)
            .filter(which)
            .map(MigrationInfo::getVersion)
            .filter(Objects::nonNull)
            .max(Comparator.naturalOrder());
    return newest.orElse(MigrationVersion.EMPTY);
  }
}
