package io.bittensor.transport;

/**
 * How a {@link PeerClient} speaks HTTP to peers. {@link PeerServer} accepts both on one port.
 *
 * <pre>{@code
 * PeerClient client = PeerClient.newBuilder().protocol(HttpProtocol.HTTP_1_1).build();
 * }</pre>
 */
public enum HttpProtocol {
  /**
   * HTTP/2 over cleartext TCP with prior knowledge (no upgrade round trip): one connection per
   * peer, requests multiplexed on it.
   */
  H2_PRIOR_KNOWLEDGE,
  /** HTTP/1.1 with a pool of keep-alive connections, one request on a connection at a time. */
  HTTP_1_1
}
