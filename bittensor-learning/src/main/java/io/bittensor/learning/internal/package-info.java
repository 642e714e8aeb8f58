/**
 * Internals of {@code bittensor-learning}: not part of the API; users must not import them.
 */
package io.bittensor.learning.internal;
