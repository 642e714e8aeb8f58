/**
 * ONNX models as peers: {@code OnnxPeer} with its modality adapters, CPU or CUDA, and the ONNX
 * export of networks trained in Java.
 *
 * <p>Exports {@code io.bittensor.onnx}; its {@code internal} packages are not exported. The
 * generated ONNX messages are opened to protobuf, whose reflective accessors read them.
 */
@SuppressWarnings("requires-automatic") // ONNX Runtime, DJL, protobuf: stable Automatic-Module-Names
module io.bittensor.onnx {
  requires transitive io.bittensor.core;
  requires com.microsoft.onnxruntime;
  requires ai.djl.tokenizers;
  requires com.google.protobuf;

  exports io.bittensor.onnx;
  opens io.bittensor.onnx.internal.ir to com.google.protobuf;
}
