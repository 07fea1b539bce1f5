package dev.fanout.server.internal.webhook;

import java.nio.charset.StandardCharsets;
import java.security.InvalidKeyException;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;
import java.util.Objects;
import javax.crypto.Mac;
import javax.crypto.spec.SecretKeySpec;

/**
 * Signs webhook deliveries so a receiver can tell they come from this server and are fresh.
 *
 * <p>The header is {@code X-Fanout-Signature: t=<unix seconds>,v1=<hex>}, where {@code <hex>} is
 * the lowercase hex HMAC-SHA256, keyed with the job's webhook secret (UTF-8), of the bytes {@code
 * "<t>."} followed by the exact body bytes. Signing the timestamp with the body lets a receiver
 * refuse a captured delivery replayed later ({@link #verify}); the {@code v1} label leaves room for
 * another scheme, and a receiver accepts a header if any {@code v1} matches (for secret rotation).
 *
 * <p>Thread-safe; the clock is injected so tests sign with a fixed time.
 */
public final class WebhookSigner {
  /** The header carrying the signature. */
  public static final String HEADER = "X-Fanout-Signature";

  private static final String ALGORITHM = "HmacSHA256";

  private final Clock clock;

  /**
   * Creates a signer.
   *
   * @param clock the time written into signatures
   */
  public WebhookSigner(Clock clock) {
    this.clock = Objects.requireNonNull(clock, "clock");
  }

  /**
   * Signs a body now.
   *
   * @param body the exact bytes that will be sent
   * @param secret the job's webhook secret, not empty
   * @return the header value, {@code t=...,v1=...}
   */
  public String sign(byte[] body, String secret) {
    return sign(clock.instant().getEpochSecond(), body, secret);
  }

  /**
   * Signs a body with a given timestamp.
   *
   * @param unixSeconds the timestamp to sign, in seconds since the epoch
   * @param body the exact bytes that will be sent
   * @param secret the webhook secret
   * @return the header value, {@code t=...,v1=...}
   */
  public static String sign(long unixSeconds, byte[] body, String secret) {
    return "t=" + unixSeconds + ",v1=" + HexFormat.of().formatHex(mac(unixSeconds, body, secret));
  }

  /**
   * Checks a delivery's signature, as a receiver does: the header must hold a timestamp within
   * {@code tolerance} of {@code now} (either way, so clock skew is allowed but old deliveries are
   * refused) and a {@code v1} signature matching the body, compared in constant time.
   *
   * @param header the {@code X-Fanout-Signature} value, possibly null
   * @param body the exact bytes received
   * @param secret the webhook secret
   * @param now the receiver's time
   * @param tolerance how far the timestamp may be from {@code now}; five minutes is usual
   * @return true only when the signature is well formed, fresh and matches
   */
  public static boolean verify(
      String header, byte[] body, String secret, Instant now, Duration tolerance) {
    Objects.requireNonNull(body, "body");
    Objects.requireNonNull(secret, "secret");
    if (header == null || header.isEmpty() || header.length() > 4096 || secret.isEmpty()) {
      return false;
    }
    Long timestamp = null;
    List<byte[]> signatures = new ArrayList<>();
    for (String part : header.split(",")) {
      int eq = part.indexOf('=');
      if (eq < 0) {
        return false;
      }
      String key = part.substring(0, eq).strip();
      String value = part.substring(eq + 1).strip();
      if (key.equals("t")) {
        if (timestamp != null) {
          return false;
        }
        try {
          timestamp = Long.parseLong(value);
        } catch (NumberFormatException e) {
          return false;
        }
      } else if (key.equals("v1")) {
        try {
          signatures.add(HexFormat.of().parseHex(value));
        } catch (IllegalArgumentException e) {
          return false;
        }
      }
    }
    if (timestamp == null || signatures.isEmpty()) {
      return false;
    }
    long skew;
    try {
      skew = Math.abs(Math.subtractExact(now.getEpochSecond(), timestamp));
    } catch (ArithmeticException e) {
      return false;
    }
    if (skew > tolerance.toSeconds()) {
      return false;
    }
    byte[] expected = mac(timestamp, body, secret);
    boolean match = false;
    for (byte[] signature : signatures) {
      match |= MessageDigest.isEqual(expected, signature);
    }
    return match;
  }

  private static byte[] mac(long unixSeconds, byte[] body, String secret) {
    Objects.requireNonNull(body, "body");
    try {
      Mac mac = Mac.getInstance(ALGORITHM);
      mac.init(new SecretKeySpec(secret.getBytes(StandardCharsets.UTF_8), ALGORITHM));
      mac.update((unixSeconds + ".").getBytes(StandardCharsets.US_ASCII));
      return mac.doFinal(body);
    } catch (NoSuchAlgorithmException | InvalidKeyException e) {
      // Every JDK ships HmacSHA256, and any non-empty key is valid for it.
      throw new IllegalStateException("cannot compute " + ALGORITHM, e);
    }
  }
}
