package io.bittensor.cli;

import io.bittensor.core.DType;
import io.bittensor.core.ForwardRequest;
import io.bittensor.core.ForwardResult;
import io.bittensor.cli.internal.AccessLog;
import io.bittensor.cli.internal.MetricsEndpoint;
import io.bittensor.cli.internal.Progress;
import io.bittensor.cli.internal.TlsReloader;
import io.bittensor.core.Keypair;
import io.bittensor.core.LedgerException;
import io.bittensor.core.LedgerMembers;
import io.bittensor.core.Modality;
import io.bittensor.core.Peer;
import io.bittensor.core.PeerId;
import io.bittensor.core.PeerInfo;
import io.bittensor.core.Tensor;
import io.bittensor.core.TensorStandard;
import io.bittensor.onnx.ModelInfo;
import io.bittensor.onnx.OnnxModelException;
import io.bittensor.onnx.OnnxPeer;
import io.bittensor.onnx.TextTokenizer;
import io.bittensor.transport.BuiltinPeers;
import io.bittensor.transport.CallListener;
import io.bittensor.transport.HttpProtocol;
import io.bittensor.transport.PeerClient;
import io.bittensor.transport.PeerServer;
import io.bittensor.transport.RemoteLedger;
import io.bittensor.transport.SignatureScope;
import java.io.IOException;
import java.io.PrintWriter;
import java.net.URI;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;
import java.util.Random;
import java.util.concurrent.Callable;
import java.util.stream.Collectors;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

/**
 * {@code bittensor peer serve} and {@code bittensor peer query}: serve an ONNX model (or the
 * built-in test peer), and ask any peer for an answer.
 */
@Command(
    name = "peer",
    description =
        "Serve an ONNX model or the built-in test peer, or query a peer over the network.",
    mixinStandardHelpOptions = true,
    subcommands = {PeerCommand.Serve.class, PeerCommand.Query.class})
final class PeerCommand implements Runnable {
  @CommandLine.Spec CommandLine.Model.CommandSpec spec;

  @Override
  public void run() {
    spec.commandLine().usage(spec.commandLine().getOut());
  }

  /** {@code bittensor peer serve [--model FILE | --preset NAME] [--port P]}. */
  @Command(
      name = "serve",
      mixinStandardHelpOptions = true,
      sortOptions = false,
      description = {
        "Serves an ONNX model (--model, --preset) or, without one, a deterministic test peer, over"
            + " HTTP/2 (h2c) and HTTP/1.1 on one port (HTTPS with --tls) until stopped (Ctrl-C).",
        "A model's answers follow the network's standard [batch, sequence, outputDim]; the "
            + "options below map onto OnnxPeer.builder() (see docs/onnx.md). The test peer's "
            + "answer to each position is a fixed hash of that position's input, so any two "
            + "machines agree.",
        "Unsigned requests are admitted unless --require-signatures (or --members-of) is given,"
            + " so that curl can talk to it. Exit code 2 for a model that cannot be loaded or"
            + " does not fit the options."
      })
  static final class Serve implements Callable<Integer> {
    @CommandLine.Spec CommandLine.Model.CommandSpec spec;

    @Option(names = "--port", defaultValue = "8091", paramLabel = "PORT",
        description = "TCP port (0: any free one). Default: ${DEFAULT-VALUE}.")
    int port;

    @Option(names = "--host", defaultValue = "0.0.0.0", paramLabel = "HOST",
        description = "Address to bind. Default: ${DEFAULT-VALUE}.")
    String host;

    @Option(names = "--output-dim", paramLabel = "N", description = "The answers' last dimension "
        + "(a model's is fitted to it, see --fit). Default: the preset's or the model's own; 64 "
        + "for the test peer.")
    Integer outputDim;

    @Option(
        names = "--require-signatures",
        description = "Refuse unsigned requests (UNAUTHENTICATED).")
    boolean requireSignatures;

    @Option(names = "--accept-metadata-signatures", description = "Also accept signatures that "
        + "leave the tensors' bytes out (SignatureScope.METADATA_ONLY); only where the network "
        + "protects the bytes already.")
    boolean acceptMetadataSignatures;

