package com.example.consumer;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.bittensor.core.BlockPolicy;
import io.bittensor.core.ForwardRequest;
import io.bittensor.core.ForwardResult;
import io.bittensor.core.Genesis;
import io.bittensor.core.Keypair;
import io.bittensor.core.LedgerParams;
import io.bittensor.core.LocalLedger;
import io.bittensor.core.Metagraph;
import io.bittensor.core.Modality;
import io.bittensor.core.Peer;
import io.bittensor.core.PeerInfo;
import io.bittensor.core.Receipt;
import io.bittensor.core.Tensor;
import io.bittensor.core.TensorStandard;
import io.bittensor.core.Transaction;
import io.bittensor.incentive.EpochResult;
import io.bittensor.incentive.IncentiveMechanism;
import io.bittensor.incentive.NetworkState;
import io.bittensor.incentive.PeerMatrix;
import io.bittensor.incentive.PeerVector;
import io.bittensor.onnx.Mlp;
import io.bittensor.onnx.OnnxExport;
import io.bittensor.onnx.OnnxPeer;
import io.bittensor.transport.HttpProtocol;
import io.bittensor.transport.LedgerServer;
import io.bittensor.transport.PeerClient;
import io.bittensor.transport.PeerServer;
import io.bittensor.transport.RemoteLedger;
import java.lang.module.ModuleDescriptor;
import java.lang.module.ModuleFinder;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;

/** What the card's three users do, written as a consumer of the published artifacts would. */
class ConsumerTest {
  /**
   * On the module path each jar is the module named after its top package (its descriptor's
   * name), not one from its file name; ../modular-consumer runs them there.
   */
  @Test
  void eachJarIsTheModuleOfItsTopPackage() throws Exception {
    for (Class<?> c : List.of(IncentiveMechanism.class, LocalLedger.class, PeerServer.class,
        OnnxPeer.class)) {
      Path jar = Path.of(c.getProtectionDomain().getCodeSource().getLocation().toURI());
      ModuleDescriptor module = ModuleFinder.of(jar).findAll().iterator().next().descriptor();
      assertEquals(c.getPackageName(), module.name(), jar.getFileName().toString());
      assertFalse(module.isAutomatic(), module.name() + " has a descriptor");
    }
  }

  /** Research code: one epoch of the paper's mechanism, called directly. */
  @Test
  void theIncentiveMathematicsRunsOnANetworkOfOurOwn() {
    NetworkState state = NetworkState.of(
        PeerVector.of(40, 30, 20, 10),
        PeerMatrix.dense(new double[][] {
            {0, 1, 1, 0},
            {1, 0, 1, 0},
            {1, 1, 0, 0},
            {0, 0, 0, 1}}));
    EpochResult epoch = IncentiveMechanism.paper().step(state);
    PeerVector incentive = epoch.incentive();
    assertEquals(1.0, incentive.sum(), 1e-9);
    for (int i = 0; i < 3; i++) {
      assertTrue(incentive.get(3) < incentive.get(i) / 10,
          "the peer that votes only for itself earns little: " + incentive);
    }
  }

  /** An ONNX model wrapped as a peer, served over HTTP/2 and asked by another peer. */
  @Test
  void anOnnxModelServedAsAPeerAnswersWhatItComputesInProcess() throws Exception {
    Mlp mlp = Mlp.random(new int[] {4, 8, 3}, Mlp.Activation.TANH, 7);
    byte[] model = OnnxExport.toBytes(mlp, OnnxExport.Options.defaults().withOutputDim(3));
    Keypair serverKey = Keypair.generate();
    try (OnnxPeer peer = OnnxPeer.builder().model(model).build();
        PeerServer server = PeerServer.newBuilder(peer)
            .host("127.0.0.1").port(0)
            .modalities(Modality.TENSOR).standard(TensorStandard.of(3))
            .start();
        PeerClient client = PeerClient.newBuilder()
            .protocol(HttpProtocol.H2_PRIOR_KNOWLEDGE)
            .keypair(Keypair.generate())
            .build()) {
      Peer remote = client.connect(PeerInfo.of(serverKey.id(), server.endpoint(),
          Modality.TENSOR));
      float[][] rows = {{0.1f, -0.2f, 0.3f, 0.4f}, {1f, 0f, -1f, 0.5f}};
      Tensor input = Tensor.ofFloats(new float[] {0.1f, -0.2f, 0.3f, 0.4f, 1f, 0f, -1f, 0.5f},
          2, 1, 4);
      ForwardResult answer = remote.forward(new ForwardRequest(Modality.TENSOR, input),
          Duration.ofSeconds(30)).get(30, TimeUnit.SECONDS);
      assertTrue(answer.isSuccess(), answer.status() + ": " + answer.message());
      Tensor output = answer.output().orElseThrow();
      assertArrayEquals(new int[] {2, 1, 3}, output.shape());
      float[] got = output.toFloatArray();
      float[][] expected = mlp.forward(rows);
      for (int r = 0; r < 2; r++) {
        for (int j = 0; j < 3; j++) {
          assertEquals(expected[r][j], got[r * 3 + j], 1e-5, "row " + r + ", output " + j);
        }
      }
    }
  }

  /** A peer registers on a ledger served over the network, through a client of it. */
  @Test
  void aPeerRegistersThroughALedgerServedOverTheNetwork() throws Exception {
    Keypair me = Keypair.generate();
    Genesis genesis = Genesis.builder()
        .chainName("consumer")
        .createdAt(Instant.parse("2026-12-05T00:00:00Z"))
        .params(new LedgerParams(5, 16, 3, 1, 0))
        .allocate(me.id(), 1_000)
        .build();
    try (LocalLedger ledger = LocalLedger.builder().genesis(genesis)
            .blocks(BlockPolicy.manual()).openInMemory();
        LedgerServer server = LedgerServer.builder().ledger(ledger)
            .host("127.0.0.1").port(0).start();
        RemoteLedger remote = RemoteLedger.connect(server.uri())) {
      var registered = remote.submit(me, Transaction.register(
          java.net.URI.create("http://127.0.0.1:8091"), Modality.TENSOR));
      ledger.produceBlock();
      Receipt receipt = registered.get(30, TimeUnit.SECONDS);
      assertEquals(1, receipt.block());
      long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
      Metagraph seen = remote.metagraph();
      while (seen.block().number() < 1 && System.nanoTime() < deadline) {
        Thread.sleep(10);
        seen = remote.metagraph();
      }
      assertTrue(seen.uid(me.id()).isPresent(), "registered: " + seen);
    }
  }
}
