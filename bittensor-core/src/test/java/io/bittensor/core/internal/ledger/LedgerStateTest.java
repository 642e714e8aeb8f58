package io.bittensor.core.internal.ledger;

import static io.bittensor.core.testing.LedgerFixtures.endpoint;
import static io.bittensor.core.testing.LedgerFixtures.key;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.bittensor.core.Epoch;
import io.bittensor.core.Genesis;
import io.bittensor.core.Hash256;
import io.bittensor.core.Keypair;
import io.bittensor.core.LedgerParams;
import io.bittensor.core.Modality;
import io.bittensor.core.RejectReason;
import io.bittensor.core.SignedTransaction;
import io.bittensor.core.Transaction;
import io.bittensor.core.TransactionRejectedException;
import io.bittensor.core.testing.LedgerFixtures;
import io.bittensor.incentive.Emission;
import io.bittensor.incentive.IncentiveMechanism;
import io.bittensor.incentive.PaperParams;
import java.nio.charset.StandardCharsets;
import java.util.Arrays;
import org.junit.jupiter.api.Test;

/** The ledger's rules as {@link LedgerState} applies them, one transaction at a time. */
class LedgerStateTest {
  private static final Hash256 CHAIN = Hash256.of(new byte[] {7});

  private static LedgerState state(int funded) {
    Genesis g = LedgerFixtures.genesis(LedgerFixtures.params(8), funded);
    return LedgerState.genesis(g, CHAIN);
  }

  private static TransactionRejectedException apply(LedgerState s, Keypair key,
      Transaction body) {
    long nonce = s.account(key.id()).map(a -> a.nonce()).orElse(0L);
    return s.tryApply(SignedTransaction.sign(key, CHAIN, nonce, body), s.height() + 1);
  }

  /**
   * A registration as it could come over the wire: {@code SignedTransaction.sign} refuses an
   * endpoint this long, but the encoding has room for 65535 bytes.
   */
  private static SignedTransaction wireRegister(Keypair key, long nonce, int type,
      String endpoint) {
    ByteWriter w = new ByteWriter(2048);
    w.u8(SignedTransaction.VERSION).bytes(CHAIN.toBytes()).bytes(key.id().toBytes()).i64(nonce)
        .u8(type).string(endpoint).u8(Modality.TEXT.code()).i32(1);
    byte[] unsigned = w.toByteArray();
    byte[] domain = "bittensor-tx-v1".getBytes(StandardCharsets.US_ASCII);
    byte[] message = new byte[domain.length + unsigned.length];
    System.arraycopy(domain, 0, message, 0, domain.length);
    System.arraycopy(unsigned, 0, message, domain.length, unsigned.length);
    return SignedTransaction.decode(
        new ByteWriter(unsigned.length + 64).bytes(unsigned).bytes(key.sign(message))
            .toByteArray());
  }

  @Test
  void anEndpointLongerThanTheLimitIsRefusedAsMalformedWhereverItComesFrom() {
    LedgerState s = state(2);
    String longest = "http://h/" + "a".repeat(SignedTransaction.MAX_ENDPOINT_LENGTH - 9);
    String tooLong = longest + "b";
    SignedTransaction tx = wireRegister(key(0), 0, 1, tooLong);
    assertTrue(tx.verifySignature());
    TransactionRejectedException r = s.tryApply(tx, 1);
    assertNotNull(r, "a registration with a " + tooLong.length() + "-byte endpoint");
    assertEquals(RejectReason.MALFORMED, r.reason());
    assertTrue(r.detail().contains("1025"), r.detail());
    assertEquals(0, s.peerCount());

    assertNull(s.tryApply(wireRegister(key(0), 0, 1, longest), 1), "1024 bytes");
    r = s.tryApply(wireRegister(key(0), 1, 7, tooLong), 1);
    assertNotNull(r, "moving to a " + tooLong.length() + "-byte endpoint");
    assertEquals(RejectReason.MALFORMED, r.reason());
    assertEquals(longest, s.view().infos()[0].endpoint().toString());
  }

  /**
   * Each peer's share is below the 2^62 that each may have, but together they pass
   * {@code Long.MAX_VALUE}: the epoch is skipped, and every token is still counted.
   */
  @Test
  void anEmissionWhoseSumWouldOverflowSkipsTheEpoch() {
    LedgerState s = state(3);
    for (int i = 0; i < 3; i++) {
      assertNull(apply(s, key(i), Transaction.register(endpoint(i), Modality.TEXT)));
      assertNull(apply(s, key(i), Transaction.addStake(1000)));
    }
    for (int i = 0; i < 3; i++) {
      assertNull(apply(s, key(i),
          Transaction.setWeights(new int[] {0, 1, 2}, new double[] {1, 1, 1})));
    }
    long supply = s.supply();
    IncentiveMechanism mechanism = IncentiveMechanism.paper(
        PaperParams.defaults().withEmission(Emission.fixed(1e19)));
    Epoch e = s.runEpoch(mechanism, 5).epoch();
    assertTrue(e.skipped().isPresent(), "minted " + e.minted() + ", supply " + s.supply());
    assertTrue(e.skipped().get().contains("overflow"), e.skipped().get());
    assertEquals(0, e.minted());
    assertEquals(supply, s.supply());
    assertEquals(s.supply(), s.countTokens());
  }

