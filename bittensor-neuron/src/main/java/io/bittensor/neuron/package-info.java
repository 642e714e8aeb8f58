/**
 * A market participant wired from its parts: {@link io.bittensor.neuron.Neuron} (a key pair, a
 * served peer, the transport, any ledger, a learner and a dataset), with small built-in
 * {@link io.bittensor.neuron.Peers} for baselines and memoised models.
 */
package io.bittensor.neuron;
