package dev.fanout.client;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import java.io.IOException;
import java.io.InputStream;
import java.util.Iterator;
import java.util.List;
import java.util.concurrent.atomic.AtomicLong;
import org.junit.jupiter.api.Test;

/** The request body is made as it is read: an endless source is read only as far as asked. */
class SubmitBodyTest {

  @Test
  void an_endless_source_is_read_only_a_chunk_ahead_of_the_body() throws IOException {
    AtomicLong produced = new AtomicLong();
    Iterator<Long> endless =
        new Iterator<>() {
          @Override
          public boolean hasNext() {
            return true;
          }

          @Override
          public Long next() {
            return produced.getAndIncrement();
          }
        };
    SubmitRequest request = SubmitRequest.builder().functionName("identity").items(endless).build();

    try (InputStream body =
        new SubmitBody(
            JsonViews.JSON, request.fields(JsonViews.JSON), request.openItems(JsonViews.JSON))) {
      byte[] first = body.readNBytes(1 << 20);
      assertThat(first).hasSize(1 << 20);
    }
    // Each item is about 7 bytes here: a megabyte read means ~150,000 items, plus one chunk.
    assertThat(produced.get()).isBetween(100_000L, 200_000L);
  }

  @Test
  void the_body_is_the_fields_then_the_items_and_the_same_bytes_each_time() throws IOException {
    SubmitRequest request =
        SubmitRequest.builder()
            .functionName("identity")
            .items(List.of(1, "two", List.of(3)))
            .reduce("collect")
            .maxConcurrency(5)
            .build();

    String once = bodyOf(request);
    String twice = bodyOf(request);

    assertThat(once)
        .isEqualTo(
            "{\"function\":{\"name\":\"identity\"},\"reduce\":\"collect\",\"maxConcurrency\":5,"
                + "\"items\":[1,\"two\",[3]]}");
    assertThat(twice).isEqualTo(once);
    JsonNode parsed = JsonViews.JSON.readTree(once);
    assertThat(parsed.get("items")).hasSize(3);
  }

  private static String bodyOf(SubmitRequest request) throws IOException {
    try (InputStream body =
        new SubmitBody(
            JsonViews.JSON, request.fields(JsonViews.JSON), request.openItems(JsonViews.JSON))) {
      return new String(body.readAllBytes(), java.nio.charset.StandardCharsets.UTF_8);
    }
  }
}
