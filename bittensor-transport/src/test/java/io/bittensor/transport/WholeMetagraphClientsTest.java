package io.bittensor.transport;

import static io.bittensor.core.testing.LedgerFixtures.endpoint;
import static io.bittensor.core.testing.LedgerFixtures.genesis;
import static io.bittensor.core.testing.LedgerFixtures.key;
import static io.bittensor.core.testing.LedgerFixtures.params;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.bittensor.core.BlockPolicy;
import io.bittensor.core.LocalLedger;
import io.bittensor.core.Modality;
import io.bittensor.core.Transaction;
import io.bittensor.core.internal.SettableClock;
import io.bittensor.core.testing.LedgerFixtures;
import io.bittensor.transport.internal.wire.EventsRequest;
import io.bittensor.transport.internal.wire.LedgerEvent;
import io.bittensor.transport.internal.wire.LedgerRequest;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import okhttp3.MediaType;
import okhttp3.OkHttpClient;
import okhttp3.Request;
import okhttp3.RequestBody;
import okhttp3.Response;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * A client that takes whole metagraphs (another language's, {@code curl}) makes a ledger server
 * encode every block whole only while it is there: once its stream ended and a minute passed,
 * the server stops, and a client of that kind that comes later resumes with a resync, as from
 * before it ever came.
 */
@Timeout(60)
class WholeMetagraphClientsTest {
  @Test
  void aServerStopsMakingWholeMetagraphsAMinuteAfterTheLastClientThatTookThemLeft()
      throws Exception {
    SettableClock clock = new SettableClock(System.currentTimeMillis());
    OkHttpClient http = new OkHttpClient.Builder().readTimeout(10, TimeUnit.SECONDS).build();
    try (LocalLedger ledger = LocalLedger.builder().genesis(genesis(params(8), 8))
            .clock(LedgerFixtures.fixedClock()).blocks(BlockPolicy.manual()).openInMemory();
        LedgerServer server = LedgerServer.builder().ledger(ledger).host("127.0.0.1").port(0)
            .allowAnonymous(true).clock(clock).start()) {
      for (int i = 0; i < 8; i++) {
        ledger.submit(key(i), Transaction.register(endpoint(i), Modality.TEXT));
      }
      ledger.produceBlock();
      // A client that takes wholes: its snapshot, then it goes.
      try (Response curl = events(http, server, 0)) {
        LedgerEvent snapshot = LedgerEvent.parseDelimitedFrom(curl.body().byteStream());
        assertTrue(snapshot.getBlock().getSnapshot(), snapshot::toString);
      }
      // The server learns a client went when a write to it fails, a block or two later. Each
      // round seals blocks until it has (the newcomer of the round before gone too), then one
      // a minute on, and a newcomer resuming at that one finds it whole or not made.
      List<String> rounds = new ArrayList<>();
      for (int round = 0; round < 20; round++) {
        for (int written = 0; written < 3; written++) {
          setOneRow(ledger, round);
          Thread.sleep(50);
        }
        clock.set(clock.millis() + 61_000);
        long block = setOneRow(ledger, round);
        LedgerEvent first;
        try (Response late = events(http, server, block)) {
          first = LedgerEvent.parseDelimitedFrom(late.body().byteStream());
        }
        rounds.add(block + (first.getBlock().getResync() ? " not made" : " whole"));
        if (first.getBlock().getResync()) {
          return; // not made: the server stopped once its whole-taking clients were gone
        }
        assertEquals(block, first.getBlock().getBlock().getNumber(), first::toString);
        assertTrue(first.getBlock().hasMetagraph(), first::toString);
        Thread.sleep(100);
      }
      throw new AssertionError("every block was made whole long after its clients left: "
          + rounds);
    } finally {
      http.dispatcher().executorService().shutdown();
      http.connectionPool().evictAll();
    }
  }

  /** Seals a block in which one weight is set; returns its number. */
  private static long setOneRow(LocalLedger ledger, int round) throws Exception {
    ledger.submit(key(round % 8), Transaction.setWeights(new int[] {(round + 1) % 8},
        new double[] {1}));
    return ledger.produceBlock().number();
  }

  /** An unsigned events stream from {@code fromBlock}, whole metagraphs (no deltas). */
  private static Response events(OkHttpClient http, LedgerServer server, long fromBlock)
      throws Exception {
    LedgerRequest request = LedgerRequest.newBuilder().setVersion(1)
        .setBody(EventsRequest.newBuilder().setFromBlock(fromBlock).build().toByteString())
        .build();
    Response r = http.newCall(new Request.Builder()
        .url(server.uri().resolve("/v1/ledger/events").toString())
        .post(RequestBody.create(request.toByteArray(), MediaType.get("application/x-protobuf")))
        .build()).execute();
    assertEquals(200, r.code());
    return r;
  }
}
