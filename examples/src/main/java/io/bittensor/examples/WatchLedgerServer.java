package io.bittensor.examples;

import io.bittensor.core.BlockPolicy;
import io.bittensor.core.Genesis;
import io.bittensor.core.Keypair;
import io.bittensor.core.LedgerParams;
import io.bittensor.core.LocalLedger;
import io.bittensor.core.Modality;
import io.bittensor.core.PeerId;
import io.bittensor.core.SignedTransaction;
import io.bittensor.core.Transaction;
import io.bittensor.transport.LedgerRequestEvent;
import io.bittensor.transport.LedgerRequestListener;
import io.bittensor.transport.LedgerServer;
import io.bittensor.transport.RemoteLedger;
import io.bittensor.transport.SubmissionEvent;
import io.bittensor.transport.SubmissionListener;
import java.io.PrintStream;
import java.net.URI;
import java.time.Duration;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.CompletionException;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ConcurrentSkipListMap;
import java.util.concurrent.atomic.LongAdder;

/**
 * A ledger server that says who uses it: a {@link LedgerRequestListener} tallies, per proved
 * caller and operation, the requests answered and the bytes sent (an event stream counted when
 * it ends, with all it was sent), and a {@link SubmissionListener} keeps what the ledger refused
 * and from whom, with the ledger's own words. A wallet service sends two peers' transactions
 * (one of them a nonce already used) and an explorer reads the metagraph; the server's owner
 * prints both tallies. In a service the tallies would be metrics or an audit log
 * ({@code bittensor ledger serve --access-log --submission-log} writes both as JSON lines).
 *
 * <pre>
 * mvn -B -q -pl examples -am package -DskipTests dependency:build-classpath \
 *     -Dmdep.outputFile=target/classpath.txt
 * java -cp "examples/target/classes:$(cat examples/target/classpath.txt)" \
 *     io.bittensor.examples.WatchLedgerServer
 * </pre>
 */
public final class WatchLedgerServer {
  private WatchLedgerServer() {}

  public static void main(String[] args) throws Exception {
    run(System.out);
  }

  /** Requests and bytes by caller (its key's first 8 hex digits) and operation. */
  record Tally(Map<String, LongAdder> requests, Map<String, LongAdder> bytes,
      List<String> refusals) {}

  static Tally run(PrintStream out) throws Exception {
    Keypair alice = Keypair.generate();
    Keypair bob = Keypair.generate();
    Keypair wallet = Keypair.generate();    // signs its requests; alice and bob sign their own
    Keypair explorer = Keypair.generate();
    Genesis genesis = Genesis.builder().params(new LedgerParams(100, 16, 10, 1, 0))
        .allocate(alice.id(), 1_000).allocate(bob.id(), 1_000).build();

    Map<String, LongAdder> requests = new ConcurrentSkipListMap<>();
    Map<String, LongAdder> bytes = new ConcurrentSkipListMap<>();
    List<String> refusals = new java.util.concurrent.CopyOnWriteArrayList<>();
    Map<PeerId, String> names = new ConcurrentHashMap<>(Map.of(alice.id(), "alice",
        bob.id(), "bob", wallet.id(), "wallet", explorer.id(), "explorer"));
    // Count by the caller the signature proved: a request can name anyone.
    LedgerRequestListener perCaller = r -> {
      String key = r.verifiedCaller().map(id -> names.getOrDefault(id, id.toHex()))
          .orElse("(unproved)") + " " + r.operation().name().toLowerCase(Locale.ROOT);
      requests.computeIfAbsent(key, k -> new LongAdder()).increment();
      bytes.computeIfAbsent(key, k -> new LongAdder()).add(r.bytesSent());
    };
    SubmissionListener refused = s -> s.refused().ifPresent(reason -> refusals.add(
        s.transaction().map(tx -> names.get(tx.signer())).orElse("?") + "'s transaction, sent by "
            + s.caller().map(names::get).orElse("anyone") + ": " + reason + " ("
            + s.detail().orElse("") + ")"));

    try (LocalLedger ledger = LocalLedger.builder().genesis(genesis)
            .blocks(BlockPolicy.manual()).openInMemory();
        LedgerServer server = LedgerServer.builder().ledger(ledger).host("127.0.0.1").port(0)
            .requestListener(perCaller).submissionListener(refused).start()) {
      try (RemoteLedger walletClient = RemoteLedger.builder().keypair(wallet)
          .connect(List.of(server.uri()))) {
        var registered = walletClient.submit(alice,
            Transaction.register(URI.create("http://alice.example:8091"), Modality.TEXT));
        var paid = walletClient.submit(bob, Transaction.transfer(alice.id(), 250));
        ledger.produceBlock();
        long block = registered.join().block();
        paid.join();
        // The receipt can come before the block's event: the server has published the block
        // once the wallet has heard it, and an explorer connecting after starts from it.
        walletClient.awaitBlock(block, Duration.ofSeconds(10));
        // Bob's nonce 0 again: the ledger refuses it, and the server's owner sees why.
        try {
          walletClient.submit(SignedTransaction.sign(bob, ledger.chainId(), 0,
              Transaction.transfer(alice.id(), 250))).join();
        } catch (CompletionException expected) {
          // the wallet hears it too, as a TransactionRejectedException
        }
      }
      try (RemoteLedger explorerClient = RemoteLedger.builder().keypair(explorer)
          .connect(List.of(server.uri()))) {
        out.printf(Locale.ROOT, "explorer sees %d peer(s) at block %d%n",
            explorerClient.metagraph().size(), explorerClient.metagraph().block().number());
      }
      // Each client's stream ended as it closed; wait until the server has told its listener.
      long deadline = System.nanoTime() + 10_000_000_000L;
      while (!(requests.containsKey("wallet events") && requests.containsKey("explorer events"))
          && System.nanoTime() < deadline) {
        Thread.sleep(5);
      }
    }
    requests.forEach((key, n) -> out.printf(Locale.ROOT, "%-17s %3d request(s) %8d bytes%n",
        key, n.sum(), bytes.get(key).sum()));
    refusals.forEach(out::println);
    return new Tally(requests, bytes, refusals);
  }
}
