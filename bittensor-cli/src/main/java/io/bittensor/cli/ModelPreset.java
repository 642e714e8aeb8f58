package io.bittensor.cli;

import io.bittensor.core.Modality;
import io.bittensor.onnx.OutputAdapter.Pooling;
import java.util.List;
import java.util.Locale;
import java.util.Objects;
import java.util.stream.Collectors;

/**
 * A model the CLI jar carries on its class path, with the settings that serve it well: {@code
 * peer serve --preset NAME} and {@code peer query --preset NAME} stand for the model, the
 * tokenizer and the options written out in {@link #spelledOut()}. Options given beside a preset
 * override its values.
 *
 * <p>To add a model: add its Maven artifact to {@code bittensor-cli/pom.xml} (runtime scope, all
 * transitive dependencies excluded) and one line to {@link #ALL}.
 *
 * @param name what {@code --preset} takes, lower case
 * @param model the model's class-path resource
 * @param tokenizer the class-path resource of its Hugging Face {@code tokenizer.json}
 * @param modality the modality served
 * @param maxLength the longest token sequence served (and the tokenizer's truncation)
 * @param pooling how the per-token output is pooled
 * @param normalize whether each answer row is scaled to unit length
 * @param outputDim the answer's last dimension (the model's native size)
 * @param about one line for the help text
 */
record ModelPreset(String name, String model, String tokenizer, Modality modality, int maxLength,
    Pooling pooling, boolean normalize, int outputDim, String about) {

  /** The presets, in the order the help lists them. */
  static final List<ModelPreset> ALL =
      List.of(
          new ModelPreset(
              "minilm",
              "/all-minilm-l6-v2-q.onnx",
              "/all-minilm-l6-v2-q-tokenizer.json",
              Modality.TEXT,
              256,
              Pooling.MEAN,
              true,
              384,
              "all-MiniLM-L6-v2, int8: sentence embeddings"));

  ModelPreset {
    Objects.requireNonNull(name, "name");
    Objects.requireNonNull(model, "model");
    Objects.requireNonNull(tokenizer, "tokenizer");
    Objects.requireNonNull(modality, "modality");
    Objects.requireNonNull(pooling, "pooling");
  }

  /**
   * The preset called {@code name}, case-insensitively.
   *
   * @throws IllegalArgumentException naming the presets there are
   */
  static ModelPreset named(String name) {
    String n = name.trim().toLowerCase(Locale.ROOT);
    return ALL.stream()
        .filter(p -> p.name.equals(n))
        .findFirst()
        .orElseThrow(
            () ->
                new IllegalArgumentException(
                    "--preset must be one of " + names() + ", was \"" + name + "\""));
  }

  /** The presets' names, comma-separated. */
  static String names() {
    return ALL.stream().map(ModelPreset::name).collect(Collectors.joining(", "));
  }

  /** The serve options this preset stands for. */
  String spelledOut() {
    return "--model "
        + ModelOptions.CLASSPATH
        + model
        + " --modality "
        + modality
        + " --max-length "
        + maxLength
        + " --pool "
        + pooling.name().toLowerCase(Locale.ROOT)
        + (normalize ? " --normalize" : "")
        + " --output-dim "
        + outputDim;
  }
}
