package io.bittensor.benchmarks;

import ai.onnxruntime.OnnxTensor;
import ai.onnxruntime.OrtEnvironment;
import ai.onnxruntime.OrtException;
import ai.onnxruntime.OrtSession;
import io.bittensor.core.ForwardRequest;
import io.bittensor.core.ForwardResult;
import io.bittensor.core.Modality;
import io.bittensor.core.Peer;
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
import java.io.InputStream;
import java.net.URI;
import java.nio.FloatBuffer;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.concurrent.TimeUnit;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Level;
import org.openjdk.jmh.annotations.Measurement;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Param;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.TearDown;
import org.openjdk.jmh.annotations.Warmup;

/**
 * What does {@code OnnxPeer.forward} cost over calling ONNX Runtime by hand? Both sides embed the
 * same tokenised sentences with all-MiniLM-L6-v2 (int8) into mean-pooled, L2-normalised 384-float
 * vectors: {@code peer} through an {@link OnnxPeer} (checks, queue hand-off to its worker, direct
 * buffers, pinned output, pooling); {@code bareSession} builds the three input tensors from
 * arrays, calls {@code OrtSession.run}, reads {@code last_hidden_state} and pools it the same way
 * (what a user would write without this library); {@code servedH2} asks the same {@code peer}
 * served by a {@link PeerServer} on loopback, through a {@link PeerClient} over HTTP/2 (prior
 * knowledge, unsigned), so its answer, the standard's {@code [batch, tokens, 384]} float32,
 * crosses the wire. Same model bytes, same session options: ONNX
 * Runtime's default threads with spin-waiting off, because the two sessions share one JVM (and
 * the machines this runs on are shared): an idle session's spinning threads would steal the
 * cores from the one being measured.
 *
 * <p>Run: {@code mvn -q -Pbench -pl benchmarks -am package -DskipTests && java -jar
 * benchmarks/target/benchmarks.jar OnnxPeerBenchmark}. Sentences per second = batch / time. On
 * a loaded machine prefer the paired harnesses, {@link OnnxOverheadPaired} (peer against bare)
 * and {@link OnnxServedPaired} (served against both).
 */
@State(Scope.Benchmark)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.MILLISECONDS)
@Warmup(iterations = 3, time = 2)
@Measurement(iterations = 5, time = 2)
@Fork(1)
public class OnnxPeerBenchmark {
  private static final String[] WORDS =
      ("peer market stake weight trust consensus incentive bond ledger epoch tensor gradient model"
           + " network query answer token vector sentence embed")
          .split(" ");

  /** Generous: a batch of 32 takes a second or more on a busy 2-core machine. */
  static final Duration TIMEOUT = Duration.ofSeconds(60);

  @Param({"1", "32"})
  public int batch;

  OnnxPeer peer;
  private PeerServer server;
  private PeerClient client;
  private Peer remote;
  private OrtEnvironment env;
  private OrtSession session;
  private ForwardRequest request;
  private long[][] ids;
  private long[][] mask;
  private long[][] types;

  @Setup(Level.Trial)
  public void setUp() throws Exception {
    byte[] model = miniLmModel();
    peer = OnnxPeer.builder().model(model)
        .input(TextInput.bert().withMaxLength(128))
        .output(OutputAdapter.first().withPooling(OutputAdapter.Pooling.MEAN).withL2Normalize(true))
        .outputDim(384)
        .spinning(false)
        .build();
    server = PeerServer.newBuilder(peer).host("127.0.0.1").port(0)
        .modalities(Modality.TEXT).standard(TensorStandard.of(384))
        .allowAnonymous(true).defaultTimeout(TIMEOUT).maxTimeout(TIMEOUT).start();
    client = PeerClient.newBuilder().protocol(HttpProtocol.H2_PRIOR_KNOWLEDGE).build();
    remote = client.connect(server.endpoint());
    env = OrtEnvironment.getEnvironment();
    try (OrtSession.SessionOptions options = new OrtSession.SessionOptions()) {
      options.addConfigEntry("session.intra_op.allow_spinning", "0");
      options.addConfigEntry("session.inter_op.allow_spinning", "0");
      session = env.createSession(model, options);
    }
    Tensor tokens = miniLmTokens(batch);
    request = new ForwardRequest(Modality.TEXT, tokens);
    int seq = tokens.dim(1);
    ids = new long[batch][seq];
    mask = new long[batch][seq];
    types = new long[batch][seq];
    for (int b = 0; b < batch; b++) {
      for (int s = 0; s < seq; s++) {
        ids[b][s] = tokens.longAt(b * seq + s);
        mask[b][s] = ids[b][s] == 0 ? 0 : 1;
      }
    }
  }

