/** A service that serves an ONNX model as a peer, written as a named module. */
module com.example.modular {
  requires io.bittensor.transport;
  requires io.bittensor.onnx;

  exports com.example.modular;
}
