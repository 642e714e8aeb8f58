package io.bittensor.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.bittensor.core.BlockPolicy;
import io.bittensor.core.Genesis;
import io.bittensor.core.KeyProtection;
import io.bittensor.core.Keypair;
import io.bittensor.core.Ledger;
import io.bittensor.core.LedgerException;
import io.bittensor.core.LedgerParams;
import io.bittensor.core.LocalLedger;
import io.bittensor.core.Metagraph;
import io.bittensor.core.PeerId;
import io.bittensor.core.Receipt;
import io.bittensor.core.RejectReason;
import io.bittensor.core.SignedTransaction;
import io.bittensor.core.Transaction;
import io.bittensor.core.TransactionRejectedException;
import io.bittensor.core.testing.ForwardingLedger;
import io.bittensor.core.testing.TestCertificates;
import io.bittensor.transport.LedgerServer;
import java.io.IOException;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/** {@code ledger transfer|register|stake|unstake|weights} against a ledger server on loopback. */
@Timeout(60)
class LedgerTransactionCommandsTest {
  @TempDir Path dir;
  private final Keypair owner = Keypair.generate();
  private LocalLedger ledger;
  /** What the server passed on to the ledger, in order. */
  private final List<SignedTransaction> submitted = new CopyOnWriteArrayList<>();
  private LedgerServer server;
  private Path key;
  private Path passphrase;

  @BeforeEach
  void startLedger() throws Exception {
    ledger = LocalLedger.builder()
        // No epoch while a test runs (its minting would change the stakes it reads back): at
        // a block every 20 ms, the default 100 blocks passed within a slow test.
        .genesis(Genesis.builder().params(LedgerParams.defaults().withWeightsRateLimit(0)
                .withEpochLength(1_000_000))
            .allocate(owner.id(), 10_000).authority(owner.id()).build())
        .blocks(BlockPolicy.every(Duration.ofMillis(20))).openInMemory();
    server = LedgerServer.builder().ledger(new ForwardingLedger(ledger) {
      @Override
      public CompletableFuture<Receipt> submit(SignedTransaction tx) {
        submitted.add(tx);
        return super.submit(tx);
      }
    }).host("127.0.0.1").port(0).start();
    key = dir.resolve("owner.key");
    owner.save(key, "stake holder".toCharArray(), KeyProtection.argon2id(64, 1, 1));
    passphrase = KeysCommandTest.passphraseFile(dir, "stake holder\n");
  }

  @AfterEach
  void stopLedger() {
    server.close();
    ledger.close();
  }

  private CliRunner signed(String command, String... more) {
    String[] args = new String[6 + 2 + more.length];
    args[0] = "ledger";
    args[1] = command;
    args[2] = "--remote";
    args[3] = server.uri().toString();
    args[4] = "--key";
    args[5] = key.toString();
    args[6] = "--passphrase-file";
    args[7] = passphrase.toString();
    System.arraycopy(more, 0, args, 8, more.length);
    return CliRunner.run(args);
  }

  /** Against a server that serves only clients with a trusted certificate (mutual TLS). */
  @Test
  void transactionsAndReadsShowTheClientCertificateToAServerThatAsks() throws Exception {
    String ca = TestCertificates.file("ca.pem").toString();
    String clientKey = TestCertificates.file("client.key").toString();
    String clientCert = TestCertificates.file("client.pem").toString();
    try (LedgerServer mutual = LedgerServer.builder().ledger(ledger).host("127.0.0.1").port(0)
        .tls(TestCertificates.file("peer.key"), TestCertificates.file("peer.pem"))
        .requireClientCertificates(TestCertificates.file("ca.pem")).start()) {
      String uri = mutual.uri().toString();
      Keypair receiver = Keypair.generate();
      CliRunner transfer = CliRunner.run("ledger", "transfer", "--remote", uri, "--trust", ca,
          "--client-cert", clientKey, clientCert, "--key", key.toString(), "--passphrase-file",
          passphrase.toString(), "--to", receiver.id().toHex(), "--amount", "250");
      assertEquals(0, transfer.exitCode(), transfer.err());
      assertEquals(250, ledger.account(receiver.id()).orElseThrow().balance());
      CliRunner account = CliRunner.run("ledger", "account", "--remote", uri, "--trust", ca,
          "--client-cert", clientKey, clientCert, receiver.id().toHex());
      assertEquals(0, account.exitCode(), account.err());
      assertTrue(account.out().contains("balance  250"), account.out());
      CliRunner without = CliRunner.run("ledger", "transfer", "--remote", uri, "--trust", ca,
          "--key", key.toString(), "--passphrase-file", passphrase.toString(), "--to",
          receiver.id().toHex(), "--amount", "250");
      assertEquals(Main.EXIT_FAILURE, without.exitCode(), without.out());
      CliRunner reads = CliRunner.run("ledger", "account", "--remote", uri, "--trust", ca,
          receiver.id().toHex());
      assertEquals(Main.EXIT_FAILURE, reads.exitCode(), reads.out());
      assertEquals(250, ledger.account(receiver.id()).orElseThrow().balance(),
          "the refused transfer never reached the ledger");
    }
  }

