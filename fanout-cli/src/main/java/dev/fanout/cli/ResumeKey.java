package dev.fanout.cli;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.BufferedWriter;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.io.Writer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.HexFormat;
import java.util.Iterator;

/**
 * How {@code fanout run --data DIR} recognises its own job when the same command runs again.
 *
 * <p>The key is {@code fanout-run:} followed by the SHA-256 of two things: what decides the job's
 * work and results (the function: {@code --exec} or {@code --function-url} with {@code
 * --timeout-ms}; {@code --transform}; {@code --reduce}; {@code --max-attempts}), as compact JSON,
 * and the SHA-256 of the items, each as compact JSON followed by a newline. So the same items give
 * the same key whether they come from a JSON array, NDJSON, standard input or another path, and
 * whatever their spacing; a change to one item, or to one of those options, gives another key, and
 * so another job. {@code --max-concurrency}, {@code --results}, {@code --output} and the progress
 * options may change between runs; a resumed job takes the new {@code --max-concurrency}.
 *
 * <p>The job carries the key as its idempotency key and in its metadata ({@code fanoutRun.key}),
 * where a re-run looks for it.
 */
record ResumeKey(String key, String itemsDigest, long items) {
  /** What every key starts with, so a person reading the database can tell where it came from. */
  static final String PREFIX = "fanout-run:";

  /**
   * Reads every item once to compute the key.
   *
   * @param identity the options that decide the job's work, as JSON
   * @param source the items
   * @param spool when not null, the items are also written there as NDJSON (for standard input,
   *     which cannot be read twice)
   * @return the key
   * @throws CliException a usage error for a malformed item, from the reader
   */
  static ResumeKey of(ObjectNode identity, Iterator<JsonNode> source, Path spool) {
    MessageDigest items = sha256();
    long count = 0;
    try (Writer copy = spool == null ? Writer.nullWriter() : spoolWriter(spool)) {
      while (source.hasNext()) {
        byte[] line = (source.next().toString() + "\n").getBytes(StandardCharsets.UTF_8);
        items.update(line);
        copy.write(new String(line, StandardCharsets.UTF_8));
        count++;
      }
    } catch (IOException e) {
      throw new UncheckedIOException("cannot write the items to " + spool, e);
    }
    String itemsDigest = HexFormat.of().formatHex(items.digest());
    MessageDigest key = sha256();
    key.update(identity.toString().getBytes(StandardCharsets.UTF_8));
    key.update((byte) '\n');
    key.update(itemsDigest.getBytes(StandardCharsets.UTF_8));
    return new ResumeKey(PREFIX + HexFormat.of().formatHex(key.digest()), itemsDigest, count);
  }

  private static BufferedWriter spoolWriter(Path spool) throws IOException {
    return Files.newBufferedWriter(spool, StandardCharsets.UTF_8);
  }

  private static MessageDigest sha256() {
    try {
      return MessageDigest.getInstance("SHA-256");
    } catch (NoSuchAlgorithmException e) {
      throw new IllegalStateException("every JVM has SHA-256", e);
    }
  }
}
