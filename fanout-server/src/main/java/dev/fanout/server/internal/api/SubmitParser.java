package dev.fanout.server.internal.api;

import com.fasterxml.jackson.core.JsonFactory;
import com.fasterxml.jackson.core.JsonGenerator;
import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.core.JsonToken;
import com.fasterxml.jackson.core.StreamReadConstraints;
import com.fasterxml.jackson.core.exc.StreamConstraintsException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.NullNode;
import dev.fanout.server.FanoutServer.Limits;
import dev.fanout.server.internal.ApiException;
import java.io.BufferedOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.NoSuchElementException;
import java.util.Set;

/**
 * Reads a job submission as a stream: the {@code items} array goes to a spool file one item at a
 * time, so a million-item body never sits whole in the heap, and the other fields, which are small,
 * are kept as trees. Every limit is enforced while reading, not after.
 */
final class SubmitParser {
  static final Set<String> FIELDS =
      Set.of(
          "function",
          "items",
          "transform",
          "reduce",
          "maxConcurrency",
          "retry",
          "timeoutMs",
          "deadlineMs",
          "failurePolicy",
          "order",
          "batchSize",
          "webhook",
          "metadata");

  private final ObjectMapper json;
  private final JsonFactory factory;
  private final Limits limits;

  SubmitParser(ObjectMapper json, Limits limits) {
    this.json = json;
    this.limits = limits;
    this.factory =
        JsonFactory.builder()
            .streamReadConstraints(
                // No string limit of Jackson's own: the body limit bounds every string, and an
                // item's size is checked whole, so the error names the item.
                StreamReadConstraints.builder()
                    .maxNestingDepth(limits.maxNestingDepth())
                    .maxNumberLength(100)
                    .maxStringLength(Integer.MAX_VALUE)
                    .build())
            .build();
    factory.setCodec(json);
  }

  /** A parsed submission: the small fields as trees, the items in a spool file. */
  record Parsed(Map<String, JsonNode> fields, Path spool, long itemCount) {}

  /**
   * Parses a body; the caller owns the spool file and must delete it.
   *
   * @throws ApiException for a malformed, oversized or incomplete body
   */
  Parsed parse(InputStream body, Path spoolDir) throws IOException {
    Path spool = Files.createTempFile(spoolDir, "submit-", ".jsonl");
    try {
      Parsed parsed = read(new LimitedInputStream(body, limits.maxBodyBytes()), spool);
      if (!parsed.fields().containsKey("function")) {
        throw ApiException.badRequest("missing_field", "the field 'function' is required");
      }
      return parsed;
    } catch (RuntimeException | IOException | Error e) {
      Files.deleteIfExists(spool);
      throw e;
    }
  }

  private Parsed read(InputStream body, Path spool) throws IOException {
    Map<String, JsonNode> fields = new LinkedHashMap<>();
    long count = -1;
    try (JsonParser parser = factory.createParser(body)) {
      if (parser.nextToken() != JsonToken.START_OBJECT) {
        throw ApiException.badRequest("invalid_json", "the body must be a JSON object");
      }
      for (JsonToken t = parser.nextToken(); t != JsonToken.END_OBJECT; t = parser.nextToken()) {
        String name = parser.currentName();
        parser.nextToken();
        if (!FIELDS.contains(name)) {
          throw ApiException.badRequest(
              "unknown_field", "unknown field '" + name + "'; the fields are " + sorted());
        }
        if (fields.containsKey(name) || (name.equals("items") && count >= 0)) {
          throw ApiException.badRequest("duplicate_field", "the field '" + name + "' is repeated");
        }
        if (name.equals("items")) {
          count = spoolItems(parser, spool);
        } else {
          fields.put(name, parser.readValueAsTree());
        }
      }
      if (parser.nextToken() != null) {
        throw ApiException.badRequest("invalid_json", "unexpected content after the JSON object");
      }
    } catch (BodyTooLarge e) {
      throw new ApiException(
          413,
          "body_too_large",
          "the body is larger than the limit of " + limits.maxBodyBytes() + " bytes");
    } catch (StreamConstraintsException e) {
      throw ApiException.badRequest("limit_exceeded", "the body breaks a limit: " + e.getMessage());
    } catch (com.fasterxml.jackson.core.JacksonException e) {
      for (Throwable c = e.getCause(); c != null; c = c.getCause()) {
        if (c instanceof BodyTooLarge) {
          throw new ApiException(
              413,
              "body_too_large",
              "the body is larger than the limit of " + limits.maxBodyBytes() + " bytes");
        }
      }
      throw ApiException.badRequest("invalid_json", "malformed JSON: " + e.getOriginalMessage());
    }
    if (count < 0) {
      throw ApiException.badRequest("missing_field", "the field 'items' is required");
    }
    return new Parsed(fields, spool, count);
  }

