package io.bittensor.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.bittensor.core.BlockPolicy;
import io.bittensor.core.Keypair;
import io.bittensor.core.LedgerParams;
import io.bittensor.core.LocalLedger;
import io.bittensor.core.Metagraph;
import io.bittensor.core.Modality;
import io.bittensor.core.Transaction;
import io.bittensor.core.internal.HostPorts;
import io.bittensor.raft.GroupStatus;
import java.io.IOException;
import java.io.RandomAccessFile;
import java.net.InetSocketAddress;
import java.net.URI;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

@Timeout(value = 60, unit = TimeUnit.SECONDS)
class LedgerCommandTest {
  private static final ObjectMapper JSON = new ObjectMapper();

  @TempDir Path dir;

  private static Keypair key(int i) {
    byte[] seed = new byte[32];
    seed[31] = (byte) i;
    seed[0] = 7;
    return Keypair.fromSeed(seed);
  }

  /** Creates a ledger with the CLI, then runs three peers through two epochs with the API. */
  private Metagraph populated(Path data) throws IOException {
    StringBuilder hex = new StringBuilder();
    CliRunner init = CliRunner.run("ledger", "init", "--data", data.toString(),
        "--epoch-length", "3", "--max-peers", "8", "--weights-rate-limit", "0", "--tau", "600",
        "--allocate", key(0).id().toHex() + "=1000",
        "--allocate", key(1).id().toHex() + "=1000",
        "--allocate", key(2).id().toHex() + "=1000");
    assertEquals(0, init.exitCode(), init.err());
    hex.append(init.out());
    try (LocalLedger ledger = LocalLedger.builder().blocks(BlockPolicy.manual()).open(data)) {
      assertTrue(hex.toString().contains(ledger.chainId().toHex()), hex.toString());
      for (int i = 0; i < 3; i++) {
        ledger.submit(key(i), Transaction.register(URI.create("http://peer" + i + ":8091"),
            Modality.TEXT));
      }
      ledger.produceBlock();
      for (int i = 0; i < 3; i++) {
        ledger.submit(key(i), Transaction.addStake(100 * (i + 1)));
        // Key 1's row is made as of block 1.
        ledger.submit(key(i), i == 1
            ? Transaction.setWeights(new int[] {2, 0}, new double[] {1, 1}, 1)
            : Transaction.setWeights(new int[] {(i + 1) % 3, 0}, new double[] {1, 1}));
      }
      ledger.produceBlocks(5);
      return ledger.metagraph();
    }
  }

  @Test
  void showPrintsEveryPeerOfTheLatestBlock() throws IOException {
    Path data = dir.resolve("ledger");
    Metagraph m = populated(data);
    CliRunner r = CliRunner.run("ledger", "show", "--data", data.toString());
    assertEquals(0, r.exitCode(), r.err());
    assertTrue(r.out().contains("block  " + m.block().number() + "  " + m.block().hash()),
        r.out());
    assertTrue(r.out().contains("supply " + m.supply()), r.out());
    assertTrue(r.out().contains("epoch  2 after block 6: minted 600"), r.out());
    var rows = r.out().lines().filter(l -> l.contains("http://peer")).toList();
    assertEquals(3, rows.size(), r.out());
    for (int uid = 0; uid < 3; uid++) {
      String row = rows.get(uid);
      assertTrue(row.trim().startsWith(uid + " "), row);
      assertTrue(row.contains(m.peer(uid).id().toHex().substring(0, 16)), row);
      assertTrue(row.contains(" " + m.stake(uid) + " "), row);
      assertTrue(row.contains("http://peer" + uid + ":8091"), row);
    }
  }

  @Test
  void showJsonMatchesTheMetagraphAndSortsByStake() throws IOException {
    Path data = dir.resolve("ledger");
    Metagraph m = populated(data);
    CliRunner r = CliRunner.run("ledger", "show", "--data", data.toString(), "--json",
        "--sort", "stake", "--limit", "2");
    assertEquals(0, r.exitCode(), r.err());
    JsonNode root = JSON.readTree(r.out());
    assertEquals(m.chainId().toHex(), root.get("chainId").asText());
    assertEquals(m.block().number(), root.get("block").get("number").asLong());
    assertEquals(m.supply(), root.get("supply").asLong());
    assertEquals(2, root.get("peers").size());
    JsonNode first = root.get("peers").get(0);
    int uid = first.get("uid").asInt();
    assertEquals(m.stake(uid), first.get("stake").asLong());
    assertTrue(first.get("stake").asLong() >= root.get("peers").get(1).get("stake").asLong());
    assertEquals(m.incentive().get(uid), first.get("incentive").asDouble(), 0);
    assertEquals(m.info(uid).endpoint().toString(), first.get("endpoint").asText());
  }

