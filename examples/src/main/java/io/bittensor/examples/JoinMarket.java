package io.bittensor.examples;

import io.bittensor.core.BlockPolicy;
import io.bittensor.core.Genesis;
import io.bittensor.core.Keypair;
import io.bittensor.core.Ledger;
import io.bittensor.core.LedgerException;
import io.bittensor.core.LedgerParams;
import io.bittensor.core.LocalLedger;
import io.bittensor.core.Metagraph;
import io.bittensor.core.Modality;
import io.bittensor.neuron.Neuron;
import io.bittensor.onnx.OnnxPeer;
import io.bittensor.onnx.OutputAdapter;
import io.bittensor.onnx.TextInput;
import java.io.IOException;
import java.io.InputStream;
import java.io.PrintStream;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;

/**
 * An application with an existing ONNX model joins a market: it serves the model as a peer,
 * registers and stakes on the ledger, and follows the metagraph while the application runs.
 * {@link #join} is the README's snippet, word for word (between the {@code README:begin} and
 * {@code README:end} comments; {@code ReadmeSnippetTest} keeps the two the same). Here the model
 * is all-MiniLM-L6-v2 from the CLI jar, copied to a file as yours would be, the key is new, and
 * the ledger is an embedded one in a temporary folder; a {@code RemoteLedger} plugs in the same
 * way, through the {@link Ledger} interface.
 *
 * <pre>
 * mvn -B -q package -DskipTests
 * java -cp "examples/target/classes:bittensor-cli/target/bittensor.jar" \
 *     io.bittensor.examples.JoinMarket
 * </pre>
 */
public final class JoinMarket {
  private JoinMarket() {}

  public static void main(String[] args) throws Exception {
    TemporaryFolder.use("market", dir -> {
      Path modelFile = copyModel(dir.resolve("my-model.onnx"));
      Path keyFile = dir.resolve("me.key");
      Keypair me = Keypair.generate();
      me.save(keyFile);
      try (Ledger ledger = ledger(me, dir)) {
        join(ledger, modelFile, keyFile, () -> {
          report(System.out, ledger, me);
          System.out.println("serving; press Enter to stop");
          try {
            System.in.read();
          } catch (IOException e) {
            throw new UncheckedIOException(e);
          }
        });
      }
    });
  }

  /**
   * The README's snippet: serve {@code modelFile} as a peer of {@code ledger} while {@code
   * application} runs.
   */
  static void join(Ledger ledger, Path modelFile, Path keyFile, Runnable application)
      throws IOException {
    // README:begin
    try (OnnxPeer model = OnnxPeer.builder()
            .model(modelFile)                           // your model, e.g. Path.of("my-model.onnx")
            .input(TextInput.bert().withMaxLength(64))  // or ImageInput, SpeechInput, TensorInput
            .output(OutputAdapter.first().withPooling(OutputAdapter.Pooling.MEAN))
            .outputDim(384)                             // the market's answer size
            .build();
        Neuron neuron = Neuron.builder()
            .keypair(Keypair.load(keyFile))             // from: bittensor keys new me.key
            .ledger(ledger)                             // a LocalLedger, or a RemoteLedger
            .serve(model, Modality.TEXT)                // HTTP/2 on a free port
            .outputDim(384)
            .stake(500_000)
            .start()) {
      neuron.registration().join();                     // registered and staked
      neuron.runInBackground();                         // follow the metagraph, learn, weigh
      application.run();                                // your application, while the neuron serves
    }
    // README:end
  }

  /** An embedded ledger in {@code dir} that gives {@code me} tokens to stake. */
  static LocalLedger ledger(Keypair me, Path dir) throws IOException {
    Genesis genesis = Genesis.builder().params(LedgerParams.defaults().withEpochLength(5))
        .allocate(me.id(), 1_000_000).build();
    return LocalLedger.builder().genesis(genesis)
        .blocks(BlockPolicy.every(Duration.ofMillis(100))).open(dir.resolve("ledger"));
  }

  /** all-MiniLM-L6-v2 (int8) from the CLI jar, written to {@code file}. */
  static Path copyModel(Path file) throws IOException {
    try (InputStream in = JoinMarket.class.getResourceAsStream("/all-minilm-l6-v2-q.onnx")) {
      if (in == null) {
        throw new IOException("all-minilm-l6-v2-q.onnx is not on the class path: add"
            + " bittensor-cli/target/bittensor.jar");
      }
      Files.copy(in, file);
    }
    return file;
  }

  /** Prints where {@code me} serves and its stake, as the ledger sees it. */
  static Metagraph report(PrintStream out, Ledger ledger, Keypair me) {
    try {
      Metagraph m = ledger.metagraph();
      int uid = m.uid(me.id()).orElseThrow();
      out.printf("uid %d serving at %s with stake %d%n", uid, m.info(uid).endpoint(),
          m.stake(uid));
      return m;
    } catch (LedgerException e) {
      throw new UncheckedIOException(e);
    }
  }
}
