package io.bittensor.transport.internal;

import static io.bittensor.core.testing.LedgerFixtures.genesis;
import static io.bittensor.core.testing.LedgerFixtures.params;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.bittensor.core.BlockPolicy;
import io.bittensor.core.LocalLedger;
import io.bittensor.core.testing.LedgerFixtures;
import java.lang.reflect.Proxy;
import java.nio.ByteBuffer;
import java.util.List;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicReference;
import org.eclipse.jetty.http.HttpFields;
import org.eclipse.jetty.server.Request;
import org.eclipse.jetty.server.Response;
import org.eclipse.jetty.util.Callback;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/** {@link EventStream} against a response that stands in for Jetty's. */
@Timeout(30)
class EventStreamTest {

  /**
   * An Error in a stream (an OutOfMemoryError as it writes a heartbeat, here) ends it as an
   * exception does: its {@code done} fails, which tells the client and gives its address its
   * slot back, and the hub stops waking it. Before, the hub let go of it and nothing else: the
   * client heard nothing until it disconnected, and the slot stayed held until then.
   */
  @Test
  void anErrorInAStreamEndsItAndTellsItsCallback() throws Exception {
    try (LocalLedger ledger = LocalLedger.builder().genesis(genesis(params(8), 1))
            .clock(LedgerFixtures.fixedClock()).blocks(BlockPolicy.manual()).openInMemory();
        LedgerHub hub = new LedgerHub(ledger, 3, 1 << 20, 40)) { // a tick every 10 ms
      AtomicInteger writes = new AtomicInteger();
      Response response = (Response) Proxy.newProxyInstance(getClass().getClassLoader(),
          new Class<?>[] {Response.class}, (proxy, method, args) -> switch (method.getName()) {
            case "getHeaders" -> HEADERS;
            case "setStatus" -> null;
            case "write" -> {
              if (writes.incrementAndGet() > 1) { // the headers go out; the heartbeat fails
                throw new OutOfMemoryError("Java heap space");
              }
              ((Callback) args[2]).succeeded();
              yield null;
            }
            default -> throw new UnsupportedOperationException(method.getName());
          });
      Request request = (Request) Proxy.newProxyInstance(getClass().getClassLoader(),
          new Class<?>[] {Request.class}, (proxy, method, args) -> {
            if (method.getName().equals("addFailureListener")) {
              return null;
            }
            throw new UnsupportedOperationException(method.getName());
          });
      CountDownLatch ended = new CountDownLatch(1);
      AtomicReference<Throwable> failure = new AtomicReference<>();
      Callback done = Callback.from(ended::countDown, x -> {
        failure.set(x);
        ended.countDown();
      });
      EventStream.start(hub, 0, List.of(), false, false, request, response, done, null, null);
      assertTrue(ended.await(10, TimeUnit.SECONDS), "the stream whose heartbeat threw an Error"
          + " was never ended: its client is not told, its slot stays held (writes: " + writes
          + ")");
      assertInstanceOf(OutOfMemoryError.class, failure.get());
      assertEquals(0, hub.streams(), "the hub still wakes it");
      assertEquals(2, writes.get(), "written to after it ended");
    }
  }

  private static final HttpFields.Mutable HEADERS = HttpFields.build();
}