  @Test
  void showRefusesACorruptJournalNamingTheBlockAndAMissingDirectory() throws IOException {
    Path data = dir.resolve("ledger");
    populated(data);
    try (RandomAccessFile f = new RandomAccessFile(data.resolve("journal.btl").toFile(), "rw")) {
      f.seek(f.length() / 2);
      int b = f.read();
      f.seek(f.length() / 2);
      f.write(b ^ 0xff);
    }
    CliRunner r = CliRunner.run("ledger", "show", "--data", data.toString());
    assertEquals(Main.EXIT_FAILURE, r.exitCode());
    assertTrue(r.err().contains("is corrupt") && r.err().contains("block "), r.err());
    CliRunner missing = CliRunner.run("ledger", "show", "--data", dir.resolve("no").toString());
    assertEquals(Main.EXIT_BAD_INPUT, missing.exitCode());
  }

  /** A sealed key names its account without its passphrase: in a genesis, and to look it up. */
  @Test
  void aSealedKeyFileNamesItsAccountInTheGenesisAndInAccount() throws Exception {
    Keypair cold = Keypair.generate();
    Path coldKey = dir.resolve("cold.key");
    cold.save(coldKey, "never asked".toCharArray(), io.bittensor.core.KeyProtection.argon2id(
        64, 1, 1));
    Path data = dir.resolve("sealed-genesis");
    CliRunner init = CliRunner.run("ledger", "init", "--data", data.toString(),
        "--allocate", coldKey + "=1234", "--authority", coldKey.toString());
    assertEquals(0, init.exitCode(), init.err());
    CliRunner account = CliRunner.run("ledger", "account", "--data", data.toString(),
        coldKey.toString());
    assertEquals(0, account.exitCode(), account.err());
    assertTrue(account.out().startsWith("account  " + cold.id().toHex() + "\nbalance  1234\n"
        + "nonce    0\npeer     not registered"), account.out());
  }

  /**
   * {@code init} sets the registration rules; {@code show} prints them (text and JSON) and the
   * supply less the burn, {@code blocks --json} the authority's changes of them; a ledger
   * without them prints the rules line it printed before.
   */
  @Test
  void initSetsTheRegistrationRulesAndShowPrintsThem() throws IOException {
    Path plain = dir.resolve("plain");
    assertEquals(0, CliRunner.run("ledger", "init", "--data", plain.toString()).exitCode());
    CliRunner before = CliRunner.run("ledger", "show", "--data", plain.toString());
    assertTrue(before.out().contains("rules  epochLength 100  immunityPeriod 200"
        + "  minAllowedWeights 1  weightsRateLimit 10\n"), before.out());

    Path data = dir.resolve("ledger");
    CliRunner init = CliRunner.run("ledger", "init", "--data", data.toString(),
        "--registration-burn", "400", "--max-registrations-per-block", "2",
        "--allocate", key(0).id().toHex() + "=1000", "--authority", key(1).id().toHex());
    assertEquals(0, init.exitCode(), init.err());
    try (LocalLedger ledger = LocalLedger.builder().blocks(BlockPolicy.manual()).open(data)) {
      LedgerParams rules = ledger.metagraph().params();
      assertEquals(400, rules.registrationBurn());
      assertEquals(2, rules.maxRegistrationsPerBlock());
      ledger.submit(key(0), Transaction.register(URI.create("http://peer0:8091"),
          Modality.TEXT));
      ledger.produceBlock();
      ledger.submit(key(1), Transaction.changeParams(rules.withMaxRegistrationsPerBlock(3)));
      ledger.submit(key(1), Transaction.changeParams(rules.withRegistrationBurn(0)
          .withMaxRegistrationsPerBlock(2)));
      ledger.produceBlock();
    }
    CliRunner blocks = CliRunner.run("ledger", "blocks", "--data", data.toString(), "--last",
        "1", "--json");
    assertEquals(0, blocks.exitCode(), blocks.err());
    JsonNode changes = JSON.readTree(blocks.out()).get("transactions");
    assertEquals(3, changes.get(0).get("params").get("maxRegistrationsPerBlock").asInt());
    assertEquals(400, changes.get(0).get("params").get("registrationBurn").asLong());
    assertEquals(0, changes.get(1).get("params").get("registrationBurn").asLong());
    CliRunner show = CliRunner.run("ledger", "show", "--data", data.toString());
    assertEquals(0, show.exitCode(), show.err());
    assertTrue(show.out().contains("weightsRateLimit 10  registrationBurn 0"
        + "  maxRegistrationsPerBlock 2"), show.out());
    assertTrue(show.out().contains("supply 600 "), show.out());
    CliRunner json = CliRunner.run("ledger", "show", "--data", data.toString(), "--json");
    JsonNode params = JSON.readTree(json.out()).get("params");
    assertEquals(0, params.get("registrationBurn").asLong());
    assertEquals(2, params.get("maxRegistrationsPerBlock").asInt());

    CliRunner negative = CliRunner.run("ledger", "init", "--data",
        dir.resolve("bad").toString(), "--registration-burn", "-1");
    assertEquals(Main.EXIT_BAD_INPUT, negative.exitCode());
    assertTrue(negative.err().contains("registrationBurn must be >= 0"), negative.err());
  }

