package dev.fanout.server;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import ch.qos.logback.classic.Level;
import ch.qos.logback.classic.Logger;
import ch.qos.logback.classic.spi.ILoggingEvent;
import ch.qos.logback.core.read.ListAppender;
import dev.fanout.server.internal.api.Api;
import java.io.OutputStream;
import java.net.Socket;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.slf4j.LoggerFactory;

/** A client that hangs up halfway through its submission costs the server a log line, no more. */
class AbandonedUploadTest {
  @TempDir Path data;
  private FanoutServer server;
  private final ListAppender<ILoggingEvent> logged = new ListAppender<>();
  private final Logger apiLog = (Logger) LoggerFactory.getLogger(Api.class);

  @BeforeEach
  void start() {
    logged.start();
    apiLog.addAppender(logged);
    server = FanoutServer.builder().port(0).dataDir(data).build().start();
  }

  @AfterEach
  void stop() {
    server.close();
    apiLog.detachAppender(logged);
  }

  @Test
  void an_upload_cut_short_is_logged_quietly_stores_nothing_and_the_server_goes_on()
      throws Exception {
    URI base = URI.create(server.url());
    String head =
        "POST /v1/jobs HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
            + "Content-Length: 100000\r\n\r\n";
    try (Socket socket = new Socket(base.getHost(), base.getPort())) {
      OutputStream out = socket.getOutputStream();
      out.write(head.getBytes(StandardCharsets.US_ASCII));
      out.write(
          "{\"function\": {\"name\": \"identity\"}, \"items\": [1, 2, "
              .getBytes(StandardCharsets.UTF_8));
      out.flush();
    } // closed with 99,950 bytes missing

    await()
        .atMost(Duration.ofSeconds(10))
        .until(
            () -> logged.list.stream().anyMatch(e -> e.getFormattedMessage().contains("closed")));
    assertThat(logged.list).noneMatch(e -> e.getLevel().isGreaterOrEqual(Level.WARN));
    Http http = new Http(server.url(), null);
    assertThat(http.get("/v1/jobs").json().get("jobs")).isEmpty();
    String id = http.submit("{\"function\": {\"name\": \"identity\"}, \"items\": [1, 2, 3]}");
    assertThat(http.awaitFinal(id).get("status").asText()).isEqualTo("SUCCEEDED");
  }
}
