package io.bittensor.cli;

import io.bittensor.core.DType;
import io.bittensor.core.ForwardRequest;
import io.bittensor.core.ForwardResult;
import io.bittensor.core.Keypair;
import io.bittensor.core.Modality;
import io.bittensor.core.Peer;
import io.bittensor.core.Tensor;
import io.bittensor.transport.BuiltinPeers;
import io.bittensor.transport.HttpProtocol;
import io.bittensor.transport.PeerClient;
import io.bittensor.transport.PeerServer;
import java.io.IOException;
import java.io.PrintWriter;
import java.net.URI;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Arrays;
import java.util.Locale;
import java.util.Random;
import java.util.concurrent.Callable;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/**
 * {@code bittensor peer serve} and {@code bittensor peer query}: run the built-in test peer, and
 * ask any peer for an answer.
 */
@Command(
    name = "peer",
    description = "Serve the built-in test peer, or query a peer over the network.",
    mixinStandardHelpOptions = true,
    subcommands = {PeerCommand.Serve.class, PeerCommand.Query.class})
final class PeerCommand implements Runnable {
  @CommandLine.Spec CommandLine.Model.CommandSpec spec;

  @Override
  public void run() {
    spec.commandLine().usage(spec.commandLine().getOut());
  }

  /** {@code bittensor peer serve [--port P]}. */
  @Command(
      name = "serve",
      mixinStandardHelpOptions = true,
      description = {
        "Serves a deterministic test peer over HTTP/2 (h2c) and HTTP/1.1 on one port until "
            + "stopped (Ctrl-C).",
        "Its answer to each [batch, sequence] position is a fixed hash of that position's "
            + "input, so any two machines agree. Unsigned requests are admitted unless "
            + "--require-signatures is given, so that curl can talk to it."
      })
  static final class Serve implements Callable<Integer> {
    @CommandLine.Spec CommandLine.Model.CommandSpec spec;

    @Option(names = "--port", defaultValue = "8091", description = "TCP port (0: any free one). Default: ${DEFAULT-VALUE}.")
    int port;

    @Option(names = "--host", defaultValue = "0.0.0.0", description = "Address to bind. Default: ${DEFAULT-VALUE}.")
    String host;

    @Option(names = "--output-dim", defaultValue = "64", description = "The answers' last dimension. Default: ${DEFAULT-VALUE}.")
    int outputDim;

    @Option(names = "--require-signatures", description = "Refuse unsigned requests (UNAUTHENTICATED).")
    boolean requireSignatures;

    @Option(names = "--stop-after", description = "Stop after this long (ISO-8601, e.g. PT30S); for demos and tests.")
    Duration stopAfter;

    @Override
    public Integer call() throws IOException, InterruptedException {
      if (outputDim < 1) {
        throw new IllegalArgumentException("--output-dim must be >= 1, was " + outputDim);
      }
      PrintWriter out = spec.commandLine().getOut();
      PeerServer server = PeerServer.newBuilder(BuiltinPeers.deterministic(outputDim))
          .host(host).port(port).allowAnonymous(!requireSignatures).start();
      Thread hook = new Thread(server::close, "bittensor-serve-shutdown");
      Runtime.getRuntime().addShutdownHook(hook);
      try (server) {
        out.printf(Locale.ROOT, "serving the test peer (outputDim %d) at %s%s%n", outputDim,
            server.endpoint(), stopAfter == null ? "; Ctrl-C stops" : " for " + stopAfter);
        out.flush();
        if (stopAfter == null) {
          server.awaitClose();
        } else {
          Thread.sleep(stopAfter.toMillis());
        }
      } finally {
        try {
          Runtime.getRuntime().removeShutdownHook(hook);
        } catch (IllegalStateException e) {
          // The JVM is shutting down: the hook is running already.
        }
      }
      return 0;
    }
  }

  /** {@code bittensor peer query --endpoint URL}. */
  @Command(
      name = "query",
      mixinStandardHelpOptions = true,
      description = {
        "Sends one forward request with a seeded random input and prints the status, the "
            + "answer's shape and the latency.",
        "Exit code 0 only when the peer answered SUCCESS; 1 otherwise; 2 for bad arguments."
      })
  static final class Query implements Callable<Integer> {
    @CommandLine.Spec CommandLine.Model.CommandSpec spec;