  /**
   * {@code blocks} prints a change of the rules as {@code show} prints them: every rule by name,
   * and the registration rules only where the change sets one, not the record's toString that
   * ends with both at 0.
   */
  @Test
  void blocksPrintsAChangeOfTheRulesAsShowDoes() throws IOException {
    Path data = dir.resolve("ledger");
    CliRunner init = CliRunner.run("ledger", "init", "--data", data.toString(),
        "--authority", key(1).id().toHex());
    assertEquals(0, init.exitCode(), init.err());
    try (LocalLedger ledger = LocalLedger.builder().blocks(BlockPolicy.manual()).open(data)) {
      LedgerParams rules = ledger.metagraph().params();
      ledger.submit(key(1), Transaction.changeParams(rules.withEpochLength(50)));
      ledger.submit(key(1), Transaction.changeParams(rules.withMaxPeers(64)
          .withRegistrationBurn(400).withMaxRegistrationsPerBlock(3)));
      ledger.produceBlock();
    }
    CliRunner blocks = CliRunner.run("ledger", "blocks", "--data", data.toString());
    assertEquals(0, blocks.exitCode(), blocks.err());
    assertTrue(blocks.out().contains("nonce 0  ChangeParams  epochLength 50  maxPeers 4096"
        + "  immunityPeriod 200  minAllowedWeights 1  weightsRateLimit 10\n"), blocks.out());
    assertTrue(blocks.out().contains("nonce 1  ChangeParams  epochLength 100  maxPeers 64"
        + "  immunityPeriod 200  minAllowedWeights 1  weightsRateLimit 10  registrationBurn 400"
        + "  maxRegistrationsPerBlock 3\n"), blocks.out());
  }

  @Test
  void initRefusesBadInputWithExitCode2() {
    Path data = dir.resolve("ledger");
    CliRunner bad = CliRunner.run("ledger", "init", "--data", data.toString(), "--allocate",
        "xyz=5");
    assertEquals(Main.EXIT_BAD_INPUT, bad.exitCode());
    assertTrue(bad.err().contains("--allocate xyz"), bad.err());
    CliRunner zero = CliRunner.run("ledger", "init", "--data", data.toString(),
        "--epoch-length", "0");
    assertEquals(Main.EXIT_BAD_INPUT, zero.exitCode());
    assertTrue(zero.err().contains("epochLength must be >= 1"), zero.err());
    assertEquals(0, CliRunner.run("ledger", "init", "--data", data.toString()).exitCode());
    assertEquals(Main.EXIT_BAD_INPUT,
        CliRunner.run("ledger", "init", "--data", data.toString()).exitCode());
  }

