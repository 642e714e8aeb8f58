package io.bittensor.core;

import static io.bittensor.core.testing.LedgerFixtures.endpoint;
import static io.bittensor.core.testing.LedgerFixtures.key;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.bittensor.incentive.PeerMatrix;
import java.time.Instant;
import java.util.List;
import java.util.Optional;
import org.junit.jupiter.api.Test;

class MetagraphTest {
  private static final Block BLOCK = new Block(5, Hash256.of(new byte[] {5}),
      Hash256.of(new byte[] {4}), Instant.ofEpochMilli(0), 0, true);

  private static PeerState peer(int uid, int key) {
    return new PeerState(uid, PeerInfo.of(key(key).id(), endpoint(key), Modality.TEXT), 1000, 1,
        -1, 0, 0, 0, 0, 0, 0);
  }

  private static Metagraph of(PeerState... peers) {
    return Metagraph.of(Hash256.of(new byte[] {1}), BLOCK, LedgerParams.defaults(), 3000,
        Optional.empty(), List.of(peers), PeerMatrix.zeros(peers.length),
        PeerMatrix.zeros(peers.length));
  }

  /** A key holds one uid: a second peer with the same key would make uid(key) ambiguous. */
  @Test
  void twoPeersWithOneKeyAreRefused() {
    IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
        () -> of(peer(0, 0), peer(1, 1), peer(2, 0)));
    assertTrue(e.getMessage().contains("peers[2]") && e.getMessage().contains("uid 0"),
        e.getMessage());
  }

  @Test
  void aPeerOutOfUidOrderIsRefused() {
    IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
        () -> of(peer(0, 0), peer(0, 1)));
    assertTrue(e.getMessage().contains("peers[1] has uid 0"), e.getMessage());
  }

  @Test
  void uidsAreFoundByKey() {
    Metagraph m = of(peer(0, 0), peer(1, 1));
    assertEquals(1, m.uid(key(1).id()).orElseThrow());
    assertTrue(m.uid(key(2).id()).isEmpty());
  }
}
