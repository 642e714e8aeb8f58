package io.bittensor.core.internal.ledger;

import static io.bittensor.core.testing.LedgerFixtures.endpoint;
import static io.bittensor.core.testing.LedgerFixtures.key;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.bittensor.core.Block;
import io.bittensor.core.Epoch;
import io.bittensor.core.Hash256;
import io.bittensor.core.LedgerParams;
import io.bittensor.core.Metagraph;
import io.bittensor.core.Modality;
import io.bittensor.core.PeerInfo;
import io.bittensor.core.PeerState;
import io.bittensor.incentive.Emission;
import io.bittensor.incentive.IncentiveMechanism;
import io.bittensor.incentive.PaperParams;
import io.bittensor.incentive.PeerMatrix;
import java.time.Instant;
import java.util.List;
import java.util.Optional;
import org.junit.jupiter.api.Test;

/** A client running an epoch itself, on the state a server sent it. */
class EpochReplayTest {
  private static Metagraph twoPeers(long stake) {
    List<PeerState> peers = List.of(
        new PeerState(0, PeerInfo.of(key(0).id(), endpoint(0), Modality.TEXT), stake, 1, 2,
            0, 0, 0, 0, 0, 0),
        new PeerState(1, PeerInfo.of(key(1).id(), endpoint(1), Modality.TEXT), stake, 1, 2,
            0, 0, 0, 0, 0, 0));
    Block block = new Block(5, Hash256.of(new byte[] {5}), Hash256.of(new byte[] {4}),
        Instant.ofEpochMilli(0), 0, true);
    return Metagraph.of(Hash256.of(new byte[] {1}), block, LedgerParams.defaults(), 2 * stake,
        Optional.empty(), peers, PeerMatrix.dense(new double[][] {{0, 1}, {1, 0}}),
        PeerMatrix.zeros(2));
  }

  /**
   * An emission the ledger would not mint (it skips such an epoch, so a server never asks for
   * its replay): refused as the mechanism's, not wrapped around a long into a negative stake.
   */
  @Test
  void anEmissionTheLedgerWouldNotMintIsRefusedAsTheMechanisms() {
    IncentiveMechanism inflation = IncentiveMechanism.paper(
        PaperParams.defaults().withEmission(Emission.inflation(10)));
    IllegalStateException e = assertThrows(IllegalStateException.class,
        () -> EpochReplay.run(twoPeers(4_000_000_000_000_000_000L), inflation));
    assertTrue(e.getMessage().contains("emission"), e.getMessage());

    IncentiveMechanism fixed = IncentiveMechanism.paper(
        PaperParams.defaults().withEmission(Emission.fixed(1000)));
    e = assertThrows(IllegalStateException.class,
        () -> EpochReplay.run(twoPeers(Long.MAX_VALUE - 10), fixed));
    assertTrue(e.getMessage().contains("more than a stake can hold"), e.getMessage());
  }

  private static Metagraph at(Hash256 chain, long number, Optional<Epoch> lastEpoch,
      PeerState... peers) {
    Block block = new Block(number, Hash256.of(new byte[] {(byte) number}),
        Hash256.of(new byte[] {(byte) (number - 1)}), Instant.ofEpochMilli(0), 0, true);
    return Metagraph.of(chain, block, LedgerParams.defaults(), 2000, lastEpoch,
        List.of(peers), PeerMatrix.zeros(peers.length), PeerMatrix.zeros(peers.length));
  }

  private static PeerState peer(int uid, long registeredAt) {
    return new PeerState(uid, PeerInfo.of(key(uid).id(), endpoint(uid), Modality.TEXT), 1000,
        registeredAt, -1, 0, 0, 0, 0, 0, 0);
  }

  /**
   * Metagraphs that are not of one chain's consecutive blocks are refused as the Javadoc says,
   * with an IllegalArgumentException: of another chain, or with a peer the block before lacks
   * that did not register in this block.
   */
  @Test
  void metagraphsNotOfConsecutiveBlocksOfOneChainAreRefused() {
    Hash256 chain = Hash256.of(new byte[] {1});
    Optional<Epoch> ran = Optional.of(new Epoch(1, 5, 2, 10, 0, 1, Optional.empty()));
    Metagraph before = at(chain, 4, Optional.empty(), peer(0, 1));
    Metagraph after = at(chain, 5, ran, peer(0, 1), peer(1, 5));
    EpochReplay.before(before, after); // a peer new in block 5: as it should be

    Metagraph notNew = at(chain, 5, ran, peer(0, 1), peer(1, 3));
    IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
        () -> EpochReplay.before(before, notNew));
    assertTrue(e.getMessage().contains("uid 1"), e.getMessage());

    Metagraph otherChain = at(Hash256.of(new byte[] {2}), 5, ran, peer(0, 1), peer(1, 5));
    e = assertThrows(IllegalArgumentException.class,
        () -> EpochReplay.before(before, otherChain));
    assertTrue(e.getMessage().contains("chain"), e.getMessage());
  }
}
