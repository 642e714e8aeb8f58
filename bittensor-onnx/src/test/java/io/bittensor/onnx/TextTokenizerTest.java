package io.bittensor.onnx;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import com.google.gson.JsonObject;
import com.google.gson.JsonParser;
import io.bittensor.core.Tensor;
import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The padding id a tokenizer.json names, and the ids it pads with. */
class TextTokenizerTest {
  private static JsonObject miniLm() throws IOException {
    try (InputStream in = TextTokenizerTest.class.getResourceAsStream(
        TestModels.MINILM_TOKENIZER)) {
      return JsonParser.parseString(new String(in.readAllBytes(), StandardCharsets.UTF_8))
          .getAsJsonObject();
    }
  }

  private static TextTokenizer tokenizer(JsonObject json) throws IOException {
    return TextTokenizer.from(
        new ByteArrayInputStream(json.toString().getBytes(StandardCharsets.UTF_8)), 32);
  }

  /** Each row: its own ids, then {@code padId} to the longest row. */
  private static void assertPaddedWith(long padId, TextTokenizer tok) {
    Tensor ids = tok.encode(List.of("a cat", "a much longer sentence about a dog"));
    Tensor alone = tok.encode(List.of("a cat"));
    int longest = ids.dim(1);
    assertEquals(true, alone.dim(1) < longest, "the first text is the shorter");
    for (int j = 0; j < longest; j++) {
      long expected = j < alone.dim(1) ? alone.asLongBuffer().get(j) : padId;
      assertEquals(expected, ids.asLongBuffer().get(j), "position " + j);
    }
  }

  @Test
  void aBertTokenizerPadsWithItsPadTokenZero() throws IOException {
    JsonObject json = miniLm();
    try (TextTokenizer tok = tokenizer(json)) {
      assertEquals(0, tok.padId());
      assertPaddedWith(0, tok);
    }
  }

  @Test
  void thePaddingAFileSetsIsTheOneItPadsWith() throws IOException {
    JsonObject json = miniLm();
    JsonObject padding = new JsonObject();
    padding.addProperty("strategy", "BatchLongest");
    padding.addProperty("direction", "Right");
    padding.add("pad_to_multiple_of", null);
    padding.addProperty("pad_id", 100);
    padding.addProperty("pad_type_id", 0);
    padding.addProperty("pad_token", "[UNK]");
    json.add("padding", padding);
    try (TextTokenizer tok = tokenizer(json)) {
      assertEquals(100, tok.padId()); // before: 0, a real token of such a model
      assertPaddedWith(100, tok);
    }
  }

  @Test
  void withoutPaddingThePadTokenIsLookedUpThenZero() {
    assertEquals(1, TextTokenizer.padIdOf(JsonParser.parseString(
        "{\"padding\": null, \"added_tokens\": [{\"id\": 0, \"content\": \"<s>\"},"
            + " {\"id\": 1, \"content\": \"<pad>\"}]}")));
    assertEquals(5, TextTokenizer.padIdOf(JsonParser.parseString(
        "{\"model\": {\"vocab\": {\"[CLS]\": 2, \"[PAD]\": 5}}}")));
    assertEquals(3, TextTokenizer.padIdOf(JsonParser.parseString(
        "{\"added_tokens\": [{\"id\": 3, \"content\": \"[PAD]\"}],"
            + " \"model\": {\"vocab\": {\"<pad>\": 9}}}")), "[PAD] is looked for first");
    assertEquals(0, TextTokenizer.padIdOf(JsonParser.parseString("{\"model\": {}}")));
  }

  @Test
  void aFileThatIsNoTokenizerIsAnIOException() {
    assertThrows(IOException.class, () -> TextTokenizer.from(
        new ByteArrayInputStream("[1, 2]".getBytes(StandardCharsets.UTF_8)), 32));
    assertThrows(IOException.class, () -> TextTokenizer.from(
        new ByteArrayInputStream("{\"padding\":".getBytes(StandardCharsets.UTF_8)), 32));
  }

  /** An ONNX file given as the tokenizer: not Gson's advice to read malformed JSON leniently. */
  @Test
  void aFileThatIsNotJsonSaysWhereItStopsBeingJson() {
    IOException e = assertThrows(IOException.class, () -> TextTokenizer.from(
        new ByteArrayInputStream("<html>not a tokenizer</html>"
            .getBytes(StandardCharsets.UTF_8)), 32));
    assertEquals("not a usable tokenizer.json: not JSON (at line 1 column 12)", e.getMessage());
    // Gson reads a lone word as a string, and quoted all of it when it was not an object.
    e = assertThrows(IOException.class, () -> TextTokenizer.from(
        new ByteArrayInputStream("\b\u0012\u000ebittensor-java\u0000model"
            .getBytes(StandardCharsets.UTF_8)), 32));
    assertEquals("not a usable tokenizer.json: not a JSON object", e.getMessage());
  }

  /** A folder given as the tokenizer file is named a folder: it read "Is a directory", no path. */
  @Test
  void aFolderGivenAsTheTokenizerFileIsSaidToBeAFolder(@TempDir Path dir) {
    IOException e = assertThrows(IOException.class, () -> TextTokenizer.fromFile(dir, 32));
    assertEquals("tokenizer file " + dir + " is a folder; give the tokenizer.json in it",
        e.getMessage());
  }
}