  @Test
  void aSealedKeyTransfersRegistersStakesUnstakesAndSetsWeightsFromTheShell() throws Exception {
    Path receiverKey = dir.resolve("receiver.key");
    Keypair receiver = Keypair.generate();
    receiver.save(receiverKey);

    CliRunner transfer = signed("transfer", "--to", receiverKey.toString(), "--amount", "1000");
    assertEquals(0, transfer.exitCode(), transfer.err());
    assertTrue(transfer.out().contains("transfer of 1000 to " + receiver.id().toHex()),
        transfer.out());
    assertTrue(transfer.out().matches("(?s).*sealed   block \\d+, transaction [0-9a-f]{64}.*"),
        transfer.out());
    assertTrue(transfer.out().contains("balance 9000  nonce 1  stake none (not registered)"),
        transfer.out());
    assertEquals(1000, ledger.account(receiver.id()).orElseThrow().balance());

    CliRunner register = signed("register", "--endpoint", "http://127.0.0.1:8091");
    assertEquals(0, register.exitCode(), register.err());
    int registeredUid = ledger.metagraph().uid(owner.id()).orElseThrow();
    assertTrue(register.out().contains("nonce 2  stake 0  uid " + registeredUid), register.out());
    CliRunner stake = signed("stake", "--amount", "5000");
    assertEquals(0, stake.exitCode(), stake.err());
    assertTrue(stake.out().contains("balance 4000  nonce 3  stake 5000  uid "), stake.out());
    CliRunner unstake = signed("unstake", "--amount", "1500");
    assertEquals(0, unstake.exitCode(), unstake.err());
    assertTrue(unstake.out().contains("balance 5500  nonce 4  stake 3500  uid "), unstake.out());

    Metagraph m = ledger.metagraph();
    int uid = m.uid(owner.id()).orElseThrow();
    assertEquals(3500, m.peer(uid).stake());
    CliRunner weights = signed("weights", "--set", uid + "=2");
    assertEquals(0, weights.exitCode(), weights.err());
    assertTrue(weights.out().contains("weights {" + uid + "=2.0}"), weights.out());
    assertEquals(5, ledger.nextNonce(owner.id()));
    long seen = ledger.metagraph().block().number();
    CliRunner asOf = signed("weights", "--set", uid + "=1", "--as-of-block",
        Long.toString(seen));
    assertEquals(0, asOf.exitCode(), asOf.err());
    assertEquals(Transaction.setWeights(new int[] {uid}, new double[] {1}, seen),
        submitted.get(submitted.size() - 1).body(), "the row names the block it was made as of");
    CliRunner negative = signed("weights", "--set", uid + "=1", "--as-of-block", "-1");
    assertEquals(Main.EXIT_BAD_INPUT, negative.exitCode(), negative.out());
    assertTrue(negative.err().contains("--as-of-block must be a block number, >= 0, was -1"),
        negative.err());
    assertEquals(6, ledger.nextNonce(owner.id()));

    CliRunner account = CliRunner.run("ledger", "account", "--remote", server.uri().toString(),
        key.toString());
    assertEquals(0, account.exitCode(), account.err());
    assertTrue(account.out().contains("account  " + owner.id().toHex() + "\nbalance  5500\n"
        + "nonce    6\npeer     uid " + uid + "  stake 3500  http://127.0.0.1:8091"),
        account.out());
    CliRunner json = CliRunner.run("ledger", "account", "--remote", server.uri().toString(),
        receiver.id().toHex(), "--json");
    assertEquals(0, json.exitCode(), json.err());
    assertTrue(json.out().contains("\"balance\" : 1000") && !json.out().contains("\"uid\""),
        json.out());
    CliRunner stranger = CliRunner.run("ledger", "account", "--remote", server.uri().toString(),
        Keypair.generate().id().toHex());
    assertTrue(stranger.out().contains("(unknown to the ledger)\nbalance  0\nnonce    0\n"
        + "peer     not registered"), stranger.out());
  }

