/**
 * Internals of {@code bittensor-core} shared with sibling modules: not part of the API; users
 * must not import them.
 */
package io.bittensor.core.internal;
