package io.bittensor.examples;

import io.bittensor.core.BlockPolicy;
import io.bittensor.core.Genesis;
import io.bittensor.core.Keypair;
import io.bittensor.core.LedgerParams;
import io.bittensor.core.LocalLedger;
import io.bittensor.core.Modality;
import io.bittensor.core.SignedTransaction;
import io.bittensor.core.Transaction;
import io.bittensor.transport.LedgerServer;
import io.bittensor.transport.RemoteLedger;
import java.io.PrintStream;
import java.net.URI;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Instant;
import java.util.Map;
import java.util.TreeMap;
import java.util.stream.Stream;

/**
 * A ledger's history, read back: a ledger on disk that compacts its journal at every snapshot
 * and archives what it compacts away, served over HTTP; an indexer on another machine's place
 * reads every block from genesis through the server ({@link RemoteLedger#readBlocks}) and counts
 * what happened: transactions by kind, weight rows by peer, and what the epochs minted.
 *
 * <pre>
 * mvn -B -q -pl examples -am package -DskipTests dependency:build-classpath \
 *     -Dmdep.outputFile=target/classpath.txt
 * java -cp "examples/target/classes:$(cat examples/target/classpath.txt)" \
 *     io.bittensor.examples.LedgerHistory
 * </pre>
 */
public final class LedgerHistory {
  private static final String[] NAMES = {"alice", "bob", "carol"};

  private LedgerHistory() {}

  public static void main(String[] args) throws Exception {
    TemporaryFolder.use("ledger-history", dir -> run(dir, System.out));
  }

  static void run(Path dir, PrintStream out) throws Exception {
    Keypair[] peers = new Keypair[NAMES.length];
    Genesis.Builder genesis = Genesis.builder()
        .chainName("history-example")
        .createdAt(Instant.parse("2026-12-05T00:00:00Z"))
        .params(new LedgerParams(5, 64, 10, 1, 0)); // an epoch every 5 blocks
    for (int i = 0; i < peers.length; i++) {
      peers[i] = Keypair.generate();
      genesis.allocate(peers[i].id(), 1_000_000);
    }
    Path data = dir.resolve("ledger");
    try (LocalLedger ledger = LocalLedger.builder()
            .genesis(genesis.build())
            .blocks(BlockPolicy.manual())
            .snapshotEvery(10)
            .compactAtSnapshots(true)   // the journal stays small...
            .archiveCompacted(true)     // ...and the blocks it drops stay readable
            .open(data);
        LedgerServer server = LedgerServer.builder().ledger(ledger).host("127.0.0.1").port(0)
            .start()) {
      // Forty blocks of a small market: each peer registers and stakes, then sets weights on
      // the others every five blocks.
      for (int i = 0; i < peers.length; i++) {
        ledger.submit(peers[i], Transaction.register(
            URI.create("http://10.0.0." + (i + 1) + ":8091"), Modality.TEXT));
        ledger.submit(peers[i], Transaction.addStake(1_000 * (i + 1)));
      }
      for (int block = 1; block <= 40; block++) {
        if (block % 5 == 1 && block > 1) {
          for (int i = 0; i < peers.length; i++) {
            ledger.submit(peers[i], Transaction.setWeights(
                new int[] {(i + 1) % 3, (i + 2) % 3}, new double[] {0.6, 0.4}));
          }
        }
        ledger.produceBlock();
      }
      long archived;
      try (Stream<Path> files = Files.list(data.resolve("archive"))) {
        archived = files.count();
      }
      out.println("sealed 40 blocks; the journal holds those after block 40, the archive "
          + archived + " journals");

      // The indexer: a client of the server, reading from genesis.
      Map<String, Integer> kinds = new TreeMap<>();
      Map<String, Integer> rows = new TreeMap<>();
      long[] minted = {0};
      int[] epochs = {0};
      try (RemoteLedger remote = RemoteLedger.connect(server.uri())) {
        long last = remote.readBlocks(1, Long.MAX_VALUE, r -> {
          for (SignedTransaction tx : r.transactions()) {
            kinds.merge(tx.body().getClass().getSimpleName(), 1, Integer::sum);
            if (tx.body() instanceof Transaction.SetWeights) {
              rows.merge(name(peers, tx), 1, Integer::sum);
            }
          }
          r.epoch().ifPresent(e -> {
            epochs[0]++;
            minted[0] += e.minted();
          });
          return true;
        });
        out.println("read blocks 1 to " + last + " through the server");
      }
      out.println("transactions " + kinds);
      out.println("weight rows " + rows);
      out.println(epochs[0] + " epochs minted " + minted[0]);
    }
  }

  private static String name(Keypair[] peers, SignedTransaction tx) {
    for (int i = 0; i < peers.length; i++) {
      if (peers[i].id().equals(tx.signer())) {
        return NAMES[i];
      }
    }
    return tx.signer().toHex();
  }
}