  /**
   * A ledger where another transaction of the same key (a neuron's own) takes the nonce just
   * before each of the first {@code races} submissions.
   */
  private Ledger racing(int races) {
    AtomicInteger raced = new AtomicInteger();
    PeerId elsewhere = Keypair.generate().id();
    return new ForwardingLedger(ledger) {
      @Override
      public CompletableFuture<Receipt> submit(SignedTransaction tx) {
        if (raced.getAndIncrement() < races) {
          ledger.submit(SignedTransaction.sign(owner, chainId(), tx.nonce(),
              Transaction.transfer(elsewhere, 1)));
        }
        return ledger.submit(tx);
      }

      @Override
      public void close() {}
    };
  }

  @Test
  void aNonceTakenMeanwhileIsSignedAgainAndTheTransactionIsDoneOnce() throws Exception {
    PeerId receiver = Keypair.generate().id();
    StringWriter err = new StringWriter();
    Receipt receipt = LedgerTransactionCommands.submitAtNextNonce(racing(2), owner,
        Transaction.transfer(receiver, 100), Duration.ofSeconds(30), new PrintWriter(err));
    assertTrue(receipt.block() >= 1);
    assertEquals(2, err.toString().split("took its nonce", -1).length - 1, err.toString());
    assertTrue(err.toString().contains("was used; the next nonce of " + owner.id().toHex()),
        err.toString());
    assertEquals(100, ledger.account(receiver).orElseThrow().balance(), "transferred once");
    assertEquals(3, ledger.nextNonce(owner.id()), "two racing transactions and this one");
  }

  /**
   * A nonce that cannot be read (a replicated ledger without a majority) fails before anything
   * is signed or sent: the command used to add "it may or may not be in the ledger".
   */
  @Test
  void aNonceThatCannotBeReadFailsWithNothingSent() {
    AtomicInteger sent = new AtomicInteger();
    Ledger noMajority = new ForwardingLedger(ledger) {
      @Override
      public long nextNonce(PeerId id) throws LedgerException {
        throw new LedgerException("reading the account of " + id + " took longer than 5000 ms:"
            + " is a majority of the group up?");
      }

      @Override
      public CompletableFuture<Receipt> submit(SignedTransaction tx) {
        sent.incrementAndGet();
        return ledger.submit(tx);
      }

      @Override
      public void close() {}
    };
    LedgerException e = assertThrows(LedgerException.class,
        () -> LedgerTransactionCommands.submitAtNextNonce(noMajority, owner,
            Transaction.transfer(Keypair.generate().id(), 100), Duration.ofSeconds(30),
            new PrintWriter(new StringWriter())));
    assertTrue(e.getMessage().contains("is a majority of the group up?"), e.getMessage());
    assertEquals(0, sent.get(), "nothing sent");
  }

  @Test
  void aNonceTakenEveryTimeGivesUpAfterFiveAttempts() {
    PeerId receiver = Keypair.generate().id();
    StringWriter err = new StringWriter();
    ExecutionException e = assertThrows(ExecutionException.class,
        () -> LedgerTransactionCommands.submitAtNextNonce(racing(Integer.MAX_VALUE), owner,
            Transaction.transfer(receiver, 100), Duration.ofSeconds(30), new PrintWriter(err)));
    assertEquals(RejectReason.NONCE_REUSED,
        ((TransactionRejectedException) e.getCause()).reason());
    assertEquals(LedgerTransactionCommands.NONCE_ATTEMPTS - 1,
        err.toString().split("took its nonce", -1).length - 1, err.toString());
    assertTrue(ledger.account(receiver).isEmpty(), "never transferred");
  }

  @Test
  void theAuthorityChangesTheRulesItNamesAndNoOtherKeyMay() throws Exception {
    LedgerParams before = ledger.metagraph().params();
    CliRunner changed = signed("params", "--epoch-length", "7", "--weights-rate-limit", "3");
    assertEquals(0, changed.exitCode(), changed.err());
    LedgerParams after = ledger.metagraph().params();
    assertEquals(before.withEpochLength(7).withWeightsRateLimit(3), after);
    // The headline first, then the rules it set, as every transaction command prints.
    assertTrue(changed.out().startsWith("new rules\nrules    epochLength 7  maxPeers "
        + before.maxPeers()), changed.out());

    Path other = dir.resolve("other.key");
    Keypair stranger = Keypair.generate();
    stranger.save(other);
    ledger.submit(owner, Transaction.transfer(stranger.id(), 10)).get(); // a known account
    CliRunner refused = CliRunner.run("ledger", "params", "--remote", server.uri().toString(),
        "--key", other.toString(), "--max-peers", "9");
    assertEquals(Main.EXIT_BAD_INPUT, refused.exitCode(), refused.out());
    assertTrue(refused.err().contains("the ledger refused new rules: NOT_AUTHORITY"),
        refused.err());
    assertEquals("", refused.out(), "no rules shown for a refused change");
    assertEquals(after, ledger.metagraph().params());

    CliRunner rules = signed("params", "--registration-burn", "25",
        "--max-registrations-per-block", "1");
    assertEquals(0, rules.exitCode(), rules.err());
    assertEquals(after.withRegistrationBurn(25).withMaxRegistrationsPerBlock(1),
        ledger.metagraph().params());
    assertTrue(rules.out().contains("registrationBurn 25  maxRegistrationsPerBlock 1"),
        rules.out());

    CliRunner nothing = signed("params");
    assertEquals(Main.EXIT_BAD_INPUT, nothing.exitCode());
    assertTrue(nothing.err().contains("give at least one of --epoch-length"), nothing.err());
  }

