package io.bittensor.examples;

import io.bittensor.core.ForwardRequest;
import io.bittensor.core.ForwardResult;
import io.bittensor.core.Keypair;
import io.bittensor.core.Modality;
import io.bittensor.core.Peer;
import io.bittensor.core.PeerInfo;
import io.bittensor.core.Tensor;
import io.bittensor.core.TensorStandard;
import io.bittensor.onnx.OnnxPeer;
import io.bittensor.onnx.OutputAdapter;
import io.bittensor.onnx.TextInput;
import io.bittensor.onnx.TextTokenizer;
import io.bittensor.transport.HttpProtocol;
import io.bittensor.transport.PeerClient;
import io.bittensor.transport.PeerServer;
import java.io.IOException;
import java.io.PrintStream;
import java.time.Duration;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;

/**
 * Serving an ONNX model as a peer, in code: all-MiniLM-L6-v2 (int8) wrapped as an {@link
 * OnnxPeer}, served by a {@link PeerServer} that only admits signed requests, and asked over
 * HTTP/2 by a {@link PeerClient} with its own key, as another peer on the network would. Prints
 * the cosine similarities of three sentences' answers, and how far the answer that crossed the
 * network is from the one computed in-process (zero: the transport is lossless).
 *
 * <p>{@code bittensor peer serve --preset minilm} does the same from the command line. The model
 * and tokenizer come from the class path ({@code bittensor.jar} carries them); for a model file
 * of your own use {@code .model(Path.of("model.onnx"))} and {@code TextTokenizer.fromFile}.
 *
 * <pre>
 * mvn -B -q -pl examples -am package -DskipTests
 * java -cp "examples/target/classes:bittensor-cli/target/bittensor.jar" \
 *     io.bittensor.examples.ServeModel
 * </pre>
 */
public final class ServeModel {
  static final List<String> SENTENCES = List.of(
      "The validator sets weights on the peers it trusts.",
      "Validators assign weights to peers they find useful.",
      "A recipe for bread needs flour, water and salt.");

  private ServeModel() {}

  public static void main(String[] args) throws IOException {
    run(System.out);
  }

  /**
   * Serves the model on a free loopback port, asks it once, prints what came back and stops.
   *
   * @return the served answer, {@code [3, tokens, 384]}
   */
  static Tensor run(PrintStream out) throws IOException {
    Duration timeout = Duration.ofSeconds(30);
    Keypair peerKey = Keypair.generate();               // the peer's identity, as registered
    try (OnnxPeer model =
            OnnxPeer.builder()
                .modelResource("/all-minilm-l6-v2-q.onnx")
                .input(TextInput.bert().withMaxLength(256))
                .output(
                    OutputAdapter.first()
                        .withPooling(OutputAdapter.Pooling.MEAN)
                        .withL2Normalize(true))
                .outputDim(384)
                .build();
        PeerServer server =
            PeerServer.newBuilder(model)
                .host("127.0.0.1")
                .port(0) // 0: any free port
                .modalities(Modality.TEXT)
                .standard(TensorStandard.of(384))
                .allowAnonymous(false) // only signed requests
                .signAnswers(peerKey) // every answer signed with the peer's key
                .start();
        PeerClient client =
            PeerClient.newBuilder()
                .protocol(HttpProtocol.H2_PRIOR_KNOWLEDGE)
                .keypair(Keypair.generate())
                .requireSignedAnswers(true) // an answer counts only if the peer signed it
                .build();
        TextTokenizer tokenizer =
            TextTokenizer.fromResource("/all-minilm-l6-v2-q-tokenizer.json", 256)) {
      out.printf(
          Locale.ROOT,
          "serving %s on %s at %s%n",
          model.modality(),
          model.device(),
          server.endpoint());

      // The peer's key comes with its address (from the ledger's metagraph in a market).
      Peer remote = client.connect(PeerInfo.of(peerKey.id(), server.endpoint(), Modality.TEXT));
      ForwardRequest request = new ForwardRequest(Modality.TEXT, tokenizer.encode(SENTENCES));
      ForwardResult served = remote.forward(request, timeout).join();
      if (!served.isSuccess()) {
        throw new IllegalStateException(
            "the served peer answered " + served.status() + ": " + served.message());
      }
      Tensor answer =
          served.output().orElseThrow(); // [3, tokens, 384], the pooled row at every token
      out.printf(Locale.ROOT, "answer %s%n", Arrays.toString(answer.shape()));
      for (int i = 0; i < SENTENCES.size(); i++) {
        for (int j = i + 1; j < SENTENCES.size(); j++) {
          out.printf(Locale.ROOT, "cosine %d~%d %.4f%n", i, j, cosine(answer, i, j));
        }
      }
      Tensor local = model.forward(request, timeout).join().output().orElseThrow();
      out.printf(
          Locale.ROOT,
          "largest difference served vs in-process %.3g%n",
          maxDifference(answer, local));
      return answer;
    }
  }

  /** The cosine similarity of rows {@code a} and {@code b}, first position. */
  static double cosine(Tensor y, int a, int b) {
    int seq = y.dim(1);
    int dim = y.dim(2);
    float[] v = y.toFloatArray();
    double dot = 0;
    double na = 0;
    double nb = 0;
    for (int k = 0; k < dim; k++) {
      double x = v[a * seq * dim + k];
      double z = v[b * seq * dim + k];
      dot += x * z;
      na += x * x;
      nb += z * z;
    }
    return dot / Math.sqrt(na * nb);
  }

  private static double maxDifference(Tensor a, Tensor b) {
    float[] x = a.toFloatArray();
    float[] y = b.toFloatArray();
    if (x.length != y.length) {
      return Double.POSITIVE_INFINITY;
    }
    double max = 0;
    for (int i = 0; i < x.length; i++) {
      max = Math.max(max, Math.abs(x[i] - y[i]));
    }
    return max;
  }
}
