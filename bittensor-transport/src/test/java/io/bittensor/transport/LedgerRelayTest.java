package io.bittensor.transport;

import static io.bittensor.core.testing.LedgerFixtures.endpoint;
import static io.bittensor.core.testing.LedgerFixtures.genesis;
import static io.bittensor.core.testing.LedgerFixtures.key;
import static io.bittensor.core.testing.LedgerFixtures.params;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.bittensor.core.Block;
import io.bittensor.core.BlockPolicy;
import io.bittensor.core.BlockRecord;
import io.bittensor.core.ChainAudit;
import io.bittensor.core.Epoch;
import io.bittensor.core.Ledger;
import io.bittensor.core.LedgerListener;
import io.bittensor.core.LocalLedger;
import io.bittensor.core.Metagraph;
import io.bittensor.core.Modality;
import io.bittensor.core.Receipt;
import io.bittensor.core.RejectReason;
import io.bittensor.core.SignedTransaction;
import io.bittensor.core.Transaction;
import io.bittensor.core.TransactionRejectedException;
import io.bittensor.core.testing.LedgerFixtures;
import java.io.IOException;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.api.io.TempDir;

/**
 * A relay: a {@link LedgerServer} in front of a {@link RemoteLedger}, serving another server's
 * ledger to clients of its own. Submissions go upstream and their receipts come back; the
 * relay's clients hear every block and epoch in order, read blocks back and audit the chain
 * through it; a client that fell behind the relay's history hears what it missed, read from
 * upstream.
 */
@ExtendWith(LeakCheck.class)
@Timeout(value = 60, unit = TimeUnit.SECONDS)
class LedgerRelayTest {
  private static final Duration WAIT = Duration.ofSeconds(15);

  @TempDir Path dir;
  private final List<AutoCloseable> toClose = new ArrayList<>();

  @AfterEach
  void closeAll() throws Exception {
    Collections.reverse(toClose);
    for (AutoCloseable c : toClose) {
      c.close();
    }
  }

  private <T extends AutoCloseable> T closing(T c) {
    toClose.add(c);
    return c;
  }

  private LocalLedger origin() throws IOException {
    return closing(LocalLedger.builder().genesis(genesis(params(8), 3))
        .clock(LedgerFixtures.fixedClock()).blocks(BlockPolicy.manual())
        .open(dir.resolve("ledger")));
  }

  private LedgerServer serve(Ledger ledger, int history) throws IOException {
    return closing(LedgerServer.builder().ledger(ledger).host("127.0.0.1").port(0)
        .history(history).start());
  }

  private RemoteLedger connect(java.net.URI uri) throws Exception {
    return closing(RemoteLedger.builder().reconnectTimeout(Duration.ofSeconds(30)).connect(uri));
  }

  /** Records what a listener hears, as lines. */
  private static final class Heard implements LedgerListener {
    final List<String> lines = Collections.synchronizedList(new ArrayList<>());

    @Override
    public void onBlock(Block block, Metagraph after) {
      lines.add("block " + block.number());
    }

    @Override
    public void onEpoch(Epoch epoch, Metagraph after) {
      lines.add("epoch " + epoch.number());
    }
  }

  private static List<String> expected(long from, long to) {
    List<String> lines = new ArrayList<>();
    for (long n = from; n <= to; n++) {
      if (n % 5 == 0) {
        lines.add("epoch " + n / 5); // a ledger tells the epoch, then the block it ran after
      }
      lines.add("block " + n);
    }
    return lines;
  }

  @Test
  void aRelaysClientsSubmitHearReadAndAuditAsIfConnectedUpstream() throws Exception {
    LocalLedger origin = origin();
    RemoteLedger upstream = connect(serve(origin, 16).uri());
    RemoteLedger client = connect(serve(upstream, 16).uri());
    Heard heard = new Heard();
    client.subscribe(heard);

    CompletableFuture<Receipt> registered =
        client.submit(key(0), Transaction.register(endpoint(0), Modality.TEXT));
    client.submit(key(1), Transaction.register(endpoint(1), Modality.TEXT));
    Block first = origin.produceBlock();
    assertEquals(first.number(), registered.get(WAIT.toSeconds(), TimeUnit.SECONDS).block(),
        "the receipt came back through the relay");
    client.submit(key(0), Transaction.setWeights(new int[] {1}, new double[] {1}));
    origin.produceBlocks(9);
    assertTrue(client.awaitBlock(10, WAIT));
    assertEquals(expected(1, 10), heard.lines, "every block and epoch, in order");
    assertEquals(origin.metagraph().peers(), client.metagraph().peers());
    assertEquals(origin.chainId(), client.chainId());

    // A rejection crosses both hops with its reason.
    SignedTransaction stale = SignedTransaction.sign(key(2), client.chainId(), 7,
        Transaction.transfer(key(1).id(), 1));
    ExecutionException e = assertThrows(ExecutionException.class,
        () -> client.submit(stale).get(WAIT.toSeconds(), TimeUnit.SECONDS));
    TransactionRejectedException r = assertInstanceOf(TransactionRejectedException.class,
        e.getCause());
    assertEquals(RejectReason.NONCE_WRONG, r.reason());

    // Blocks read back through the relay are the origin's; the chain audits through it.
    List<Block> there = new ArrayList<>();
    origin.readBlocks(1, Long.MAX_VALUE, b -> there.add(b.block()));
    List<Block> here = new ArrayList<>();
    client.readBlocks(1, Long.MAX_VALUE, b -> here.add(b.block()));
    assertEquals(there, here);
    assertEquals(origin.metagraph().block(),
        ChainAudit.verify(origin.chainId(), client, Long.MAX_VALUE).last());
  }

