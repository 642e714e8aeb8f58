package io.bittensor.onnx;

import ai.djl.huggingface.tokenizers.Encoding;
import ai.djl.huggingface.tokenizers.HuggingFaceTokenizer;
import io.bittensor.core.Tensor;
import com.google.gson.JsonElement;
import com.google.gson.JsonObject;
import com.google.gson.JsonParseException;
import com.google.gson.JsonParser;
import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Turns text into the TEXT modality's token ids with a Hugging Face {@code tokenizer.json}
 * (through DJL's tokenizers, which run offline): special tokens added, truncated to {@code
 * maxLength}, padded with the padding id to the longest text of the batch.
 *
 * <pre>{@code
 * Peer peer = ...;
 * try (TextTokenizer tok = TextTokenizer.fromResource("/all-minilm-l6-v2-q-tokenizer.json", 256)) {
 *   Tensor ids = tok.encode(List.of("The cat sat.", "A dog ran away."));   // INT64 [2, longest]
 *   peer.forward(new ForwardRequest(Modality.TEXT, ids));
 * }
 * }</pre>
 *
 * <p>Thread-safe (the native tokenizer is). Holds native memory: close it; {@code close()} is
 * idempotent.
 */
public final class TextTokenizer implements AutoCloseable {
  private final HuggingFaceTokenizer tokenizer;
  private final int maxLength;
  private final long padId;
  private boolean closed;

  private TextTokenizer(HuggingFaceTokenizer tokenizer, int maxLength, long padId) {
    this.tokenizer = tokenizer;
    this.maxLength = maxLength;
    this.padId = padId;
  }

  /**
   * A tokenizer from a {@code tokenizer.json} stream (not closed here), padding with the id the
   * file names ({@link #padId()}).
   *
   * @param maxLength the most tokens per text, special tokens included; {@code >= 2}
   * @throws IOException if the stream cannot be read or is not a tokenizer
   * @throws IllegalArgumentException if {@code maxLength < 2}
   */
  public static TextTokenizer from(InputStream json, int maxLength) throws IOException {
    Objects.requireNonNull(json, "json");
    if (maxLength < 2) {
      throw new IllegalArgumentException(
          "maxLength must be >= 2 (room for special tokens), was " + maxLength);
    }
    Map<String, String> options = Map.of(
        "padding", "false",
        "truncation", "true",
        "maxLength", Integer.toString(maxLength),
        "addSpecialTokens", "true");
    byte[] bytes = json.readAllBytes(); // read twice: by the native tokenizer, and for its padding
    long padId;
    try {
      JsonElement parsed = JsonParser.parseString(new String(bytes, StandardCharsets.UTF_8));
      if (!parsed.isJsonObject()) { // Gson's message would quote all of it
        throw new IOException("not a usable tokenizer.json: not a JSON object");
      }
      padId = padIdOf(parsed);
    } catch (JsonParseException e) {
      // Gson's own words advise a lenient reader and a web page: where is all one needs.
      Matcher at = Pattern.compile("at line \\d+ column \\d+").matcher(String.valueOf(
          e.getMessage()));
      throw new IOException("not a usable tokenizer.json: not JSON"
          + (at.find() ? " (" + at.group() + ")" : ""), e);
    } catch (RuntimeException e) {
      throw new IOException("not a usable tokenizer.json: " + e.getMessage(), e);
    }
    try {
      return new TextTokenizer(
          HuggingFaceTokenizer.newInstance(new ByteArrayInputStream(bytes), options), maxLength,
          padId);
    } catch (RuntimeException e) {
      throw new IOException("not a usable tokenizer.json: " + e.getMessage(), e);
    }
  }

  /** Padding tokens by name, in the order they are looked for when the file sets no padding. */
  private static final List<String> PAD_TOKENS = List.of("[PAD]", "<pad>");