    @Option(names = "--key", paramLabel = "FILE", description = "Sign every successful answer "
        + "with this key file, the peer's registered key, so that callers can check the answers "
        + "are its own (peer query --peer-key). Unsigned otherwise.")
    Path answerKey;

    @Mixin PassphraseOption passphrase = new PassphraseOption();

    @Option(names = "--members-of", paramLabel = "URL[,URL...]", split = ",",
        description = "Serve only keys registered on the ledger served at URL (bittensor ledger "
        + "serve), each from the block that registers it; other callers, unsigned ones too, get "
        + "UNAUTHENTICATED. Several, comma-separated, for the members of a replicated ledger "
        + "(the first that answers, then the next when it goes).")
    List<URI> membersOf;

    @Option(names = "--min-stake", paramLabel = "TOKENS", description = "With --members-of: "
        + "only members holding at least this stake. Default: 0.")
    Long minStake;

    @Option(names = "--members-trust", paramLabel = "FILE", description = "With an https:// "
        + "--members-of: trust the certificates in this PEM file (the ledger server's authority, "
        + "or its own certificate) instead of the JDK's authorities; a changed file is trusted "
        + "without a restart with --tls-reload.")
    Path membersTrust;

    @Option(names = "--members-client-cert", arity = "2", paramLabel = "FILE", description =
        "With an https:// --members-of that serves only clients with a certificate (mutual "
        + "TLS): KEY CERT, the PEM private key (unencrypted PKCS#8) and certificate chain to "
        + "show it; renewed files are shown without a restart with --tls-reload.")
    List<Path> membersClientCert;

    /** {@link #membersClientCert} as read, to be watched from under --tls-reload. */
    private ClientCertOption membersCert;

    @Option(names = "--stop-after", paramLabel = "DURATION",
        description = "Stop after this long (ISO-8601, e.g. PT30S); for demos and tests.")
    Duration stopAfter;

    @Option(names = "--metrics-port", paramLabel = "PORT", description = "Serve Prometheus metrics "
        + "at http://HOST:PORT/metrics (0: any free port): the calls answered by kind and status, "
        + "the calls in progress and waiting, and the JVM's. Off by default.")
    Integer metricsPort;

    @Option(names = "--access-log", paramLabel = "FILE", description = "Append a line of JSON "
        + "to FILE for every call answered, refused or turned away: time, kind, the caller "
        + "named, whether its signature proved it, status and milliseconds.")
    Path accessLogFile;

    @CommandLine.Mixin ServeTlsOptions tls = new ServeTlsOptions();

    @CommandLine.Mixin ModelOptions models;

