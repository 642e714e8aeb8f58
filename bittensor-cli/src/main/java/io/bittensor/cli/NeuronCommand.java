package io.bittensor.cli;

import io.bittensor.cli.demo.Market;
import io.bittensor.cli.demo.SotuCorpus;
import io.bittensor.cli.demo.TextModels;
import io.bittensor.cli.internal.AccessLog;
import io.bittensor.cli.internal.MetricsEndpoint;
import io.bittensor.cli.internal.TlsReloader;
import io.bittensor.core.AuditedLedger;
import io.bittensor.core.Hash256;
import io.bittensor.core.Keypair;
import io.bittensor.core.Ledger;
import io.bittensor.core.LedgerException;
import io.bittensor.core.Modality;
import io.bittensor.core.Peer;
import io.bittensor.core.internal.DurableFiles;
import io.bittensor.learning.WeightSource;
import io.bittensor.neuron.Neuron;
import io.bittensor.neuron.Peers;
import io.bittensor.onnx.OnnxModelException;
import io.bittensor.onnx.OnnxPeer;
import io.bittensor.onnx.OutputAdapter;
import io.bittensor.onnx.TextInput;
import io.bittensor.onnx.TextTokenizer;
import io.bittensor.transport.CallListener;
import io.bittensor.transport.RemoteLedger;
import java.io.IOException;
import java.io.PrintWriter;
import java.io.Reader;
import java.net.URI;
import java.nio.charset.CharacterCodingException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.time.Duration;
import java.time.LocalTime;
import java.time.temporal.ChronoUnit;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Properties;
import java.util.Random;
import java.util.Set;
import java.util.concurrent.Callable;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

/** {@code bittensor neuron}: run one neuron of a market as its own process. */
@Command(
    name = "neuron",
    mixinStandardHelpOptions = true,
    description = "Run one neuron of a market as its own process.",
    subcommands = {NeuronCommand.Run.class})
final class NeuronCommand implements Runnable {
  @Spec CommandSpec spec;

  @Override
  public void run() {
    spec.commandLine().usage(spec.commandLine().getOut());
  }

  /** {@code bittensor neuron run --config FILE}. */
  @Command(
      name = "run",
      mixinStandardHelpOptions = true,
      description = {
        "Run a neuron described by a properties file until SIGINT or SIGTERM: it serves its"
            + " peer over HTTP/2, registers (or, with a registered key, rejoins) on a ledger"
            + " served by `bittensor ledger serve`, and, with learn=true, learns the demo's task"
            + " through the other peers and sets weights every weight-interval-ms.",
        "Keys (see bittensor-cli/README.md): key, key-passphrase-file (for a key sealed under a"
            + " passphrase: the file holding it), ledger, peer (minilm | e5 | bge | bag-of-words"
            + " | noise | onnx:PATH), host, port, stake, learn, weight-interval-ms,"
            + " sync-interval-ms, warm-up-batches, seed, max-tokens, per-era, output-dim,"
            + " weight-source (probes | gate-importance | pruning-score |"
            + " compensated-pruning-score | stand-in-pruning-score | rerouted-loss),"
            + " checkpoint-dir (keeps what a learning neuron learned across restarts),"
            + " ledger-chain (a chain id: audit every block against it, and act only on what"
            + " checks out), metrics-port (Prometheus metrics at http://host:PORT/metrics),"
            + " tls-key and tls-cert (serve HTTPS with this PEM key and certificate chain),"
            + " tls-trust (PEM certificates to trust for peers served over HTTPS), tls-reload-ms"
            + " (check the TLS files this often and use a renewed pair),"
            + " tls-client-ca (with tls-key: mutual TLS, serve only callers whose certificate"
            + " one in this PEM file issued), tls-client-key and tls-client-cert (the certificate"
            + " its client shows to peers and ledgers that ask for one), members-only (true:"
            + " serve only keys registered on the ledger, each from the block that registers"
            + " it), access-log (append a line of JSON to this file for every call the neuron"
            + " answers or makes)."
      })
  static final class Run implements Callable<Integer> {
    static final Set<String> KEYS = Set.of("key", "key-passphrase-file", "ledger", "peer",
        "host", "port", "stake", "learn", "weight-interval-ms", "sync-interval-ms",
        "warm-up-batches", "seed", "max-tokens", "per-era", "output-dim", "weight-source",
        "checkpoint-dir", "ledger-chain",
        "metrics-port", "tls-key", "tls-cert", "tls-trust", "tls-reload-ms", "tls-client-ca",
        "tls-client-key", "tls-client-cert", "members-only", "access-log");

