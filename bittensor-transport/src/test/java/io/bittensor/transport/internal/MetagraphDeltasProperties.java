package io.bittensor.transport.internal;

import static io.bittensor.core.testing.LedgerFixtures.authority;
import static io.bittensor.core.testing.LedgerFixtures.endpoint;
import static io.bittensor.core.testing.LedgerFixtures.fixedClock;
import static io.bittensor.core.testing.LedgerFixtures.genesis;
import static io.bittensor.core.testing.LedgerFixtures.key;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.bittensor.core.BlockPolicy;
import io.bittensor.core.Genesis;
import io.bittensor.core.Keypair;
import io.bittensor.core.LedgerParams;
import io.bittensor.core.LocalLedger;
import io.bittensor.core.Metagraph;
import io.bittensor.core.Modality;
import io.bittensor.core.SignedTransaction;
import io.bittensor.core.Transaction;
import io.bittensor.core.internal.ledger.BlockCodec;
import io.bittensor.core.internal.ledger.EpochReplay;
import io.bittensor.incentive.IncentiveMechanism;
import io.bittensor.incentive.PaperMechanism;
import io.bittensor.incentive.PeerMatrix;
import io.bittensor.transport.internal.wire.MatrixRows;
import io.bittensor.transport.internal.wire.MetagraphDelta;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * Metagraph deltas: on random chains of a ledger (registrations past the peer limit, so that
 * uids are taken over; stake moved; weight rows set and replaced; rules changed; epochs every 5
 * blocks, which make bonds), the delta between each block's metagraph and the next, applied to
 * the first, gives the second exactly, field for field as the wire carries them; and it lists
 * only the peers and rows that changed. A delta that leaves an epoch's bonds out gives the same
 * metagraph to a client that replays the epoch, and fails, naming why, with another mechanism.
 */
class MetagraphDeltasProperties {
  private static final int KEYS = 12;

  @ParameterizedTest(name = "seed {0}")
  @ValueSource(ints = {1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12})
  void aDeltaAppliedToTheBlockBeforeGivesTheBlocksMetagraph(int seed) throws Exception {
    SplittableRandom random = new SplittableRandom(seed);
    Genesis g = genesis(new LedgerParams(5, 6, 2, 1, 0), KEYS);
    try (LocalLedger ledger = LocalLedger.builder().genesis(g).clock(fixedClock())
        .blocks(BlockPolicy.manual()).openInMemory()) {
      long[] nonces = new long[KEYS + 1];
      Metagraph before = ledger.metagraph();
      // The mechanism the genesis block records, as a client reads it.
      IncentiveMechanism chains = BlockCodec.decode(ledger.genesisBlock()).paperParams()
          .map(IncentiveMechanism::paper).orElseThrow();
      // Blocks whose delta had peers, weight rows, bond rows; rule changes; uids taken over;
      // epochs replayed, and of those, ones with a uid taken over in their block.
      int[] seen = new int[7];
      for (int block = 1; block <= 40; block++) {
        int transactions = random.nextInt(5);
        for (int t = 0; t < transactions; t++) {
          submitOne(ledger, random, nonces);
        }
        ledger.produceBlock();
        Metagraph after = ledger.metagraph();
        MetagraphDelta delta = MetagraphDeltas.between(before, after);
        Metagraph applied = MetagraphDeltas.apply(before, delta, after.block());
        assertEquals(LedgerWire.toWire(after), LedgerWire.toWire(applied),
            "seed " + seed + ", block " + block);
        assertEquals(changedPeers(before, after), delta.getPeerUidsCount(), "peers listed");
        assertEquals(changedRows(before.weights(), after.weights()),
            delta.getWeights().getRowsCount(), "weight rows listed");
        assertEquals(changedRows(before.bonds(), after.bonds()),
            delta.getBonds().getRowsCount(), "bond rows listed");
        seen[0] += delta.getPeerUidsCount() > 0 ? 1 : 0;
        seen[1] += delta.getWeights().getRowsCount() > 0 ? 1 : 0;
        seen[2] += delta.getBonds().getRowsCount() > 0 ? 1 : 0;
        seen[3] += after.params().equals(before.params()) ? 0 : 1;
        int takenOver = 0;
        for (int uid = 0; uid < before.size(); uid++) {
          takenOver += after.peer(uid).id().equals(before.peer(uid).id()) ? 0 : 1;
        }
        seen[4] += takenOver;
        if (EpochReplay.ranEpoch(after)) {
          assertEpochReplays(before, after, delta, chains, "seed " + seed + ", block " + block);
          seen[5]++;
          seen[6] += takenOver > 0 ? 1 : 0;
        }
        before = after;
      }
      // The chains exercise each part of a delta (rule changes are rarer: most seeds).
      assertTrue(seen[0] > 0 && seen[1] > 0 && seen[2] > 0 && seen[5] > 0,
          java.util.Arrays.toString(seen));
      assertTrue(before.size() >= 6, "the peer limit reached: " + before.size());
    }
  }

