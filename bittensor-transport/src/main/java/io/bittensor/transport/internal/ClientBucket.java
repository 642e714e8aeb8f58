package io.bittensor.transport.internal;

import java.net.Inet4Address;
import java.net.Inet6Address;
import java.net.InetAddress;
import java.net.UnknownHostException;
import java.util.Arrays;

/**
 * Whom the ledger server counts a client's event streams against ({@code
 * maxEventStreamsPerAddress}): an IPv6 client by its /64, which one client (a host, a home, a
 * virtual machine) is usually given whole and may pick addresses in at will; an IPv4 address,
 * an IPv4-mapped IPv6 one ({@code ::ffff:a.b.c.d}, as a dual-stack socket sees an IPv4 client)
 * included, on its own. IPv6 loopback and link-local addresses are counted on their own too: a
 * link-local /64 is a whole link, not one client's. Immutable; equal buckets are one client.
 *
 * @param network the address, or for a /64 its first 8 bytes followed by zeros
 * @param prefixLength how many leading bits of {@code network} name the client: 32 or 128 for a
 *     whole address, 64 for an IPv6 /64
 */
record ClientBucket(InetAddress network, int prefixLength) {
  private static final int IPV6_CLIENT_BITS = 64;

  /** The bucket {@code client} is counted in. */
  static ClientBucket of(InetAddress client) {
    if (!(client instanceof Inet6Address v6)) {
      return new ClientBucket(client, 32);
    }
    byte[] bytes = v6.getAddress();
    if (isIpv4Mapped(bytes)) {
      return new ClientBucket(address(Arrays.copyOfRange(bytes, 12, 16)), 32);
    }
    if (v6.isLoopbackAddress() || v6.isLinkLocalAddress()) {
      return new ClientBucket(v6, 128);
    }
    Arrays.fill(bytes, IPV6_CLIENT_BITS / 8, 16, (byte) 0);
    return new ClientBucket(address(bytes), IPV6_CLIENT_BITS);
  }

  /** Whether {@code bytes} (16) read {@code ::ffff:a.b.c.d}. */
  private static boolean isIpv4Mapped(byte[] bytes) {
    for (int i = 0; i < 10; i++) {
      if (bytes[i] != 0) {
        return false;
      }
    }
    return bytes[10] == (byte) 0xff && bytes[11] == (byte) 0xff;
  }

  /** The address of {@code bytes} (4 or 16; a 16 of IPv4-mapped form is not passed here). */
  private static InetAddress address(byte[] bytes) {
    try {
      return bytes.length == 4 ? Inet4Address.getByAddress(bytes)
          : Inet6Address.getByAddress(null, bytes, -1);
    } catch (UnknownHostException e) {
      throw new AssertionError("4 or 16 bytes are an address", e);
    }
  }

  /** Whether this is an IPv6 /64 rather than one address. */
  boolean isNetwork() {
    return prefixLength == IPV6_CLIENT_BITS;
  }

  /** The address, with {@code /64} for an IPv6 network: as a refusal names it. */
  @Override
  public String toString() {
    String shown = network.getHostAddress();
    return isNetwork() ? shown + "/" + prefixLength : shown;
  }
}
