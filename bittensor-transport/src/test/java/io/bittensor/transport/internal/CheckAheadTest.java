package io.bittensor.transport.internal;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.google.protobuf.ByteString;
import com.google.protobuf.CodedOutputStream;
import io.bittensor.core.ForwardRequest;
import io.bittensor.core.ForwardResult;
import io.bittensor.core.Keypair;
import io.bittensor.core.Modality;
import io.bittensor.core.Status;
import io.bittensor.core.Tensor;
import io.bittensor.core.TensorStandard;
import io.bittensor.transport.BuiltinPeers;
import io.bittensor.transport.HttpProtocol;
import io.bittensor.transport.PeerClient;
import io.bittensor.transport.SignatureScope;
import io.bittensor.transport.internal.wire.Caller;
import io.bittensor.transport.internal.wire.Response;
import java.io.ByteArrayOutputStream;
import java.net.URI;
import java.time.Clock;
import java.time.Duration;
import java.util.EnumSet;
import java.util.SplittableRandom;
import java.util.stream.LongStream;
import okhttp3.MediaType;
import okhttp3.OkHttpClient;
import okhttp3.Request;
import okhttp3.RequestBody;
import org.eclipse.jetty.http2.server.HTTP2CServerConnectionFactory;
import org.eclipse.jetty.server.HttpConnectionFactory;
import org.eclipse.jetty.server.Server;
import org.eclipse.jetty.server.ServerConnector;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * A forward request's metadata-only signature checked from the first bytes of its body, while
 * the tensor is still arriving: the client's field order, the prefix reader over seeded random
 * requests, cut and mutated bodies, and a real server on loopback that uses the early answer only
 * for the request it was made for.
 */
class CheckAheadTest {
  private static final Keypair KEY = Keypair.generate();

  static LongStream seeds() {
    return LongStream.range(0, 80).map(i -> 0xa4eadL + i);
  }

  /** A random signed wire request; its caller names the metadata-only scope. */
  private static io.bittensor.transport.internal.wire.ForwardRequest randomRequest(
      SplittableRandom r) {
    int rank = 1 + r.nextInt(4);
    int[] shape = new int[rank];
    int elements = 1;
    for (int i = 0; i < rank; i++) {
      shape[i] = 1 + r.nextInt(i == rank - 1 ? 300 : 5);
      elements *= shape[i];
    }
    float[] values = new float[elements];
    for (int i = 0; i < elements; i++) {
      values[i] = (float) r.nextGaussian();
    }
    ClientCore core = new ClientCore(KEY, Clock.systemUTC(), TensorStandard.anyOutputDim(),
        io.bittensor.transport.internal.wire.SignatureScope.METADATA_ONLY);
    var m = core.message(new ForwardRequest(Modality.values()[r.nextInt(4)],
        Tensor.ofFloats(values, shape)), 1 + r.nextInt(100_000));
    if (r.nextInt(5) == 0) {
      m = m.toBuilder().setTimeoutMs(0).build(); // no timeout field at all
    }
    return m;
  }

  private static byte[] prefixOrdered(io.bittensor.transport.internal.wire.ForwardRequest m)
      throws Exception {
    ByteArrayOutputStream bytes = new ByteArrayOutputStream();
    CodedOutputStream out = CodedOutputStream.newInstance(bytes);
    ForwardPrefix.write(m, out);
    out.flush();
    return bytes.toByteArray();
  }

