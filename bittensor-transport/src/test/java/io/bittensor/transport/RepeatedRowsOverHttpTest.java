package io.bittensor.transport;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.bittensor.core.ForwardRequest;
import io.bittensor.core.ForwardResult;
import io.bittensor.core.Keypair;
import io.bittensor.core.Modality;
import io.bittensor.core.PeerInfo;
import io.bittensor.core.Status;
import io.bittensor.core.Tensor;
import io.bittensor.transport.internal.ClientCore;
import io.bittensor.transport.internal.wire.Response;
import java.io.IOException;
import java.time.Clock;
import java.time.Duration;
import java.util.Random;
import okhttp3.MediaType;
import okhttp3.OkHttpClient;
import okhttp3.Request;
import okhttp3.RequestBody;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

/**
 * Outputs whose rows repeat along the sequence (a sentence embedding at every token) cross the
 * wire once per example to a client that says it reads them so ({@code Bittensor-Accept:
 * repeated-rows}, which {@link PeerClient} sends), signed as sent, and read back whole; a caller
 * that does not say so gets the whole output, as before.
 */
@ExtendWith(LeakCheck.class)
@Timeout(30)
class RepeatedRowsOverHttpTest {
  private static final Keypair PEER = TransportContract.seeded(21);
  private static final int DIM = TransportContract.OUTPUT_DIM;
  private PeerServer server;

  @BeforeEach
  void start() throws IOException {
    // The echo peer answers its input: an input with repeated rows gives such an output.
    server = PeerServer.newBuilder(BuiltinPeers.echo()).host("127.0.0.1").port(0)
        .standard(TransportContract.STANDARD).signAnswers(PEER).start();
  }

  @AfterEach
  void stop() {
    server.close();
  }

  /** [batch, sequence, DIM]: each example's row at every position, or rows of their own. */
  private static Tensor input(long seed, int batch, int sequence, boolean repeated) {
    Random random = new Random(seed);
    float[] v = new float[batch * sequence * DIM];
    for (int b = 0; b < batch; b++) {
      for (int s = 0; s < sequence; s++) {
        for (int d = 0; d < DIM; d++) {
          int at = (b * sequence + s) * DIM + d;
          v[at] = repeated && s > 0 ? v[at - DIM] : (float) random.nextGaussian();
        }
      }
    }
    return Tensor.ofFloats(v, batch, sequence, DIM);
  }

  @ParameterizedTest(name = "{0}")
  @EnumSource(HttpProtocol.class)
  void aClientReadsRepeatedRowsBackWholeWithTheirSignatureChecked(HttpProtocol protocol) {
    try (PeerClient client = PeerClient.newBuilder().protocol(protocol)
        .keypair(TransportContract.ALICE).standard(TransportContract.STANDARD)
        .timeout(Duration.ofSeconds(10)).requireSignedAnswers(true).build()) {
      var peer = client.connect(PeerInfo.of(PEER.id(), server.endpoint(), Modality.TENSOR));
      for (boolean repeated : new boolean[] {true, false}) {
        Tensor x = input(repeated ? 1 : 2, 4, 16, repeated);
        ForwardResult r = peer.forward(new ForwardRequest(Modality.TENSOR, x)).join();
        assertEquals(Status.SUCCESS, r.status(), r.toString());
        assertEquals(x, r.output().orElseThrow(), "repeated " + repeated);
      }
    }
  }

  @Test
  void onTheWireTheRowsGoOncePerExampleOnlyToACallerThatReadsThem() throws IOException {
    OkHttpClient http = new OkHttpClient();
    try {
      ClientCore core = new ClientCore(TransportContract.ALICE, Clock.systemUTC(),
          TransportContract.STANDARD);
      Tensor x = input(3, 4, 16, true);
      byte[] body = core.message(new ForwardRequest(Modality.TENSOR, x), 5_000).toByteArray();
      Response compact = post(http, body, true);
      assertEquals(Status.SUCCESS.code(), compact.getStatus(), compact.getMessage());
      assertTrue(compact.getOutput().getRowsRepeated());
      assertEquals(4 * DIM * 4, compact.getOutput().getData().size(), "one row per example");
      assertEquals(java.util.List.of(4, 16, DIM), compact.getOutput().getShapeList());
      // The same request again (a new nonce), from a caller that does not say it reads them.
      body = core.message(new ForwardRequest(Modality.TENSOR, x), 5_000).toByteArray();
      Response whole = post(http, body, false);
      assertEquals(Status.SUCCESS.code(), whole.getStatus(), whole.getMessage());
      assertFalse(whole.getOutput().getRowsRepeated());
      assertEquals(4 * 16 * DIM * 4, whole.getOutput().getData().size());
      assertTrue(compact.getSerializedSize() * 8 < whole.getSerializedSize(),
          compact.getSerializedSize() + " bytes against " + whole.getSerializedSize());
    } finally {
      http.dispatcher().executorService().shutdown();
      http.connectionPool().evictAll();
    }
  }

  private Response post(OkHttpClient http, byte[] body, boolean acceptRepeatedRows)
      throws IOException {
    Request.Builder rb = new Request.Builder().url(server.endpoint() + "/v1/forward")
        .post(RequestBody.create(body, MediaType.get("application/x-protobuf")));
    if (acceptRepeatedRows) {
      rb.header("Bittensor-Accept", "repeated-rows");
    }
    try (okhttp3.Response r = http.newCall(rb.build()).execute()) {
      return Response.parseFrom(r.body().bytes());
    }
  }
}
