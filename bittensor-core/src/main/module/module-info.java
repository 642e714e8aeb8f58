/**
 * The node's API and value types: peers, tensors, identity, the ledger and its embedded default.
 *
 * <p>Exports {@code io.bittensor.core}; its {@code internal} packages are open only to the
 * project's own modules, which share them. The incentive module's types are part of this API
 * (a ledger's epoch is an incentive result), so it is required transitively.
 */
// The sibling modules named in the qualified exports are built after this one.
@SuppressWarnings("module")
module io.bittensor.core {
  requires transitive io.bittensor.incentive;
  requires org.bouncycastle.provider;

  exports io.bittensor.core;
  exports io.bittensor.core.internal to
      io.bittensor.transport, io.bittensor.onnx, io.bittensor.learning, io.bittensor.neuron,
      io.bittensor.raft, io.bittensor.cli;
  exports io.bittensor.core.internal.ledger to io.bittensor.raft, io.bittensor.transport;
}
