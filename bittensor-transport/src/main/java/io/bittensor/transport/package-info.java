/**
 * How peers talk: a {@link io.bittensor.transport.PeerServer} serves any
 * {@link io.bittensor.core.Peer} over HTTP/2 cleartext and HTTP/1.1 on one port (Jetty 12), a
 * {@link io.bittensor.transport.PeerClient} turns {@code http://} endpoints into peers (OkHttp)
 * and {@code inproc://} ones into peers in this JVM (an
 * {@link io.bittensor.transport.InProcessNetwork}), with the same signed requests and status
 * codes either way. The wire format is {@code bittensor/v1/peer.proto} in this jar.
 *
 * <p>A {@link io.bittensor.transport.LedgerServer} serves a {@link io.bittensor.core.Ledger} the
 * same way, and a {@link io.bittensor.transport.RemoteLedger} is the ledger on the client's side:
 * every operation as a signed request, blocks and epochs streamed to its listeners and its
 * metagraph cache ({@code bittensor/v1/ledger.proto}).
 *
 * <p>Threads and locks: see {@code docs/concurrency.md}. Everything that holds sockets or
 * threads is {@link java.lang.AutoCloseable} with an idempotent {@code close()}.
 */
package io.bittensor.transport;