  /**
   * The delta of an epoch block to the state its epoch ran on: applied by a client holding the
   * block before as the wire gave it, with the chain's mechanism, it gives the block's
   * metagraph exactly, listing only the peers and bond rows the block's transactions changed;
   * with another mechanism, or none, it fails, naming the block.
   */
  private static void assertEpochReplays(Metagraph before, Metagraph after, MetagraphDelta delta,
      IncentiveMechanism chains, String where) {
    Metagraph held = LedgerWire.fromWire(LedgerWire.toWire(before));
    MetagraphDelta replay = MetagraphDeltas.forEpochReplay(before, after);
    Metagraph replayed = MetagraphDeltas.apply(held, replay, after.block(), chains);
    assertEquals(LedgerWire.toWire(after), LedgerWire.toWire(replayed), where);
    Metagraph ranOn = EpochReplay.before(before, after);
    assertEquals(changedPeers(before, ranOn), replay.getPeerUidsCount(), where);
    assertEquals(changedRows(before.bonds(), ranOn.bonds()), replay.getBonds().getRowsCount(),
        where);
    assertTrue(replay.getPeerUidsCount() <= delta.getPeerUidsCount(), where);
    assertTrue(replay.getBonds().getRowsCount() <= delta.getBonds().getRowsCount(), where);
    IncentiveMechanism other =
        IncentiveMechanism.paper(((PaperMechanism) chains).params().withRho(3.0));
    IllegalStateException e = assertThrows(IllegalStateException.class,
        () -> MetagraphDeltas.apply(held, replay, after.block(), other));
    assertTrue(e.getMessage().contains("block " + after.block().number()), e.getMessage());
    assertThrows(IllegalStateException.class,
        () -> MetagraphDeltas.apply(held, replay, after.block(), null));
  }

  /** One random transaction from a random key; what the ledger refuses is simply not in. */
  private static void submitOne(LocalLedger ledger, SplittableRandom random, long[] nonces)
      throws Exception {
    int who = random.nextInt(KEYS + 1);
    Keypair k = who == KEYS ? authority() : key(who);
    Metagraph m = ledger.metagraph();
    Transaction body = switch (who == KEYS ? -1 : random.nextInt(6)) {
      case -1 -> Transaction.changeParams(new LedgerParams(5, 6 + random.nextInt(3), 2, 1, 0));
      case 0, 1 -> Transaction.register(endpoint(who), Modality.TEXT);
      case 2 -> Transaction.addStake(1 + random.nextInt(1000));
      case 3 -> Transaction.transfer(key(random.nextInt(KEYS)).id(), 1 + random.nextInt(100));
      default -> {
        int n = Math.max(1, m.size());
        int count = 1 + random.nextInt(n);
        int[] uids = random.ints(0, n).distinct().limit(count).sorted().toArray();
        double[] weights = random.doubles(uids.length, 0.01, 1).toArray();
        yield Transaction.setWeights(uids, weights);
      }
    };
    var sent = ledger.submit(SignedTransaction.sign(k, ledger.chainId(), nonces[who], body));
    if (!sent.isCompletedExceptionally()) {
      nonces[who]++;
    }
  }

  private static int changedPeers(Metagraph before, Metagraph after) {
    int changed = 0;
    for (int uid = 0; uid < after.size(); uid++) {
      changed += uid >= before.size() || !after.peer(uid).equals(before.peer(uid)) ? 1 : 0;
    }
    return changed;
  }

  private static int changedRows(PeerMatrix before, PeerMatrix after) {
    int changed = 0;
    for (int row = 0; row < after.size(); row++) {
      boolean same = row < before.size();
      for (int col = 0; same && col < Math.max(before.size(), after.size()); col++) {
        double a = col < after.size() ? after.get(row, col) : 0;
        double b = col < before.size() ? before.get(row, col) : 0;
        same = Double.compare(a == 0 ? 0 : a, b == 0 ? 0 : b) == 0;
      }
      changed += same ? 0 : 1;
    }
    return changed;
  }

