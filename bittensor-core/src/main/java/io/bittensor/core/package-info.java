/**
 * The API of a bittensor node: the interfaces applications compose and their value types.
 *
 * <p>Peers and the tensor standard: {@link io.bittensor.core.Peer} (asynchronous forward and
 * backward), {@link io.bittensor.core.Tensor} (a typed little-endian buffer),
 * {@link io.bittensor.core.Modality}, {@link io.bittensor.core.TensorStandard} ({@code [batch,
 * sequence, outputDim]} answers), the requests and results with their
 * {@link io.bittensor.core.Status} codes. Identity: {@link io.bittensor.core.Keypair} (Ed25519 on
 * the JDK) and {@link io.bittensor.core.PeerId}; {@link io.bittensor.core.PeerInfo} says how to
 * reach a peer. Transports live in {@code bittensor-transport}; no networking type appears here.
 *
 * <p>The ledger: {@link io.bittensor.core.Ledger} (read a {@link io.bittensor.core.Metagraph},
 * submit {@link io.bittensor.core.SignedTransaction}s, subscribe a {@link
 * io.bittensor.core.LedgerListener} to {@link io.bittensor.core.Block}s and {@link
 * io.bittensor.core.Epoch}s) and its embedded implementation {@link
 * io.bittensor.core.LocalLedger}, with a crash-safe journal on disk. Transactions are the
 * {@link io.bittensor.core.Transaction} records, signed with a {@link io.bittensor.core.Keypair};
 * a refusal is a {@link io.bittensor.core.TransactionRejectedException} with a stable {@link
 * io.bittensor.core.RejectReason}. A chain begins with a {@link io.bittensor.core.Genesis} and
 * follows {@link io.bittensor.core.LedgerParams}. See {@code docs/ledger.md}.
 *
 * <p>The incentive mathematics ({@link io.bittensor.incentive.IncentiveMechanism} and its inputs
 * and outputs) lives in {@code bittensor-incentive}, which this module depends on and re-exports
 * to its users, so that research code can take the mathematics without the networking.
 */
package io.bittensor.core;
