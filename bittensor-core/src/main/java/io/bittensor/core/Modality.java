package io.bittensor.core;

import java.util.Optional;
import java.util.Set;

/**
 * The kind of input a peer accepts; the network is partitioned by modality (paper, section 6).
 *
 * <p>Every input follows one layout, {@code [batch, sequence, ...features]}: dimension 0 is the
 * batch, dimension 1 the sequence, and the answer is always {@code [batch, sequence, outputDim]}
 * float32 (see {@link TensorStandard}). Each modality fixes the rank and the element types it
 * accepts:
 *
 * <table>
 *   <caption>Input layouts</caption>
 *   <tr><th>modality</th><th>input shape</th><th>element types</th></tr>
 *   <tr><td>TEXT</td><td>[batch, sequence] token ids</td><td>INT64</td></tr>
 *   <tr><td>IMAGE</td><td>[batch, sequence, channels, height, width]; one picture has sequence
 *       1</td><td>UINT8 (raw pixels) or FLOAT32</td></tr>
 *   <tr><td>SPEECH</td><td>[batch, sequence, samplesPerStep]; raw audio has sequence 1</td>
 *       <td>FLOAT32</td></tr>
 *   <tr><td>TENSOR</td><td>[batch, sequence, inputDim]</td><td>FLOAT32</td></tr>
 * </table>
 *
 * <pre>{@code
 * Modality m = Modality.TEXT;
 * boolean ok = m.accepts(DType.INT64);    // true
 * int wire = m.code();                    // 1, stable across versions
 * }</pre>
 *
 * <p>Immutable and thread-safe.
 */
public enum Modality {
  /** Token ids, {@code [batch, sequence]} INT64. */
  TEXT(1, 2, Set.of(DType.INT64)),
  /** Pixels, {@code [batch, sequence, channels, height, width]} UINT8 or FLOAT32. */
  IMAGE(2, 5, Set.of(DType.UINT8, DType.FLOAT32)),
  /** Audio samples, {@code [batch, sequence, samplesPerStep]} FLOAT32. */
  SPEECH(3, 3, Set.of(DType.FLOAT32)),
  /** Dense features, {@code [batch, sequence, inputDim]} FLOAT32. */
  TENSOR(4, 3, Set.of(DType.FLOAT32));

  private final int code;
  private final int inputRank;
  private final Set<DType> inputTypes;

  Modality(int code, int inputRank, Set<DType> inputTypes) {
    this.code = code;
    this.inputRank = inputRank;
    this.inputTypes = inputTypes;
  }

  /** The stable number of this modality on the wire (TEXT 1, IMAGE 2, SPEECH 3, TENSOR 4). */
  public int code() {
    return code;
  }

  /** The rank every input of this modality has. */
  public int inputRank() {
    return inputRank;
  }

  /** The element types an input of this modality may have (unmodifiable). */
  public Set<DType> inputTypes() {
    return inputTypes;
  }

  /** True when an input of this modality may have elements of type {@code dtype}. */
  public boolean accepts(DType dtype) {
    return inputTypes.contains(dtype);
  }

  /**
   * The modality with the given wire code.
   *
   * @return empty for a code this version does not know (0, or one added by a newer version)
   */
  public static Optional<Modality> ofCode(int code) {
    for (Modality m : values()) {
      if (m.code == code) {
        return Optional.of(m);
      }
    }
    return Optional.empty();
  }
}
