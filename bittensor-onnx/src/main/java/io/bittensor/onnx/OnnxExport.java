package io.bittensor.onnx;

import com.google.protobuf.ByteString;
import io.bittensor.core.Modality;
import io.bittensor.core.internal.DurableFiles;
import io.bittensor.onnx.internal.ir.OnnxIr.AttributeProto;
import io.bittensor.onnx.internal.ir.OnnxIr.GraphProto;
import io.bittensor.onnx.internal.ir.OnnxIr.ModelProto;
import io.bittensor.onnx.internal.ir.OnnxIr.NodeProto;
import io.bittensor.onnx.internal.ir.OnnxIr.OperatorSetIdProto;
import io.bittensor.onnx.internal.ir.OnnxIr.StringStringEntryProto;
import io.bittensor.onnx.internal.ir.OnnxIr.TensorProto;
import io.bittensor.onnx.internal.ir.OnnxIr.TensorShapeProto;
import io.bittensor.onnx.internal.ir.OnnxIr.TypeProto;
import io.bittensor.onnx.internal.ir.OnnxIr.ValueInfoProto;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Objects;

/**
 * Writes an {@link Mlp} as an ONNX model (IR version 8, opset 17) that ONNX Runtime, and so an
 * {@link OnnxPeer}, can load: input {@code input} FLOAT {@code [batch, inputDim]} (or {@code
 * [batch, sequence, inputDim]}) with a named dynamic batch axis, output {@code output}, dense
 * layers as {@code Gemm} (or {@code MatMul} + {@code Add}), {@code Relu}, {@code Tanh}, {@code
 * Softmax} and {@code LayerNormalization}, and metadata: the producer, the model version, the
 * peer's modality and output size.
 *
 * <pre>{@code
 * Mlp student = Mlp.random(new int[] {64, 128, 32}, Mlp.Activation.RELU, 42);
 * OnnxExport.write(student, OnnxExport.Options.defaults().withModelVersion(3),
 *     Path.of("student.onnx"));
 * try (OnnxPeer peer = OnnxPeer.builder().model(Path.of("student.onnx"))
 *     .modality(Modality.TENSOR).outputDim(32).build()) { ... }
 * }</pre>
 *
 * <p>Stateless and thread-safe.
 */
public final class OnnxExport {
  /** The producer name written into every model. */
  public static final String PRODUCER = "bittensor-java";
  /** Metadata key: the modality the model's peer serves. */
  public static final String MODALITY_KEY = "bittensor.modality";
  /** Metadata key: the network output size the model's peer answers with. */
  public static final String OUTPUT_DIM_KEY = "bittensor.outputDim";
  /** The dynamic batch axis's name. */
  public static final String BATCH_AXIS = "batch";
  /** The dynamic sequence axis's name, when there is one. */
  public static final String SEQUENCE_AXIS = "sequence";

  private static final int IR_VERSION = 8;
  private static final int OPSET = 17;
  /** The most bytes of parameters: a model is one protobuf message (2 GiB), less the graph's. */
  static final long MAX_MODEL_BYTES = Integer.MAX_VALUE - (1L << 20);

  private OnnxExport() {}

  /**
   * What to write besides the network.
   *
   * @param modality the modality recorded in the metadata
   * @param outputDim the network output size recorded, {@code >= 0}; 0 for the network's own
   * @param modelVersion the model version recorded
   * @param sequenceAxis true for a {@code [batch, sequence, features]} input (then dense layers
   *     are {@code MatMul} + {@code Add}); false for {@code [batch, features]}
   * @param gemm write dense layers of a rank-2 model as {@code Gemm}; false for {@code MatMul} +
   *     {@code Add}
   * @param docString a description recorded in the model
   */
  public record Options(
      Modality modality,
      int outputDim,
      long modelVersion,
      boolean sequenceAxis,
      boolean gemm,
      String docString) {
    /** Checks the values. */
    public Options {
      Objects.requireNonNull(modality, "modality");
      Objects.requireNonNull(docString, "docString");
      if (outputDim < 0) {
        throw new IllegalArgumentException(
            "outputDim must be >= 0 (0: the network's), was " + outputDim);
      }
    }

    /** TENSOR, the network's output size, version 1, rank-2 input, Gemm. */
    public static Options defaults() {
      return new Options(Modality.TENSOR, 0, 1, false, true, "");
    }

    /** These options with another model version. */
    public Options withModelVersion(long version) {
      return new Options(modality, outputDim, version, sequenceAxis, gemm, docString);
    }

    /** These options with a sequence axis (or without). */
    public Options withSequenceAxis(boolean on) {
      return new Options(modality, outputDim, modelVersion, on, gemm, docString);
    }

    /** These options writing dense layers as Gemm (or MatMul + Add). */
    public Options withGemm(boolean on) {
      return new Options(modality, outputDim, modelVersion, sequenceAxis, on, docString);
    }

    /** These options recording another network output size. */
    public Options withOutputDim(int dim) {
      return new Options(modality, dim, modelVersion, sequenceAxis, gemm, docString);
    }
  }

