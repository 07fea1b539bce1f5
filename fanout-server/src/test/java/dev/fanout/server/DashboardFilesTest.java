package dev.fanout.server;

import static org.assertj.core.api.Assertions.assertThat;

import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Path;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The dashboard's files are served from the jar at {@code /}, open like {@code /health} while the
 * API stays behind the token; the page itself is exercised in a browser by {@link
 * DashboardBrowserTest}.
 */
class DashboardFilesTest {
  private static final String TOKEN = "a-token-of-at-least-16-chars";
  @TempDir Path data;
  private FanoutServer server;
  private final HttpClient client = HttpClient.newHttpClient();

  @BeforeEach
  void start() {
    server = FanoutServer.builder().port(0).dataDir(data).token(TOKEN).build().start();
  }

  @AfterEach
  void stop() {
    server.close();
  }

  private HttpResponse<String> get(String path) throws Exception {
    return client.send(
        HttpRequest.newBuilder(URI.create(server.url() + path)).build(),
        HttpResponse.BodyHandlers.ofString());
  }

  @Test
  void the_page_and_its_files_are_served_without_the_token_and_the_api_is_not() throws Exception {
    HttpResponse<String> page = get("/");
    assertThat(page.statusCode()).isEqualTo(200);
    assertThat(page.headers().firstValue("Content-Type"))
        .hasValueSatisfying(t -> assertThat(t).startsWith("text/html"));
    assertThat(page.headers().firstValue("Content-Security-Policy"))
        .hasValueSatisfying(p -> assertThat(p).contains("default-src 'self'"));
    assertThat(page.body()).contains("<title>Fanout</title>", "/dashboard.js", "/dashboard.css");

    HttpResponse<String> script = get("/dashboard.js");
    assertThat(script.statusCode()).isEqualTo(200);
    assertThat(script.headers().firstValue("Content-Type"))
        .hasValueSatisfying(t -> assertThat(t).startsWith("text/javascript"));
    assertThat(script.body())
        .contains("sessionStorage", "Authorization", "/v1/jobs", "/v1/cluster");
    assertThat(get("/dashboard.css").statusCode()).isEqualTo(200);

    assertThat(get("/v1/jobs").statusCode()).isEqualTo(401);
  }
}
