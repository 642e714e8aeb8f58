/**
 * ONNX models as peers: {@code OnnxPeer} with its modality adapters, CPU or CUDA, and the ONNX
 * export of networks trained in Java.
 *
 * <p>Exports {@code io.bittensor.onnx}; its {@code internal} packages are not exported. The
 * generated ONNX messages are opened to protobuf, whose reflective accessors read them.
 */
// ONNX Runtime, DJL and protobuf are automatic modules, with stable Automatic-Module-Names.
@SuppressWarnings("requires-automatic")
module io.bittensor.onnx {
  requires transitive io.bittensor.core;
  requires com.microsoft.onnxruntime;
  requires ai.djl.tokenizers;
  requires com.google.protobuf;

  exports io.bittensor.onnx;
  opens io.bittensor.onnx.internal.ir to com.google.protobuf;
}
