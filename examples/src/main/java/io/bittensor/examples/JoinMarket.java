package io.bittensor.examples;

import io.bittensor.core.BlockPolicy;
import io.bittensor.core.Genesis;
import io.bittensor.core.Keypair;
import io.bittensor.core.Ledger;
import io.bittensor.core.LedgerParams;
import io.bittensor.core.LocalLedger;
import io.bittensor.core.Metagraph;
import io.bittensor.core.Modality;
import io.bittensor.neuron.Neuron;
import io.bittensor.onnx.OnnxPeer;
import io.bittensor.onnx.OutputAdapter;
import io.bittensor.onnx.TextInput;
import java.io.PrintStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;

/**
 * An application with an existing ONNX model joins a market: it serves the model as a peer,
 * registers and stakes on the ledger, and follows the metagraph. The model here is
 * all-MiniLM-L6-v2 from the CLI jar; give {@code OnnxPeer.builder().model(Path.of("yours.onnx"))}
 * for your own. The ledger is an embedded one in a temporary folder; a remote ledger plugs in the
 * same way, through the {@link Ledger} interface.
 *
 * <pre>
 * mvn -B -q package -DskipTests
 * java -cp "examples/target/classes:bittensor-cli/target/bittensor.jar" io.bittensor.examples.JoinMarket
 * </pre>
 */
public final class JoinMarket {
  private JoinMarket() {}

  public static void main(String[] args) throws Exception {
    run(System.out, Files.createTempDirectory("market"));
  }

  static Metagraph run(PrintStream out, Path dir) throws Exception {
    Keypair me = Keypair.generate();
    Genesis genesis = Genesis.builder().params(LedgerParams.defaults().withEpochLength(5))
        .allocate(me.id(), 1_000_000).build();
    try (Ledger ledger = LocalLedger.builder().genesis(genesis)
        .blocks(BlockPolicy.every(Duration.ofMillis(100))).open(dir.resolve("ledger"))) {
      // --- join
      try (OnnxPeer model = OnnxPeer.builder()
              .modelResource("/all-minilm-l6-v2-q.onnx")             // or .model(Path.of("yours.onnx"))
              .input(TextInput.bert().withMaxLength(64))
              .output(OutputAdapter.first().withPooling(OutputAdapter.Pooling.MEAN))
              .outputDim(384)
              .build();
          Neuron neuron = Neuron.builder()
              .keypair(me)                                           // Keypair.load(path) for a saved one
              .ledger(ledger)                                        // embedded, or a remote ledger
              .serve(model, Modality.TEXT)                           // HTTP/2 on a free port
              .outputDim(384)
              .stake(500_000)
              .start()) {
        neuron.registration().join();                                // registered and staked
        neuron.sync();
        // --- join
        Metagraph m = neuron.metagraph().orElseThrow();
        int uid = neuron.uid().orElseThrow();
        out.printf("uid %d serving at %s with stake %d%n", uid, m.info(uid).endpoint(),
            m.stake(uid));
        return m;
      }
    }
  }
}