    @Override
    public Integer call() throws IOException {
      if (outputDim != null && outputDim < 1) {
        throw new IllegalArgumentException("--output-dim must be >= 1, was " + outputDim);
      }
      if (stopAfter != null && (stopAfter.isNegative() || stopAfter.isZero())) {
        throw new IllegalArgumentException("--stop-after must be positive, was " + stopAfter);
      }
      if (stopAfter != null && stopAfter.compareTo(Duration.ofMillis(Long.MAX_VALUE)) > 0) {
        // Else it serves, then fails in the wait with "long overflow".
        throw new IllegalArgumentException("--stop-after must be at most "
            + Duration.ofMillis(Long.MAX_VALUE) + ", was " + stopAfter);
      }
      if (metricsPort != null && (metricsPort < 0 || metricsPort > 65535)) {
        throw new IllegalArgumentException("--metrics-port must be 0 to 65535, was " + metricsPort);
      }
      if (minStake != null && (membersOf == null || minStake < 0)) {
        throw new IllegalArgumentException(membersOf == null ? "--min-stake needs --members-of"
            : "--min-stake must be >= 0, was " + minStake);
      }
      if (membersOf == null && (membersTrust != null || membersClientCert != null)) {
        throw new IllegalArgumentException((membersTrust != null ? "--members-trust"
            : "--members-client-cert") + " needs --members-of");
      }
      tls.check(membersClientCert != null ? "--members-client-cert"
          : membersTrust != null ? "--members-trust" : null);
      membersCert = ClientCertOption.named("--members-client-cert", membersClientCert);
      if (!models.hasModel()) {
        models.requireNone();
        int dim = outputDim == null ? 64 : outputDim;
        return serve(
            BuiltinPeers.deterministic(dim), null, "the test peer (outputDim " + dim + ")");
      }
      OnnxPeer peer;
      try {
        peer = models.build(outputDim);
      } catch (OnnxModelException e) {
        // The library's hints name its builder methods; add the options that set the same.
        String m = e.getMessage() == null ? "" : e.getMessage();
        String hint = m.contains("name it on the adapter")
            ? " (on the command line: --input-name, --constant)"
            : m.contains("constantInput") ? " (on the command line: --constant NAME=VALUE:TYPE)"
            : m.contains(": constant input ") && m.contains(" needs INT64, was ")
                ? " (on the command line: end the value with :int64)"
            : m.contains(": constant input ") && m.contains(" needs FLOAT, was ")
                ? " (on the command line: end the value with :float32)"
            : m.contains("mean and std have ") ? " (on the command line: --mean and --std)" : "";
        throw CliException.badInput(m + hint, e);
      }
      PrintWriter out = spec.commandLine().getOut();
      ModelInfo info = peer.modelInfo();
      out.printf(Locale.ROOT, "model   %s on %s%n", models.describe(), peer.device());
      if (!peer.deviceFallbackReason().isEmpty()) {
        out.printf(
            Locale.ROOT, "        (not %s: %s)%n", models.device, peer.deviceFallbackReason());
      }
      out.printf(
          Locale.ROOT, "inputs  %s%noutputs %s%n", join(info.inputs()), join(info.outputs()));
      return serve(peer, peer, String.format(Locale.ROOT, "%s -> [batch, sequence, %d]",
          peer.modality(), peer.outputDim()));
    }