  /** A --data that is a file is the command line's mistake, named so, and left alone. */
  @Test
  void initAndServeRefuseADataThatIsAFile() throws IOException {
    Path file = Files.writeString(dir.resolve("notes.txt"), "mine");
    for (String[] args : List.of(new String[] {"ledger", "init", "--data", file.toString()},
        new String[] {"ledger", "serve", "--data", file.toString(), "--port", "0"})) {
      CliRunner r = CliRunner.run(args);
      assertEquals(Main.EXIT_BAD_INPUT, r.exitCode(), r.err());
      assertTrue(r.err().contains("--data " + file + " is a file, not a folder"), r.err());
    }
    assertEquals("mine", Files.readString(file));
  }

  @Test
  void compactKeepsTheStateAndShowReadsItFromTheCheckpoint() throws IOException {
    Path data = dir.resolve("ledger");
    Metagraph m = populated(data);
    CliRunner before = CliRunner.run("ledger", "show", "--data", data.toString(), "--json");
    assertEquals(0, before.exitCode(), before.err());
    CliRunner compact = CliRunner.run("ledger", "compact", "--data", data.toString());
    assertEquals(0, compact.exitCode(), compact.err());
    assertTrue(compact.out().contains("from block " + m.block().number() + " on"),
        compact.out());
    CliRunner after = CliRunner.run("ledger", "show", "--data", data.toString(), "--json");
    assertEquals(0, after.exitCode(), after.err());
    assertEquals(JSON.readTree(before.out()), JSON.readTree(after.out()),
        "the same metagraph from the checkpoint");
    // Open elsewhere: refused, and the journal is left as it is.
    try (LocalLedger open = LocalLedger.builder().blocks(BlockPolicy.manual()).open(data)) {
      CliRunner busy = CliRunner.run("ledger", "compact", "--data", data.toString());
      assertEquals(Main.EXIT_FAILURE, busy.exitCode());
      assertTrue(busy.err().contains("open"), busy.err());
      assertEquals(m.block(), open.metagraph().block());
    }
    CliRunner none = CliRunner.run("ledger", "compact", "--data", dir.resolve("no").toString());
    assertEquals(Main.EXIT_BAD_INPUT, none.exitCode());
    assertTrue(none.err().contains("holds no ledger"), none.err());
  }

  @Test
  void aFolderWithNoLedgerIsBadInputSaidOnce() throws IOException {
    Path empty = Files.createDirectories(dir.resolve("empty"));
    CliRunner show = CliRunner.run("ledger", "show", "--data", empty.toString());
    assertEquals(Main.EXIT_BAD_INPUT, show.exitCode(), show.err());
    assertTrue(show.err().contains("--data " + empty + " holds no ledger (no journal.btl)"),
        show.err());
    assertEquals(show.err().indexOf("no ledger"), show.err().lastIndexOf("no ledger"),
        "said once: " + show.err());
  }

