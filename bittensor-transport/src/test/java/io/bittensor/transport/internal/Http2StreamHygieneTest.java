package io.bittensor.transport.internal;

import static org.junit.jupiter.api.Assertions.assertEquals;

import io.bittensor.core.DType;
import io.bittensor.core.ForwardRequest;
import io.bittensor.core.ForwardResult;
import io.bittensor.core.Keypair;
import io.bittensor.core.Modality;
import io.bittensor.core.Tensor;
import io.bittensor.core.TensorStandard;
import io.bittensor.transport.BuiltinPeers;
import io.bittensor.transport.PeerServer;
import java.io.IOException;
import java.time.Clock;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import okhttp3.Call;
import okhttp3.EventListener;
import okhttp3.OkHttpClient;
import okhttp3.Protocol;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * Over HTTP/2 every exchange ends cleanly: the client reads each answer to the server's
 * END_STREAM before closing it, so no stream is reset, nothing is resent, and no call fails.
 * Closing at Content-Length instead reset a few streams in every thousand under load; the resets
 * made the server refuse streams and OkHttp resend signed requests with their old nonces.
 */
@Timeout(60)
class Http2StreamHygieneTest {

  @Test
  void sixteenSignedCallersResetNoStreamAndResendNothing() throws Exception {
    AtomicInteger failedReads = new AtomicInteger();
    AtomicInteger resends = new AtomicInteger();
    List<String> why = new ArrayList<>();
    EventListener listener = new EventListener() {
      @Override
      public void responseFailed(Call call, IOException e) {
        failedReads.incrementAndGet();
        synchronized (why) {
          why.add(e.toString());
        }
      }

      @Override
      public void retryDecision(Call call, IOException e, boolean retry) {
        resends.incrementAndGet();
        synchronized (why) {
          why.add("resend " + retry + ": " + e);
        }
      }
    };
    OkHttpClient http = new OkHttpClient.Builder()
        .protocols(List.of(Protocol.H2_PRIOR_KNOWLEDGE))
        .socketFactory(new NoDelaySocketFactory())
        .eventListener(listener)
        .build();
    http.dispatcher().setMaxRequestsPerHost(64);
    TensorStandard standard = TensorStandard.of(8);
    int callers = 16;
    int callsEach = 300;
    ExecutorService pool = Executors.newFixedThreadPool(callers);
    try (PeerServer server = PeerServer.newBuilder(BuiltinPeers.deterministic(8))
        .host("127.0.0.1").port(0).standard(standard).start()) {
      OkHttpPeer peer = new OkHttpPeer(server.endpoint(), http,
          new ClientCore(Keypair.generate(), Clock.systemUTC(), standard),
          Duration.ofSeconds(10), 1 << 20, null);
      ForwardRequest request = new ForwardRequest(Modality.TENSOR,
          Tensor.zeros(DType.FLOAT32, 2, 16, 64));
      List<Future<Integer>> failures = new ArrayList<>();
      for (int c = 0; c < callers; c++) {
        failures.add(pool.submit(() -> {
          int failed = 0;
          for (int i = 0; i < callsEach; i++) {
            ForwardResult r = peer.forward(request).join();
            failed += r.isSuccess() ? 0 : 1;
          }
          return failed;
        }));
      }
      int failed = 0;
      for (Future<Integer> f : failures) {
        failed += f.get();
      }
      synchronized (why) {
        String first = why.subList(0, Math.min(3, why.size())).toString();
        assertEquals(0, failedReads.get(), "answers cut off by a reset: " + first);
        assertEquals(0, resends.get(), "requests OkHttp sent again: " + first);
      }
      assertEquals(0, failed, "failed calls of " + callers * callsEach);
    } finally {
      pool.shutdownNow();
      pool.awaitTermination(5, TimeUnit.SECONDS);
      http.dispatcher().executorService().shutdown();
      http.connectionPool().evictAll();
    }
  }
}
