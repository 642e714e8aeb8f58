/**
 * How peers talk: a {@link io.bittensor.transport.PeerServer} serves any
 * {@link io.bittensor.core.Peer} over HTTP/2 cleartext and HTTP/1.1 on one port (Jetty 12), a
 * {@link io.bittensor.transport.PeerClient} turns {@code http://} endpoints into peers (OkHttp)
 * and {@code inproc://} ones into peers in this JVM (an
 * {@link io.bittensor.transport.InProcessNetwork}), with the same signed requests and status
 * codes either way. The wire format is {@code bittensor/v1/peer.proto} in this jar.
 *
 * <p>Threads and locks: see {@code docs/concurrency.md}. Everything that holds sockets or
 * threads is {@link java.lang.AutoCloseable} with an idempotent {@code close()}.
 */
package io.bittensor.transport;