  @Test
  void blocksPrintsEachBlockWithItsTransactionsAndEpochs() throws IOException {
    Path data = dir.resolve("ledger");
    // Block 1: three registrations; 2: three stakes and two weight rows (the third names uid 0
    // twice, and the ledger refused it).
    Metagraph m = populated(data);
    CliRunner r = CliRunner.run("ledger", "blocks", "--data", data.toString());
    assertEquals(0, r.exitCode(), r.err());
    var heads = r.out().lines().filter(l -> l.startsWith("block ")).toList();
    assertEquals(m.block().number(), heads.size(), r.out());
    assertTrue(heads.get(0).startsWith("block 1 ") && heads.get(0).endsWith("3 transactions"),
        heads.get(0));
    assertTrue(heads.get(1).endsWith("5 transactions"), heads.get(1));
    assertTrue(heads.get(heads.size() - 1).contains(m.block().hash().toString()), r.out());
    assertTrue(r.out().contains("Register[endpoint=http://peer2:8091"), r.out());
    assertTrue(r.out().contains(key(1).id().toHex().substring(0, 16) + "  nonce 1  AddStake"),
        r.out());
    assertTrue(r.out().contains("  epoch 2: 3 peers, minted 600"), r.out());
    assertTrue(r.out().contains("weights=[1.0, 1.0], asOfBlock=1]"), r.out());

    CliRunner last = CliRunner.run("ledger", "blocks", "--data", data.toString(), "--last", "2",
        "--json");
    assertEquals(0, last.exitCode(), last.err());
    var lines = last.out().lines().toList();
    assertEquals(2, lines.size(), last.out());
    JsonNode latest = JSON.readTree(lines.get(1));
    assertEquals(m.block().number(), latest.get("number").asLong());
    assertEquals(m.block().hash().toHex(), latest.get("hash").asText());
    assertEquals(JSON.readTree(lines.get(0)).get("hash").asText(),
        latest.get("parent").asText(), "one chain");

    CliRunner second = CliRunner.run("ledger", "blocks", "--data", data.toString(), "--from",
        "2", "--to", "2", "--json");
    assertEquals(0, second.exitCode(), second.err());
    JsonNode block2 = JSON.readTree(second.out());
    JsonNode weights = block2.get("transactions").get(1);
    assertEquals("setWeights", weights.get("kind").asText(), block2.toString());
    assertEquals(key(0).id().toHex(), weights.get("signer").asText());
    assertEquals(1, weights.get("uids").get(0).asInt());
    assertTrue(weights.get("asOfBlock") == null, weights.toString());
    assertEquals(1, block2.get("transactions").get(3).get("asOfBlock").asLong(),
        block2.toString());
    assertEquals(100, block2.get("transactions").get(0).get("amount").asLong());

    for (String[] bad : new String[][] {{"--last", "0"}, {"--from", "0"},
        {"--from", "3", "--to", "2"}, {"--last", "2", "--from", "1"}}) {
      String[] args = new String[3 + bad.length];
      args[0] = "ledger";
      args[1] = "blocks";
      args[2] = "--data=" + data;
      System.arraycopy(bad, 0, args, 3, bad.length);
      CliRunner refused = CliRunner.run(args);
      assertEquals(Main.EXIT_BAD_INPUT, refused.exitCode(), String.join(" ", bad));
      assertTrue(refused.err().contains(bad[0]), refused.err());
    }
  }

  @Test
  void blocksOfACompactedJournalStartAfterTheCheckpoint() throws IOException {
    Path data = dir.resolve("ledger");
    Metagraph m = populated(data);
    assertEquals(0, CliRunner.run("ledger", "compact", "--data", data.toString()).exitCode());
    CliRunner dropped = CliRunner.run("ledger", "blocks", "--data", data.toString());
    assertEquals(Main.EXIT_FAILURE, dropped.exitCode());
    assertTrue(dropped.err().contains("compacted at block " + m.block().number())
        && dropped.err().contains("no archived journal"), dropped.err());
    try (LocalLedger ledger = LocalLedger.builder().blocks(BlockPolicy.manual()).open(data)) {
      ledger.produceBlocks(2);
    }
    CliRunner after = CliRunner.run("ledger", "blocks", "--data", data.toString(), "--from",
        Long.toString(m.block().number() + 1));
    assertEquals(0, after.exitCode(), after.err());
    assertEquals(2, after.out().lines().filter(l -> l.startsWith("block ")).count(), after.out());
  }

  @Test
  void compactWithArchiveKeepsEveryBlockReadable() throws IOException {
    Path data = dir.resolve("ledger");
    Metagraph m = populated(data);
    CliRunner before = CliRunner.run("ledger", "blocks", "--data", data.toString(), "--json");
    assertEquals(0, before.exitCode(), before.err());
    CliRunner compact = CliRunner.run("ledger", "compact", "--data", data.toString(),
        "--archive");
    assertEquals(0, compact.exitCode(), compact.err());
    assertTrue(java.nio.file.Files.exists(data.resolve("archive").resolve(String.format(
        "journal-%020d-%020d.btl", 1, m.block().number()))), "the old journal, named");
    try (LocalLedger ledger = LocalLedger.builder().blocks(BlockPolicy.manual()).open(data)) {
      ledger.produceBlocks(2);
    }
    CliRunner after = CliRunner.run("ledger", "blocks", "--data", data.toString(), "--json");
    assertEquals(0, after.exitCode(), after.err());
    var lines = after.out().lines().toList();
    assertEquals(before.out().lines().toList(), lines.subList(0, lines.size() - 2),
        "the same blocks, from the archive, then the two after the checkpoint");
    CliRunner alone = CliRunner.run("ledger", "serve", "--data", data.toString(), "--archive");
    assertEquals(Main.EXIT_BAD_INPUT, alone.exitCode());
    assertTrue(alone.err().contains("--compact-journal"), alone.err());
  }

