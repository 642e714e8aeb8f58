/**
 * The ledger replicated past one machine, with Apache Ratis: see {@link
 * io.bittensor.raft.RaftLedger}.
 */
package io.bittensor.raft;