    @Option(names = "--endpoint", required = true, description = "The peer, e.g. http://127.0.0.1:8091.")
    URI endpoint;

    @Option(names = "--modality", defaultValue = "TENSOR", description = "TEXT, IMAGE, SPEECH or TENSOR. Default: ${DEFAULT-VALUE}.")
    Modality modality;

    @Option(names = "--shape", split = ",", description = "The input's shape, e.g. 1,4,16 (default: a small one of the modality's layout).")
    int[] shape;

    @Option(names = "--timeout-ms", defaultValue = "5000", description = "How long to wait. Default: ${DEFAULT-VALUE}.")
    long timeoutMs;

    @Option(names = "--key", description = "Sign with this key file (see Keypair); unsigned otherwise.")
    Path key;

    @Option(names = "--h2", description = "Use HTTP/2 with prior knowledge instead of HTTP/1.1.")
    boolean h2;

    @Option(names = "--seed", defaultValue = "1", description = "Seed of the random input. Default: ${DEFAULT-VALUE}.")
    long seed;

    @Override
    public Integer call() throws IOException {
      if (timeoutMs < 1) {
        throw new IllegalArgumentException("--timeout-ms must be >= 1, was " + timeoutMs);
      }
      Tensor input = input(modality, shape == null ? defaultShape(modality) : shape,
          new Random(seed));
      PeerClient.Builder b = PeerClient.newBuilder()
          .protocol(h2 ? HttpProtocol.H2_PRIOR_KNOWLEDGE : HttpProtocol.HTTP_1_1);
      if (key != null) {
        b.keypair(Keypair.load(key));
      }
      PrintWriter out = spec.commandLine().getOut();
      try (PeerClient client = b.build()) {
        Peer peer = client.connect(endpoint);
        long t0 = System.nanoTime();
        ForwardResult r = peer.forward(new ForwardRequest(modality, input),
            Duration.ofMillis(timeoutMs)).join();
        double ms = (System.nanoTime() - t0) / 1e6;
        out.printf(Locale.ROOT, "status  %s (%d)%n", r.status(), r.status().code());
        if (r.isSuccess()) {
          out.printf(Locale.ROOT, "shape   %s%n", Arrays.toString(r.output().orElseThrow().shape()));
        } else {
          out.printf(Locale.ROOT, "message %s%s%n",
              r.field().isEmpty() ? "" : r.field() + ": ", r.message());
        }
        out.printf(Locale.ROOT, "latency %.1f ms%n", ms);
        out.flush();
        return r.isSuccess() ? 0 : Main.EXIT_FAILURE;
      }
    }

    static int[] defaultShape(Modality m) {
      return switch (m) {
        case TEXT -> new int[] {1, 8};
        case IMAGE -> new int[] {1, 1, 3, 8, 8};
        case SPEECH -> new int[] {1, 1, 160};
        case TENSOR -> new int[] {1, 4, 16};
      };
    }

    /** A seeded input of the modality's first element type. */
    static Tensor input(Modality m, int[] shape, Random random) {
      long count = 1;
      for (int d : shape) {
        if (d < 1) {
          throw new IllegalArgumentException("--shape dimensions must be >= 1, was "
              + Arrays.toString(shape));
        }
        count *= d;
      }
      if (count > (1 << 26)) {
        throw new IllegalArgumentException("--shape " + Arrays.toString(shape)
            + " has more than 2^26 elements");
      }
      int n = (int) count;
      DType t = m.accepts(DType.FLOAT32) ? DType.FLOAT32 : DType.INT64;
      if (t == DType.INT64) {
        long[] ids = new long[n];
        for (int i = 0; i < n; i++) {
          ids[i] = random.nextInt(50_000);
        }
        return Tensor.ofLongs(ids, shape);
      }
      float[] v = new float[n];
      for (int i = 0; i < n; i++) {
        v[i] = (float) random.nextGaussian();
      }
      return Tensor.ofFloats(v, shape);
    }
  }
}