    @Spec CommandSpec spec;

    @Option(names = "--config", required = true, paramLabel = "FILE",
        description = "The neuron's properties file.")
    Path config;

    @Option(names = "--ledger-wait", paramLabel = "DURATION",
        description = "How long to wait for a ledger server that cannot be reached at start"
            + " (ISO-8601, e.g. PT5M; PT0S: fail at once): it is tried again after a back-off"
            + " of 1 s doubling to 30 s, each try said on stderr. No limit by default: a"
            + " neuron started before its ledger (or while it restarts) joins once it is up;"
            + " SIGTERM or Ctrl-C stops it. A host name that does not resolve (not in DNS yet)"
            + " is waited for too, with no limit given for 2 minutes (PT2M). A TLS failure and"
            + " an address that is no ledger fail at once.")
    Duration ledgerWait;

    @Override
    public Integer call() throws Exception {
      Properties p = new Properties();
      try (Reader r = Files.newBufferedReader(config)) {
        p.load(r);
      } catch (NoSuchFileException e) {
        throw CliException.badInput("no such config file: " + config, e);
      } catch (CharacterCodingException e) {
        throw CliException.badInput(config + " is not UTF-8 text", e);
      } catch (IOException e) {
        throw CliException.badInput("cannot read the config file " + config + ": "
            + CliException.why(e), e);
      } catch (IllegalArgumentException e) { // a Unicode escape that is not one
        throw CliException.badInput(config + ": " + e.getMessage(), e);
      }
      for (String k : p.stringPropertyNames()) {
        if (!KEYS.contains(k)) {
          throw CliException.badInput(config + ": unknown key \"" + k + "\"; known: "
              + new java.util.TreeSet<>(KEYS), null);
        }
        if (p.getProperty(k).isBlank()) {
          p.remove(k); // "checkpoint-dir=" as the README's template lists it: the default
        }
      }
      // Null: score by probes, the demo's default.
      WeightSource source = weightSource(p.getProperty("weight-source", "probes").strip());
      Path checkpoints = null;
      if (p.getProperty("checkpoint-dir") != null) {
        checkpoints = Path.of(p.getProperty("checkpoint-dir").strip());
        if (Files.exists(checkpoints) && !Files.isDirectory(checkpoints)) {
          throw CliException.badInput(config + ": checkpoint-dir " + checkpoints
              + " is a file, not a folder", null);
        }
        try {
          // Durably: the neuron's own durable create finds it made and forces nothing.
          DurableFiles.createDirectories(checkpoints);
        } catch (IOException e) {
          throw CliException.badInput(config + ": checkpoint-dir " + checkpoints
              + " cannot be created: " + e, e);
        }
      }
      Keypair key;
      try {
        key = KeyFiles.load(Path.of(required(p, "key")), path(p, "key-passphrase-file"),
            "key-passphrase-file=");
      } catch (CliException e) {
        throw CliException.badInput(config + ": key: " + e.getMessage(), e);
      }
      // One ledger server, or several (the members of a replicated ledger), comma-separated.
      List<URI> ledgerUris = new ArrayList<>();
      for (String u : required(p, "ledger").split(",")) {
        try {
          ledgerUris.add(URI.create(u.trim()));
        } catch (IllegalArgumentException e) {
          throw CliException.badInput(config + ": ledger: not an address: " + u, e);
        }
      }
      String ledgerUri = required(p, "ledger");
      Hash256 trustedChain = null;
      if (p.getProperty("ledger-chain") != null) {
        try {
          trustedChain = Hash256.fromHex(p.getProperty("ledger-chain").strip());
        } catch (IllegalArgumentException e) {
          throw CliException.badInput(config + ": ledger-chain: " + e.getMessage(), e);
        }
      }
      // Read as longs and checked before they are narrowed: 4294967296 is not port 0.
      long portSetting = integer(p, "port", 0);
      Path tlsKey = path(p, "tls-key");
      Path tlsCert = path(p, "tls-cert");
      Path tlsTrust = path(p, "tls-trust");
      if ((tlsKey == null) != (tlsCert == null)) {
        throw CliException.badInput(config + ": tls-key and tls-cert go together (the server's"
            + " key and its certificate chain), but only " + (tlsKey != null ? "tls-key"
            : "tls-cert") + " is set", null);
      }
      Path tlsClientCa = path(p, "tls-client-ca");
      if (tlsClientCa != null && tlsKey == null) {
        throw CliException.badInput(config + ": tls-client-ca (mutual TLS) needs tls-key and"
            + " tls-cert", null);
      }
      Path tlsClientKey = path(p, "tls-client-key");
      Path tlsClientCert = path(p, "tls-client-cert");
      if ((tlsClientKey == null) != (tlsClientCert == null)) {
        throw CliException.badInput(config + ": tls-client-key and tls-client-cert go together"
            + " (the certificate shown to servers that ask for one), but only "
            + (tlsClientKey != null ? "tls-client-key" : "tls-client-cert") + " is set", null);
      }
      long tlsReloadMs = integer(p, "tls-reload-ms", 0);
      if (tlsReloadMs < 0 || (tlsReloadMs > 0 && tlsKey == null && tlsClientKey == null)) {
        throw CliException.badInput(config + ": tls-reload-ms must be >= 1 and needs tls-key and"
            + " tls-cert or tls-client-key and tls-client-cert, was " + tlsReloadMs
            + (tlsKey == null && tlsClientKey == null ? " without them" : ""), null);
      }
      // Taken before anything reads the files: the watch starts once the registration landed,
      // maybe many blocks after the ledger's client and the server read them, and a pair renewed
      // meanwhile differs from these, and is reloaded.
      boolean reloads = tlsReloadMs > 0;
      TlsReloader.Snapshot serverSeen =
          reloads && tlsKey != null ? TlsReloader.snapshot(tlsKey, tlsCert) : null;
      TlsReloader.Snapshot clientCaSeen =
          reloads && tlsClientCa != null ? TlsReloader.snapshot(tlsClientCa, tlsClientCa) : null;
      TlsReloader.Snapshot clientSeen = reloads && tlsClientKey != null
          ? TlsReloader.snapshot(tlsClientKey, tlsClientCert) : null;
      long metricsPort = integer(p, "metrics-port", -1);
      if (metricsPort < -1 || metricsPort > 65535) {
        throw CliException.badInput(config + ": metrics-port must be in [0, 65535], was "
            + metricsPort, null);
      }
      long stake = integer(p, "stake", 0);
      boolean learn = bool(p, "learn");
      boolean membersOnly = bool(p, "members-only");
      long seed = integer(p, "seed", 7);
      long maxTokensSetting = integer(p, "max-tokens", 32);
      long perEraSetting = integer(p, "per-era", 60);
      long dimSetting = integer(p, "output-dim", TextModels.DIM);
      Duration weightInterval = Duration.ofMillis(integer(p, "weight-interval-ms", 5000));
      Duration syncInterval = Duration.ofMillis(integer(p, "sync-interval-ms", 1000));
      long warmUp = integer(p, "warm-up-batches", 10);
      if (warmUp < 0 || warmUp > Integer.MAX_VALUE) {
        throw CliException.badInput(config + ": warm-up-batches must be >= 0, was " + warmUp,
            null);
      }
      if (portSetting < 0 || portSetting > 65535 || stake < 0 || maxTokensSetting < 4
          || perEraSetting < 1 || dimSetting < 1
          || weightInterval.isZero() || weightInterval.isNegative() || syncInterval.isZero()
          || syncInterval.isNegative()) {
        throw CliException.badInput(config + ": port must be in [0, 65535], stake >= 0,"
            + " max-tokens >= 4, per-era, output-dim and the intervals >= 1", null);
      }
      if (maxTokensSetting > Integer.MAX_VALUE || perEraSetting > Integer.MAX_VALUE
          || dimSetting > Integer.MAX_VALUE) {
        throw CliException.badInput(config + ": max-tokens, per-era and output-dim must be at"
            + " most " + Integer.MAX_VALUE, null);
      }
      int port = (int) portSetting;
      int maxTokens = (int) maxTokensSetting;
      int perEra = (int) perEraSetting;
      int dim = (int) dimSetting;
      // Before the model loads and the ledger is reached: the config's mistake, said first.
      if (ledgerWait != null && ledgerWait.isNegative()) {
        throw CliException.badInput("--ledger-wait must be PT0S or more, was " + ledgerWait,
            null);
      }
      if (learn && dim != TextModels.DIM) {
        throw CliException.badInput(config + ": learn=true needs output-dim " + TextModels.DIM,
            null);
      }
      PrintWriter out = spec.commandLine().getOut();
      Opened owned = new Opened();
      CountDownLatch closed = new CountDownLatch(1);
      // SIGINT and SIGTERM run the hook, from before anything is opened; an interrupt (an
      // embedding program's way of saying stop) closes the same on this thread. Whoever comes
      // second waits for the first. A setup that fails closes what it opened (the ledger client
      // among them: a program that runs the command embedded is not left with it).
      AtomicBoolean announced = new AtomicBoolean();
      Runnable stop = Stopping.once(() -> {
        owned.closeAll(); // the reloaders, the neuron, its metrics, the ledger, the model, the log
        if (announced.get()) {
          // The log's last line: closed cleanly (its checkpoint saved), not killed.
          out.println("stopped");
          out.flush();
        }
        closed.countDown();
      });
      Thread hook = new Thread(stop, "bittensor-neuron-shutdown");
      Runtime.getRuntime().addShutdownHook(hook);
      boolean serving = false;
      try {
        // Opened first, so that a file it cannot write stops the neuron before it joins anything.
        AccessLog accessLog = null;
        Path accessLogFile = path(p, "access-log");
        if (accessLogFile != null) {
          try {
            accessLog = AccessLog.open(accessLogFile);
          } catch (IOException e) {
            throw CliException.badInput(config + ": access-log: " + e.getMessage(), e);
          }
          owned.add(accessLog); // closed last, after the neuron: the calls it finished are in it
        }
        Peer peer;
        try {
          peer = peer(required(p, "peer"), dim, maxTokens, seed, owned);
        } catch (Exception e) {
          if (e instanceof OnnxModelException) { // as peer serve: the model given is at fault
            throw CliException.badInput(config + ": peer: " + e.getMessage(), e);
          }
          throw e;
        }
        Ledger ledger;
        RemoteLedger remote;
        try {
          RemoteLedger.Builder rb = RemoteLedger.builder().keypair(key);
          if (tlsTrust != null) {
            rb.trustedCertificates(tlsTrust);
          }
          if (tlsClientKey != null) {
            rb.clientCertificate(tlsClientKey, tlsClientCert);
          }
          // A server that cannot be reached yet is waited for: started after the neuron, or
          // restarting; the stop (SIGTERM, Ctrl-C) ends the wait at once.
          remote = LedgerWait.connect(() -> rb.connect(ledgerUris),
              ledgerUris.stream().anyMatch(u -> "https".equals(u.getScheme())), ledgerWait,
              ms -> closed.await(ms, TimeUnit.MILLISECONDS), spec.commandLine().getErr(),
              () -> announced.set(true), new Random());
          if (remote == null) { // told to stop while it waited: as once running
            Stopping.await(closed::await, stop, hook);
            return 0;
          }
          // "stopped" again only once serving: a setup that fails from here is no clean stop.
          announced.set(false);
          try {
            // Audited: every block replayed from genesis against the chain id given.
            ledger = trustedChain == null ? remote : AuditedLedger.over(remote, trustedChain);
          } catch (LedgerException | RuntimeException e) {
            remote.close();
            throw CliException.failure("the ledger at " + ledgerUri + " fails its audit against"
                + " chain " + trustedChain + ": " + e.getMessage(), e);
          }
        } catch (IllegalArgumentException e) { // an address, or the tls-trust or client files
          String setting = tlsTrust != null && e.getMessage().contains(tlsTrust.toString())
              ? ": tls-trust: " : tlsClientKey != null && (e.getMessage().contains(
                  tlsClientKey.toString()) || e.getMessage().contains(tlsClientCert.toString()))
              ? ": tls-client-key/tls-client-cert: " : ": ledger: ";
          throw CliException.badInput(config + setting + e.getMessage(), e);
        } catch (LedgerException e) {
          throw CliException.ledgerUnreachable(ledgerUri, e);
        } catch (InterruptedException e) {
          // Told to stop (embedded) while it waited for the ledger: as once running.
          Thread.currentThread().interrupt();
          Stopping.await(closed::await, stop, hook);
          return 0;
        }
        owned.add(ledger);
        Neuron.Builder b = Neuron.builder().keypair(key).ledger(ledger).serve(peer, Modality.TEXT)
            .outputDim(dim).host(p.getProperty("host", "127.0.0.1")).port(port).stake(stake)
            .weightInterval(weightInterval).syncInterval(syncInterval)
            .timeout(Duration.ofSeconds(10)).servesMembersOnly(membersOnly);
        if (tlsKey != null) {
          b.tls(tlsKey, tlsCert);
        }
        if (tlsTrust != null) {
          b.trustedCertificates(tlsTrust);
        }
        if (tlsClientCa != null) {
          b.requireClientCertificates(tlsClientCa);
        }
        if (tlsClientKey != null) {
          b.clientCertificate(tlsClientKey, tlsClientCert);
        }
        b.listener((n, event) -> {
          synchronized (out) {
            out.println(LocalTime.now().truncatedTo(ChronoUnit.SECONDS) + " " + event);
            out.flush();
          }
        });
        if (learn) {
          List<SotuCorpus.Passage> sample;
          try {
            // 20 more of each era are held out; no overflow past the int's range.
            sample = SotuCorpus.load().sample((int) Math.min(Integer.MAX_VALUE, perEra + 20L),
                seed);
          } catch (IllegalArgumentException e) {
            throw CliException.badInput(config + ": per-era " + perEra + " is more than the"
                + " corpus holds (20 more of each era are held out): " + e.getMessage(), e);
          }
          List<SotuCorpus.Passage> train = new ArrayList<>();
          List<SotuCorpus.Passage> test = new ArrayList<>();
          int[] seen = new int[SotuCorpus.ERAS.size()];
          for (SotuCorpus.Passage s : sample) {
            (seen[s.era()]++ < 20 ? test : train).add(s);
          }
          long[][] trainRows;
          long[][] testRows;
          try (TextTokenizer tokenizer = TextModels.tokenizer(maxTokens)) {
            trainRows = TextModels.tokenize(tokenizer,
                train.stream().map(SotuCorpus.Passage::text).toList(), maxTokens);
            testRows = TextModels.tokenize(tokenizer,
                test.stream().map(SotuCorpus.Passage::text).toList(), maxTokens);
          }
          int[] trainLabels = train.stream().mapToInt(SotuCorpus.Passage::era).toArray();
          int[] testLabels = test.stream().mapToInt(SotuCorpus.Passage::era).toArray();
          int classes = SotuCorpus.ERAS.size();
          b.learner(peers -> Market.learner(peers, seed, classes))
              .dataset(Market.dataset(trainRows, trainLabels, 16, seed))
              .warmUp((int) warmUp);
          if (source == null) {
            b.scoreByProbes(classes, Market.batches(testRows, testLabels, 64));
          } else {
            b.weightSource(source);
          }
          if (checkpoints != null) {
            b.checkpoints(checkpoints);
          }
        }
        MetricsEndpoint metrics = null;
        if (metricsPort >= 0) {
          try {
            metrics = MetricsEndpoint.start(p.getProperty("host", "127.0.0.1"),
                (int) metricsPort);
          } catch (IOException e) {
            throw CliException.failure(e.getMessage(), e);
          }
          owned.add(metrics);
        }
        // The calls it answers and those it makes, alike.
        b.callListenerFactory((metrics == null ? CallListener.Factory.NONE : metrics.calls())
            .andThen(accessLog == null ? CallListener.Factory.NONE
                : CallListener.Factory.of(accessLog)));
        Neuron neuron;
        try {
          neuron = b.start();
        } catch (LedgerException e) { // members-only: the ledger's members did not read
          throw CliException.failure("cannot read the ledger's members: " + e.getMessage(), e);
        } catch (IOException e) {
          throw CliException.failure("cannot serve on port " + port + ": " + e.getMessage(), e);
        } catch (IllegalArgumentException e) { // TLS files that do not read
          throw CliException.badInput(config + ": " + e.getMessage(), e);
        }
        owned.add(neuron); // closed before the metrics, the ledger, the model and the log
        if (metrics != null) {
          metrics.watch(neuron);
          metrics.watchReplays(remote);
        }
        try {
          neuron.registration().get();
        } catch (InterruptedException e) {
          // Told to stop before the neuron runs: it stops as it would once running.
          Thread.currentThread().interrupt();
          Stopping.await(closed::await, stop, hook);
          return 0;
        } catch (Exception e) {
          throw CliException.failure("registration failed: " + e.getMessage(), e);
        }
        neuron.runInBackground();
        // The reloaders are closed first, before the neuron they reload.
        if (tlsReloadMs > 0 && tlsKey != null) {
          owned.add(TlsReloader.watch(tlsKey, tlsCert, Duration.ofMillis(tlsReloadMs),
              neuron::reloadTls, out, serverSeen));
        }
        if (tlsReloadMs > 0 && tlsClientCa != null) {
          owned.add(TlsReloader.watchTrust(tlsClientCa, Duration.ofMillis(tlsReloadMs),
              neuron::reloadClientCertificates, out, clientCaSeen));
        }
        // The client certificate is shown to the peers and to the ledger: both take a renewed
        // one.
        if (tlsReloadMs > 0 && tlsClientKey != null) {
          owned.add(TlsReloader.watch(tlsClientKey, tlsClientCert,
              Duration.ofMillis(tlsReloadMs), (k, c) -> {
                neuron.reloadClientCertificate(k, c);
                remote.reloadClientCertificate(k, c);
              }, out, clientSeen));
        }
        out.printf(Locale.ROOT, "neuron %s serving %s at %s on ledger %s%s%n",
            key.id().toHex(), peer, neuron.endpoint(), ledgerUri, trustedChain == null ? ""
                : " (every block audited against chain " + trustedChain + ")");
        if (metrics != null) {
          out.printf(Locale.ROOT, "metrics on %s%n", metrics.uri());
        }
        if (accessLog != null) {
          out.printf(Locale.ROOT, "calls logged to %s%n", accessLog.file());
        }
        out.flush();
        announced.set(true);
        serving = true;
      } finally {
        if (!serving) {
          stop.run();
          Stopping.unhook(hook);
        }
      }
      Stopping.await(closed::await, stop, hook);
      return 0;
    }