  /** A flag in the state's encoding is 0 or 1; any other byte there is damage. */
  @Test
  void aStateWithAFlagOtherThanZeroOrOneIsRefusedNamingTheFlag() {
    LedgerState s = state(1);
    // u8 version, 32 chain id, i64 genesis supply, then the authority flag.
    int authority = 1 + 32 + 8;
    // The authority, five parameters, height, last hash, minted and epochs, then the epoch flag.
    int epoch = authority + 1 + 32 + 20 + 8 + 32 + 8 + 8;
    byte[] bytes = s.encode();
    assertEquals(1, bytes[authority], "the fixture has an authority");
    assertEquals(0, bytes[epoch], "no epoch yet");
    refused(bytes, authority, 2, "authority flag");
    refused(bytes, epoch, 2, "epoch flag");

    s.runEpoch(IncentiveMechanism.paper(), 5); // skipped: no peers
    bytes = s.encode();
    assertEquals(1, bytes[epoch]);
    // The epoch's number, block, peers, minted, loss and minAllowedWeights, then its flag.
    int skipped = epoch + 1 + 8 + 8 + 4 + 8 + 8 + 4;
    assertEquals(1, bytes[skipped], "skipped: no peers");
    refused(bytes, skipped, 2, "epoch skipped flag");
    assertEquals(s.hash(), LedgerState.decode(bytes).hash(), "the bytes themselves decode");
  }

