package dev.fanout.cli;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import com.fasterxml.jackson.databind.node.NullNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.UncheckedIOException;

/** The command line's one JSON mapper, and the small conversions every command needs. */
final class Json {
  /** Shared: an {@link ObjectMapper} is thread-safe once configured, and costly to create. */
  static final ObjectMapper MAPPER = new ObjectMapper();

  private Json() {}

  /**
   * A new empty object.
   *
   * @return the object
   */
  static ObjectNode object() {
    return JsonNodeFactory.instance.objectNode();
  }

  /**
   * Parses JSON text that Fanout itself wrote (a stored value, a server's answer).
   *
   * @param text the JSON, or null
   * @return the value; a JSON null for null text
   * @throws UncheckedIOException when the text is not JSON, which means a bug or a broken store
   */
  static JsonNode parse(String text) {
    if (text == null) {
      return NullNode.instance;
    }
    try {
      return MAPPER.readTree(text);
    } catch (JsonProcessingException e) {
      throw new UncheckedIOException("not JSON: " + e.getOriginalMessage(), e);
    }
  }
}
