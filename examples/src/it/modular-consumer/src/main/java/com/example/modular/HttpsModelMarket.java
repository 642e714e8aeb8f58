package com.example.modular;

import io.bittensor.core.BlockPolicy;
import io.bittensor.core.ForwardRequest;
import io.bittensor.core.ForwardResult;
import io.bittensor.core.Genesis;
import io.bittensor.core.Keypair;
import io.bittensor.core.LedgerParams;
import io.bittensor.core.LocalLedger;
import io.bittensor.core.Metagraph;
import io.bittensor.core.Modality;
import io.bittensor.core.Tensor;
import io.bittensor.core.TensorStandard;
import io.bittensor.core.Transaction;
import io.bittensor.onnx.Mlp;
import io.bittensor.onnx.OnnxExport;
import io.bittensor.onnx.OnnxPeer;
import io.bittensor.transport.LedgerServer;
import io.bittensor.transport.PeerClient;
import io.bittensor.transport.PeerServer;
import io.bittensor.transport.RemoteLedger;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;

/**
 * A network written as ONNX, served as a peer over HTTPS, registered on a ledger served over
 * HTTPS, found on the metagraph and asked with signed answers required.
 */
public final class HttpsModelMarket {
  private HttpsModelMarket() {}

  /**
   * Runs the market once with the given TLS files (PEM) and asks the peer for {@code input}.
   *
   * @param outputs the network's answer size
   * @param input {@code [rows, 1, inputs]} floats
   * @return the peer's answer, as the caller got it
   */
  public static ForwardResult ask(Mlp mlp, int outputs, Tensor input, Path key, Path certificate,
      Path authority) throws Exception {
    byte[] model = OnnxExport.toBytes(mlp, OnnxExport.Options.defaults().withOutputDim(outputs));
    Keypair owner = Keypair.generate();
    Genesis genesis = Genesis.builder().params(LedgerParams.defaults())
        .allocate(owner.id(), 1_000).build();
    try (OnnxPeer onnx = OnnxPeer.builder().model(model).build();
        LocalLedger ledger = LocalLedger.builder().genesis(genesis)
            .blocks(BlockPolicy.every(Duration.ofMillis(20))).openInMemory();
        LedgerServer ledgerServer = LedgerServer.builder().ledger(ledger)
            .host("127.0.0.1").port(0).tls(key, certificate).start();
        PeerServer peerServer = PeerServer.newBuilder(onnx)
            .host("127.0.0.1").port(0).tls(key, certificate)
            .modalities(Modality.TENSOR).standard(TensorStandard.of(outputs))
            .signAnswers(owner).start();
        RemoteLedger remote = RemoteLedger.builder().keypair(owner)
            .trustedCertificates(authority).connect(List.of(ledgerServer.uri()));
        PeerClient client = PeerClient.newBuilder().keypair(Keypair.generate())
            .trustedCertificates(authority).requireSignedAnswers(true).build()) {
      long block = remote.submit(owner,
          Transaction.register(peerServer.endpoint(), Modality.TENSOR)).get().block();
      if (!remote.awaitBlock(block, Duration.ofSeconds(30))) {
        throw new IllegalStateException("block " + block + " never arrived");
      }
      Metagraph metagraph = remote.metagraph();
      return client.connect(metagraph.info(metagraph.uid(owner.id()).orElseThrow()))
          .forwardAndWait(new ForwardRequest(Modality.TENSOR, input), Duration.ofSeconds(30));
    }
  }
}
