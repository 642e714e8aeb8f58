/**
 * Internals of {@link io.bittensor.core.LocalLedger}: the state machine, the binary encodings,
 * the journal and snapshot files. Not API: sibling modules (the remote ledger) may use them,
 * users must not; anything here may change in any release.
 */
package io.bittensor.core.internal.ledger;