  /**
   * The model as ONNX bytes.
   *
   * @throws IllegalArgumentException if its parameters are more than one ONNX file holds (about
   *     2 GiB), naming the tensor that goes past
   */
  public static byte[] toBytes(Mlp mlp, Options options) {
    return model(mlp, options).toByteArray();
  }

  /**
   * Writes the model to {@code file}, whole or not at all (a temporary file in the same folder,
   * forced to disk, then moved), so a reader never sees half a model, not even after a crash.
   *
   * @throws IOException if the file cannot be written (or is a folder); {@code file} is then as
   *     it was
   * @throws IllegalArgumentException as {@link #toBytes}; nothing is written
   */
  public static void write(Mlp mlp, Options options, Path file) throws IOException {
    if (Files.isDirectory(file)) { // else its move into place fails, naming a temporary file
      throw new IOException(file + " is a folder; give the model's file name");
    }
    DurableFiles.replace(file, toBytes(mlp, options));
  }

  private static ModelProto model(Mlp mlp, Options o) {
    long bytes = 0; // checked first: a tensor past 2 GiB wrapped an int, and copies were made
    int k = 0;
    for (Mlp.Layer layer : mlp.layers()) {
      if (layer instanceof Mlp.Dense d) {
        bytes = plusTensor(bytes, "dense" + k + ".weight", d.in(), d.out());
        bytes = plusTensor(bytes, "dense" + k + ".bias", 1, d.out());
      } else if (layer instanceof Mlp.LayerNorm l) {
        bytes = plusTensor(bytes, "norm" + k + ".scale and .bias", 2, l.gamma().length);
      }
      k++;
    }
    GraphProto.Builder g = GraphProto.newBuilder().setName("mlp");
    g.addInput(value("input", mlp.inputDim(), o.sequenceAxis()));
    String x = "input";
    int n = 0;
    for (Mlp.Layer layer : mlp.layers()) {
      String y = n + 1 == mlp.layers().size() ? "output" : "h" + n;
      if (layer instanceof Mlp.Dense d) {
        String w = "dense" + n + ".weight";
        String b = "dense" + n + ".bias";
        g.addInitializer(floats(w, d.weights(), d.in(), d.out()));
        g.addInitializer(floats(b, d.bias(), d.out()));
        if (o.gemm() && !o.sequenceAxis()) {
          g.addNode(node("Gemm", "gemm" + n, y, x, w, b));
        } else {
          String m = "matmul" + n;
          g.addNode(node("MatMul", m, m + ".out", x, w));
          g.addNode(node("Add", "add" + n, y, m + ".out", b));
        }
      } else if (layer instanceof Mlp.LayerNorm l) {
        String s = "norm" + n + ".scale";
        String b = "norm" + n + ".bias";
        g.addInitializer(floats(s, l.gamma(), l.gamma().length));
        g.addInitializer(floats(b, l.beta(), l.beta().length));
        g.addNode(node("LayerNormalization", "norm" + n, y, x, s, b).toBuilder()
            .addAttribute(intAttr("axis", -1)).addAttribute(floatAttr("epsilon", l.epsilon())));
      } else {
        Mlp.Activation a = (Mlp.Activation) layer;
        NodeProto.Builder node =
            switch (a) {
              case RELU -> node("Relu", "relu" + n, y, x).toBuilder();
              case TANH -> node("Tanh", "tanh" + n, y, x).toBuilder();
              case SOFTMAX ->
                  node("Softmax", "softmax" + n, y, x).toBuilder()
                      .addAttribute(intAttr("axis", -1));
            };
        g.addNode(node);
      }
      x = y;
      n++;
    }
    if (mlp.layers().isEmpty()) {
      g.addNode(node("Identity", "identity", "output", "input"));
    }
    g.addOutput(value("output", mlp.outputDim(), o.sequenceAxis()));
    int networkDim = o.outputDim() == 0 ? mlp.outputDim() : o.outputDim();
    return ModelProto.newBuilder()
        .setIrVersion(IR_VERSION)
        .addOpsetImport(OperatorSetIdProto.newBuilder().setDomain("").setVersion(OPSET))
        .setProducerName(PRODUCER)
        .setProducerVersion(version())
        .setModelVersion(o.modelVersion())
        .setDocString(o.docString())
        .setGraph(g)
        .addMetadataProps(entry(MODALITY_KEY, o.modality().name()))
        .addMetadataProps(entry(OUTPUT_DIM_KEY, Integer.toString(networkDim)))
        .build();
  }