  /**
   * Row pointers [0, 0x60000000, 0xC0000000, 1] each step up as ints subtract, and the rows'
   * lengths add up, past 2^32, to the one entry there: read as they wrapped, row 0 would read
   * 0x60000000 entries of the one.
   */
  @Test
  void aDeltaWhoseRowPointersWrapAroundIsRefused() throws Exception {
    Genesis g = genesis(new LedgerParams(5, 6, 2, 1, 0), 3);
    try (LocalLedger ledger = LocalLedger.builder().genesis(g).clock(fixedClock())
        .blocks(BlockPolicy.manual()).openInMemory()) {
      Metagraph before = ledger.metagraph();
      for (int i = 0; i < 3; i++) {
        ledger.submit(key(i), Transaction.register(endpoint(i), Modality.TEXT));
      }
      ledger.produceBlock();
      Metagraph after = ledger.metagraph();
      MetagraphDelta good = MetagraphDeltas.between(before, after);
      MetagraphDelta bad = good.toBuilder().setWeights(MatrixRows.newBuilder()
          .addRows(0).addRows(1).addRows(2)
          .addRowPtr(0).addRowPtr(0x6000_0000).addRowPtr(0xC000_0000).addRowPtr(1)
          .addCols(0).addValues(1)).build();
      IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
          () -> MetagraphDeltas.apply(before, bad, after.block()));
      assertTrue(e.getMessage().contains("delta weights.row_ptr must not decrease, had "
          + "3221225472 then 1 at 2"), e.getMessage());
    }
  }

  @ParameterizedTest(name = "{0}")
  @ValueSource(strings = {"uids out of order", "a uid given twice", "a uid at the size",
      "a row past the size", "a new peer left out", "row pointers short",
      "row pointers going back", "a size above 2^31 - 1", "a size far past its entries"})
  void aDeltaThatDoesNotFitIsRefusedNamingWhy(String what) throws Exception {
    Genesis g = genesis(new LedgerParams(5, 6, 2, 1, 0), 3);
    try (LocalLedger ledger = LocalLedger.builder().genesis(g).clock(fixedClock())
        .blocks(BlockPolicy.manual()).openInMemory()) {
      Metagraph before = ledger.metagraph();
      ledger.submit(key(0), Transaction.register(endpoint(0), Modality.TEXT));
      ledger.submit(key(1), Transaction.register(endpoint(1), Modality.TEXT));
      ledger.produceBlock();
      ledger.submit(key(0), Transaction.setWeights(new int[] {0, 1}, new double[] {1, 1}));
      ledger.produceBlock();
      Metagraph after = ledger.metagraph();
      MetagraphDelta good = MetagraphDeltas.between(before, after);
      MetagraphDelta bad = switch (what) {
        case "uids out of order" -> good.toBuilder().setPeerUids(0, 1).setPeerUids(1, 0).build();
        case "a uid given twice" -> good.toBuilder().setPeerUids(1, good.getPeerUids(0)).build();
        case "a uid at the size" -> good.toBuilder().setPeerUids(1, after.size()).build();
        case "a row past the size" -> good.toBuilder().setWeights(
            good.getWeights().toBuilder().setRows(0, 7)).build();
        case "a new peer left out" -> good.toBuilder().removePeers(1).removePeers(0)
            .clearPeerUids().build();
        // Rows 0 and 1, whose pointers [0, 3, 2] start and end right: row 0 reads past the 2.
        case "row pointers going back" -> good.toBuilder().setWeights(MatrixRows.newBuilder()
            .addRows(0).addRows(1).addRowPtr(0).addRowPtr(3).addRowPtr(2)
            .addCols(0).addCols(1).addValues(0.5).addValues(0.5)).build();
        case "a size above 2^31 - 1" -> good.toBuilder().setSize(-1).build(); // uint32 max
        case "a size far past its entries" -> good.toBuilder().setSize(Integer.MAX_VALUE).build();
        default -> good.toBuilder().setWeights(
            good.getWeights().toBuilder().clearRowPtr().addRowPtr(0)).build();
      };
      IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
          () -> MetagraphDeltas.apply(before, bad, after.block()));
      assertTrue(e.getMessage().contains("delta"), e.getMessage());
      if (what.startsWith("a uid")) {
        assertTrue(e.getMessage().contains("peer_uids[1] = " + bad.getPeerUids(1)
            + ": must ascend and be below the size " + after.size()), e.getMessage());
      }
    }
  }
}
