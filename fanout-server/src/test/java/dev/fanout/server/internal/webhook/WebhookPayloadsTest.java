package dev.fanout.server.internal.webhook;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.nio.charset.StandardCharsets;
import org.junit.jupiter.api.Test;

class WebhookPayloadsTest {
  private static final ObjectMapper JSON = new ObjectMapper();

  private static JsonNode json(String text) throws Exception {
    return JSON.readTree(text);
  }

  @Test
  void a_succeeded_result_carries_its_value_and_the_job_id() throws Exception {
    ObjectNode body =
        WebhookPayloads.resultDelivery("j1", 5, 2, "SUCCEEDED", json("{\"sq\": 4}"), 1, 120);

    assertThat(body.toString())
        .isEqualTo(
            "{\"jobId\":\"j1\",\"seq\":5,\"index\":2,\"status\":\"SUCCEEDED\","
                + "\"value\":{\"sq\":4},\"attempts\":1,\"durationMs\":120}");
  }

  @Test
  void a_null_value_is_json_null() throws Exception {
    assertThat(WebhookPayloads.result(1, 0, "SUCCEEDED", null, 1, 0).get("value").isNull())
        .isTrue();
  }

  @Test
  void a_failed_result_carries_its_error_with_every_key() throws Exception {
    ObjectNode body =
        WebhookPayloads.resultDelivery(
            "j1", 6, 3, "FAILED", WebhookPayloads.error("function_error", "HTTP 500", 500), 3, 900);

    assertThat(body.has("value")).isFalse();
    assertThat(body.get("error"))
        .isEqualTo(
            json("{\"code\":\"function_error\",\"message\":\"HTTP 500\",\"httpStatus\":500}"));
    assertThat(WebhookPayloads.error("transform_error", "x", null).get("httpStatus").isNull())
        .isTrue();
  }

  @Test
  void a_result_view_gains_the_job_id_without_being_changed() throws Exception {
    ObjectNode view = WebhookPayloads.result(1, 0, "SUCCEEDED", json("1"), 1, 3);

    ObjectNode body = WebhookPayloads.resultDelivery("j1", view);

    assertThat(view.has("jobId")).isFalse();
    assertThat(body.fieldNames().next()).isEqualTo("jobId");
    ObjectNode withoutJobId = body.deepCopy();
    withoutJobId.remove("jobId");
    assertThat((JsonNode) withoutJobId).isEqualTo(view);
  }

  @Test
  void the_done_body_wraps_the_job() throws Exception {
    JsonNode job = json("{\"id\":\"j1\",\"status\":\"FAILED\",\"aggregate\":null}");

    assertThat(WebhookPayloads.doneDelivery(job))
        .isEqualTo(
            json(
                "{\"event\":\"done\",\"job\":{\"id\":\"j1\",\"status\":\"FAILED\",\"aggregate\":null}}"));
  }

  @Test
  void delivery_ids_name_job_and_index_or_done() {
    assertThat(WebhookPayloads.resultDeliveryId("j1", 12)).isEqualTo("j1:12");
    assertThat(WebhookPayloads.doneDeliveryId("j1", 1_700_000_000_123L))
        .isEqualTo("j1:done:1700000000123");
  }

  @Test
  void bytes_are_compact_utf8_json() throws Exception {
    byte[] bytes = WebhookPayloads.toBytes(json("{\"a\": \"é\"}"));

    assertThat(new String(bytes, StandardCharsets.UTF_8)).isEqualTo("{\"a\":\"é\"}");
  }
}