    /**
     * Serves {@code peer} until stopped, then closes the server and {@code owned} (the model,
     * which the server does not own) exactly once, whether Ctrl-C, --stop-after or an interrupt
     * stops it.
     */
    private int serve(Peer peer, AutoCloseable owned, String what) throws IOException {
      PrintWriter out = spec.commandLine().getOut();
      PeerServer.Builder b = PeerServer.newBuilder(peer)
          .host(host).port(port).allowAnonymous(!requireSignatures)
          .acceptMetadataOnlySignatures(acceptMetadataSignatures);
      Keypair signer;
      try {
        signer = answerKey == null ? null
            : passphrase.load(answerKey);
      } catch (RuntimeException e) {
        closeQuietly(owned); // the model loaded already
        throw e;
      }
      if (signer != null) {
        b.signAnswers(signer);
      }
      if (peer instanceof OnnxPeer model) {
        b.modalities(model.modality()).standard(TensorStandard.of(model.outputDim()));
      }
      MetricsEndpoint metrics = null;
      AccessLog accessLog = null;
      Members members = null;
      PeerServer server;
      try {
        if (membersOf != null) {
          members = Members.follow(membersOf, minStake == null ? 0 : minStake, membersTrust,
              membersCert);
          b.callers(members.keys).allowAnonymous(false);
        }
        if (tls.given()) {
          b.tls(tls.key(), tls.chain());
        }
        if (tls.clientCa != null) {
          b.requireClientCertificates(tls.clientCa);
        }
        CallListener.Factory calls = CallListener.Factory.NONE;
        if (metricsPort != null) {
          metrics = MetricsEndpoint.start(host, metricsPort);
          calls = metrics.calls();
        }
        if (accessLogFile != null) {
          try {
            accessLog = AccessLog.open(accessLogFile);
          } catch (IOException e) {
            throw CliException.badInput("--access-log: " + e.getMessage(), e);
          }
          calls = calls.andThen(CallListener.Factory.of(accessLog));
        }
        server = b.callListenerFactory(calls).start();
      } catch (IOException | RuntimeException e) {
        closeQuietly(members);
        closeQuietly(metrics);
        closeQuietly(accessLog);
        closeQuietly(owned);
        throw e;
      }
      if (metrics != null) {
        metrics.watch(server);
      }
      ServeTlsOptions.Watch reloader =
          tls.watch(server::reloadTls, server::reloadClientCertificates, out);
      // The members' ledger client's certificate is renewed the same way.
      TlsReloader membersReloader = members == null ? null
          : membersCert.watch(tls.reload, members.ledger::reloadClientCertificate, out);
      // And the authority it trusts the ledger's servers by, from the file as the client read it.
      TlsReloader membersTrustReloader = members == null || membersTrust == null
          || tls.reload == null ? null
          : TlsReloader.watchServerTrust(membersTrust, tls.reload,
              members.ledger::reloadTrustedCertificates, out, members.trustSeen);
      MetricsEndpoint metricsToClose = metrics;
      AccessLog accessLogToClose = accessLog;
      Members membersToClose = members;
      // Whoever stops second (the Ctrl-C hook or this thread) waits until the first is done, so
      // the JVM does not exit while the model's native memory is being freed. The last lines
      // are printed here too: on SIGTERM the JVM halts once the hook returns, before this
      // thread would print them.
      Runnable stop = Stopping.once(() -> {
        closeQuietly(reloader);
        closeQuietly(membersReloader);
        closeQuietly(membersTrustReloader);
        server.close();
        closeQuietly(membersToClose);
        closeQuietly(metricsToClose);
        closeQuietly(accessLogToClose); // after the server: the calls it finished are in it
        closeQuietly(owned);
        if (accessLogToClose != null && accessLogToClose.lost() > 0) {
          out.printf(Locale.ROOT, "the access log missed %d calls: %s could not be written%n",
              accessLogToClose.lost(), accessLogToClose.file());
        }
        out.println("stopped");
        out.flush();
      });
      Thread hook = new Thread(stop, "bittensor-serve-shutdown");
      Runtime.getRuntime().addShutdownHook(hook);
      boolean interrupted = false;
      try {
        out.printf(Locale.ROOT, "serving %s at %s%s%n", what, server.endpoint(),
            stopAfter == null ? "; Ctrl-C stops" : " for " + stopAfter);
        if (signer != null) {
          out.printf(Locale.ROOT, "answers signed by %s%n", signer.id().toHex());
        }
        if (metrics != null) {
          out.printf(Locale.ROOT, "metrics on %s%n", metrics.uri());
        }
        if (accessLog != null) {
          out.printf(Locale.ROOT, "calls logged to %s%n", accessLog.file());
        }
        if (members != null) {
          out.printf(Locale.ROOT, "serving the members of %s%s (%d registered at block %d)%n",
              Members.listed(membersOf), minStake == null || minStake == 0 ? ""
                  : " holding at least " + minStake + " staked",
              members.keys.metagraph().size(), members.keys.metagraph().block().number());
        }
        out.flush();
        if (stopAfter == null) {
          server.awaitClose();
        } else {
          Thread.sleep(stopAfter.toMillis());
        }
      } catch (InterruptedException e) {
        interrupted = true; // an embedding program's way of saying stop
      } finally {
        stop.run();
        try {
          Runtime.getRuntime().removeShutdownHook(hook);
        } catch (IllegalStateException e) {
          // The JVM is shutting down: the hook is running already.
        }
      }
      if (interrupted) {
        Thread.currentThread().interrupt();
      }
      return 0;
    }

    /** The members of a ledger server's chain, followed through a client of its own. */
    private static final class Members implements AutoCloseable {
      final RemoteLedger ledger;
      final LedgerMembers keys;
      /** The --members-trust file as the client read it, or null: what --tls-reload watches. */
      final TlsReloader.Snapshot trustSeen;

      private Members(RemoteLedger ledger, LedgerMembers keys, TlsReloader.Snapshot trustSeen) {
        this.ledger = ledger;
        this.keys = keys;
        this.trustSeen = trustSeen;
      }

