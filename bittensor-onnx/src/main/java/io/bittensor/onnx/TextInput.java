package io.bittensor.onnx;

import io.bittensor.core.Modality;
import java.util.Objects;

/**
 * TEXT input: token ids {@code [batch, sequence]} INT64, as the network carries them, fed to a
 * transformer's {@code input_ids}, with the {@code attention_mask} (1 where the id is not the
 * padding id) and {@code token_type_ids} (all 0) made from them when the model takes those. Ids
 * come from a {@link TextTokenizer} on the caller's side.
 *
 * <pre>{@code
 * TextInput in = TextInput.bert().withMaxLength(256).withVocabularySize(30522);
 * }</pre>
 *
 * <p>Requests longer than {@link #maxLength()} are refused with {@code BAD_SHAPE} naming the
 * limit (the tokenizer truncates before that); ids outside {@code [0, vocabularySize)} are refused
 * with {@code BAD_REQUEST} when the vocabulary size is known. Immutable and thread-safe.
 *
 * @param idsName the model input that takes the ids
 * @param maskName the model input that takes the attention mask; fed only if the model has it
 * @param typeIdsName the model input that takes the token type ids; fed only if the model has it
 * @param padId the padding id, masked out of the attention mask and of mean pooling
 * @param maxLength the longest sequence accepted, {@code >= 1}
 * @param vocabularySize ids must be below it; 0 when unknown (not checked)
 */
public record TextInput(
    String idsName,
    String maskName,
    String typeIdsName,
    long padId,
    int maxLength,
    long vocabularySize)
    implements InputAdapter {
  /** Checks the names and limits. */
  public TextInput {
    Objects.requireNonNull(idsName, "idsName");
    Objects.requireNonNull(maskName, "maskName");
    Objects.requireNonNull(typeIdsName, "typeIdsName");
    if (maxLength < 1) {
      throw new IllegalArgumentException("maxLength must be >= 1, was " + maxLength);
    }
    if (vocabularySize < 0) {
      throw new IllegalArgumentException(
          "vocabularySize must be >= 0 (0: unknown), was " + vocabularySize);
    }
  }

  /**
   * The BERT family's inputs ({@code input_ids}, {@code attention_mask}, {@code token_type_ids}),
   * padding id 0, at most 512 tokens.
   */
  public static TextInput bert() {
    return new TextInput("input_ids", "attention_mask", "token_type_ids", 0, 512, 0);
  }

  /** This adapter with another maximum length. */
  public TextInput withMaxLength(int maxLength) {
    return new TextInput(idsName, maskName, typeIdsName, padId, maxLength, vocabularySize);
  }

  /** This adapter with another padding id. */
  public TextInput withPadId(long padId) {
    return new TextInput(idsName, maskName, typeIdsName, padId, maxLength, vocabularySize);
  }

  /** This adapter checking ids against a vocabulary of {@code size} tokens. */
  public TextInput withVocabularySize(long size) {
    return new TextInput(idsName, maskName, typeIdsName, padId, maxLength, size);
  }

  /** This adapter with other model input names. */
  public TextInput withNames(String idsName, String maskName, String typeIdsName) {
    return new TextInput(idsName, maskName, typeIdsName, padId, maxLength, vocabularySize);
  }

  /** {@link Modality#TEXT}. */
  @Override
  public Modality modality() {
    return Modality.TEXT;
  }
}
