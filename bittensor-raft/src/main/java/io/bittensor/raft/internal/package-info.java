/** Internals of the replicated ledger: the Raft log's entries and the state machine. */
package io.bittensor.raft.internal;