  private static void refused(byte[] bytes, int at, int value, String field) {
    byte[] damaged = bytes.clone();
    damaged[at] = (byte) value;
    IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
        () -> LedgerState.decode(damaged), field);
    assertTrue(e.getMessage().contains(field), e.getMessage());
  }

  /** The first place {@code pattern} occurs in {@code bytes}. */
  private static int indexOf(byte[] bytes, byte[] pattern) {
    for (int i = 0; i + pattern.length <= bytes.length; i++) {
      if (Arrays.equals(bytes, i, i + pattern.length, pattern, 0, pattern.length)) {
        return i;
      }
    }
    throw new AssertionError("pattern not found");
  }

  /**
   * A state that no ledger could have reached is refused when decoded (a restored export, a
   * snapshot), not taken in to fail later, or never: a weight row naming a uid no peer has, rows
   * out of order, an account given twice.
   */
  @Test
  void aStateNoLedgerCouldReachIsRefusedWhenDecoded() {
    LedgerState s = state(3);
    for (int i = 0; i < 2; i++) {
      assertNull(apply(s, key(i), Transaction.register(endpoint(i), Modality.TEXT)));
    }
    assertNull(apply(s, key(0), Transaction.setWeights(new int[] {1}, new double[] {1})));
    byte[] bytes = s.encode();
    assertEquals(s.hash(), LedgerState.decode(bytes).hash());

    // Peer 0's row: i32 count 1, i32 uid 1, f64 1.0.
    byte[] row = new ByteWriter(16).i32(1).i32(1).f64(1.0).toByteArray();
    int at = indexOf(bytes, row) + 4;
    byte[] unknownUid = bytes.clone();
    unknownUid[at + 3] = 5;
    IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
        () -> LedgerState.decode(unknownUid));
    assertTrue(e.getMessage().contains("uid 5"), e.getMessage());
    byte[] zeroWeight = bytes.clone();
    zeroWeight[at + 4] = 0;
    zeroWeight[at + 5] = 0;
    e = assertThrows(IllegalArgumentException.class, () -> LedgerState.decode(zeroWeight));
    assertTrue(e.getMessage().contains("weight"), e.getMessage());

    // Accounts are sorted by key: key 2's entry (it has no peer) made a second key 1.
    byte[] id1 = key(1).id().toBytes();
    byte[] id2 = key(2).id().toBytes();
    byte[] twice = bytes.clone();
    System.arraycopy(id1, 0, twice, indexOf(twice, id2), id1.length);
    e = assertThrows(IllegalArgumentException.class, () -> LedgerState.decode(twice));
    assertTrue(e.getMessage().contains("account"), e.getMessage());
  }

  /**
   * Every token is counted where it is: a state whose balances and stakes do not add up to its
   * supply (a balance changed, tokens from nowhere) is refused when decoded.
   */
  @Test
  void aStateWhoseTokensDoNotAddUpToItsSupplyIsRefused() {
    LedgerState s = state(2);
    assertNull(apply(s, key(0), Transaction.register(endpoint(0), Modality.TEXT)));
    assertNull(apply(s, key(0), Transaction.addStake(250)));
    byte[] bytes = s.encode();
    // Key 1's account: its key, then its balance (all its funds) and nonce 0.
    byte[] account = new ByteWriter(48).bytes(key(1).id().toBytes())
        .i64(LedgerFixtures.FUNDS).i64(0).toByteArray();
    int balance = indexOf(bytes, account) + 32;
    byte[] more = bytes.clone();
    more[balance + 7] += 1;
    IllegalArgumentException e =
        assertThrows(IllegalArgumentException.class, () -> LedgerState.decode(more));
    assertTrue(e.getMessage().contains("supply"), e.getMessage());
    byte[] negativeSupply = bytes.clone();
    negativeSupply[1 + 32] = (byte) 0x80; // the genesis supply's top byte
    assertThrows(IllegalArgumentException.class, () -> LedgerState.decode(negativeSupply));
  }

  /**
   * A state with a registration rule, or with burned tokens, is written as version 2 (rules and
   * the burned total) and reads back; without them it stays version 1, and a version 2 that
   * holds nothing of the sort, or burns more than was ever made, is refused.
   */
  @Test
  void registrationRulesAndBurnedTokensAreWrittenOnlyWhenThere() {
    LedgerState plain = state(2);
    assertEquals(1, plain.encode()[0]);
    Genesis g = LedgerFixtures.genesis(LedgerFixtures.params(8).withRegistrationBurn(400), 2);
    LedgerState s = LedgerState.genesis(g, CHAIN);
    assertEquals(2, s.encode()[0]);
    assertNull(apply(s, key(0), Transaction.register(endpoint(0), Modality.TEXT)));
    assertEquals(g.supply() - 400, s.supply());
    assertEquals(s.supply(), s.countTokens());
    LedgerState back = LedgerState.decode(s.encode());
    assertEquals(s.hash(), back.hash());
    assertEquals(400, back.params().registrationBurn());
    assertEquals(g.supply() - 400, back.supply());

    // The rules back at 0: still version 2, for the burned total.
    SignedTransaction change = SignedTransaction.sign(LedgerFixtures.authority(), CHAIN, 0,
        Transaction.changeParams(LedgerFixtures.params(8)));
    assertNull(s.tryApply(change, 1));
    byte[] bytes = s.encode();
    assertEquals(2, bytes[0]);
    assertEquals(s.hash(), LedgerState.decode(bytes).hash());
    // Version, chain, genesis supply, authority, five rules, burn, cap, height, hash, minted.
    int burned = 1 + 32 + 8 + 1 + 32 + 20 + 12 + 8 + 32 + 8;
    assertEquals(400, new ByteReader(bytes, burned, 8).i64("burned"));
    byte[] none = bytes.clone();
    none[burned + 6] = 0;
    none[burned + 7] = 0;
    IllegalArgumentException e =
        assertThrows(IllegalArgumentException.class, () -> LedgerState.decode(none));
    assertTrue(e.getMessage().contains("not a canonical encoding"), e.getMessage());
    byte[] more = bytes.clone();
    more[burned] = 0x7f; // burned more than genesis and minting made
    assertThrows(IllegalArgumentException.class, () -> LedgerState.decode(more));
  }

  @Test
  void aRegistrationIsRefusedPastTheBlocksCapAndCountedAgainInTheNext() {
    Genesis g = LedgerFixtures.genesis(LedgerFixtures.params(8).withMaxRegistrationsPerBlock(1),
        0);
    LedgerState s = LedgerState.genesis(g, CHAIN);
    assertEquals(2, s.encode()[0]);
    assertNull(s.tryApply(SignedTransaction.sign(key(0), CHAIN, 0,
        Transaction.register(endpoint(0), Modality.TEXT)), 1));
    Hash256 before = s.hash();
    TransactionRejectedException r = s.tryApply(SignedTransaction.sign(key(1), CHAIN, 0,
        Transaction.register(endpoint(1), Modality.TEXT)), 1);
    assertEquals(RejectReason.TOO_MANY_REGISTRATIONS, r.reason());
    assertEquals(before, s.hash());
    assertNull(s.tryApply(SignedTransaction.sign(key(1), CHAIN, 0,
        Transaction.register(endpoint(1), Modality.TEXT)), 2));
  }
}