      static Members follow(List<URI> uris, long minStake, Path trust,
          ClientCertOption clientCert) {
        RemoteLedger.Builder builder = RemoteLedger.builder();
        // Taken before the client reads the file: one changed meanwhile is reloaded.
        TlsReloader.Snapshot trustSeen = trust == null ? null
            : TlsReloader.snapshot(trust, trust);
        try {
          if (trust != null) {
            builder.trustedCertificates(trust);
          }
        } catch (IllegalArgumentException e) {
          throw CliException.badInput("--members-trust " + e.getMessage(), e);
        }
        clientCert.apply(builder); // what --tls-reload watches from
        RemoteLedger ledger;
        try {
          ledger = builder.connect(uris);
        } catch (IllegalArgumentException e) {
          throw CliException.badInput("--members-of: " + e.getMessage(), e);
        } catch (LedgerException e) {
          throw CliException.ledgerUnreachable(listed(uris), e);
        }
        try {
          return new Members(ledger, LedgerMembers.follow(ledger, minStake), trustSeen);
        } catch (LedgerException | RuntimeException e) {
          ledger.close();
          throw CliException.failure("cannot read the members of " + listed(uris) + ": "
              + e.getMessage(), e);
        }
      }

      /** The servers as they were given, comma-separated. */
      static String listed(List<URI> uris) {
        return uris.stream().map(URI::toString).collect(Collectors.joining(","));
      }

      @Override
      public void close() {
        keys.close();
        ledger.close();
      }
    }

    private static String join(List<ModelInfo.Port> ports) {
      return ports.stream().map(ModelInfo.Port::toString).collect(Collectors.joining(", "));
    }

    private static void closeQuietly(AutoCloseable c) {
      if (c != null) {
        try {
          c.close();
        } catch (Exception e) {
          // OnnxPeer.close throws nothing checked; nothing else is passed here.
        }
      }
    }
  }

  /** {@code bittensor peer query --endpoint URL [--text T...]}. */
  @Command(
      name = "query",
      mixinStandardHelpOptions = true,
      sortOptions = false,
      description = {
        "Sends one forward request and prints the status, the answer's shape, the latency and "
            + "the first values of each row's answer.",
        "With --text the request is those texts' token ids (from --tokenizer or --preset), and "
            + "for several texts the cosine similarity of their answers is printed too; without, "
            + "it is a seeded random input of --modality and --shape.",
        "Exit code 0 only when the peer answered SUCCESS; 1 otherwise; 2 for bad arguments."
      })
  static final class Query implements Callable<Integer> {
    /** Rows and values per row printed. */
    private static final int ROWS_SHOWN = 4;
    private static final int VALUES_SHOWN = 6;
    /** Texts whose pairwise similarities are printed. */
    private static final int MAX_COSINE_TEXTS = 6;

    @CommandLine.Spec CommandLine.Model.CommandSpec spec;

    @Option(names = "--endpoint", required = true, paramLabel = "URL",
        description = "The peer, e.g. http://127.0.0.1:8091.")
    URI endpoint;

    @Option(names = "--text", paramLabel = "TEXT", description = "A text to send (TEXT modality); "
        + "repeat for a batch.")
    List<String> texts = new ArrayList<>();

    @Option(names = "--tokenizer", paramLabel = "FILE", description = "The Hugging Face "
        + "tokenizer.json that turns --text into token ids: a file or classpath:/name.")
    String tokenizer;

    @Option(
        names = "--preset",
        paramLabel = "NAME",
        description = "Tokenize --text as the served " + "preset does: ${COMPLETION-CANDIDATES}.",
        completionCandidates = ModelOptions.PresetNames.class)
    String preset;

    @Option(names = "--max-length", paramLabel = "TOKENS", description = "Truncate each text to "
        + "this many tokens (default: the preset's, else 512).")
    Integer maxLength;

    @Option(names = "--modality", paramLabel = "M",
        description = "TEXT, IMAGE, SPEECH or TENSOR. Default: TEXT with "
        + "--text, else TENSOR.")
    Modality modality;

    @Option(names = "--shape", split = ",", paramLabel = "D", description = "The random input's"
        + " shape, e.g. 1,4,16 (default: a small one of the modality's layout).")
    int[] shape;

    @Option(names = "--timeout-ms", defaultValue = "5000", paramLabel = "MS",
        description = "How long to wait. Default: ${DEFAULT-VALUE}.")
    long timeoutMs;

    @Option(names = "--key", paramLabel = "FILE",
        description = "Sign with this key file (see Keypair); unsigned otherwise.")
    Path key;

    @Mixin PassphraseOption passphrase = new PassphraseOption();