  @Test
  void blocksReadsALedgerServerAsItsDirectory() throws IOException {
    Path data = dir.resolve("ledger");
    populated(data);
    CliRunner local = CliRunner.run("ledger", "blocks", "--data", data.toString(), "--json");
    assertEquals(0, local.exitCode(), local.err());
    try (LocalLedger ledger = LocalLedger.builder().blocks(BlockPolicy.manual()).open(data);
        io.bittensor.transport.LedgerServer server = io.bittensor.transport.LedgerServer
            .builder().ledger(ledger).host("127.0.0.1").port(0).start()) {
      CliRunner remote = CliRunner.run("ledger", "blocks", "--remote", server.uri().toString(),
          "--json");
      assertEquals(0, remote.exitCode(), remote.err());
      assertEquals(local.out(), remote.out(), "the same blocks, read by the server");
    }
    CliRunner both = CliRunner.run("ledger", "blocks", "--data", data.toString(), "--remote",
        "http://127.0.0.1:1");
    assertEquals(Main.EXIT_BAD_INPUT, both.exitCode());
  }

  @Test
  void auditReplaysTheChainLocallyAndThroughAServerAndNamesTheBlockThatDiffers()
      throws IOException {
    Path data = dir.resolve("ledger");
    Metagraph m = populated(data);
    CliRunner local = CliRunner.run("ledger", "audit", "--data", data.toString(), "--chain",
        m.chainId().toHex());
    assertEquals(0, local.exitCode(), local.err());
    assertTrue(local.out().contains("chain " + m.chainId() + ": blocks 1 to "
        + m.block().number() + " replay"), local.out());
    try (LocalLedger ledger = LocalLedger.builder().blocks(BlockPolicy.manual()).open(data);
        io.bittensor.transport.LedgerServer server = io.bittensor.transport.LedgerServer
            .builder().ledger(ledger).host("127.0.0.1").port(0).start()) {
      CliRunner remote = CliRunner.run("ledger", "audit", "--remote", server.uri().toString());
      assertEquals(0, remote.exitCode(), remote.err());
      assertTrue(remote.out().contains("(as the ledger names it)"), remote.out());
    }
    String other = "ab".repeat(32);
    CliRunner wrong = CliRunner.run("ledger", "audit", "--data", data.toString(), "--chain",
        other);
    assertEquals(Main.EXIT_FAILURE, wrong.exitCode());
    assertTrue(wrong.err().contains("not chain " + other), wrong.err());
    CliRunner bad = CliRunner.run("ledger", "audit", "--data", data.toString(), "--chain", "xyz");
    assertEquals(Main.EXIT_BAD_INPUT, bad.exitCode());
    assertTrue(bad.err().contains("--chain xyz"), bad.err());

    // With --replica, an audit started again replays only what it has not checked.
    Path replica = dir.resolve("replica");
    CliRunner part = CliRunner.run("ledger", "audit", "--data", data.toString(), "--replica",
        replica.toString(), "--to", "3");
    assertEquals(0, part.exitCode(), part.err());
    assertTrue(part.out().contains(": blocks 1 to 3 replay"), part.out());
    CliRunner rest = CliRunner.run("ledger", "audit", "--data", data.toString(), "--replica",
        replica.toString());
    assertEquals(0, rest.exitCode(), rest.err());
    assertTrue(rest.out().contains(": blocks 4 to " + m.block().number() + " replay")
        && rest.out().contains("(1 to 3 checked before, in " + replica + ")"), rest.out());
  }

