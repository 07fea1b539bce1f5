package dev.fanout.client;

import com.fasterxml.jackson.core.JacksonException;
import com.fasterxml.jackson.core.JsonLocation;
import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.core.JsonToken;
import com.fasterxml.jackson.core.io.JsonEOFException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.util.Iterator;
import java.util.NoSuchElementException;

/**
 * The items of a JSON text, one at a time: the elements of one top-level array, or top-level values
 * one after another (NDJSON). Only the item being read is in memory.
 */
final class JsonItems implements Iterator<JsonNode>, AutoCloseable {
  private final JsonParser parser;
  private boolean started;
  private boolean inArray;
  private JsonToken next;
  private boolean ended;
  private long count;

  JsonItems(ObjectMapper json, InputStream in) {
    try {
      this.parser = json.createParser(in);
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  @Override
  public boolean hasNext() {
    if (next != null) {
      return true;
    }
    if (ended) {
      return false;
    }
    JsonToken t = advance();
    if (!started) {
      started = true;
      if (t == JsonToken.START_ARRAY) {
        inArray = true;
        t = advance();
      }
    }
    if (t == null || (inArray && t == JsonToken.END_ARRAY)) {
      if (inArray && t == null) {
        throw malformed("the array of items is not closed", parser.currentLocation(), null);
      }
      if (inArray && advance() != null) {
        throw malformed("content after the array of items", parser.currentTokenLocation(), null);
      }
      ended = true;
      return false;
    }
    next = t;
    return true;
  }

  @Override
  public JsonNode next() {
    if (!hasNext()) {
      throw new NoSuchElementException();
    }
    next = null;
    long line = parser.currentTokenLocation().getLineNr();
    count++;
    try {
      return parser.readValueAsTree();
    } catch (JacksonException e) {
      // Name where the item starts: for NDJSON that is its line, wherever the parser gave up.
      throw malformed(
          "item " + (count - 1) + ", which starts at line " + line + ": " + e.getOriginalMessage(),
          e.getLocation(),
          e);
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  private JsonToken advance() {
    try {
      return parser.nextToken();
    } catch (JsonEOFException e) {
      throw malformed(
          inArray ? "the array of items is not closed" : e.getOriginalMessage(),
          e.getLocation(),
          e);
    } catch (JacksonException e) {
      throw malformed(e.getOriginalMessage(), e.getLocation(), e);
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  private static IllegalArgumentException malformed(
      String what, JsonLocation where, Throwable cause) {
    String at =
        where == null
            ? ""
            : " (line " + where.getLineNr() + ", column " + where.getColumnNr() + ")";
    return new IllegalArgumentException("the items are not valid JSON: " + what + at, cause);
  }

  @Override
  public void close() throws IOException {
    parser.close();
  }
}