  /**
   * The padding id a {@code tokenizer.json} names: its padding's {@code pad_id}; else the id of a
   * padding token ({@code [PAD]}, {@code <pad>}) among its added tokens or its model's vocabulary;
   * else 0. A model of the RoBERTa family pads with 1 ({@code <pad>}), and its 0 is a real token.
   */
  static long padIdOf(JsonElement file) {
    JsonObject root = file.getAsJsonObject();
    JsonElement padding = root.get("padding");
    if (padding != null && padding.isJsonObject() && padding.getAsJsonObject().has("pad_id")) {
      return padding.getAsJsonObject().get("pad_id").getAsLong();
    }
    for (String token : PAD_TOKENS) {
      JsonElement added = root.get("added_tokens");
      if (added != null && added.isJsonArray()) {
        for (JsonElement t : added.getAsJsonArray()) {
          JsonObject o = t.getAsJsonObject();
          if (o.has("content") && token.equals(o.get("content").getAsString())) {
            return o.get("id").getAsLong();
          }
        }
      }
      JsonElement model = root.get("model");
      JsonElement vocab = model != null && model.isJsonObject()
          ? model.getAsJsonObject().get("vocab") : null;
      if (vocab != null && vocab.isJsonObject() && vocab.getAsJsonObject().has(token)) {
        return vocab.getAsJsonObject().get(token).getAsLong();
      }
    }
    return 0;
  }

  /**
   * A tokenizer from a {@code tokenizer.json} file.
   *
   * @throws IOException if the file cannot be read or is not a tokenizer
   */
  public static TextTokenizer fromFile(Path json, int maxLength) throws IOException {
    if (Files.isDirectory(json)) { // the JDK's "Is a directory" names no path
      throw new IOException("tokenizer file " + json + " is a folder; give the tokenizer.json"
          + " in it");
    }
    try (InputStream in = Files.newInputStream(json)) {
      return from(in, maxLength);
    }
  }

  /**
   * A tokenizer from a class-path resource, looked up through the thread's context class loader
   * (or this library's when there is none), as {@link OnnxPeer.Builder#modelResource} does.
   *
   * @throws IOException if the resource is missing or is not a tokenizer
   */
  public static TextTokenizer fromResource(String name, int maxLength) throws IOException {
    String n = name.startsWith("/") ? name.substring(1) : name;
    ClassLoader loader = Thread.currentThread().getContextClassLoader();
    try (InputStream in =
        (loader != null ? loader : TextTokenizer.class.getClassLoader()).getResourceAsStream(n)) {
      if (in == null) {
        throw new IOException("tokenizer resource " + name + " is not on the class path");
      }
      return from(in, maxLength);
    }
  }

  /**
   * Token ids for each text, {@code [texts.size(), longest]} INT64, padded with the padding id.
   *
   * @param texts at least one; not modified
   * @throws IllegalArgumentException if {@code texts} is empty
   * @throws IllegalStateException if closed
   */
  public Tensor encode(List<String> texts) {
    if (texts.isEmpty()) {
      throw new IllegalArgumentException("texts must not be empty");
    }
    long[][] ids = new long[texts.size()][];
    synchronized (this) {
      if (closed) {
        throw new IllegalStateException("tokenizer is closed");
      }
      Encoding[] encodings = tokenizer.batchEncode(texts);
      for (int i = 0; i < ids.length; i++) {
        ids[i] = encodings[i].getIds();
      }
    }
    int longest = 1;
    for (long[] row : ids) {
      longest = Math.max(longest, row.length);
    }
    long[] flat = new long[ids.length * longest];
    java.util.Arrays.fill(flat, padId);
    for (int i = 0; i < ids.length; i++) {
      System.arraycopy(ids[i], 0, flat, i * longest, ids[i].length);
    }
    return Tensor.ofLongs(flat, ids.length, longest);
  }

  /** The most tokens per text. */
  public int maxLength() {
    return maxLength;
  }

  /**
   * The padding id: the one the {@code tokenizer.json} sets, or of its {@code [PAD]} or {@code
   * <pad>} token, else 0. A peer serving the model must mask the same id ({@link
   * TextInput#withPadId}).
   */
  public long padId() {
    return padId;
  }

  /** Frees the native tokenizer; idempotent. */
  @Override
  public synchronized void close() {
    if (!closed) {
      closed = true;
      tokenizer.close();
    }
  }
}
