/**
 * ONNX models as peers, and multi-layer perceptrons written out as ONNX.
 *
 * <p>{@link io.bittensor.onnx.OnnxPeer} wraps a model file as a {@link io.bittensor.core.Peer}:
 * an {@link io.bittensor.onnx.InputAdapter} per modality ({@link io.bittensor.onnx.TextInput},
 * {@link io.bittensor.onnx.ImageInput}, {@link io.bittensor.onnx.SpeechInput}, {@link
 * io.bittensor.onnx.TensorInput}) and an {@link io.bittensor.onnx.OutputAdapter} to the network's
 * {@code [batch, sequence, outputDim]}; {@link io.bittensor.onnx.TextTokenizer} turns strings into
 * token ids with a Hugging Face {@code tokenizer.json}. {@link io.bittensor.onnx.Mlp} and {@link
 * io.bittensor.onnx.OnnxExport} go the other way: a network defined in Java, written as an ONNX
 * file that runs anywhere ONNX Runtime does.
 *
 * <p>Types in {@code io.bittensor.onnx.internal} are not part of the API.
 */
package io.bittensor.onnx;
