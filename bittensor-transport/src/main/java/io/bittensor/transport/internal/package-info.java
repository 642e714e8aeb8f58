/**
 * Internals of {@code bittensor-transport}: the generated wire classes, the serving pipeline,
 * admission, authentication and the HTTP front-ends. Not part of the API; users must not import
 * them.
 */
package io.bittensor.transport.internal;
