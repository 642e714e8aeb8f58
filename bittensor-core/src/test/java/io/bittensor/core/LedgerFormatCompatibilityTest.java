package io.bittensor.core;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;

import io.bittensor.core.testing.LedgerFixtures;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * The bytes a ledger wrote before the registration rules existed: two data directories under
 * {@code src/test/resources/compat-v1} (one keeping its whole journal, one compacted), written
 * by the scenario below on 2026-12-07. They must still open and verify, and the same scenario
 * must still write exactly those bytes (genesis block, transactions and signatures, states,
 * snapshots, the checkpoint), since rules left at 0 change no encoding.
 *
 * <p>To write them again (only for a deliberate new format): {@code
 * -Dcompat.write=/some/dir}.
 */
@Timeout(value = 120, unit = TimeUnit.SECONDS)
class LedgerFormatCompatibilityTest {
  /** The fixture's chain id and its state hash after the last block. */
  private static final String CHAIN_ID =
      "eb99c56439010f068adab34f815d1dd0e5ebab3439a9b4e7dc081fddfae15e5c";
  private static final String STATE_HASH =
      "5955157b29e6d68179e4aac03905df8cf7d78b120df1eacd873c56eaa182ad6b";
  private static final List<String> FILES = List.of("journal.btl",
      "snapshot-00000000000000000004.bin", "snapshot-00000000000000000008.bin");

  @TempDir Path dir;

  static Genesis genesis() {
    return LedgerFixtures.genesis(new LedgerParams(5, 4, 3, 1, 0), 6);
  }

  static LocalLedger.Builder builder() {
    return LocalLedger.builder().mechanism(LedgerContract.mechanism())
        .clock(LedgerFixtures.fixedClock()).blocks(BlockPolicy.manual()).snapshotEvery(4);
  }

  /** Every kind of transaction, replacements, a rule change and three epochs. */
  static void scenario(Path data, boolean compact) throws IOException {
    try (LocalLedger l = builder().genesis(genesis()).compactAtSnapshots(compact).open(data)) {
      for (int i = 0; i < 4; i++) {
        ok(l, LedgerFixtures.key(i),
            Transaction.register(LedgerFixtures.endpoint(i), Modality.TEXT));
      }
      l.produceBlock();
      for (int i = 0; i < 4; i++) {
        ok(l, LedgerFixtures.key(i), Transaction.addStake(1000 * (i + 1)));
        ok(l, LedgerFixtures.key(i), Transaction.setWeights(
            new int[] {(i + 1) % 4, (i + 2) % 4}, new double[] {0.75, 0.25}));
      }
      l.produceBlock();
      ok(l, LedgerFixtures.key(5), Transaction.transfer(LedgerFixtures.key(6).id(), 77));
      ok(l, LedgerFixtures.key(1),
          Transaction.serve(LedgerFixtures.endpoint(41), Modality.IMAGE));
      ok(l, LedgerFixtures.authority(),
          Transaction.changeParams(new LedgerParams(5, 4, 2, 1, 1)));
      l.produceBlock();
      l.produceBlock();
      l.produceBlock(); // block 5: an epoch
      ok(l, LedgerFixtures.key(4),
          Transaction.register(LedgerFixtures.endpoint(4), Modality.TEXT)); // replaces one
      ok(l, LedgerFixtures.key(2), Transaction.removeStake(500));
      l.produceBlock();
      ok(l, LedgerFixtures.key(7), // no account: registering is free
          Transaction.register(LedgerFixtures.endpoint(7), Modality.SPEECH));
      l.produceBlock();
      for (int b = 8; b <= 11; b++) {
        l.produceBlock(); // an epoch after block 10
      }
    }
  }

  private static void ok(LocalLedger l, Keypair key, Transaction body) {
    if (l.submit(key, body).isCompletedExceptionally()) {
      l.submit(key, body).join(); // throws the rejection
    }
  }

  private static Path resources() {
    return Path.of("src/test/resources/compat-v1");
  }

  private static List<String> files(Path data) throws IOException {
    List<String> names = new ArrayList<>();
    try (Stream<Path> s = Files.list(data)) {
      s.map(p -> p.getFileName().toString()).filter(n -> !n.equals("LOCK")).sorted()
          .forEach(names::add);
    }
    return names;
  }

  private Path copy(String name) throws IOException {
    Path to = dir.resolve("copy-" + name);
    Files.createDirectories(to);
    for (String f : files(resources().resolve(name))) {
      Files.copy(resources().resolve(name).resolve(f), to.resolve(f));
    }
    return to;
  }

  @Test
  void directoriesWrittenBeforeTheRegistrationRulesOpenToTheSameState() throws IOException {
    for (String name : new String[] {"kept", "compacted"}) {
      try (LocalLedger l = builder().openReadOnly(resources().resolve(name))) {
        assertEquals(CHAIN_ID, l.chainId().toHex(), name);
        assertEquals(STATE_HASH, l.stateHash().toHex(), name);
        assertEquals(genesis().params(), l.metagraph().params().withImmunityPeriod(3)
            .withWeightsRateLimit(0), name + ": no registration rule");
      }
      Path data = copy(name);
      for (String f : FILES) {
        if (f.startsWith("snapshot-")) {
          Files.delete(data.resolve(f)); // replay from genesis, or from the checkpoint
        }
      }
      try (LocalLedger l = builder().open(data)) {
        assertEquals(STATE_HASH, l.stateHash().toHex(), name + " replayed");
        assertEquals(name.equals("kept") ? 11 : 3, l.blocksReplayedOnOpen(), name);
        long[] audit = l.tokenAudit();
        assertEquals(audit[0], audit[1], name);
        l.produceBlock(); // and goes on
      }
    }
  }

  @Test
  void ledgersWithTheRulesAtZeroWriteTodaysBytes() throws IOException {
    for (String name : new String[] {"kept", "compacted"}) {
      Path data = dir.resolve(name);
      scenario(data, name.equals("compacted"));
      assertEquals(FILES, files(data), name);
      for (String f : FILES) {
        assertArrayEquals(Files.readAllBytes(resources().resolve(name).resolve(f)),
            Files.readAllBytes(data.resolve(f)), name + "/" + f);
      }
    }
  }

  @Test
  void writeFixture() throws IOException {
    String to = System.getProperty("compat.write");
    if (to == null) {
      return;
    }
    scenario(Path.of(to, "kept"), false);
    scenario(Path.of(to, "compacted"), true);
    for (String d : new String[] {"kept", "compacted"}) {
      try (LocalLedger l = builder().openReadOnly(Path.of(to, d))) {
        System.out.println(d + " chain " + l.chainId() + " state " + l.stateHash() + " files "
            + files(Path.of(to, d)));
      }
    }
  }
}