  /**
   * {@code batch} generated 12-word sentences (seed 42) as MiniLM token ids, padded to the
   * longest: the input every MiniLM benchmark uses.
   */
  static Tensor miniLmTokens(int batch) throws IOException {
    Random random = new Random(42);
    List<String> sentences = new ArrayList<>();
    for (int i = 0; i < batch; i++) {
      StringBuilder s = new StringBuilder();
      for (int w = 0; w < 12; w++) {
        s.append(WORDS[random.nextInt(WORDS.length)]).append(' ');
      }
      sentences.add(s.toString().trim() + ".");
    }
    try (TextTokenizer tokenizer =
        TextTokenizer.fromResource("/all-minilm-l6-v2-q-tokenizer.json", 128)) {
      return tokenizer.encode(sentences);
    }
  }

  /** The MiniLM model's bytes, from the langchain4j artifact on the class path. */
  static byte[] miniLmModel() throws IOException {
    try (InputStream in = OnnxPeerBenchmark.class.getResourceAsStream("/all-minilm-l6-v2-q.onnx")) {
      return in.readAllBytes();
    }
  }

  @TearDown(Level.Trial)
  public void tearDown() throws OrtException {
    client.close();
    server.close();
    peer.close();
    session.close();
  }

  @Benchmark
  public Tensor peer() {
    return answer(peer.forward(request).join());
  }

  @Benchmark
  public Tensor servedH2() {
    return answer(remote.forward(request, TIMEOUT).join());
  }

  /** The request every side answers. */
  ForwardRequest request() {
    return request;
  }

  /** Where {@code peer} is served (HTTP/2 and HTTP/1.1 on one port). */
  URI endpoint() {
    return server.endpoint();
  }

  /** The answer; a failure (a timeout under heavy load, say) stops the run, naming its status. */
  static Tensor answer(ForwardResult r) {
    if (!r.isSuccess()) {
      throw new IllegalStateException("the benchmark's call failed: " + r);
    }
    return r.output().orElseThrow();
  }

  @Benchmark
  public float[][] bareSession() throws OrtException {
    try (OnnxTensor i = OnnxTensor.createTensor(env, ids);
        OnnxTensor m = OnnxTensor.createTensor(env, mask);
        OnnxTensor t = OnnxTensor.createTensor(env, types);
        OrtSession.Result r =
            session.run(Map.of("input_ids", i, "attention_mask", m, "token_type_ids", t))) {
      FloatBuffer hidden = ((OnnxTensor) r.get(0)).getFloatBuffer();
      int seq = ids[0].length;
      float[][] out = new float[batch][384];
      for (int b = 0; b < batch; b++) {
        int count = 0;
        for (int s = 0; s < seq; s++) {
          if (mask[b][s] == 0) {
            continue;
          }
          count++;
          for (int h = 0; h < 384; h++) {
            out[b][h] += hidden.get((b * seq + s) * 384 + h);
          }
        }
        double norm = 0;
        for (int h = 0; h < 384; h++) {
          out[b][h] /= count;
          norm += out[b][h] * out[b][h];
        }
        float inv = (float) (1 / Math.sqrt(norm));
        for (int h = 0; h < 384; h++) {
          out[b][h] *= inv;
        }
      }
      return out;
    }
  }
}