  @Test
  void auditFollowsAServersChainUntilStopped() throws Exception {
    Path data = dir.resolve("ledger");
    Metagraph m = populated(data);
    long n = m.block().number();
    try (LocalLedger ledger = LocalLedger.builder().blocks(BlockPolicy.manual()).open(data);
        io.bittensor.transport.LedgerServer server = io.bittensor.transport.LedgerServer
            .builder().ledger(ledger).host("127.0.0.1").port(0).start()) {
      java.io.StringWriter out = new java.io.StringWriter();
      java.io.StringWriter err = new java.io.StringWriter();
      int[] exit = {-1};
      Thread audit = new Thread(() -> exit[0] = Main.run(new String[] {"ledger", "audit",
          "--remote", server.uri().toString(), "--chain", m.chainId().toHex(), "--follow",
          "0.05"}, new java.io.PrintWriter(out, true), new java.io.PrintWriter(err, true)));
      audit.start();
      awaitOutput(out, "blocks 1 to " + n + " replay", audit, err);
      ledger.submit(key(0), Transaction.addStake(5));
      ledger.produceBlocks(3);
      awaitOutput(out, "blocks " + (n + 1) + " to " + (n + 3) + " replay too", audit, err);
      audit.interrupt();
      audit.join(30_000);
      assertEquals(0, exit[0], out + "\n" + err);
      assertTrue(out.toString().endsWith("stopped" + System.lineSeparator()), out.toString());
    }
    CliRunner zero = CliRunner.run("ledger", "audit", "--data", data.toString(), "--follow", "0");
    assertEquals(Main.EXIT_BAD_INPUT, zero.exitCode());
    CliRunner both = CliRunner.run("ledger", "audit", "--data", data.toString(), "--follow", "1",
        "--to", "3");
    assertEquals(Main.EXIT_BAD_INPUT, both.exitCode());
    assertTrue(both.err().contains("--follow"), both.err());
  }

  /**
   * A --follow under a millisecond would poll the ledger without a pause (it rounds to 0), and
   * one past a long's milliseconds would never poll again: both are refused.
   */
  @Test
  void auditRefusesAFollowItCannotWaitFor() throws Exception {
    Path data = dir.resolve("ledger");
    populated(data);
    for (String follow : List.of("0.0001", "Infinity", "1e300")) {
      java.io.StringWriter err = new java.io.StringWriter();
      int[] exit = {-1};
      Thread audit = new Thread(() -> exit[0] = Main.run(new String[] {"ledger", "audit",
          "--data", data.toString(), "--follow", follow}, new java.io.PrintWriter(
              new java.io.StringWriter(), true), new java.io.PrintWriter(err, true)));
      audit.setDaemon(true);
      audit.start();
      audit.join(20_000);
      boolean ended = !audit.isAlive();
      audit.interrupt(); // stops it where it still follows
      assertTrue(ended, "--follow " + follow + " still follows the ledger");
      assertEquals(Main.EXIT_BAD_INPUT, exit[0], err.toString());
      assertTrue(err.toString().contains("--follow must be"), err.toString());
    }
  }

  /** A negative --to is bad input, as a --from below 1 is; not an empty answer that passes. */
  @Test
  void blocksAndAuditRefuseANegativeTo() throws IOException {
    Path data = dir.resolve("ledger");
    populated(data);
    for (String command : List.of("blocks", "audit")) {
      CliRunner r = CliRunner.run("ledger", command, "--data", data.toString(), "--to", "-5");
      assertEquals(Main.EXIT_BAD_INPUT, r.exitCode(), command + ": " + r.out() + r.err());
      assertTrue(r.err().contains("--to must be >= 0, was -5"), r.err());
    }
  }

  @Test
  void membersPrintsAnIpv6AddressInBracketsThatReadBack() {
    var read = LedgerCommand.members(List.of("a=[::1]:9000", "b=10.0.0.2:9001"), "--via");
    assertEquals(new java.net.InetSocketAddress("::1", 9000), read.get("a"));
    assertEquals("[0:0:0:0:0:0:0:1]:9000", HostPorts.of(read.get("a")));
    assertEquals("[::1]:9000",
        HostPorts.of(java.net.InetSocketAddress.createUnresolved("::1", 9000)));
    assertEquals("10.0.0.2:9001", HostPorts.of(read.get("b")));
    // What ledger members prints, --via and --raft-member read back.
    for (var address : read.values()) {
      String printed = "x=" + HostPorts.of(address);
      assertEquals(address, LedgerCommand.members(List.of(printed), "--via").get("x"), printed);
    }
  }

