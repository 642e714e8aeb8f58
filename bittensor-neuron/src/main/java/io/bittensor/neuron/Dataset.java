package io.bittensor.neuron;

import io.bittensor.core.Experimental;

/**
 * Where a {@link Neuron} gets its labelled training batches: an endless stream, typically shuffled
 * passes over a fixed set with a seeded random source.
 *
 * <pre>{@code
 * List<LabelledBatch> batches = ...;
 * AtomicInteger next = new AtomicInteger();
 * Dataset data = () -> batches.get(next.getAndIncrement() % batches.size());
 * }</pre>
 *
 * <p>Called from the one thread that trains the neuron; need not be thread-safe.
 */
@FunctionalInterface
@Experimental
public interface Dataset {
  /** The next training batch; never null. */
  LabelledBatch next();
}
