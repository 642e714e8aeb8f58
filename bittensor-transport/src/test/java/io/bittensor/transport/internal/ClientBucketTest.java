package io.bittensor.transport.internal;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;

import java.net.Inet6Address;
import java.net.InetAddress;
import java.net.UnknownHostException;
import org.junit.jupiter.api.Test;

/**
 * Whom the ledger server counts a client's event streams against. Before the fix, every
 * address was its own: an IPv6 client, which usually holds a whole /64, had 2^64 addresses'
 * worth of streams.
 */
class ClientBucketTest {
  private static ClientBucket of(String address) throws UnknownHostException {
    return ClientBucket.of(InetAddress.getByName(address));
  }

  @Test
  void theAddressesOfOneIpv6Slash64AreOneClient() throws UnknownHostException {
    assertEquals(of("2001:db8:1:2::1"), of("2001:db8:1:2:ffff:ffff:ffff:ffff"));
    assertEquals(of("2001:db8:1:2::1"), of("2001:db8:1:2:8a2e:370:7334:1"));
    assertNotEquals(of("2001:db8:1:2::1"), of("2001:db8:1:3::1"));
    assertNotEquals(of("2001:db8:1:2::1"), of("2001:db9:1:2::1"));
    assertEquals("2001:db8:1:2:0:0:0:0/64", of("2001:db8:1:2:a:b:c:d").toString());
  }

  @Test
  void ipv4AddressesAreCountedOneByOne() throws UnknownHostException {
    assertNotEquals(of("203.0.113.5"), of("203.0.113.6"));
    assertEquals(of("203.0.113.5"), of("203.0.113.5"));
    assertEquals("203.0.113.5", of("203.0.113.5").toString());
  }

  /** An IPv4 client of a dual-stack socket may be seen as ::ffff:a.b.c.d: still IPv4's. */
  @Test
  void anIpv4MappedAddressIsItsIpv4Address() throws UnknownHostException {
    byte[] mapped = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, (byte) 0xff, (byte) 0xff, (byte) 203, 0, 113,
        5};
    InetAddress v6 = Inet6Address.getByAddress(null, mapped, -1);
    assertEquals(of("203.0.113.5"), ClientBucket.of(v6));
    byte[] other = mapped.clone();
    other[15] = 6;
    assertNotEquals(ClientBucket.of(v6),
        ClientBucket.of(Inet6Address.getByAddress(null, other, -1)));
    assertEquals("203.0.113.5", ClientBucket.of(v6).toString());
  }

  /**
   * A link-local /64 is the whole link and ::1 the machine itself, not one client's network:
   * their addresses are counted one by one, as loopback tests and LAN clients need.
   */
  @Test
  void loopbackAndLinkLocalIpv6AreCountedOneByOne() throws UnknownHostException {
    assertNotEquals(of("fe80::1"), of("fe80::2"));
    assertEquals("0:0:0:0:0:0:0:1", of("::1").toString());
    assertNotEquals(of("::1"), of("::2"));
  }
}