  private static String version() {
    String v = OnnxExport.class.getPackage().getImplementationVersion();
    return v == null ? "dev" : v;
  }

  private static StringStringEntryProto entry(String key, String value) {
    return StringStringEntryProto.newBuilder().setKey(key).setValue(value).build();
  }

  private static NodeProto node(String op, String name, String output, String... inputs) {
    NodeProto.Builder b = NodeProto.newBuilder().setOpType(op).setName(name).addOutput(output);
    for (String i : inputs) {
      b.addInput(i);
    }
    return b.build();
  }

  private static AttributeProto intAttr(String name, long value) {
    return AttributeProto.newBuilder()
        .setName(name)
        .setType(AttributeProto.AttributeType.INT)
        .setI(value)
        .build();
  }

  private static AttributeProto floatAttr(String name, float value) {
    return AttributeProto.newBuilder()
        .setName(name)
        .setType(AttributeProto.AttributeType.FLOAT)
        .setF(value)
        .build();
  }

  private static ValueInfoProto value(String name, int features, boolean sequence) {
    TensorShapeProto.Builder shape = TensorShapeProto.newBuilder()
        .addDim(TensorShapeProto.Dimension.newBuilder().setDimParam(BATCH_AXIS));
    if (sequence) {
      shape.addDim(TensorShapeProto.Dimension.newBuilder().setDimParam(SEQUENCE_AXIS));
    }
    shape.addDim(TensorShapeProto.Dimension.newBuilder().setDimValue(features));
    TypeProto type = TypeProto.newBuilder().setTensorType(TypeProto.Tensor.newBuilder()
        .setElemType(TensorProto.DataType.FLOAT_VALUE).setShape(shape)).build();
    return ValueInfoProto.newBuilder().setName(name).setType(type).build();
  }

  private static TensorProto floats(String name, float[][] rows, int in, int out) {
    ByteBuffer b = ByteBuffer.allocate(Math.toIntExact(4L * in * out))
        .order(ByteOrder.LITTLE_ENDIAN);
    for (float[] row : rows) {
      for (float f : row) {
        b.putFloat(f);
      }
    }
    return tensor(name, b, in, out);
  }

  /**
   * {@code total} plus the bytes of tensor {@code name}, {@code rows x cols} floats, counted in
   * {@code long}: past what one ONNX file holds, refused naming the tensor, before it is copied.
   *
   * @throws IllegalArgumentException past {@link #MAX_MODEL_BYTES}
   */
  static long plusTensor(long total, String name, long rows, long cols) {
    long bytes = 4 * rows * cols; // < 2^33: rows and cols are ints
    if (total + bytes > MAX_MODEL_BYTES) {
      throw new IllegalArgumentException("tensor " + name + " [" + rows + ", " + cols + "] of "
          + bytes + " bytes takes the model to " + (total + bytes) + " bytes, more than one ONNX"
          + " file holds (" + MAX_MODEL_BYTES + " bytes, within protobuf's 2 GiB); export"
          + " smaller layers");
    }
    return total + bytes;
  }

  private static TensorProto floats(String name, float[] values, int size) {
    ByteBuffer b = ByteBuffer.allocate(size * 4).order(ByteOrder.LITTLE_ENDIAN);
    for (float f : values) {
      b.putFloat(f);
    }
    return tensor(name, b, size);
  }

  private static TensorProto tensor(String name, ByteBuffer littleEndian, long... dims) {
    littleEndian.flip();
    TensorProto.Builder t =
        TensorProto.newBuilder()
            .setName(name)
            .setDataType(TensorProto.DataType.FLOAT_VALUE)
            .setRawData(ByteString.copyFrom(littleEndian));
    for (long d : dims) {
      t.addDims(d);
    }
    return t.build();
  }
}
