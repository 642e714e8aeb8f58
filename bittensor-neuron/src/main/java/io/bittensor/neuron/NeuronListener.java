package io.bittensor.neuron;

import io.bittensor.core.Experimental;

/**
 * Told what a {@link Neuron} does that its caller cannot see from return values: the background
 * loop's steps and failures, peers that moved, a restart under a registered key.
 *
 * <pre>{@code
 * Neuron.builder()...listener((neuron, what) -> {
 *   log.info("{}: {}", neuron.id(), what);
 * })...
 * }</pre>
 *
 * <p>Called on the neuron's loop thread or the caller's, and, for a registration sent again for
 * a later block, on the ledger's thread that completes its transactions or the neuron's
 * registrar thread ({@code neuron-<key>-registrar}); implementations must be fast, thread-safe
 * and must not throw.
 */
@FunctionalInterface
@Experimental
public interface NeuronListener {
  /** A listener that ignores everything. */
  NeuronListener NONE = (neuron, event) -> {};

  /** Something happened to {@code neuron}, in one line of prose. */
  void onEvent(Neuron neuron, String event);
}
