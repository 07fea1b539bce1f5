package dev.fanout.server;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The OpenAPI document the server serves lists exactly the routes it serves. */
class OpenApiTest {
  @TempDir Path data;

  @Test
  void the_document_lists_every_route_and_no_other() {
    try (FanoutServer server = FanoutServer.builder().port(0).dataDir(data).build().start()) {
      Http http = new Http(server.url(), null);
      Http.Response r = http.get("/openapi.json");
      assertThat(r.status()).isEqualTo(200);
      JsonNode doc = r.json();
      assertThat(doc.get("openapi").asText()).startsWith("3.");

      List<String> documented = new ArrayList<>();
      doc.get("paths")
          .properties()
          .forEach(
              path ->
                  path.getValue()
                      .fieldNames()
                      .forEachRemaining(
                          method ->
                              documented.add(
                                  method.toUpperCase(Locale.ROOT) + " " + path.getKey())));
      assertThat(documented).containsExactlyInAnyOrderElementsOf(server.routes());
      doc.get("paths")
          .properties()
          .forEach(
              path ->
                  path.getValue()
                      .forEach(
                          op ->
                              assertThat(op.get("responses").size())
                                  .as(path.getKey())
                                  .isPositive()));
    }
  }
}
