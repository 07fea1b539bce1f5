package dev.fanout.cli;

import com.fasterxml.jackson.core.JsonLocation;
import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.core.JsonToken;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.NullNode;
import java.io.Closeable;
import java.io.IOException;
import java.io.InputStream;
import java.nio.file.AccessDeniedException;
import java.nio.file.Files;
import java.nio.file.InvalidPathException;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.Iterator;
import java.util.NoSuchElementException;

/**
 * Reads a job's items, one at a time, from a file or standard input ({@code -}), in either of two
 * forms told apart by the first character that is not white space:
 *
 * <ul>
 *   <li>{@code [}: one JSON array whose elements are the items; nothing but white space may follow
 *       its closing bracket.
 *   <li>anything else: NDJSON, one JSON value per line. Blank lines are skipped, and any white
 *       space separates values, so {@code jq}'s pretty-printed output reads too. An empty file has
 *       no items.
 * </ul>
 *
 * <p>The input is parsed as a stream (Jackson's streaming parser): only the current item is in
 * memory, however large the file. Every problem is a {@link CliException#usage usage error} naming
 * the file (or {@code stdin}) and, for malformed JSON, the line and column: {@code items.ndjson
 * line 17, column 5: Unexpected character ...}. A problem in the middle of the input surfaces when
 * the reader gets there, from {@link #hasNext()}.
 */
final class ItemReader implements Iterator<JsonNode>, Closeable {
  private final String name;
  private final JsonParser parser;
  private boolean array;
  private JsonNode next;
  // Whether next holds the item after the last one returned: reading is lazy, so an error is
  // reported when its item is asked for, not one item early.
  private boolean fetched;

  private ItemReader(String name, InputStream in) {
    this.name = name;
    try {
      this.parser = Json.MAPPER.createParser(in);
    } catch (IOException e) {
      throw unreadable(e);
    }
    JsonToken first = token();
    if (first == JsonToken.START_ARRAY) {
      array = true;
    } else {
      next = first == null ? null : value();
      fetched = true;
    }
  }

  /**
   * Opens the items at {@code source}.
   *
   * @param source a file path, or {@code -} for {@code stdin}
   * @param stdin standard input, read when {@code source} is {@code -}
   * @return the reader, positioned before the first item
   * @throws CliException a usage error when the file is missing, a folder or unreadable, or its
   *     first item is malformed
   */
  static ItemReader open(String source, InputStream stdin) {
    if (source.equals("-")) {
      return new ItemReader("stdin", stdin);
    }
    Path path;
    try {
      path = Path.of(source);
    } catch (InvalidPathException e) {
      throw CliException.usage("the items file name " + source + " is not valid: " + e.getReason());
    }
    if (Files.isDirectory(path)) {
      throw CliException.usage(
          "the items file " + source + " is a directory; give a JSON array or NDJSON file");
    }
    InputStream in;
    try {
      in = Files.newInputStream(path);
    } catch (NoSuchFileException e) {
      throw CliException.usage("the items file " + source + " does not exist", e);
    } catch (AccessDeniedException e) {
      throw CliException.usage("cannot read the items file " + source + ": permission denied", e);
    } catch (IOException e) {
      throw CliException.usage("cannot read the items file " + source + ": " + e.getMessage(), e);
    }
    return new ItemReader(source, in);
  }

  /**
   * What the reader is reading, as messages name it.
   *
   * @return the path as given, or {@code stdin}
   */
  String name() {
    return name;
  }

  @Override
  public boolean hasNext() {
    if (!fetched) {
      advance();
      fetched = true;
    }
    return next != null;
  }

  @Override
  public JsonNode next() {
    if (!hasNext()) {
      throw new NoSuchElementException("no more items in " + name);
    }
    JsonNode item = next;
    next = null;
    fetched = false;
    return item;
  }

  @Override
  public void close() {
    try {
      parser.close();
    } catch (IOException e) {
      // Closing a file that was only read loses nothing.
    }
  }

  private void advance() {
    if (parser.isClosed()) {
      next = null;
      return;
    }
    JsonToken t = token();
    if (!array) {
      next = t == null ? null : value();
      return;
    }
    if (t == null) {
      throw CliException.usage(
          name
              + " line "
              + parser.currentLocation().getLineNr()
              + ": the items array is not"
              + " closed; a ] is missing at the end");
    }
    if (t != JsonToken.END_ARRAY) {
      next = value();
      return;
    }
    next = null;
    JsonLocation end = parser.currentLocation();
    if (token() != null) {
      throw CliException.usage(
          at(parser.currentTokenLocation())
              + "there is more after the items array that ended at line "
              + end.getLineNr()
              + " (a file whose first character is [ is read as one JSON array; write NDJSON"
              + " whose items are arrays as an array of arrays instead)");
    }
  }

  private JsonToken token() {
    try {
      return parser.nextToken();
    } catch (JsonProcessingException e) {
      throw malformed(e);
    } catch (IOException e) {
      throw unreadable(e);
    }
  }

  private JsonNode value() {
    try {
      JsonNode value = Json.MAPPER.readTree(parser);
      return value == null ? NullNode.instance : value;
    } catch (JsonProcessingException e) {
      throw malformed(e);
    } catch (IOException e) {
      throw unreadable(e);
    }
  }

  private CliException malformed(JsonProcessingException e) {
    return CliException.usage(at(e.getLocation()) + e.getOriginalMessage(), e);
  }

  private CliException unreadable(IOException e) {
    return CliException.usage("cannot read the items from " + name + ": " + e.getMessage(), e);
  }

  private String at(JsonLocation location) {
    if (location == null || location.getLineNr() < 1) {
      return name + ": ";
    }
    return name + " line " + location.getLineNr() + ", column " + location.getColumnNr() + ": ";
  }
}