  @ParameterizedTest
  @MethodSource("seeds")
  void thePrefixHoldsWhatTheMetadataSignatureCovers(long seed) throws Exception {
    SplittableRandom r = new SplittableRandom(seed);
    var m = randomRequest(r);
    byte[] body = prefixOrdered(m);
    assertEquals(m.getSerializedSize(), body.length, "seed " + seed);
    assertEquals(m, io.bittensor.transport.internal.wire.ForwardRequest.parseFrom(body));

    int dataLength = m.getInput().getData().size();
    int header = body.length - dataLength; // everything but the tensor's bytes
    byte[] full = CanonicalDigest.of(m);
    for (int cut = 0; cut <= body.length; cut += cut < header + 4 ? 1 : 97) {
      ForwardPrefix p = ForwardPrefix.read(body, 0, cut);
      if (cut < header) {
        assertNull(p, "seed " + seed + ": cut at " + cut + " of a " + header + "-byte header");
      } else {
        assertNotNull(p, "seed " + seed + ": cut at " + cut);
        assertEquals(m.getCaller(), p.caller());
        assertEquals(dataLength, p.dataLength());
        assertArrayEquals(full, p.metadataDigest(), "seed " + seed + ": cut at " + cut);
      }
    }
  }

  @ParameterizedTest
  @MethodSource("seeds")
  void mutatedBodiesNeverThrowAndAnotherOrderGivesAnotherDigest(long seed) throws Exception {
    SplittableRandom r = new SplittableRandom(seed);
    var m = randomRequest(r);
    byte[] body = prefixOrdered(m);
    for (int i = 0; i < 50; i++) {
      byte[] mutated = body.clone();
      int at = r.nextInt(Math.min(body.length, 300));
      mutated[at] = (byte) r.nextInt(256);
      ForwardPrefix.read(mutated, 0, mutated.length); // never throws
    }
    // The generated order puts timeout_ms after the tensor: the prefix ends before it, so its
    // digest is not the request's. That is why the server uses an early answer only for the
    // digest of the request it finally reads.
    if (m.getTimeoutMs() != 0) {
      ForwardPrefix early = ForwardPrefix.read(m.toByteArray(), 0, m.getSerializedSize());
      assertFalse(java.util.Arrays.equals(CanonicalDigest.of(m), early.metadataDigest()),
          "seed " + seed);
    }
  }

  /**
   * A shape of more dimensions than a tensor may have (16) gives no prefix: the request is
   * refused once read whole. Before, each dimension grew the shape by a copy, so that a 16 KiB
   * prefix of 16,000 one-byte dimensions, from anyone (the caller block is not checked before),
   * cost the server's thread 0.2 to 0.9 s, and 64,000 of them 3.6 s.
   */
  @Test
  void aShapeOfMoreDimensionsThanATensorMayHaveGivesNoPrefix() {
    for (int rank : new int[] {16, 17, 16_000}) {
      io.bittensor.transport.internal.wire.Tensor.Builder t =
          io.bittensor.transport.internal.wire.Tensor.newBuilder().setDtypeValue(1)
              .setData(ByteString.copyFrom(new byte[4]));
      for (int i = 0; i < rank; i++) {
        t.addShape(1);
      }
      byte[] body = io.bittensor.transport.internal.wire.ForwardRequest.newBuilder()
          .setVersion(1).setCaller(Caller.newBuilder().setPublicKey(
              ByteString.copyFrom(new byte[32])))
          .setInput(t).build().toByteArray();
      ForwardPrefix p = ForwardPrefix.read(body, 0, body.length);
      if (rank <= 16) {
        assertEquals(rank, p.shape().length);
      } else {
        assertNull(p, rank + " dimensions");
      }
    }
  }

  @Test
  void theEarlyAnswerCountsOnlyForTheCallerAndDigestItWasMadeFor() {
    Authenticator auth = new Authenticator(Clock.systemUTC(), Duration.ofSeconds(30), false,
        1_000, true);
    var m = randomRequest(new SplittableRandom(3));
    byte[] digest = CanonicalDigest.of(m);
    Caller caller = m.getCaller();

    var ahead = auth.verifyAhead(caller, () -> digest);
    assertTrue(ahead.valid());
    // A wrong early answer for exactly this request is used as it is: no second check.
    Rejected used = assertThrows(Rejected.class, () -> auth.authenticate(caller,
        () -> digest, new Authenticator.Verified(caller, digest, false)));
    assertEquals(Status.BAD_SIGNATURE, used.rejection().status());
    // For another digest it is ignored and the signature checked again.
    byte[] other = digest.clone();
    other[0] ^= 1;
    assertNotNull(auth.authenticate(caller, () -> digest,
        new Authenticator.Verified(caller, other, false)));
    // A whole-request signature is never checked ahead.
    assertNull(auth.verifyAhead(caller.toBuilder().setScopeValue(0).build(), () -> digest));
  }

