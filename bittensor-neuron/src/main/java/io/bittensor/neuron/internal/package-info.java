/** Internals of {@code bittensor-neuron}: not part of the API; users must not import them. */
package io.bittensor.neuron.internal;
