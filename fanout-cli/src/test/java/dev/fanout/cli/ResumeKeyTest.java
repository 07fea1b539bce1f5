package dev.fanout.cli;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Iterator;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class ResumeKeyTest {

  @TempDir Path dir;

  private final ObjectNode identity = Json.object().put("exec", "echo {}").put("maxAttempts", 3);

  @Test
  void the_same_items_give_the_same_key_whatever_their_form() throws IOException {
    ResumeKey array = key(identity, file("a.json", "[1, {\"b\": 2}]"));
    ResumeKey ndjson = key(identity, file("b.ndjson", "1\n\n{ \"b\" :2 }\n"));

    assertThat(ndjson).isEqualTo(array);
    assertThat(array.key()).startsWith(ResumeKey.PREFIX).hasSizeLessThanOrEqualTo(255);
    assertThat(array.items()).isEqualTo(2);
  }

  @Test
  void another_item_or_another_option_gives_another_key() throws IOException {
    ResumeKey base = key(identity, file("a.json", "[1, 2]"));

    assertThat(key(identity, file("b.json", "[1, 3]")).key()).isNotEqualTo(base.key());
    assertThat(key(identity, file("c.json", "[2, 1]")).key()).isNotEqualTo(base.key());
    assertThat(key(identity.deepCopy().put("maxAttempts", 4), file("d.json", "[1, 2]")).key())
        .isNotEqualTo(base.key());
  }

  @Test
  void a_spool_holds_the_items_to_read_them_again() throws IOException {
    Path spool = dir.resolve("spool.ndjson");
    InputStream stdin = InputStream.nullInputStream();

    ResumeKey key;
    try (ItemReader reader =
        ItemReader.open(file("a.json", "[\"x\", [1, 2], null]").toString(), stdin)) {
      key = ResumeKey.of(identity, reader, spool);
    }

    assertThat(Files.readAllLines(spool, StandardCharsets.UTF_8))
        .containsExactly("\"x\"", "[1,2]", "null");
    assertThat(key(identity, spool)).isEqualTo(key);
  }

  private ResumeKey key(ObjectNode identity, Path items) {
    try (ItemReader reader = ItemReader.open(items.toString(), InputStream.nullInputStream())) {
      Iterator<JsonNode> it = reader;
      return ResumeKey.of(identity, it, null);
    }
  }

  private Path file(String name, String content) throws IOException {
    return Files.writeString(dir.resolve(name), content, StandardCharsets.UTF_8);
  }
}