  @Test
  void aKeyTheServerDoesNotServeIsRefusedWithoutVerifying() {
    var m = randomRequest(new SplittableRandom(4));
    Caller caller = m.getCaller();
    int[] digests = {0};
    java.util.function.Supplier<byte[]> digest = () -> {
      digests[0]++;
      return CanonicalDigest.of(m);
    };
    Authenticator strangersOut = new Authenticator(Clock.systemUTC(), Duration.ofSeconds(30),
        false, 1_000, true, id -> !id.equals(KEY.id()));
    assertNull(strangersOut.verifyAhead(caller, digest), "no check ahead for a stranger");
    Rejected refused = assertThrows(Rejected.class,
        () -> strangersOut.authenticate(caller, digest));
    assertEquals(Status.UNAUTHENTICATED, refused.rejection().status());
    assertEquals("caller", refused.rejection().field());
    assertEquals(0, digests[0], "nothing hashed, nothing verified");
    Authenticator served = new Authenticator(Clock.systemUTC(), Duration.ofSeconds(30), false,
        1_000, true, KEY.id()::equals);
    assertTrue(served.verifyAhead(caller, digest).valid());
    assertEquals(KEY.id(), served.authenticate(caller, digest));
  }

  private Server jetty;
  private ServingCore core;
  private URI endpoint;

  @BeforeEach
  void serve() throws Exception {
    Authenticator auth = new Authenticator(Clock.systemUTC(), Duration.ofSeconds(30), false,
        1_000, true);
    core = new ServingCore(BuiltinPeers.echo(), EnumSet.of(Modality.TENSOR),
        TensorStandard.anyOutputDim(), auth, Duration.ofSeconds(5), Duration.ofSeconds(5));
    Serving serving = new Serving(core,
        new Admission(8, 8, Duration.ofSeconds(5).toNanos(), System::nanoTime), null,
        64L << 20, 100);
    jetty = JettyServers.create("check-ahead-test", 8);
    ServerConnector connector = new ServerConnector(jetty, 1, 1,
        new HttpConnectionFactory(JettyServers.http()),
        new HTTP2CServerConnectionFactory(JettyServers.http()));
    connector.setHost("127.0.0.1");
    connector.setPort(0);
    jetty.addConnector(connector);
    jetty.setHandler(new HttpPeerHandler(serving, jetty.getThreadPool()));
    endpoint = JettyServers.start(jetty, connector, "peers");
  }

  @AfterEach
  void stop() throws Exception {
    jetty.stop();
  }

  private ForwardResult call(PeerClient client, int[] shape) {
    float[] values = new float[shape[0] * shape[1] * shape[2]];
    return client.connect(endpoint).forwardAndWait(
        new ForwardRequest(Modality.TENSOR, Tensor.ofFloats(values, shape)),
        Duration.ofSeconds(10));
  }

  @ParameterizedTest
  @org.junit.jupiter.params.provider.EnumSource(HttpProtocol.class)
  void aLargeSignedForwardIsCheckedAheadOverHttpAndASmallOneAfter(HttpProtocol protocol) {
    try (PeerClient meta = PeerClient.newBuilder().protocol(protocol).keypair(KEY)
            .signatureScope(SignatureScope.METADATA_ONLY).build();
        PeerClient whole = PeerClient.newBuilder().protocol(protocol).keypair(KEY)
            .build()) {
      assertTrue(call(meta, new int[] {4, 64, 256}).isSuccess()); // 256 KiB
      assertEquals(1, core.checkedAhead());
      assertTrue(call(meta, new int[] {1, 4, 16}).isSuccess()); // 256 bytes: one read
      assertTrue(call(whole, new int[] {4, 64, 256}).isSuccess()); // needs every byte
      assertEquals(1, core.checkedAhead());
    }
  }

