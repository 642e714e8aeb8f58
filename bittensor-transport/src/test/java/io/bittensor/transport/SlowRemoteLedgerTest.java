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
import io.bittensor.core.LedgerException;
import io.bittensor.core.LedgerListener;
import io.bittensor.core.LocalLedger;
import io.bittensor.core.Metagraph;
import io.bittensor.core.Modality;
import io.bittensor.core.Receipt;
import io.bittensor.core.SignedTransaction;
import io.bittensor.core.Transaction;
import io.bittensor.core.testing.LedgerFixtures;
import io.bittensor.transport.internal.LedgerWire;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.SplittableRandom;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.stream.IntStream;
import java.util.stream.LongStream;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * A {@link RemoteLedger} that stops reading its stream (a slow listener, a stalled network)
 * while the server's history moves past it gets a resync snapshot once it reads again. Rather
 * than take it, it resumes after the last block it heard, as after a lost connection: from a
 * server whose ledger keeps a journal it then hears every block it missed, and the transaction
 * it waited for gets its receipt; from one with none, it takes the resync (once, no loop) and
 * fails what it waited for.
 */
@Timeout(120)
class SlowRemoteLedgerTest {
  private static final int PEERS = 256;
  /** Blocks sealed while the client reads nothing: each sets 255 whole rows, some 640 KB. */
  private static final int BLOCKS = 64;

  @TempDir Path dir;

  @ParameterizedTest(name = "journal: {0}")
  @ValueSource(booleans = {true, false})
  void aClientThatFellOutOfTheHistoryResumesFromTheJournal(boolean journal) throws Exception {
    LocalLedger.Builder builder = LocalLedger.builder().genesis(genesis(params(PEERS), PEERS))
        .clock(LedgerFixtures.fixedClock()).blocks(BlockPolicy.manual());
    AtomicInteger streams = new AtomicInteger();
    LedgerRequestListener countStreams = e -> {
      if (e.operation() == LedgerRequestEvent.Operation.EVENTS) {
        streams.incrementAndGet();
      }
    };
    try (LocalLedger ledger = journal ? builder.open(dir.resolve("ledger"))
            : builder.openInMemory();
        LedgerServer server = LedgerServer.builder().ledger(ledger).host("127.0.0.1").port(0)
            .allowAnonymous(true).history(8).requestListener(countStreams)
            // Idle connections close after six heartbeats: far longer than a slow machine's pause.
            .heartbeat(Duration.ofSeconds(20)).start();
        CuttableProxy proxy = new CuttableProxy(server.port())) {
      for (int i = 0; i < PEERS; i++) {
        ledger.submit(key(i), Transaction.register(endpoint(i), Modality.TEXT));
      }
      long start = ledger.produceBlock().number();
      Heard heard = new Heard();
      // The submission's answer waits behind the paused stream while the test seals blocks
      // (over 10 s, the default request deadline, on a loaded machine): as long as the stream.
      try (RemoteLedger remote = RemoteLedger.builder().streamTimeout(Duration.ofSeconds(60))
          .reconnectTimeout(Duration.ofSeconds(60)).timeout(Duration.ofSeconds(60))
          .connect(proxy.uri())) {
        remote.subscribe(heard);
        SignedTransaction transfer = SignedTransaction.sign(key(0), remote.chainId(),
            remote.nextNonce(key(0).id()), Transaction.transfer(key(1).id(), 5));

        proxy.pause();
        SplittableRandom random = new SplittableRandom(3);
        setEveryRowButKey0s(ledger, BLOCKS / 2, random);
        // Sent half way, while the client reads nothing: the request reaches the server, its
        // answer waits behind the stream, and the transfer is sealed in a block the client
        // will have fallen behind.
        CompletableFuture<CompletableFuture<Receipt>> submitting =
            CompletableFuture.supplyAsync(() -> remote.submit(transfer));
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
        while (ledger.nextNonce(key(0).id()) == transfer.nonce()) {
          assertTrue(System.nanoTime() < deadline, "the server never took the transfer");
          Thread.sleep(5);
        }
        long transferBlock = ledger.metagraph().block().number() + 1;
        setEveryRowButKey0s(ledger, BLOCKS - BLOCKS / 2, random);
        long head = ledger.metagraph().block().number();
        assertEquals(start + BLOCKS, head);
        proxy.resume();
        CompletableFuture<Receipt> waiting = submitting.get(30, TimeUnit.SECONDS);

        assertTrue(remote.awaitBlock(head, Duration.ofSeconds(60)), "the client caught up");
        if (journal) {
          assertEquals(new Receipt(transfer.hash(), transferBlock, 0),
              waiting.get(10, TimeUnit.SECONDS), "the receipt came with its block");
          assertEquals(LongStream.rangeClosed(start + 1, head).boxed().toList(),
              heard.blocks(), "every block, in order, none skipped");
        } else {
          ExecutionException e = assertThrows(ExecutionException.class,
              () -> waiting.get(10, TimeUnit.SECONDS));
          assertInstanceOf(LedgerException.class, e.getCause());
          assertTrue(e.getCause().getMessage().contains("no longer holds"),
              e.getCause().getMessage());
          assertTrue(heard.blocks().size() < BLOCKS, "the blocks between were skipped");
          // And the stream goes on from the resync, block by block.
          ledger.submit(key(2), Transaction.transfer(key(3).id(), 1));
          long next = ledger.produceBlock().number();
          assertTrue(remote.awaitBlock(next, Duration.ofSeconds(30)));
          assertTrue(awaitHeard(heard, next), "heard the block after the resync: " + heard);
        }
        assertEquals(ledger.metagraph().block(), remote.metagraph().block());
      }
      // The stalled stream and the resumed one: a resync is taken on the second, not chased.
      long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
      while (streams.get() < 2 && System.nanoTime() < deadline) {
        Thread.sleep(20);
      }
      Thread.sleep(200);
      assertEquals(2, streams.get(), "event streams the server served");
    }
  }

