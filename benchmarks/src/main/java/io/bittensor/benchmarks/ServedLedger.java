package io.bittensor.benchmarks;

import io.bittensor.core.BlockPolicy;
import io.bittensor.core.Keypair;
import io.bittensor.core.LocalLedger;
import io.bittensor.core.SignedTransaction;
import io.bittensor.transport.LedgerServer;
import io.bittensor.transport.RemoteLedger;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.ExecutorService;
import java.util.function.UnaryOperator;

/**
 * A fresh {@link LocalLedger} on disk sealing a block every 5 ms, its peers registered, behind a
 * {@link LedgerServer} on loopback, and a {@link RemoteLedger} client of it: what the
 * benchmarks that send transactions through a server start each invocation from.
 */
final class ServedLedger implements AutoCloseable {
  final Path dir;
  final LocalLedger ledger;
  final LedgerServer server;
  final RemoteLedger remote;

  private ServedLedger(Path dir, LocalLedger ledger, LedgerServer server, RemoteLedger remote) {
    this.dir = dir;
    this.ledger = ledger;
    this.server = server;
    this.remote = remote;
  }

  /** @param serving adds to the server's builder (its listeners) */
  static ServedLedger start(LedgerWorkload workload,
      List<List<SignedTransaction>> registrations, ExecutorService pool,
      UnaryOperator<LedgerServer.Builder> serving) throws Exception {
    Path dir = Files.createTempDirectory("ledger-bench");
    LocalLedger ledger = workload.builder().snapshotEvery(0)
        .blocks(BlockPolicy.every(Duration.ofMillis(5))).open(dir);
    LedgerWorkload.register(ledger, registrations, pool, 2);
    LedgerServer server = serving.apply(LedgerServer.builder().ledger(ledger)
        .host("127.0.0.1").port(0)).start();
    RemoteLedger remote =
        RemoteLedger.builder().keypair(Keypair.generate()).connect(List.of(server.uri()));
    return new ServedLedger(dir, ledger, server, remote);
  }

  @Override
  public void close() throws Exception {
    remote.close();
    server.close();
    ledger.close();
    LedgerWorkload.deleteTree(dir);
  }
}