  @Test
  void aRefusedTransactionExitsTwoWithTheLedgersReason() throws IOException {
    CliRunner tooMuch = signed("stake", "--amount", "1000000");
    assertEquals(Main.EXIT_BAD_INPUT, tooMuch.exitCode(), tooMuch.out());
    assertTrue(tooMuch.err().contains("the ledger refused stake of 1000000: "), tooMuch.err());
    CliRunner overdrawn = signed("transfer", "--to", Keypair.generate().id().toHex(),
        "--amount", "20000");
    assertEquals(Main.EXIT_BAD_INPUT, overdrawn.exitCode(), overdrawn.out());
    assertTrue(overdrawn.err().contains("INSUFFICIENT_BALANCE"), overdrawn.err());
    assertEquals(10_000, ledger.account(owner.id()).orElseThrow().balance(), "nothing changed");
  }

  @Test
  void badInputIsRefusedBeforeAnythingIsSent() throws IOException {
    CliRunner zero = signed("stake", "--amount", "0");
    assertEquals(Main.EXIT_BAD_INPUT, zero.exitCode());
    assertTrue(zero.err().contains("--amount must be > 0, was 0"), zero.err());
    CliRunner notAnAccount = signed("transfer", "--to", "nobody", "--amount", "5");
    assertEquals(Main.EXIT_BAD_INPUT, notAnAccount.exitCode());
    assertTrue(notAnAccount.err().contains("--to nobody: neither 64 hex digits nor a readable key"
        + " file"), notAnAccount.err());
    CliRunner noPassphrase = CliRunner.run("ledger", "stake", "--remote",
        server.uri().toString(), "--key", key.toString(), "--amount", "5");
    assertEquals(Main.EXIT_BAD_INPUT, noPassphrase.exitCode());
    assertTrue(noPassphrase.err().contains("is sealed under a passphrase: give --passphrase-file"),
        noPassphrase.err());
    assertEquals(0, ledger.nextNonce(owner.id()), "nothing was signed");
  }

  /** A uid given twice (a typo, or two rows pasted together) kept the last of its weights. */
  @Test
  void aWeightRowThatNamesAUidTwiceIsRefusedBeforeAnythingIsSent() throws IOException {
    CliRunner register = signed("register", "--endpoint", "http://127.0.0.1:8091");
    assertEquals(0, register.exitCode(), register.err());
    CliRunner twice = signed("weights", "--set", "0=0.2", "--set", "0=0.5");
    assertEquals(Main.EXIT_BAD_INPUT, twice.exitCode(), twice.out() + twice.err());
    assertTrue(twice.err().contains("--set gives uid 0 twice (0=0.2, 0=0.5); give each uid once"),
        twice.err());
    CliRunner spelt = signed("weights", "--set", "00=1,0=2");
    assertEquals(Main.EXIT_BAD_INPUT, spelt.exitCode(), spelt.out() + spelt.err());
    assertTrue(spelt.err().contains("--set gives uid 0 twice (00=1, 0=2)"), spelt.err());
    assertEquals(1, ledger.nextNonce(owner.id()), "no row was signed");
  }

  /** A --timeout past a long's milliseconds is refused before the transaction is sent. */
  @Test
  void aTimeoutTooLongToWaitIsRefusedBeforeAnythingIsSent() throws IOException {
    CliRunner r = signed("stake", "--amount", "5", "--timeout", "PT9999999999999999S");
    assertEquals(Main.EXIT_BAD_INPUT, r.exitCode(), r.err());
    assertTrue(r.err().contains("--timeout must be at most "), r.err());
    assertEquals(0, ledger.nextNonce(owner.id()), "nothing was signed");
  }

  @Test
  void anUnreachableServerExitsOne() {
    CliRunner r = CliRunner.run("ledger", "stake", "--remote", "http://127.0.0.1:1",
        "--key", key.toString(), "--passphrase-file", passphrase.toString(), "--amount", "5");
    assertEquals(Main.EXIT_FAILURE, r.exitCode(), r.err());
    assertTrue(r.err().contains("127.0.0.1:1"), r.err());
  }
}
