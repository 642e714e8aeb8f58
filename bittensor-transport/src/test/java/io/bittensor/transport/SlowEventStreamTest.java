package io.bittensor.transport;

import static io.bittensor.core.testing.LedgerFixtures.endpoint;
import static io.bittensor.core.testing.LedgerFixtures.genesis;
import static io.bittensor.core.testing.LedgerFixtures.key;
import static io.bittensor.core.testing.LedgerFixtures.params;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.bittensor.core.BlockPolicy;
import io.bittensor.core.LocalLedger;
import io.bittensor.core.Modality;
import io.bittensor.core.Transaction;
import io.bittensor.core.testing.LedgerFixtures;
import io.bittensor.transport.internal.LedgerWire;
import io.bittensor.transport.internal.wire.BlockEvent;
import io.bittensor.transport.internal.wire.EventsRequest;
import io.bittensor.transport.internal.wire.LedgerEvent;
import io.bittensor.transport.internal.wire.LedgerRequest;
import java.io.IOException;
import java.io.InputStream;
import java.net.InetAddress;
import java.net.Socket;
import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;
import java.util.concurrent.TimeUnit;
import java.util.stream.IntStream;
import javax.net.SocketFactory;
import okhttp3.MediaType;
import okhttp3.OkHttpClient;
import okhttp3.Request;
import okhttp3.RequestBody;
import okhttp3.Response;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * A client that stops reading its event stream while blocks go on being sealed: the server keeps
 * one write pending for it, not a queue of every block; when it reads again it gets what that
 * write held, then a resync snapshot of the latest block in place of the blocks that left the
 * history meanwhile, and then the stream goes on block by block.
 */
@Timeout(120)
class SlowEventStreamTest {
  private static final int PEERS = 256;
  private static final int HISTORY = 8;

  @Test
  void aClientThatStopsReadingIsSentAResyncWhenItReadsAgain() throws Exception {
    OkHttpClient http = new OkHttpClient.Builder()
        .readTimeout(30, TimeUnit.SECONDS)
        .socketFactory(new SmallWindowSockets())
        .build();
    try (LocalLedger ledger = LocalLedger.builder().genesis(genesis(params(PEERS), PEERS))
            .clock(LedgerFixtures.fixedClock()).blocks(BlockPolicy.manual()).openInMemory();
        LedgerServer server = LedgerServer.builder().ledger(ledger).host("127.0.0.1").port(0)
            .allowAnonymous(true).history(HISTORY).start()) {
      SplittableRandom random = new SplittableRandom(11);
      int[] all = IntStream.range(0, PEERS).toArray();
      for (int i = 0; i < PEERS; i++) {
        ledger.submit(key(i), Transaction.register(endpoint(i), Modality.TEXT));
      }
      ledger.produceBlock();
      for (int i = 0; i < PEERS; i++) {
        ledger.submit(key(i), Transaction.setWeights(all, random.doubles(PEERS, 0.1, 1)
            .toArray()));
      }
      long start = ledger.produceBlock().number();
      int wholeBytes = LedgerWire.toWire(ledger.metagraph()).getSerializedSize();
      // Far more than the socket buffers on both sides can hold (4 MiB of send buffer at most
      // here, a 4 KiB receive window), so the server's write must wait for the client.
      int blocks = (int) Math.max(40, (24L << 20) / wholeBytes + 1);

      try (Response stream = events(http, server)) {
        InputStream in = stream.body().byteStream();
        BlockEvent snapshot = LedgerEvent.parseDelimitedFrom(in).getBlock();
        assertTrue(snapshot.getSnapshot() && !snapshot.getResync(), snapshot::toString);
        assertEquals(start, snapshot.getBlock().getNumber());

        // The client reads nothing while the ledger seals block after block.
        for (int b = 0; b < blocks; b++) {
          ledger.submit(key(b % PEERS), Transaction.setWeights(all,
              random.doubles(PEERS, 0.1, 1).toArray()));
          ledger.produceBlock();
        }
        long head = ledger.metagraph().block().number();
        assertEquals(start + blocks, head);
        assertEquals(1, server.eventStreams(), "the stream stays open while its client waits");

        // Now it reads: the blocks of the write that was pending, in order, then the resync.
        List<Long> inOrder = new ArrayList<>();
        BlockEvent resync = null;
        while (resync == null) {
          LedgerEvent e = LedgerEvent.parseDelimitedFrom(in);
          assertTrue(e != null && e.hasBlock(), "the stream ended or sent no block: " + e);
          BlockEvent b = e.getBlock();
          if (b.getResync()) {
            resync = b;
          } else {
            assertFalse(b.getSnapshot(), "a snapshot that is not a resync");
            assertEquals(start + 1 + inOrder.size(), b.getBlock().getNumber(),
                "blocks before the resync come in order, none skipped");
            assertTrue(b.hasMetagraph(), "a client that takes no deltas gets each block whole");
            inOrder.add(b.getBlock().getNumber());
            assertTrue(inOrder.size() < blocks, "every block came, so none was ever dropped: "
                + "the server queued them all for a client that did not read");
          }
        }
        assertTrue(resync.getSnapshot() && resync.hasMetagraph(), resync::toString);
        assertEquals(head, resync.getBlock().getNumber(), "the resync is of the latest block");
        assertEquals(LedgerWire.toWire(ledger.metagraph()), resync.getMetagraph(),
            "the resync carries the latest metagraph whole");
        assertTrue(inOrder.size() < blocks - HISTORY,
            "the blocks skipped had left the history: " + inOrder.size() + " of " + blocks);

        // And the stream goes on from there, one block at a time.
        ledger.submit(key(0), Transaction.setWeights(new int[] {1}, new double[] {1}));
        long next = ledger.produceBlock().number();
        BlockEvent after = LedgerEvent.parseDelimitedFrom(in).getBlock();
        assertEquals(next, after.getBlock().getNumber());
        assertFalse(after.getSnapshot() || after.getResync(), after::toString);
      }
    } finally {
      http.dispatcher().executorService().shutdown();
      http.connectionPool().evictAll();
    }
  }

