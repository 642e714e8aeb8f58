package io.bittensor.transport;

/**
 * How a {@link PeerClient} speaks HTTP to peers. {@link PeerServer} accepts both on one port.
 *
 * <pre>{@code
 * PeerClient client = PeerClient.newBuilder().protocol(HttpProtocol.H2_PRIOR_KNOWLEDGE).build();
 * }</pre>
 */
public enum HttpProtocol {
  /**
   * HTTP/2 over cleartext TCP with prior knowledge (no upgrade round trip): one connection per
   * peer, requests multiplexed on it.
   */
  H2_PRIOR_KNOWLEDGE,
  /**
   * HTTP/1.1 with a pool of keep-alive connections, one request on a connection at a time: the
   * default, faster on loopback in benchmarks/TRANSPORT.md.
   */
  HTTP_1_1
}
