package dev.fanout.client;

import com.fasterxml.jackson.core.JsonGenerator;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.util.Iterator;
import java.util.Map;

/**
 * The body of {@code POST /v1/jobs}, produced as it is read: the small fields first, then the
 * items, serialized a few kilobytes at a time from their source. The whole body never exists at
 * once.
 *
 * <p>Whatever the source throws is kept: the HTTP client only reports that the body failed, and
 * {@link #failure()} gives the submitter the source's own error (a malformed line, say) to throw.
 */
final class SubmitBody extends InputStream {
  private static final int CHUNK = 16 * 1024;

  private final ObjectMapper json;
  private final ObjectNode fields;
  private final SubmitRequest.Items items;
  private final Chunk chunk = new Chunk();
  private JsonGenerator generator;
  private int position;
  private boolean finished;
  private boolean closed;
  private volatile RuntimeException failure;

  SubmitBody(ObjectMapper json, ObjectNode fields, SubmitRequest.Items items) {
    this.json = json;
    this.fields = fields;
    this.items = items;
  }

  /** What the items' source threw while the body was written, or null. */
  RuntimeException failure() {
    return failure;
  }

  @Override
  public int read() throws IOException {
    byte[] one = new byte[1];
    return read(one, 0, 1) < 0 ? -1 : one[0] & 0xff;
  }

  @Override
  public int read(byte[] b, int off, int len) throws IOException {
    if (len == 0) {
      return 0;
    }
    while (position == chunk.size()) {
      if (finished) {
        return -1;
      }
      chunk.reset();
      position = 0;
      fill();
    }
    int n = Math.min(len, chunk.size() - position);
    System.arraycopy(chunk.bytes(), position, b, off, n);
    position += n;
    return n;
  }

  private void fill() throws IOException {
    try {
      if (generator == null) {
        generator = json.createGenerator(chunk);
        generator.writeStartObject();
        for (Map.Entry<String, JsonNode> f : fields.properties()) {
          generator.writeFieldName(f.getKey());
          generator.writeTree(f.getValue());
        }
        generator.writeFieldName("items");
        generator.writeStartArray();
      }
      Iterator<?> it = items.iterator();
      while (chunk.size() < CHUNK && it.hasNext()) {
        Object item = it.next();
        if (item instanceof JsonNode node) {
          generator.writeTree(node);
        } else {
          json.writeValue(generator, item);
        }
        generator.flush();
      }
      if (!it.hasNext() && chunk.size() < CHUNK) {
        generator.writeEndArray();
        generator.writeEndObject();
        generator.close();
        finished = true;
      }
      generator.flush();
    } catch (RuntimeException e) {
      failure = e;
      throw new IOException("the items' source failed: " + e.getMessage(), e);
    }
  }

  @Override
  public synchronized void close() throws IOException {
    if (closed) {
      return;
    }
    closed = true;
    if (items.closeable() != null) {
      try {
        items.closeable().close();
      } catch (IOException | RuntimeException e) {
        throw e;
      } catch (Exception e) {
        throw new IOException(e);
      }
    }
  }

  /** A byte buffer whose array can be read without a copy. */
  private static final class Chunk extends ByteArrayOutputStream {
    Chunk() {
      super(CHUNK * 2);
    }

    byte[] bytes() {
      return buf;
    }
  }
}