  @Test
  void aBodyThatChangesAfterItsPrefixIsRefused() throws Exception {
    ClientCore caller = new ClientCore(KEY, Clock.systemUTC(), TensorStandard.anyOutputDim(),
        io.bittensor.transport.internal.wire.SignatureScope.METADATA_ONLY);
    var m = caller.message(new ForwardRequest(Modality.TENSOR,
        Tensor.ofFloats(new float[4 * 64 * 256], 4, 64, 256)), 5_000);
    // The signed prefix, then a second timeout_ms after the tensor: protobuf keeps the last one,
    // so the request served is not the one whose prefix was checked.
    ByteArrayOutputStream bytes = new ByteArrayOutputStream();
    CodedOutputStream out = CodedOutputStream.newInstance(bytes);
    ForwardPrefix.write(m, out);
    out.writeUInt32(io.bittensor.transport.internal.wire.ForwardRequest.TIMEOUT_MS_FIELD_NUMBER,
        60_000);
    out.flush();

    OkHttpClient http = new OkHttpClient();
    try (okhttp3.Response resp = http.newCall(new Request.Builder()
        .url(endpoint.resolve("/v1/forward").toString())
        .post(RequestBody.create(bytes.toByteArray(),
            MediaType.get("application/x-protobuf")))
        .build()).execute()) {
      Response answer = Response.parseFrom(resp.body().bytes());
      assertEquals(Status.BAD_SIGNATURE.code(), answer.getStatus(), answer.getMessage());
    } finally {
      http.dispatcher().executorService().shutdown();
      http.connectionPool().evictAll();
    }
    assertEquals(1, core.checkedAhead(), "the prefix was checked, and said valid");
  }
  /**
   * Large signed bodies with one byte changed among their first 400 (the prefix the server checks
   * ahead, and the start of the tensor's data): each gets an answer, and one that succeeds is a
   * request whose signed metadata did not change, as the metadata-only scope leaves the tensor's
   * bytes out.
   */
  @Test
  void changedPrefixesAreAnsweredAndOnlyUnsignedBytesMayChange() throws Exception {
    ClientCore caller = new ClientCore(KEY, Clock.systemUTC(), TensorStandard.anyOutputDim(),
        io.bittensor.transport.internal.wire.SignatureScope.METADATA_ONLY);
    ForwardRequest request = new ForwardRequest(Modality.TENSOR,
        Tensor.ofFloats(new float[4 * 64 * 256], 4, 64, 256));
    SplittableRandom r = new SplittableRandom(17);
    OkHttpClient http = new OkHttpClient();
    int succeeded = 0;
    try {
      for (int n = 0; n < 60; n++) {
        var m = caller.message(request, 5_000);
        byte[] body = prefixOrdered(m);
        int at = r.nextInt(400);
        body[at] ^= (byte) (1 + r.nextInt(255));
        try (okhttp3.Response resp = http.newCall(new Request.Builder()
            .url(endpoint.resolve("/v1/forward").toString())
            .post(RequestBody.create(body, MediaType.get("application/x-protobuf")))
            .build()).execute()) {
          Response answer = Response.parseFrom(resp.body().bytes());
          if (answer.getStatus() == Status.SUCCESS.code()) {
            succeeded++;
            var served = io.bittensor.transport.internal.wire.ForwardRequest.parseFrom(body);
            assertArrayEquals(CanonicalDigest.of(m), CanonicalDigest.of(served),
                "byte " + at + " changed signed metadata, and the server took it");
          }
        }
      }
    } finally {
      http.dispatcher().executorService().shutdown();
      http.connectionPool().evictAll();
    }
    assertTrue(succeeded < 60, "some changes must be refused");
    try (PeerClient meta = PeerClient.newBuilder().keypair(KEY)
        .signatureScope(SignatureScope.METADATA_ONLY).build()) {
      assertTrue(call(meta, new int[] {4, 64, 256}).isSuccess(), "the server still serves");
    }
  }
}