  /**
   * A client with no listener and no transaction waiting needs only the latest state: it takes
   * the resync, even from a server whose journal holds every block it missed.
   */
  @org.junit.jupiter.api.Test
  void aClientWithNoOneToTellTakesTheResync() throws Exception {
    AtomicInteger streams = new AtomicInteger();
    try (LocalLedger ledger = LocalLedger.builder().genesis(genesis(params(PEERS), PEERS))
            .clock(LedgerFixtures.fixedClock()).blocks(BlockPolicy.manual())
            .open(dir.resolve("ledger"));
        LedgerServer server = LedgerServer.builder().ledger(ledger).host("127.0.0.1").port(0)
            .allowAnonymous(true).history(8).heartbeat(Duration.ofSeconds(20))
            .requestListener(e -> {
              if (e.operation() == LedgerRequestEvent.Operation.EVENTS) {
                streams.incrementAndGet();
              }
            }).start();
        CuttableProxy proxy = new CuttableProxy(server.port())) {
      for (int i = 0; i < PEERS; i++) {
        ledger.submit(key(i), Transaction.register(endpoint(i), Modality.TEXT));
      }
      ledger.produceBlock();
      try (RemoteLedger remote = RemoteLedger.builder().streamTimeout(Duration.ofSeconds(60))
          .connect(proxy.uri())) {
        proxy.pause();
        setEveryRowButKey0s(ledger, BLOCKS, new SplittableRandom(5));
        proxy.resume();
        long head = ledger.metagraph().block().number();
        assertTrue(remote.awaitBlock(head, Duration.ofSeconds(60)), "the client caught up");
        assertEquals(LedgerWire.toWire(ledger.metagraph()),
            LedgerWire.toWire(remote.metagraph()), "the latest state, whole");
      }
      long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
      while (streams.get() < 1 && System.nanoTime() < deadline) {
        Thread.sleep(20);
      }
      Thread.sleep(200);
      assertEquals(1, streams.get(), "one stream: the resync taken, nothing read back");
    }
  }

  /** Seals {@code blocks} blocks in each of which every peer but key 0's sets its whole row. */
  private static void setEveryRowButKey0s(LocalLedger ledger, int blocks,
      SplittableRandom random) throws Exception {
    int[] all = IntStream.range(0, PEERS).toArray();
    for (int b = 0; b < blocks; b++) {
      for (int i = 1; i < PEERS; i++) {
        ledger.submit(key(i), Transaction.setWeights(all, random.doubles(PEERS, 0.1, 1)
            .toArray()));
      }
      ledger.produceBlock();
    }
  }

  private static boolean awaitHeard(Heard heard, long block) throws InterruptedException {
    long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
    while (!heard.blocks().contains(block)) {
      if (System.nanoTime() > deadline) {
        return false;
      }
      Thread.sleep(10);
    }
    return true;
  }

  /** The numbers of the blocks a listener heard, in order. */
  private static final class Heard implements LedgerListener {
    private final List<Long> blocks = Collections.synchronizedList(new ArrayList<>());

    @Override
    public void onBlock(Block block, Metagraph after) {
      blocks.add(after.block().equals(block) ? block.number() : -block.number());
    }

    List<Long> blocks() {
      synchronized (blocks) {
        return List.copyOf(blocks);
      }
    }

    @Override
    public String toString() {
      return blocks().toString();
    }
  }
}
