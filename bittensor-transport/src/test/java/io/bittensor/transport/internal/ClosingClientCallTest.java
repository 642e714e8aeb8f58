package io.bittensor.transport.internal;

import static org.junit.jupiter.api.Assertions.assertEquals;

import io.bittensor.core.DType;
import io.bittensor.core.ForwardRequest;
import io.bittensor.core.ForwardResult;
import io.bittensor.core.Keypair;
import io.bittensor.core.Modality;
import io.bittensor.core.Status;
import io.bittensor.core.Tensor;
import io.bittensor.core.TensorStandard;
import java.net.URI;
import java.time.Clock;
import java.time.Duration;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.BooleanSupplier;
import okhttp3.Dispatcher;
import okhttp3.OkHttpClient;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * A call made as its client closes, after the call's look at whether it is closed: its
 * dispatcher's threads are shut down and OkHttp refuses it ("executor rejected"). It is told
 * that the client is closed, not that a connection to the peer failed.
 */
@Timeout(30)
class ClosingClientCallTest {
  @Test
  void aCallTheClosingClientRefusesIsToldSoNotThatAConnectionFailed() throws Exception {
    ExecutorService shut = Executors.newSingleThreadExecutor();
    shut.shutdown(); // as PeerClient.close leaves its dispatcher's threads
    OkHttpClient http = new OkHttpClient.Builder().dispatcher(new Dispatcher(shut)).build();
    AtomicInteger looks = new AtomicInteger();
    BooleanSupplier closing = () -> looks.getAndIncrement() > 0; // closed after the first look
    URI endpoint = URI.create("http://127.0.0.1:9");
    OkHttpPeer peer = new OkHttpPeer(endpoint, http,
        new ClientCore(Keypair.generate(), Clock.systemUTC(), TensorStandard.anyOutputDim()),
        Duration.ofSeconds(10), 1 << 20, null, closing);
    ForwardResult r = peer.forward(new ForwardRequest(Modality.TENSOR,
        Tensor.zeros(DType.FLOAT32, 1, 1, 2))).get(10, TimeUnit.SECONDS);
    assertEquals(Status.UNAVAILABLE, r.status(), r::toString);
    assertEquals("the client is closed: " + endpoint + " is not called", r.message());
  }
}
