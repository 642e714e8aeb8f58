package io.bittensor.onnx;

import com.google.protobuf.ByteString;
import io.bittensor.core.ForwardRequest;
import io.bittensor.core.ForwardResult;
import io.bittensor.core.Modality;
import io.bittensor.core.Tensor;
import io.bittensor.onnx.internal.ir.OnnxIr.GraphProto;
import io.bittensor.onnx.internal.ir.OnnxIr.ModelProto;
import io.bittensor.onnx.internal.ir.OnnxIr.NodeProto;
import io.bittensor.onnx.internal.ir.OnnxIr.OperatorSetIdProto;
import io.bittensor.onnx.internal.ir.OnnxIr.TensorProto;
import io.bittensor.onnx.internal.ir.OnnxIr.TensorShapeProto;
import io.bittensor.onnx.internal.ir.OnnxIr.TypeProto;
import io.bittensor.onnx.internal.ir.OnnxIr.ValueInfoProto;
import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.Random;

/** The real models the tests use, and tiny models generated from code. */
final class TestModels {
  static final String MINILM = "/all-minilm-l6-v2-q.onnx";
  static final String MINILM_TOKENIZER = "/all-minilm-l6-v2-q-tokenizer.json";
  static final String VAD = "/models/silero_vad_v5.onnx";
  static final String OCR = "/models/ch_ppocr_mobile_v2.0_cls_infer.onnx";
  static final String WAV = "/models/vad_test_16k.wav";

  private TestModels() {}

  static byte[] resource(String name) {
    try (InputStream in = TestModels.class.getResourceAsStream(name)) {
      if (in == null) {
        throw new IllegalStateException("test resource " + name + " is missing");
      }
      return in.readAllBytes();
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  /** The 16-bit mono samples of a canonical PCM wav, scaled to [-1, 1). */
  static float[] wavSamples(byte[] wav) {
    ByteBuffer b = ByteBuffer.wrap(wav).order(ByteOrder.LITTLE_ENDIAN);
    int at = 12;
    while (at + 8 <= wav.length) {
      int id = b.getInt(at);
      int size = b.getInt(at + 4);
      if (id == 0x61746164) { // "data"
        float[] out = new float[size / 2];
        for (int i = 0; i < out.length; i++) {
          out[i] = b.getShort(at + 8 + 2 * i) / 32768f;
        }
        return out;
      }
      at += 8 + size + (size & 1);
    }
    throw new IllegalArgumentException("no data chunk in the wav");
  }

  static ForwardResult forward(OnnxPeer peer, Modality m, Tensor x) {
    return peer.forward(new ForwardRequest(m, x)).join();
  }

  /**
   * A deliberately slow model: {@code input [batch, 512]} through {@code layers} MatMul + Tanh
   * with one shared 512 x 512 weight.
   */
  static byte[] slowModel(int layers) {
    GraphProto.Builder g = GraphProto.newBuilder().setName("slow");
    g.addInput(value("input", TensorProto.DataType.FLOAT_VALUE, "batch", 512));
    float[] w = new float[512 * 512];
    Random r = new Random(1);
    for (int i = 0; i < w.length; i++) {
      w[i] = (float) (r.nextGaussian() / Math.sqrt(512));
    }
    g.addInitializer(floats("w", w, 512, 512));
    String x = "input";
    for (int i = 0; i < layers; i++) {
      g.addNode(node("MatMul", "m" + i, x, "w"));
      String y = i + 1 == layers ? "output" : "t" + i;
      g.addNode(node("Tanh", y, "m" + i));
      x = y;
    }
    g.addOutput(value("output", TensorProto.DataType.FLOAT_VALUE, "batch", 512));
    return model(g);
  }

  /** {@code output = Flatten(input)}: input FLOAT of the given shape (null dims dynamic). */
  static byte[] flattenModel(Object... inputDims) {
    GraphProto.Builder g = GraphProto.newBuilder().setName("flatten");
    g.addInput(value("input", TensorProto.DataType.FLOAT_VALUE, inputDims));
    g.addNode(NodeProto.newBuilder().setOpType("Flatten").addInput("input").addOutput("output"));
    g.addOutput(value("output", TensorProto.DataType.FLOAT_VALUE, "batch", null));
    return model(g);
  }

  static byte[] model(GraphProto.Builder g) {
    return ModelProto.newBuilder().setIrVersion(8)
        .addOpsetImport(OperatorSetIdProto.newBuilder().setDomain("").setVersion(17))
        .setProducerName("bittensor-tests").setGraph(g).build().toByteArray();
  }

  static NodeProto node(String op, String out, String... in) {
    NodeProto.Builder b = NodeProto.newBuilder().setOpType(op).addOutput(out);
    for (String i : in) {
      b.addInput(i);
    }
    return b.build();
  }

  /** A value; dims are Integer sizes, String names or null (unnamed dynamic). */
  static ValueInfoProto value(String name, int type, Object... dims) {
    TensorShapeProto.Builder s = TensorShapeProto.newBuilder();
    for (Object d : dims) {
      TensorShapeProto.Dimension.Builder b = TensorShapeProto.Dimension.newBuilder();
      if (d instanceof Integer i) {
        b.setDimValue(i);
      } else if (d instanceof String n) {
        b.setDimParam(n);
      }
      s.addDim(b);
    }
    return ValueInfoProto.newBuilder().setName(name).setType(TypeProto.newBuilder()
        .setTensorType(TypeProto.Tensor.newBuilder().setElemType(type).setShape(s))).build();
  }

  static TensorProto longs(String name, long[] values, long... dims) {
    ByteBuffer b = ByteBuffer.allocate(values.length * 8).order(ByteOrder.LITTLE_ENDIAN);
    b.asLongBuffer().put(values);
    return tensor(name, TensorProto.DataType.INT64_VALUE, b, dims);
  }

  /**
   * {@code output = Expand(input, [1, width])}: input FLOAT {@code [batch, 1]}, output declared
   * {@code [batch, width]}, each row its sample {@code width} times; with {@code state}, also a
   * state input {@code h} FLOAT {@code [batch, 1]} passed through to {@code hN}.
   */
  static byte[] widenModel(int width, boolean state) {
    GraphProto.Builder g = GraphProto.newBuilder().setName("widen")
        .addInput(value("input", TensorProto.DataType.FLOAT_VALUE, "batch", 1))
        .addInitializer(longs("shape", new long[] {1, width}, 2))
        .addNode(node("Expand", "output", "input", "shape"))
        .addOutput(value("output", TensorProto.DataType.FLOAT_VALUE, "batch", width));
    if (state) {
      g.addInput(value("h", TensorProto.DataType.FLOAT_VALUE, "batch", 1))
          .addNode(node("Identity", "hN", "h"))
          .addOutput(value("hN", TensorProto.DataType.FLOAT_VALUE, "batch", 1));
    }
    return model(g);
  }

  static TensorProto floats(String name, float[] values, long... dims) {
    ByteBuffer b = ByteBuffer.allocate(values.length * 4).order(ByteOrder.LITTLE_ENDIAN);
    b.asFloatBuffer().put(values);
    return tensor(name, TensorProto.DataType.FLOAT_VALUE, b, dims);
  }

  private static TensorProto tensor(String name, int type, ByteBuffer littleEndian, long... dims) {
    TensorProto.Builder t = TensorProto.newBuilder().setName(name).setDataType(type)
        .setRawData(ByteString.copyFrom(littleEndian));
    for (long d : dims) {
      t.addDims(d);
    }
    return t.build();
  }
}