  private long spoolItems(JsonParser parser, Path spool) throws IOException {
    if (parser.currentToken() != JsonToken.START_ARRAY) {
      throw ApiException.badRequest("invalid_type", "items must be an array");
    }
    long count = 0;
    try (OutputStream out = new BufferedOutputStream(Files.newOutputStream(spool), 1 << 16);
        JsonGenerator gen = json.getFactory().createGenerator(out)) {
      for (JsonToken t = parser.nextToken(); t != JsonToken.END_ARRAY; t = parser.nextToken()) {
        if (++count > limits.maxItems()) {
          throw new ApiException(
              413, "too_many_items", "a job takes at most " + limits.maxItems() + " items");
        }
        long start = parser.currentTokenLocation().getByteOffset();
        JsonNode item = parser.readValueAsTree();
        long size = parser.currentLocation().getByteOffset() - start;
        if (size > limits.maxItemBytes()) {
          throw new ApiException(
              413,
              "item_too_large",
              "item "
                  + (count - 1)
                  + " is "
                  + size
                  + " bytes; an item may be at most "
                  + limits.maxItemBytes());
        }
        gen.writeTree(item);
        gen.writeRaw('\n');
      }
    }
    return count;
  }

  /**
   * Reads a spool file back, one root-level JSON value per item. Not Jackson's {@code readValues},
   * which unwraps a first value that is an array and so would read {@code [[1], [2]]} as items 1
   * and 2.
   */
  SpoolReader read(Path spool) throws IOException {
    return new SpoolReader(factory.createParser(spool.toFile()));
  }

  /** An iterator over a spool file's items; closing it closes the file. */
  static final class SpoolReader implements Iterator<JsonNode>, AutoCloseable {
    private final JsonParser parser;
    private JsonNode next;
    private boolean done;

    private SpoolReader(JsonParser parser) {
      this.parser = parser;
    }

    @Override
    public boolean hasNext() {
      if (next == null && !done) {
        try {
          if (parser.nextToken() == null) {
            done = true;
          } else {
            JsonNode value = parser.readValueAsTree();
            next = value == null ? NullNode.instance : value;
          }
        } catch (IOException e) {
          throw new UncheckedIOException("cannot read the spooled items", e);
        }
      }
      return next != null;
    }

    @Override
    public JsonNode next() {
      if (!hasNext()) {
        throw new NoSuchElementException();
      }
      JsonNode value = next;
      next = null;
      return value;
    }

    @Override
    public void close() throws IOException {
      parser.close();
    }
  }

  private static String sorted() {
    return FIELDS.stream().sorted().toList().toString();
  }

  /** The body went past the limit while being read. */
  static final class BodyTooLarge extends IOException {
    private static final long serialVersionUID = 1L;

    BodyTooLarge() {
      super("body too large", null);
    }
  }

  /** Counts the bytes read and fails past the limit, for bodies sent without a length. */
  static final class LimitedInputStream extends InputStream {
    private final InputStream in;
    private final long limit;
    private long read;

    LimitedInputStream(InputStream in, long limit) {
      this.in = in;
      this.limit = limit;
    }

    @Override
    public int read() throws IOException {
      int b = in.read();
      if (b >= 0) {
        count(1);
      }
      return b;
    }

    @Override
    public int read(byte[] buffer, int offset, int length) throws IOException {
      int n = in.read(buffer, offset, length);
      if (n > 0) {
        count(n);
      }
      return n;
    }

    private void count(int n) throws BodyTooLarge {
      read += n;
      if (read > limit) {
        throw new BodyTooLarge();
      }
    }

    @Override
    public void close() throws IOException {
      in.close();
    }
  }
}