  /** A journal that cannot be read is named with --data and what is wrong with it. */
  @Test
  void compactAndShowNameTheOptionTheFileAndTheProblem() throws IOException {
    Path data = dir.resolve("ledger");
    Files.createDirectories(data.resolve("journal.btl"));
    for (String command : List.of("compact", "show")) {
      CliRunner r = CliRunner.run("ledger", command, "--data", data.toString());
      assertEquals(Main.EXIT_BAD_INPUT, r.exitCode(), command + ": " + r.err());
      assertTrue(r.err().contains("the ledger in --data " + data + ": ")
          && r.err().contains("a folder, not a file"), command + ": " + r.err());
    }
  }

  /** A ledger of its genesis block alone has nothing to replay, not "blocks 1 to 0". */
  @Test
  void auditOfAGenesisOnlyLedgerSaysThereIsNothingToReplay() {
    Path data = dir.resolve("ledger");
    CliRunner init = CliRunner.run("ledger", "init", "--data", data.toString(),
        "--allocate", key(0).id().toHex() + "=1000");
    assertEquals(0, init.exitCode(), init.err());
    CliRunner r = CliRunner.run("ledger", "audit", "--data", data.toString());
    assertEquals(0, r.exitCode(), r.err());
    assertTrue(r.out().contains(": no blocks to replay after its genesis block"), r.out());
  }

  private static void awaitOutput(java.io.StringWriter out, String text, Thread running,
      java.io.StringWriter err) throws InterruptedException {
    long deadline = System.nanoTime() + 30_000_000_000L;
    while (!out.toString().contains(text)) {
      assertTrue(running.isAlive(), "the audit ended: " + out + err);
      assertTrue(System.nanoTime() < deadline, "no \"" + text + "\" in 30 s: " + out + err);
      Thread.sleep(20);
    }
  }

  /**
   * The last line of {@code ledger members} for each way a group can be without a leader, which
   * a group on loopback passes through too briefly to test: whom the members follow, or how many
   * answered.
   */
  @Test
  void membersLastLineSaysWhyNoMemberLeads() {
    GroupStatus.Member a = answered("a", GroupStatus.Role.FOLLOWER, Optional.of("c"));
    GroupStatus.Member b = answered("b", GroupStatus.Role.CANDIDATE, Optional.empty());
    GroupStatus.Member c = new GroupStatus.Member("c", new InetSocketAddress("127.0.0.1", 3),
        GroupStatus.Role.UNREACHABLE, -1, -1, Optional.empty(), Optional.of("refused"));
    assertEquals("no member that answered leads: members follow c, which did not answer here:"
        + " it may lead out of this machine's reach, or have stopped a moment ago",
        LedgerCommand.leadership(new GroupStatus(List.of(a, b, c))));
    GroupStatus.Member a2 = answered("a", GroupStatus.Role.CANDIDATE, Optional.empty());
    assertEquals("no member leads: an election is in progress (2 of 3 members answered); ask"
        + " again in a moment",
        LedgerCommand.leadership(new GroupStatus(List.of(a2, b, c))));
    assertEquals("no member leads: only 1 of 3 members answered, fewer than the 2 a leader needs:"
        + " start the members that are down, and check that they reach each other's Raft ports",
        LedgerCommand.leadership(new GroupStatus(List.of(a2, c, c))));
    assertEquals("c=127.0.0.1:3  unreachable: refused", "c=127.0.0.1:3  "
        + LedgerCommand.standing(c));
    // Of two leaders (one cut off, not yet told a newer term began), the newer.
    GroupStatus.Member old = answered("a", GroupStatus.Role.LEADER, Optional.of("a"));
    GroupStatus.Member now = new GroupStatus.Member("b", new InetSocketAddress("127.0.0.1", 2),
        GroupStatus.Role.LEADER, 8, 40, Optional.of("b"), Optional.empty());
    assertEquals("b leads, in term 8",
        LedgerCommand.leadership(new GroupStatus(List.of(old, now, c))));
  }

  private static GroupStatus.Member answered(String id, GroupStatus.Role role,
      Optional<String> leader) {
    return new GroupStatus.Member(id, new InetSocketAddress("127.0.0.1", 1), role, 7, 42, leader,
        Optional.empty());
  }
}