    private Peer peer(String spec, int dim, int maxTokens, long seed, Opened owned)
        throws Exception {
      switch (spec) {
        case "bag-of-words":
          return Peers.bagOfWords(dim, Math.min(16, dim), seed);
        case "noise":
          return Peers.noise(dim, seed);
        case "minilm":
        case "e5":
        case "bge": {
          TextModels.Model m = spec.equals("minilm") ? TextModels.Model.MINILM
              : spec.equals("e5") ? TextModels.Model.E5 : TextModels.Model.BGE;
          OnnxPeer model = m.open(maxTokens, 1);
          owned.add(model);
          return Peers.memoize(model);
        }
        default:
          if (spec.startsWith("onnx:")) {
            OnnxPeer model = OnnxPeer.builder().model(Path.of(spec.substring(5)))
                .input(TextInput.bert().withMaxLength(maxTokens))
                .output(OutputAdapter.first().withPooling(OutputAdapter.Pooling.MEAN))
                .outputDim(dim).build();
            owned.add(model);
            return model;
          }
          throw CliException.badInput(config + ": peer must be minilm, e5, bge, bag-of-words,"
              + " noise or onnx:PATH, was \"" + spec + "\"", null);
      }
    }

    /** {@code probes} (null) or a learner's {@link WeightSource}, by its name in kebab case. */
    private WeightSource weightSource(String name) {
      if (name.equals("probes")) {
        return null;
      }
      for (WeightSource w : WeightSource.values()) {
        if (w.name().toLowerCase(Locale.ROOT).replace('_', '-').equals(name)) {
          return w;
        }
      }
      throw CliException.badInput(config + ": weight-source must be probes, gate-importance,"
          + " pruning-score, compensated-pruning-score, stand-in-pruning-score or rerouted-loss,"
          + " was \"" + name + "\"",
          null);
    }