  /**
   * Clients that each open a stream from a block well back and never read: the server sends them
   * the history's events as they are, shared, and copies none of it for each of them. Before the
   * fix each stream's first write was a copy of every event after its block (up to the history's
   * 64 MiB), so a few hundred such streams ran the server out of memory.
   */
  @Test
  void streamsThatNeverReadDoNotEachCopyTheHistory() throws Exception {
    int peers = 128;
    int streams = 20;
    OkHttpClient http = new OkHttpClient.Builder().readTimeout(30, TimeUnit.SECONDS).build();
    List<Socket> silent = new ArrayList<>();
    try (LocalLedger ledger = LocalLedger.builder().genesis(genesis(params(peers), peers))
            .clock(LedgerFixtures.fixedClock()).blocks(BlockPolicy.manual()).openInMemory();
        LedgerServer server = LedgerServer.builder().ledger(ledger).host("127.0.0.1").port(0)
            .allowAnonymous(true).start()) {
      SplittableRandom random = new SplittableRandom(12);
      int[] all = IntStream.range(0, peers).toArray();
      for (int i = 0; i < peers; i++) {
        ledger.submit(key(i), Transaction.register(endpoint(i), Modality.TEXT));
      }
      ledger.produceBlock();
      for (int i = 0; i < peers; i++) {
        ledger.submit(key(i), Transaction.setWeights(all, random.doubles(peers, 0.1, 1)
            .toArray()));
      }
      long start = ledger.produceBlock().number();
      long history = 0;
      try (Response whole = events(http, server)) { // so that blocks are kept whole
        LedgerEvent.parseDelimitedFrom(whole.body().byteStream());
        for (int b = 0; b < 24; b++) {
          ledger.submit(key(b % peers), Transaction.setWeights(all,
              random.doubles(peers, 0.1, 1).toArray()));
          ledger.produceBlock();
          history += LedgerWire.toWire(ledger.metagraph()).getSerializedSize();
        }
        byte[] request = LedgerRequest.newBuilder().setVersion(1)
            .setBody(EventsRequest.newBuilder().setFromBlock(start + 1).build().toByteString())
            .build().toByteArray();
        com.sun.management.ThreadMXBean threads = (com.sun.management.ThreadMXBean)
            java.lang.management.ManagementFactory.getThreadMXBean();
        long before = allocated(threads);
        for (int i = 0; i < streams; i++) {
          Socket s = new Socket("127.0.0.1", server.port());
          silent.add(s);
          s.setReceiveBufferSize(4096);
          java.io.OutputStream out = s.getOutputStream();
          out.write(("POST /v1/ledger/events HTTP/1.1\r\nHost: ledger\r\nContent-Type: "
              + "application/x-protobuf\r\nContent-Length: " + request.length + "\r\n\r\n")
              .getBytes(java.nio.charset.StandardCharsets.US_ASCII));
          out.write(request);
          out.flush();
        }
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(20);
        while (server.eventStreams() < streams + 1 && System.nanoTime() < deadline) {
          Thread.sleep(10);
        }
        assertEquals(streams + 1, server.eventStreams());
        Thread.sleep(500); // their first writes go out
        long spent = allocated(threads) - before;
        assertTrue(spent < streams * history / 4, "opening " + streams + " streams over "
            + history + " bytes of history allocated " + spent + " bytes");
      }
    } finally {
      for (Socket s : silent) {
        s.close();
      }
      http.dispatcher().executorService().shutdown();
      http.connectionPool().evictAll();
    }
  }

  /** The bytes every live thread has allocated so far. */
  private static long allocated(com.sun.management.ThreadMXBean threads) {
    long sum = 0;
    for (long bytes : threads.getThreadAllocatedBytes(threads.getAllThreadIds())) {
      sum += Math.max(0, bytes);
    }
    return sum;
  }

  /** An unsigned stream from the latest block, whole metagraphs (a client that takes no deltas). */
  private static Response events(OkHttpClient http, LedgerServer server) throws IOException {
    LedgerRequest request = LedgerRequest.newBuilder().setVersion(1)
        .setBody(EventsRequest.newBuilder().setFromBlock(0).build().toByteString())
        .build();
    Response r = http.newCall(new Request.Builder()
        .url(server.uri().resolve("/v1/ledger/events").toString())
        .post(RequestBody.create(request.toByteArray(), MediaType.get("application/x-protobuf")))
        .build()).execute();
    assertEquals(200, r.code());
    return r;
  }

  /** Sockets with a 4 KiB receive buffer, set before connecting so the window stays small. */
  private static final class SmallWindowSockets extends SocketFactory {
    @Override
    public Socket createSocket() throws IOException {
      Socket s = new Socket();
      s.setReceiveBufferSize(4096);
      return s;
    }

    @Override
    public Socket createSocket(String host, int port) {
      throw new UnsupportedOperationException("OkHttp connects the socket itself");
    }

    @Override
    public Socket createSocket(String host, int port, InetAddress local, int localPort) {
      throw new UnsupportedOperationException("OkHttp connects the socket itself");
    }

    @Override
    public Socket createSocket(InetAddress host, int port) {
      throw new UnsupportedOperationException("OkHttp connects the socket itself");
    }

    @Override
    public Socket createSocket(InetAddress host, int port, InetAddress local, int localPort) {
      throw new UnsupportedOperationException("OkHttp connects the socket itself");
    }
  }
}
