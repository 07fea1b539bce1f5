package dev.fanout.jdbc;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.fanout.spi.StoreException;
import java.io.IOException;
import java.net.ServerSocket;
import java.nio.file.Path;
import java.time.Duration;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Opening a store: picking the dialect, validating options, and failing clearly. */
class OpeningTest {

  @Test
  void the_dialect_follows_the_url_scheme() {
    assertThat(Dialect.forUrl("jdbc:h2:mem:x")).isInstanceOf(H2Dialect.class);
    assertThat(Dialect.forUrl("jdbc:postgresql://db/app")).isInstanceOf(PostgresDialect.class);
  }

  @Test
  void an_unsupported_url_is_refused_naming_its_scheme_and_the_supported_ones() {
    assertThatThrownBy(() -> JdbcJobStore.open("jdbc:mysql://db/app?password=hunter2"))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("'jdbc:mysql:'")
        .hasMessageContaining("jdbc:h2:")
        .hasMessageContaining("jdbc:postgresql:")
        .hasMessageNotContaining("hunter2");
  }

  @Test
  void a_url_without_a_scheme_is_refused_too() {
    assertThatThrownBy(() -> JdbcJobStore.builder("db.example.com"))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("'db.example.com'");
  }

  @Test
  void passwords_in_urls_never_reach_messages() {
    assertThat(JdbcUrls.redact("jdbc:postgresql://db/app?user=a&password=s3cret&ssl=true"))
        .isEqualTo("jdbc:postgresql://db/app?user=a&password=***&ssl=true");
    assertThat(JdbcUrls.redact("jdbc:h2:file:/x/fanout;USER=sa;PASSWORD=s3cret"))
        .isEqualTo("jdbc:h2:file:/x/fanout;USER=sa;PASSWORD=***");
  }

  @Test
  void an_unreachable_database_fails_opening_with_the_url_and_the_cause() throws IOException {
    int unusedPort;
    try (ServerSocket socket = new ServerSocket(0)) {
      unusedPort = socket.getLocalPort();
    }
    String url = "jdbc:postgresql://127.0.0.1:" + unusedPort + "/test";

    assertThatThrownBy(
            () ->
                JdbcJobStore.builder(url + "?password=hunter2")
                    .user("postgres")
                    .connectTimeout(Duration.ofMillis(500))
                    .build())
        .isInstanceOf(StoreException.class)
        .hasMessageContaining("cannot connect to the job store at " + url + "?password=***")
        .hasMessageContaining("refused")
        .hasMessageNotContaining("hunter2");
  }

  @Test
  void a_missing_data_folder_is_created(@TempDir Path folder) {
    Path nested = folder.resolve("a/b");
    try (JdbcJobStore store = JdbcJobStore.h2(nested)) {
      assertThat(store.activeJobs()).isEmpty();
    }
    assertThat(nested.resolve("fanout.mv.db")).exists();
  }

  @Test
  void each_option_may_be_set_once_and_only_to_a_sensible_value() {
    JdbcJobStore.Builder builder = JdbcJobStore.builder("jdbc:h2:mem:options").user("sa");

    assertThatThrownBy(() -> builder.user("other"))
        .isInstanceOf(IllegalStateException.class)
        .hasMessage("user was already set");
    assertThatThrownBy(() -> builder.maxPoolSize(0))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("maxPoolSize");
    assertThatThrownBy(() -> builder.connectTimeout(Duration.ofMillis(10)))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("connectTimeout");
    assertThatThrownBy(() -> builder.schema(" "))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("schema");
  }
}