    private String required(Properties p, String key) {
      String v = p.getProperty(key);
      if (v == null || v.isBlank()) {
        throw CliException.badInput(config + ": missing \"" + key + "\"", null);
      }
      return v.strip();
    }

    /** The path under {@code key}, or null when it is not set. */
    private Path path(Properties p, String key) {
      String v = p.getProperty(key);
      if (v == null) {
        return null;
      }
      try {
        return Path.of(v.strip());
      } catch (java.nio.file.InvalidPathException e) {
        throw CliException.badInput(config + ": " + key + ": " + e.getMessage(), e);
      }
    }

    private long integer(Properties p, String key, long fallback) {
      String v = p.getProperty(key);
      if (v == null) {
        return fallback;
      }
      try {
        return Long.parseLong(v.strip());
      } catch (NumberFormatException e) {
        throw CliException.badInput(config + ": " + key + " must be a whole number, was \""
            + v + "\"", e);
      }
    }

    /** {@code true} or {@code false} (default), anything else an error naming the key. */
    private boolean bool(Properties p, String key) {
      String v = p.getProperty(key, "false").strip();
      if (!v.equals("true") && !v.equals("false")) {
        throw CliException.badInput(config + ": " + key + " must be true or false, was \"" + v
            + "\"", null);
      }
      return v.equals("true");
    }

    /**
     * What the command opened, closed once in reverse order by whoever stops it: a setup that
     * failed, the shutdown hook or an interrupt.
     */
    private static final class Opened {
      private final List<AutoCloseable> list = new ArrayList<>();
      private boolean closed;

      /**
       * Keeps {@code c} to close.
       *
       * @throws CliException if the command is stopping already (the hook ran): {@code c} is
       *     closed at once
       */
      synchronized <T extends AutoCloseable> T add(T c) {
        if (closed) {
          closeQuietly(c);
          throw CliException.failure("stopped while starting", null);
        }
        list.add(c);
        return c;
      }

      synchronized void closeAll() {
        closed = true;
        for (int i = list.size() - 1; i >= 0; i--) {
          closeQuietly(list.get(i));
        }
        list.clear();
      }

      private static void closeQuietly(AutoCloseable c) {
        try {
          c.close();
        } catch (Exception e) {
          // Closing on the way out: nothing more to do.
        }
      }
    }
  }
}
