package io.bittensor.onnx;

import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;

/**
 * What a loaded model declares: its inputs and outputs (name, element type, shape with dynamic
 * dimensions as -1 and their names) and its metadata. Read from the ONNX Runtime session when a
 * peer is built, and checked there against the adapter.
 *
 * <pre>{@code
 * OnnxPeer peer = OnnxPeer.builder().model(Path.of("model.onnx"))...build();
 * ModelInfo info = peer.modelInfo();
 * ModelInfo.Port ids = info.input("input_ids").orElseThrow();   // INT64 [-1, -1]
 * String producer = info.producer();
 * }</pre>
 *
 * <p>Immutable and thread-safe.
 *
 * @param inputs the model's inputs in declaration order
 * @param outputs the model's outputs in declaration order
 * @param producer the producer name recorded in the file, or empty
 * @param version the model version recorded in the file ({@code model_version}), or 0, ONNX's
 *     default, when it records none
 * @param metadata the custom metadata recorded in the file (unmodifiable)
 */
public record ModelInfo(
    List<Port> inputs,
    List<Port> outputs,
    String producer,
    long version,
    Map<String, String> metadata) {
  /** Copies the lists and the map; refuses nulls. */
  public ModelInfo {
    inputs = List.copyOf(inputs);
    outputs = List.copyOf(outputs);
    Objects.requireNonNull(producer, "producer");
    metadata = Map.copyOf(metadata);
  }

  /** The input named {@code name}, if the model has one. */
  public Optional<Port> input(String name) {
    return inputs.stream().filter(p -> p.name().equals(name)).findFirst();
  }

  /** The output named {@code name}, if the model has one. */
  public Optional<Port> output(String name) {
    return outputs.stream().filter(p -> p.name().equals(name)).findFirst();
  }

  /**
   * One input or output of a model.
   *
   * @param name its name in the graph
   * @param type its element type as ONNX Runtime names it ({@code FLOAT}, {@code INT64}, {@code
   *     UINT8}, ...)
   * @param shape its dimensions, -1 where dynamic; a copy is kept
   * @param dimNames the symbolic names of its dimensions, empty strings where unnamed; a copy is
   *     kept
   */
  public record Port(String name, String type, long[] shape, List<String> dimNames) {
    /** Copies the shape and names; refuses nulls. */
    public Port {
      Objects.requireNonNull(name, "name");
      Objects.requireNonNull(type, "type");
      shape = shape.clone();
      dimNames = List.copyOf(dimNames);
    }

    /** A copy of the dimensions, -1 where dynamic. */
    @Override
    public long[] shape() {
      return shape.clone();
    }

    /** The number of dimensions. */
    public int rank() {
      return shape.length;
    }

    /** Dimension {@code axis}, -1 when dynamic. */
    public long dim(int axis) {
      return shape[axis];
    }

    /** Equal when name, type, shape and names are equal. */
    @Override
    public boolean equals(Object o) {
      return o instanceof Port p
          && name.equals(p.name)
          && type.equals(p.type)
          && Arrays.equals(shape, p.shape)
          && dimNames.equals(p.dimNames);
    }

    @Override
    public int hashCode() {
      return Objects.hash(name, type, Arrays.hashCode(shape), dimNames);
    }

    /** E.g. {@code input_ids INT64 [batch_size, sequence_length]}. */
    @Override
    public String toString() {
      StringBuilder b = new StringBuilder(name).append(' ').append(type).append(" [");
      for (int i = 0; i < shape.length; i++) {
        if (i > 0) {
          b.append(", ");
        }
        String n = i < dimNames.size() ? dimNames.get(i) : "";
        b.append(shape[i] >= 0 ? Long.toString(shape[i]) : n.isEmpty() ? "?" : n);
      }
      return b.append(']').toString();
    }
  }
}
