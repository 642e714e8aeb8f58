package io.bittensor.core.internal;

import java.net.InetSocketAddress;

/**
 * {@code host:port} as messages print it and Raft and the CLI read it back: an IPv6 literal in
 * brackets ({@code [::1]:9000}), whose last group would otherwise read as the port.
 *
 * <p>Internal: shared with sibling modules; users must not import it.
 */
public final class HostPorts {
  private HostPorts() {}

  /** {@code host:port}; a host already in brackets is left as it is. */
  public static String of(String host, int port) {
    boolean bare = host != null && host.indexOf(':') >= 0 && !host.startsWith("[");
    return (bare ? "[" + host + "]" : host) + ":" + port;
  }

  /** {@code address}'s host string (never resolved) and port. */
  public static String of(InetSocketAddress address) {
    return of(address.getHostString(), address.getPort());
  }
}
