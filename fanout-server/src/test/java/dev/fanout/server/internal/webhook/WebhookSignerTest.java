package dev.fanout.server.internal.webhook;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.charset.StandardCharsets;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.time.ZoneOffset;
import java.util.HexFormat;
import javax.crypto.Mac;
import javax.crypto.spec.SecretKeySpec;
import org.junit.jupiter.api.Test;

class WebhookSignerTest {
  private static final String SECRET = "whsec_test";
  private static final byte[] BODY =
      "{\"jobId\":\"j1\",\"seq\":1,\"index\":0}".getBytes(StandardCharsets.UTF_8);
  private static final Instant NOW = Instant.ofEpochSecond(1_700_000_000L);
  private static final Duration TOLERANCE = Duration.ofMinutes(5);

  @Test
  void the_signature_is_hmac_sha256_over_timestamp_dot_body() throws Exception {
    // Computed independently of the signer, the way a receiver in another language would.
    Mac mac = Mac.getInstance("HmacSHA256");
    mac.init(new SecretKeySpec(SECRET.getBytes(StandardCharsets.UTF_8), "HmacSHA256"));
    byte[] expected =
        mac.doFinal(
            ("1700000000." + new String(BODY, StandardCharsets.UTF_8))
                .getBytes(StandardCharsets.UTF_8));

    String header = new WebhookSigner(Clock.fixed(NOW, ZoneOffset.UTC)).sign(BODY, SECRET);

    assertThat(header).isEqualTo("t=1700000000,v1=" + HexFormat.of().formatHex(expected));
    assertThat(header).matches("t=\\d+,v1=[0-9a-f]{64}");
  }

  @Test
  void known_answers_computed_outside_java_stay_stable() {
    // From Python's hmac module; pins the format, since any change breaks every receiver.
    assertThat(WebhookSigner.sign(1_700_000_000L, BODY, SECRET))
        .isEqualTo(
            "t=1700000000,v1=5d8ceae37a265df0038d3e70fe28f9f27d94c1167ef77e65ce3cac380ddf7eb8");
    assertThat(WebhookSigner.sign(0, new byte[0], "key"))
        .isEqualTo("t=0,v1=85841b4efc3cd7776c3c8f9b7cca9e281c550e5d19889d78e9e669c6337f000d");
  }

  @Test
  void verify_accepts_a_fresh_genuine_signature() {
    String header = WebhookSigner.sign(NOW.getEpochSecond(), BODY, SECRET);

    assertThat(WebhookSigner.verify(header, BODY, SECRET, NOW.plusSeconds(30), TOLERANCE)).isTrue();
    assertThat(WebhookSigner.verify(header, BODY, SECRET, NOW.minusSeconds(30), TOLERANCE))
        .isTrue();
  }

  @Test
  void verify_refuses_a_tampered_body() {
    String header = WebhookSigner.sign(NOW.getEpochSecond(), BODY, SECRET);
    byte[] tampered = BODY.clone();
    tampered[tampered.length - 2] = '1';

    assertThat(WebhookSigner.verify(header, tampered, SECRET, NOW, TOLERANCE)).isFalse();
  }

  @Test
  void verify_refuses_the_wrong_secret() {
    String header = WebhookSigner.sign(NOW.getEpochSecond(), BODY, SECRET);

    assertThat(WebhookSigner.verify(header, BODY, "other", NOW, TOLERANCE)).isFalse();
  }

  @Test
  void verify_refuses_a_replay_outside_the_tolerance() {
    String header = WebhookSigner.sign(NOW.getEpochSecond(), BODY, SECRET);

    assertThat(WebhookSigner.verify(header, BODY, SECRET, NOW.plus(TOLERANCE), TOLERANCE)).isTrue();
    assertThat(
            WebhookSigner.verify(
                header, BODY, SECRET, NOW.plus(TOLERANCE).plusSeconds(1), TOLERANCE))
        .isFalse();
    assertThat(
            WebhookSigner.verify(
                header, BODY, SECRET, NOW.minus(TOLERANCE).minusSeconds(1), TOLERANCE))
        .isFalse();
  }

  @Test
  void verify_refuses_a_moved_timestamp() {
    String header = WebhookSigner.sign(NOW.getEpochSecond(), BODY, SECRET);
    String moved = header.replace("t=1700000000", "t=1700000100");

    assertThat(WebhookSigner.verify(moved, BODY, SECRET, NOW, TOLERANCE)).isFalse();
  }

  @Test
  void verify_accepts_any_matching_v1_for_secret_rotation() {
    String genuine = WebhookSigner.sign(NOW.getEpochSecond(), BODY, SECRET);
    String v1 = genuine.substring(genuine.indexOf("v1="));
    String header = "t=" + NOW.getEpochSecond() + ",v1=" + "00".repeat(32) + "," + v1;

    assertThat(WebhookSigner.verify(header, BODY, SECRET, NOW, TOLERANCE)).isTrue();
  }

  @Test
  void verify_refuses_malformed_headers() {
    for (String header :
        new String[] {
          null,
          "",
          "garbage",
          "t=1700000000",
          "v1=abcd",
          "t=abc,v1=00",
          "t=1700000000,v1=zz",
          "t=1,t=1700000000,v1=00",
          "t=99999999999999999999,v1=00"
        }) {
      assertThat(WebhookSigner.verify(header, BODY, SECRET, NOW, TOLERANCE))
          .as("header %s", header)
          .isFalse();
    }
  }
}
