package io.bittensor.core;

import io.bittensor.core.testing.LedgerFixtures;
import io.bittensor.transport.LedgerServer;
import io.bittensor.transport.RemoteLedger;
import java.io.IOException;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.IdentityHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.io.TempDir;

/**
 * The ledger contract on a {@link RemoteLedger}: a real {@link LedgerServer} on loopback over a
 * {@link LocalLedger} with its journal in a temporary directory. Blocks are sealed on the
 * server's ledger; {@link #seal} returns once the client heard of the block (its listeners ran
 * and its receipts arrived), as a caller of a remote ledger would wait for it.
 *
 * <p>In package {@code io.bittensor.core} because the contract is package-private there.
 */
class RemoteLedgerContractTest extends LedgerContract {
  @TempDir Path dir;
  private int count;
  private final Map<Ledger, LocalLedger> backing = new IdentityHashMap<>();
  private final List<AutoCloseable> toClose = new ArrayList<>();

  @Override
  protected Ledger create(Genesis genesis) throws IOException {
    LocalLedger local = LocalLedger.builder()
        .genesis(genesis)
        .mechanism(mechanism())
        .clock(LedgerFixtures.fixedClock())
        .blocks(BlockPolicy.manual())
        .open(dir.resolve("ledger-" + count++));
    LedgerServer server =
        serverBuilder(LedgerServer.builder().ledger(local).host("127.0.0.1").port(0)).start();
    RemoteLedger remote = clientBuilder(RemoteLedger.builder()).connect(List.of(server.uri()));
    toClose.add(remote);
    toClose.add(server);
    toClose.add(local);
    backing.put(remote, local);
    return remote;
  }

  /** The server as this transport serves it; cleartext here. */
  LedgerServer.Builder serverBuilder(LedgerServer.Builder b) {
    return b;
  }

  /** The client as this transport connects; the defaults here. */
  RemoteLedger.Builder clientBuilder(RemoteLedger.Builder b) {
    return b;
  }

  @Override
  protected Block seal(Ledger ledger) throws IOException {
    Block b = backing.get(ledger).produceBlock();
    try {
      if (!((RemoteLedger) ledger).awaitBlock(b.number(), Duration.ofSeconds(10))) {
        throw new LedgerException("the client did not hear of block " + b.number());
      }
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new LedgerException("interrupted", e);
    }
    return b;
  }

  @Override
  protected Optional<Hash256> stateHash(Ledger ledger) {
    return Optional.of(backing.get(ledger).stateHash());
  }

  @AfterEach
  void closeServers() throws Exception {
    for (AutoCloseable c : toClose) {
      c.close();
    }
  }
}
