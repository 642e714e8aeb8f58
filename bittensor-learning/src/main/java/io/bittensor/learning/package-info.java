/**
 * Peers that learn from the network (paper, sections 7 to 9): {@link
 * io.bittensor.learning.NoisyTopKGate}, the noisy top-k {@link io.bittensor.core.GatingLayer};
 * {@link io.bittensor.learning.Learner}, the training loop a neuron runs (route and query, join,
 * local head, loss, back-propagation into head and gate, gradients back to each peer asked), with
 * its weight row from the gate's importance, the Fisher pruning scores (compensated by the other
 * peers, and by the peers that would stand in), or the rerouted loss it measures by asking each
 * example's next choice on some batches ({@link
 * io.bittensor.learning.WeightSource}); {@link io.bittensor.learning.MlpDistiller}, a {@link
 * io.bittensor.core.Distiller} whose student exports to ONNX and serves as an {@code OnnxPeer}.
 *
 * <p>The arithmetic underneath is plain Java over flat float arrays: {@link
 * io.bittensor.learning.NnOps} (allocation-free static operations), {@link
 * io.bittensor.learning.TrainableMlp} and {@link io.bittensor.learning.Adam}, each checked against
 * numerical gradients in the tests.
 */
package io.bittensor.learning;
