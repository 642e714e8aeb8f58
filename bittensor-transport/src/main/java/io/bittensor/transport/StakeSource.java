package io.bittensor.transport;

import io.bittensor.core.PeerId;

/**
 * How much stake a caller holds, for admission under load: when every slot of a
 * {@link PeerServer} is busy, waiting callers with more stake go first, and anonymous callers (if
 * admitted at all) go last. Usually backed by the ledger's metagraph.
 *
 * <pre>{@code
 * Peer peer = ...;
 * Map<PeerId, Double> stakes = ...;
 * PeerServer server = PeerServer.newBuilder(peer)
 *     .stakeSource(id -> stakes.getOrDefault(id, 0.0))
 *     .start();
 * }</pre>
 *
 * <p>The caller is the one its {@code Bittensor-Caller} header names, before its signature (in
 * the body) is checked: a stranger can claim a staked key and go ahead of the queue, though it is
 * refused once its body is read, before the peer sees it (docs/transport.md).
 *
 * <p>Callbacks run on a server thread for each request that arrives, before its body is read:
 * implementations must be thread-safe, fast and non-blocking, and must not throw (an exception
 * or a NaN counts as stake 0).
 */
@FunctionalInterface
public interface StakeSource {
  /** A source that gives every caller stake 0: admission in order of arrival. */
  StakeSource NONE = caller -> 0.0;

  /**
   * The stake of {@code caller}; 0 for one the source does not know.
   *
   * @param caller the public key the request names
   */
  double stakeOf(PeerId caller);
}
