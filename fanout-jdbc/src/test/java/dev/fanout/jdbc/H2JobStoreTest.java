package dev.fanout.jdbc;

import dev.fanout.spi.JobStore;
import dev.fanout.spi.JobStoreContract;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.io.TempDir;

/** The store contract on a fresh embedded H2 file per test. */
class H2JobStoreTest extends JobStoreContract {
  @TempDir Path folder;

  @Override
  protected JobStore newStore() {
    try {
      // A folder of its own per store, in case a test opens more than one.
      return JdbcJobStore.h2(Files.createTempDirectory(folder, "h2-"));
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }
}
