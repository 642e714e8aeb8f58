package io.bittensor.onnx;

/**
 * How far ONNX Runtime rewrites a model's graph when it loads it (its graph optimisation level).
 * {@link #ALL} is the fastest at inference and the slowest to load; {@link #NONE} runs the graph as
 * written, which helps when comparing against another runtime.
 *
 * <pre>{@code
 * Path path = Path.of("model.onnx");
 * OnnxPeer.builder().model(path).modality(Modality.TENSOR).optimization(Optimization.BASIC);
 * }</pre>
 */
public enum Optimization {
  /** No rewriting. */
  NONE,
  /** Constant folding and redundant-node removal. */
  BASIC,
  /** Basic plus operator fusions. */
  EXTENDED,
  /** Everything, including layout changes; ONNX Runtime's default. */
  ALL
}