    @Option(names = "--peer-key", paramLabel = "HEX", description = "The peer's public key (64 "
        + "hex digits, as the ledger lists it): a successful answer counts only if the peer signed "
        + "it with this key (BAD_RESPONSE otherwise).")
    String peerKey;

    @Option(names = "--metadata-only-signature", description = "Sign everything but the "
        + "tensors' bytes (SignatureScope.METADATA_ONLY; needs --key, and a peer that accepts it).")
    boolean metadataOnlySignature;

    @Option(names = "--trust", paramLabel = "FILE", description = "For an https:// endpoint: "
        + "trust the certificates in this PEM file (an authority, or the peer's own) instead of "
        + "the JDK's authorities.")
    Path trust;

    @CommandLine.Mixin ClientCertOption clientCert = new ClientCertOption();

    @Option(names = "--h2", description = "Use HTTP/2 (with prior knowledge over http://, by "
        + "ALPN over https://) instead of HTTP/1.1.")
    boolean h2;

    @Option(names = "--seed", defaultValue = "1", paramLabel = "N",
        description = "Seed of the random input. Default: ${DEFAULT-VALUE}.")
    long seed;

    @Option(
        names = "--repeat",
        paramLabel = "N",
        defaultValue = "1",
        description =
            "Send the request N times and print the first latency and the median of the others."
                + " Default: ${DEFAULT-VALUE}.")
    int repeat;

    @Override
    public Integer call() throws IOException {
      if (timeoutMs < 1) {
        throw new IllegalArgumentException("--timeout-ms must be >= 1, was " + timeoutMs);
      }
      if (repeat < 1 || repeat > 10_000) {
        throw new IllegalArgumentException("--repeat must be in [1, 10000], was " + repeat);
      }
      Modality m;
      Tensor input;
      if (texts.isEmpty()) {
        String stray = tokenizer != null ? "--tokenizer" : preset != null ? "--preset"
            : maxLength != null ? "--max-length" : null;
        if (stray != null) {
          throw new IllegalArgumentException(stray + " applies to --text");
        }
        m = modality == null ? Modality.TENSOR : modality;
        input = input(m, shape == null ? defaultShape(m) : shape, new Random(seed));
      } else {
        m = Modality.TEXT;
        if (modality != null && modality != Modality.TEXT) {
          throw new IllegalArgumentException("--text sends TEXT, not " + modality);
        }
        if (shape != null) {
          throw new IllegalArgumentException("--shape applies to random inputs, not --text");
        }
        input = tokenize();
      }
      PeerClient.Builder b = clientCert.apply(PeerClient.newBuilder()
          .protocol(h2 ? HttpProtocol.H2_PRIOR_KNOWLEDGE : HttpProtocol.HTTP_1_1));
      if (trust != null) {
        b.trustedCertificates(trust);
      }
      if (metadataOnlySignature && key == null) {
        throw new IllegalArgumentException("--metadata-only-signature needs --key");
      }
      if (key != null) {
        b.keypair(passphrase.load(key));
      }
      if (metadataOnlySignature) {
        b.signatureScope(SignatureScope.METADATA_ONLY);
      }
      PeerId signer = null;
      if (peerKey != null) {
        try {
          signer = PeerId.fromHex(peerKey);
        } catch (IllegalArgumentException e) {
          throw new IllegalArgumentException("--peer-key: " + e.getMessage(), e);
        }
        b.requireSignedAnswers(true);
      }
      PrintWriter out = spec.commandLine().getOut();
      try (PeerClient client = b.build()) {
        Peer peer = signer == null ? client.connect(endpoint)
            : client.connect(PeerInfo.of(signer, endpoint, m));
        ForwardRequest request = new ForwardRequest(m, input);
        double[] ms = new double[repeat];
        ForwardResult r = null;
        try (Progress progress = Main.progress(spec, "requests", repeat)) {
          for (int i = 0; i < repeat && (r == null || r.isSuccess()); i++) {
            long t0 = System.nanoTime();
            r = peer.forwardAndWait(request, Duration.ofMillis(timeoutMs));
            ms[i] = (System.nanoTime() - t0) / 1e6;
            progress.update(i + 1);
          }
        }
        out.printf(Locale.ROOT, "status  %s (%d)%n", r.status(), r.status().code());
        if (r.isSuccess()) {
          out.printf(
              Locale.ROOT, "shape   %s%n", Arrays.toString(r.output().orElseThrow().shape()));
        } else {
          out.printf(Locale.ROOT, "message %s%s%n",
              r.field().isEmpty() ? "" : r.field() + ": ", r.message());
        }
        if (repeat > 1 && r.isSuccess()) {
          double[] warm = Arrays.copyOfRange(ms, 1, repeat);
          Arrays.sort(warm);
          out.printf(
              Locale.ROOT,
              "latency %.1f ms the first time (connecting, warming up), then median %.1f ms of"
                  + " %d%n",
              ms[0],
              warm[warm.length / 2],
              warm.length);
        } else {
          out.printf(Locale.ROOT, "latency %.1f ms%n", ms[0]);
        }
        if (r.isSuccess()) {
          printValues(out, r.output().orElseThrow());
        }
        out.flush();
        return r.isSuccess() ? 0 : Main.EXIT_FAILURE;
      }
    }