  /** A served ledger whose block bodies, read back, may lie: one block without its transactions. */
  private static final class LyingBodies extends io.bittensor.core.testing.ForwardingLedger
      implements io.bittensor.core.BlockHistory {
    final LocalLedger honest;
    volatile long emptied = -1;

    LyingBodies(LocalLedger honest) {
      super(honest);
      this.honest = honest;
    }

    @Override
    public long readBlocks(long from, long to,
        java.util.function.Predicate<BlockRecord> visitor) throws io.bittensor.core.LedgerException {
      return honest.readBlocks(from, to, visitor);
    }

    @Override
    public long readBlockBodies(long from, long to,
        java.util.function.Predicate<io.bittensor.core.BlockBody> visitor)
        throws io.bittensor.core.LedgerException {
      return honest.readBlockBodies(from, to, b -> {
        if (b.block().number() != emptied) {
          return visitor.test(b);
        }
        Block x = b.block();
        return visitor.test(new io.bittensor.core.BlockBody(new Block(x.number(), x.hash(),
            x.parent(), x.timestamp(), 0, x.epoch()), List.of()));
      });
    }

    @Override
    public byte[] genesisBlock() {
      return honest.genesisBlock();
    }

    @Override
    public void close() {
      // The test closes the ledger itself.
    }
  }

  @Test
  void aRelayThatAuditsPassesOnBlocksThatCheckOutAndNothingAfterOneThatDoesNot()
      throws Exception {
    LocalLedger origin = origin();
    LyingBodies lying = new LyingBodies(origin);
    RemoteLedger upstream = RemoteLedger.builder().reconnectTimeout(Duration.ofSeconds(30))
        .connect(serve(lying, 16).uri());
    io.bittensor.core.AuditedLedger audited = closing(io.bittensor.core.AuditedLedger.over(
        upstream, origin.chainId(), null, dir.resolve("replica")));
    RemoteLedger client = connect(serve(audited, 16).uri());
    Heard heard = new Heard();
    client.subscribe(heard);

    CompletableFuture<Receipt> registered =
        client.submit(key(0), Transaction.register(endpoint(0), Modality.TEXT));
    origin.produceBlock();
    assertEquals(1, registered.get(WAIT.toSeconds(), TimeUnit.SECONDS).block());
    origin.produceBlocks(4);
    assertTrue(client.awaitBlock(5, WAIT));
    assertEquals(expected(1, 5), heard.lines);
    // The relay reads blocks back from its audited replica: the origin's, to the block checked.
    List<Block> there = new ArrayList<>();
    origin.readBlocks(1, 5, b -> there.add(b.block()));
    List<Block> here = new ArrayList<>();
    client.readBlocks(1, Long.MAX_VALUE, b -> here.add(b.block()));
    assertEquals(there, here);
    assertEquals(origin.metagraph().peers(), client.metagraph().peers());

    // Upstream now sends block 6 without its transaction: the relay stops there.
    lying.emptied = 6;
    client.submit(key(1), Transaction.transfer(key(2).id(), 3));
    origin.produceBlocks(3);
    long deadline = System.nanoTime() + WAIT.toNanos();
    while (audited.failure().isEmpty()) {
      assertTrue(System.nanoTime() < deadline, "the relay's audit never failed");
      Thread.sleep(10);
    }
    assertTrue(audited.failure().get().getMessage().contains("block 6"),
        audited.failure().get().getMessage());
    Thread.sleep(300); // what the client would hear of blocks 6 to 8 by now
    assertEquals(expected(1, 5), heard.lines, "nothing from block 6 on");
  }

  @Test
  void aClientThatFellBehindTheRelaysHistoryHearsWhatItMissedFromUpstream() throws Exception {
    LocalLedger origin = origin();
    RemoteLedger upstream = connect(serve(origin, 64).uri());
    LedgerServer relay = serve(upstream, 2); // the relay keeps the last two events only
    CuttableProxy proxy = closing(new CuttableProxy(relay.port()));
    RemoteLedger client = connect(proxy.uri());
    Heard heard = new Heard();
    client.subscribe(heard);
    CompletableFuture<Receipt> waiting =
        client.submit(key(0), Transaction.transfer(key(1).id(), 5));
    assertFalse(waiting.isDone());
    proxy.cut();
    long deadline = System.nanoTime() + WAIT.toNanos();
    while (client.isConnected()) {
      assertTrue(System.nanoTime() < deadline, "the client never noticed the cut");
      Thread.sleep(10);
    }
    Block withTx = origin.produceBlock();
    origin.produceBlocks(11);
    assertTrue(upstream.awaitBlock(12, WAIT));
    proxy.restore();

    assertTrue(client.awaitBlock(12, WAIT));
    assertEquals(expected(1, 12), heard.lines, "every block and epoch, in order");
    assertEquals(withTx.number(),
        waiting.get(WAIT.toSeconds(), TimeUnit.SECONDS).block(), "its receipt too");
    List<BlockRecord> records = new ArrayList<>();
    client.readBlocks(withTx.number(), withTx.number(), records::add);
    assertEquals(1, records.get(0).transactions().size());
  }
}
