package dev.fanout.cli;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.fasterxml.jackson.databind.JsonNode;
import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class ItemReaderTest {

  private static final InputStream NO_STDIN = InputStream.nullInputStream();

  @TempDir Path dir;

  @Test
  void a_json_array_file_yields_its_elements_in_order() throws IOException {
    Path file = write("items.json", "  \n[1, \"two\", {\"three\": 3}, [4], null, true]\n");

    assertThat(texts(file.toString()))
        .containsExactly("1", "\"two\"", "{\"three\":3}", "[4]", "null", "true");
  }

  @Test
  void an_ndjson_file_yields_one_item_per_line_and_skips_blank_lines() throws IOException {
    Path file = write("items.ndjson", "{\"n\": 1}\n\n   \n2\r\n\"x\"\n\n");

    assertThat(texts(file.toString())).containsExactly("{\"n\":1}", "2", "\"x\"");
  }

  @Test
  void pretty_printed_values_one_after_another_read_like_ndjson() throws IOException {
    Path file = write("jq-output.json", "{\n  \"a\": 1\n}\n{\n  \"a\": 2\n}\n");

    assertThat(texts(file.toString())).containsExactly("{\"a\":1}", "{\"a\":2}");
  }

  @Test
  void an_empty_or_blank_file_has_no_items() throws IOException {
    assertThat(texts(write("empty.ndjson", "").toString())).isEmpty();
    assertThat(texts(write("blank.ndjson", "\n  \n\t\n").toString())).isEmpty();
    assertThat(texts(write("empty-array.json", "[ ]").toString())).isEmpty();
  }

  @Test
  void a_byte_order_mark_is_not_an_item() throws IOException {
    byte[] bom = {(byte) 0xEF, (byte) 0xBB, (byte) 0xBF};
    Path file = dir.resolve("bom.json");
    Files.write(file, concat(bom, "[1, 2]".getBytes(StandardCharsets.UTF_8)));

    assertThat(texts(file.toString())).containsExactly("1", "2");
  }

  @Test
  void dash_reads_standard_input() {
    InputStream stdin = new ByteArrayInputStream("1\n2\n3\n".getBytes(StandardCharsets.UTF_8));

    List<String> items = new ArrayList<>();
    try (ItemReader reader = ItemReader.open("-", stdin)) {
      reader.forEachRemaining(n -> items.add(n.toString()));
      assertThat(reader.name()).isEqualTo("stdin");
    }

    assertThat(items).containsExactly("1", "2", "3");
  }

  @Test
  void a_malformed_ndjson_line_is_a_usage_error_naming_the_file_and_the_line() throws IOException {
    StringBuilder lines = new StringBuilder();
    for (int i = 1; i <= 16; i++) {
      lines.append("{\"n\": ").append(i).append("}\n");
    }
    lines.append("{\"n\": 17,}\n{\"n\": 18}\n");
    Path file = write("items.ndjson", lines.toString());

    ItemReader reader = ItemReader.open(file.toString(), NO_STDIN);
    for (int i = 0; i < 16; i++) {
      assertThat(reader.next().get("n").asInt()).isEqualTo(i + 1);
    }

    assertThatThrownBy(reader::next)
        .isInstanceOf(CliException.class)
        .satisfies(e -> assertThat(((CliException) e).exitCode()).isEqualTo(ExitCodes.USAGE))
        .hasMessageStartingWith(file + " line 17, column ");
  }

  @Test
  void a_malformed_first_line_fails_at_open() throws IOException {
    Path file = write("bad.ndjson", "not json\n");

    assertThatThrownBy(() -> ItemReader.open(file.toString(), NO_STDIN))
        .isInstanceOf(CliException.class)
        .hasMessageStartingWith(file + " line 1, column ")
        .hasMessageContaining("not");
  }

  @Test
  void two_values_on_stdin_lines_name_stdin() {
    InputStream stdin = new ByteArrayInputStream("1\n{oops\n".getBytes(StandardCharsets.UTF_8));
    ItemReader reader = ItemReader.open("-", stdin);
    assertThat(reader.next().asInt()).isEqualTo(1);

    assertThatThrownBy(reader::hasNext).hasMessageStartingWith("stdin line 2, column ");
  }

  @Test
  void content_after_the_array_is_refused_with_a_hint() throws IOException {
    Path file = write("items.json", "[1, 2]\n[3, 4]\n");
    ItemReader reader = ItemReader.open(file.toString(), NO_STDIN);
    assertThat(reader.next().asInt()).isEqualTo(1);
    assertThat(reader.next().asInt()).isEqualTo(2);

    assertThatThrownBy(reader::hasNext)
        .isInstanceOf(CliException.class)
        .hasMessageStartingWith(file + " line 2, column 1: there is more after the items array")
        .hasMessageContaining("array of arrays");
  }

  @Test
  void trailing_garbage_after_the_array_is_refused() throws IOException {
    Path file = write("items.json", "[1]\n\nx");

    assertThatThrownBy(() -> texts(file.toString()))
        .isInstanceOf(CliException.class)
        .hasMessageStartingWith(file + " line 3, column 1: ");
  }

  @Test
  void an_array_without_its_closing_bracket_is_refused() throws IOException {
    Path file = write("items.json", "[1, 2,\n3\n");

    assertThatThrownBy(() -> texts(file.toString()))
        .isInstanceOf(CliException.class)
        .hasMessageStartingWith(file + " line ")
        .hasMessageContaining("end-of-input");
  }

  @Test
  void invalid_utf8_is_refused_with_its_line() throws IOException {
    Path file = dir.resolve("latin1.ndjson");
    Files.write(
        file,
        concat(
            "\"ok\"\n\"caf".getBytes(StandardCharsets.UTF_8), new byte[] {(byte) 0xE9, '"', '\n'}));

    assertThatThrownBy(() -> texts(file.toString()))
        .isInstanceOf(CliException.class)
        .hasMessageStartingWith(file + " line 2, column ")
        .hasMessageContaining("UTF-8");
  }

  @Test
  void a_missing_file_is_a_usage_error_naming_it() {
    String missing = dir.resolve("nope.json").toString();

    assertThatThrownBy(() -> ItemReader.open(missing, NO_STDIN))
        .isInstanceOf(CliException.class)
        .hasMessage("the items file " + missing + " does not exist");
  }

  @Test
  void a_directory_is_a_usage_error_naming_it() {
    assertThatThrownBy(() -> ItemReader.open(dir.toString(), NO_STDIN))
        .isInstanceOf(CliException.class)
        .hasMessageContaining(dir + " is a directory");
  }

  @Test
  void an_unreadable_file_is_a_usage_error_naming_it() throws IOException {
    Path file = write("secret.json", "[1]");
    Files.setPosixFilePermissions(file, PosixFilePermissions.fromString("---------"));
    Assumptions.assumeFalse(Files.isReadable(file), "root reads any file; nothing to check");

    assertThatThrownBy(() -> ItemReader.open(file.toString(), NO_STDIN))
        .isInstanceOf(CliException.class)
        .hasMessage("cannot read the items file " + file + ": permission denied");
  }

  @Test
  void items_are_read_one_at_a_time_not_the_whole_input_first() {
    // An endless input: a reader that slurped it would never return.
    InputStream endless =
        new InputStream() {
          private final byte[] line = "{\"n\": 1}\n".getBytes(StandardCharsets.UTF_8);
          private int pos;

          @Override
          public int read() {
            int b = line[pos];
            pos = (pos + 1) % line.length;
            return b;
          }
        };

    try (ItemReader reader = ItemReader.open("-", endless)) {
      for (int i = 0; i < 10_000; i++) {
        assertThat(reader.next().get("n").asInt()).isEqualTo(1);
      }
    }
  }

  private List<String> texts(String source) {
    List<String> out = new ArrayList<>();
    try (ItemReader reader = ItemReader.open(source, NO_STDIN)) {
      while (reader.hasNext()) {
        JsonNode n = reader.next();
        out.add(n.toString());
      }
    }
    return out;
  }

  private Path write(String name, String content) throws IOException {
    return Files.writeString(dir.resolve(name), content, StandardCharsets.UTF_8);
  }

  private static byte[] concat(byte[] a, byte[] b) {
    byte[] out = new byte[a.length + b.length];
    System.arraycopy(a, 0, out, 0, a.length);
    System.arraycopy(b, 0, out, a.length, b.length);
    return out;
  }
}