    /** The texts' token ids; a tokenizer that cannot be read is bad input. */
    private Tensor tokenize() {
      ModelPreset p = preset == null ? null : ModelPreset.named(preset);
      String source =
          tokenizer != null ? tokenizer : p != null ? ModelOptions.CLASSPATH + p.tokenizer() : null;
      if (source == null) {
        throw new IllegalArgumentException("--text needs --tokenizer FILE or --preset NAME ("
            + ModelPreset.names() + ")");
      }
      int max = maxLength != null ? maxLength : p != null ? p.maxLength() : 512;
      try (TextTokenizer tok = ModelOptions.tokenizer(source, max)) {
        return tok.encode(texts);
      } catch (IOException e) {
        throw CliException.badInput((tokenizer != null ? "--tokenizer " : "tokenizer ") + source
            + ": " + CliException.why(e), e);
      }
    }

    /**
     * The first values of the first position of each row (a pooled answer repeats one row at
     * every position) and, for several texts, their cosine similarities.
     */
    private void printValues(PrintWriter out, Tensor y) {
      int rows = y.dim(0);
      int seq = y.dim(1);
      int dim = y.dim(2);
      float[] v = y.toFloatArray();
      String label = texts.isEmpty() ? "row" : "text";
      for (int i = 0; i < Math.min(rows, ROWS_SHOWN); i++) {
        StringBuilder line = new StringBuilder();
        int base = i * seq * dim;
        for (int k = 0; k < Math.min(dim, VALUES_SHOWN); k++) {
          line.append(k == 0 ? "" : ", ").append(String.format(Locale.ROOT, "%.4f", v[base + k]));
        }
        out.printf(
            Locale.ROOT,
            "%s%s %d: [%s%s]%n",
            i == 0 ? "values  " : "        ",
            label,
            i,
            line,
            dim > VALUES_SHOWN ? ", ... " + dim + " in all" : "");
      }
      if (rows > ROWS_SHOWN) {
        out.printf(Locale.ROOT, "        (%d more rows)%n", rows - ROWS_SHOWN);
      }
      int n = Math.min(texts.size(), MAX_COSINE_TEXTS);
      for (int i = 0; i < n; i++) {
        for (int j = i + 1; j < n; j++) {
          out.printf(
              Locale.ROOT,
              "%s%d~%d %7.4f  %s ~ %s%n",
              i == 0 && j == 1 ? "cosine  " : "        ",
              i,
              j,
              cosine(v, i * seq * dim, j * seq * dim, dim),
              quote(texts.get(i)),
              quote(texts.get(j)));
        }
      }
    }

    private static double cosine(float[] v, int a, int b, int dim) {
      double dot = 0;
      double na = 0;
      double nb = 0;
      for (int k = 0; k < dim; k++) {
        dot += (double) v[a + k] * v[b + k];
        na += (double) v[a + k] * v[a + k];
        nb += (double) v[b + k] * v[b + k];
      }
      return na == 0 || nb == 0 ? 0 : dot / Math.sqrt(na * nb);
    }

    private static String quote(String text) {
      return "\"" + (text.length() > 40 ? text.substring(0, 37) + "..." : text) + "\"";
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
