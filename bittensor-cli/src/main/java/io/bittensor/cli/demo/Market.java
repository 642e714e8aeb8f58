package io.bittensor.cli.demo;

import io.bittensor.core.Epoch;
import io.bittensor.core.ForwardRequest;
import io.bittensor.core.ForwardResult;
import io.bittensor.core.Genesis;
import io.bittensor.core.Keypair;
import io.bittensor.core.LedgerException;
import io.bittensor.core.LedgerParams;
import io.bittensor.core.LocalLedger;
import io.bittensor.core.Metagraph;
import io.bittensor.core.Modality;
import io.bittensor.core.Peer;
import io.bittensor.core.PeerId;
import io.bittensor.core.PeerState;
import io.bittensor.core.Receipt;
import io.bittensor.core.Status;
import io.bittensor.core.Tensor;
import io.bittensor.core.internal.DurableFiles;
import io.bittensor.incentive.Emission;
import io.bittensor.incentive.IncentiveMechanism;
import io.bittensor.incentive.PaperParams;
import io.bittensor.learning.Evaluation;
import io.bittensor.learning.Learner;
import io.bittensor.learning.NoisyTopKGate;
import io.bittensor.learning.TrainableMlp;
import io.bittensor.learning.WeightSource;
import io.bittensor.neuron.Dataset;
import io.bittensor.neuron.LabelledBatch;
import io.bittensor.neuron.Neuron;
import io.bittensor.neuron.Peers;
import io.bittensor.onnx.Mlp;
import io.bittensor.transport.InProcessNetwork;
import java.io.IOException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Random;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.function.Consumer;

/**
 * A whole market in one process, driven epoch by epoch so that a seed fixes the outcome: an
 * embedded ledger; honest neurons that each serve a model, learn a classifier through the other
 * peers and set weights from per-peer probes on held-out data (as in the paper, every peer both
 * serves and validates); and a two-peer cabal that serves no one and votes only for itself.
 * Neurons talk over real HTTP/2 on loopback, or over the in-process transport.
 *
 * <p>Each epoch: every neuron syncs with the metagraph; each honest neuron trains {@code steps}
 * batches through its gate; everyone sets weights; the ledger seals one block, and the block's
 * epoch runs the paper's mechanism (inflation 10% of the stake per epoch). Then the metagraph is
 * recorded and each honest neuron is evaluated on the held-out passages.
 *
 * <p>Not thread-safe; one run at a time.
 */
public final class Market {
  /** Who a participant is. */
  public enum Role { NEURON, CABAL }

  /**
   * An honest neuron: a name for the leaderboard, what kind of model it serves, and the peer. It
   * also learns through the other peers and sets weights, as every peer does in the paper.
   */
  public record Server(String name, String kind, Peer peer) {
    /** Checks for nulls. */
    public Server {
      Objects.requireNonNull(name, "name");
      Objects.requireNonNull(kind, "kind");
      Objects.requireNonNull(peer, "peer");
    }
  }

  /**
   * How a market runs.
   *
   * @param seed fixes the sample, the initialisation, the routing noise and the batches
   * @param epochs epochs to run, {@code >= 1}
   * @param steps training batches per neuron per epoch, {@code >= 1}
   * @param batch passages per batch
   * @param stake tokens each honest neuron stakes
   * @param cabalStake tokens each of the two cabal peers stakes
   * @param http true: HTTP/2 on loopback; false: the in-process transport
   * @param weightSource the learners' own weight source (the demo's neurons score by probes)
   */
  public record Settings(long seed, int epochs, int steps, int batch,
      long stake, long cabalStake, boolean http, WeightSource weightSource) {
    /** Checks ranges. */
    public Settings {
      if (epochs < 1 || steps < 1 || batch < 1) {
        throw new IllegalArgumentException("epochs, steps and batch must be >= 1, were "
            + epochs + ", " + steps + ", " + batch);
      }
      if (stake < 1 || cabalStake < 1) {
        throw new IllegalArgumentException("stake and cabalStake must be >= 1, were " + stake
            + " and " + cabalStake);
      }
      Objects.requireNonNull(weightSource, "weightSource");
    }

    /** The demo's defaults, on loopback HTTP/2. */
    public static Settings defaults(long seed) {
      return new Settings(seed, 10, 6, 16, 1_500_000, 1_250_000, true,
          WeightSource.PRUNING_SCORE);
    }

    /** A copy with another number of epochs. */
    public Settings withEpochs(int epochs) {
      return new Settings(seed, epochs, steps, batch, stake, cabalStake, http,
          weightSource);
    }

    /** A copy with the transport chosen. */
    public Settings withHttp(boolean http) {
      return new Settings(seed, epochs, steps, batch, stake, cabalStake, http,
          weightSource);
    }

    /** A copy with other stakes. */
    public Settings withStakes(long stake, long cabalStake) {
      return new Settings(seed, epochs, steps, batch, stake, cabalStake, http, weightSource);
    }

    /** A copy with another number of training steps per epoch. */
    public Settings withSteps(int steps) {
      return new Settings(seed, epochs, steps, batch, stake, cabalStake, http,
          weightSource);
    }
  }

  /** One peer after one epoch. Stake and emission are in tokens. */
  public record PeerRow(int uid, String name, Role role, String kind, long stake, double rank,
      double trust, double consensus, double incentive, double dividends, long emission) {}

  /**
   * What one epoch left: every peer's row, the cabal's share of all stake, and each honest
   * neuron's accuracy on the held-out passages, in uid order.
   */
  public record EpochRecord(int epoch, long block, List<PeerRow> peers, double cabalShare,
      double[] validatorAccuracy) {}

  /** The whole run: the epochs in order, and the share of the cabal before the first. */
  public record Result(Settings settings, double initialCabalShare, List<EpochRecord> epochs,
      int trainPassages, int testPassages) {
    /** The last epoch. */
    public EpochRecord last() {
      return epochs.get(epochs.size() - 1);
    }
  }

  private final Settings settings;
  private final List<Server> servers;
  private final long[][] trainRows;
  private final int[] trainLabels;
  private final long[][] testRows;
  private final int[] testLabels;
  private final int classes;
  private final Consumer<String> progress;

  /**
   * A market over tokenized passages.
   *
   * @param trainRows token ids per training passage, all of one length
   * @param testRows token ids per held-out passage, the same length
   * @param classes labels are in {@code [0, classes)}
   * @param progress told one line at a time what happens (the demo prints it)
   */
  public Market(Settings settings, List<Server> servers, long[][] trainRows, int[] trainLabels,
      long[][] testRows, int[] testLabels, int classes, Consumer<String> progress) {
    this.settings = Objects.requireNonNull(settings, "settings");
    this.servers = List.copyOf(servers);
    this.trainRows = trainRows;
    this.trainLabels = trainLabels;
    this.testRows = testRows;
    this.testLabels = testLabels;
    this.classes = classes;
    this.progress = Objects.requireNonNull(progress, "progress");
    if (servers.isEmpty()) {
      throw new IllegalArgumentException("a market needs at least one server");
    }
  }

  /**
   * Runs the market.
   *
   * @throws IOException if a server cannot bind a port
   * @throws LedgerException if the ledger refuses a block
   */
  public Result run() throws IOException, LedgerException {
    Settings s = settings;
    Random keys = new Random(s.seed());
    List<Keypair> serverKeys = new ArrayList<>();
    List<Keypair> cabalKeys = new ArrayList<>();
    for (int i = 0; i < servers.size(); i++) {
      serverKeys.add(keypair(keys));
    }
    for (int i = 0; i < 2; i++) {
      cabalKeys.add(keypair(keys));
    }
    Genesis.Builder genesis = Genesis.builder()
        .chainName("bittensor-demo")
        .createdAt(java.time.Instant.parse("2026-01-01T00:00:00Z"))
        .params(LedgerParams.defaults().withEpochLength(1).withWeightsRateLimit(0)
            .withImmunityPeriod(1_000_000));
    for (Keypair k : serverKeys) {
      genesis.allocate(k.id(), s.stake());
    }
    for (Keypair k : cabalKeys) {
      genesis.allocate(k.id(), s.cabalStake());
    }
    IncentiveMechanism mechanism =
        IncentiveMechanism.paper(PaperParams.defaults().withEmission(Emission.inflation(0.1)));
    Map<PeerId, String> names = new HashMap<>();
    Map<PeerId, Role> roles = new HashMap<>();
    Map<PeerId, String> kinds = new HashMap<>();
    Set<PeerId> cabalIds = new HashSet<>();
    for (Keypair k : cabalKeys) {
      cabalIds.add(k.id());
    }
    InProcessNetwork network = s.http() ? null : new InProcessNetwork();
    List<LabelledBatch> validation = batches(testRows, testLabels, s.batch() * 4);
    List<Neuron> neurons = new ArrayList<>();
    List<Neuron> learners = new ArrayList<>();
    List<Neuron> cabal = new ArrayList<>();
    try (LocalLedger ledger = LocalLedger.builder()
        .genesis(genesis.build())
        .mechanism(mechanism)
        .blocks(io.bittensor.core.BlockPolicy.manual())
        .openInMemory()) {
      for (int i = 0; i < servers.size(); i++) {
        Server srv = servers.get(i);
        long seed = s.seed() * 31 + i;
        Neuron n = base(ledger, serverKeys.get(i), network)
            .serve(srv.peer(), Modality.TEXT)
            .stake(s.stake())
            .learner(peers -> learner(peers, seed))
            .dataset(dataset(seed))
            .weightSource(s.weightSource())
            .scoreByProbes(classes, validation)
            .start();
        neurons.add(n);
        learners.add(n);
        names.put(n.id(), srv.name());
        roles.put(n.id(), Role.NEURON);
        kinds.put(n.id(), srv.kind());
      }
      for (int i = 0; i < 2; i++) {
        Neuron n = base(ledger, cabalKeys.get(i), network)
            .serve(Peers.failing(Status.UNAVAILABLE, "the cabal serves no one"), Modality.TEXT)
            .stake(s.cabalStake())
            .votes(m -> {
              Map<PeerId, Double> w = new HashMap<>();
              for (PeerId id : cabalIds) {
                w.put(id, 1.0);
              }
              return w;
            })
            .start();
        neurons.add(n);
        cabal.add(n);
        names.put(n.id(), "cabal-" + (i + 1));
        roles.put(n.id(), Role.CABAL);
        kinds.put(n.id(), "self-voting");
      }
      ledger.produceBlock();
      for (Neuron n : neurons) {
        n.registration().join();
      }
      double initialShare = cabalShare(ledger.metagraph(), cabalIds);
      progress.accept(String.format("market: %d neurons that serve and learn, and a cabal of 2"
          + " holding %.1f%% of the stake, over %s", servers.size(), 100 * initialShare,
          s.http() ? "HTTP/2 on loopback" : "the in-process transport"));
      List<LabelledBatch> test = batches(testRows, testLabels, s.batch());
      List<EpochRecord> history = new ArrayList<>();
      for (int epoch = 1; epoch <= s.epochs(); epoch++) {
        for (Neuron n : neurons) {
          n.sync();
        }
        double loss = 0;
        for (int step = 0; step < s.steps(); step++) {
          for (Neuron v : learners) {
            loss += v.train().orElseThrow().loss();
          }
        }
        List<CompletableFuture<Receipt>> sets = new ArrayList<>();
        for (Neuron n : neurons) {
          n.setWeights().ifPresent(sets::add);
        }
        ledger.produceBlock();
        for (int i = 0; i < sets.size(); i++) {
          try {
            sets.get(i).join();
          } catch (java.util.concurrent.CompletionException e) {
            progress.accept("  weights refused: " + e.getCause().getMessage());
          }
        }
        Metagraph m = ledger.metagraph();
        double[] accuracy = new double[learners.size()];
        for (int v = 0; v < learners.size(); v++) {
          Evaluation total = null;
          for (LabelledBatch b : test) {
            Evaluation e = learners.get(v).evaluate(b).orElseThrow();
            total = total == null ? e : total.plus(e);
          }
          accuracy[v] = total.accuracy();
        }
        List<PeerRow> rows = new ArrayList<>();
        for (PeerState p : m.peers()) {
          rows.add(new PeerRow(p.uid(), names.get(p.id()), roles.get(p.id()),
              kinds.get(p.id()), p.stake(), p.rank(), p.trust(), p.consensus(), p.incentive(),
              p.dividends(), p.emission()));
        }
        double share = cabalShare(m, cabalIds);
        history.add(new EpochRecord(epoch, m.block().number(), rows, share, accuracy));
        progress.accept(String.format("epoch %2d/%d  loss %.3f  accuracy %s  cabal share %.4f%s",
            epoch, s.epochs(), loss / (s.steps() * learners.size()), percent(accuracy), share,
            m.lastEpoch().flatMap(Epoch::skipped).map(w -> "  (epoch skipped: " + w + ")")
                .orElse("")));
      }
      return new Result(s, initialShare, history, trainRows.length, testRows.length);
    } finally {
      for (Neuron n : neurons) {
        n.close();
      }
    }
  }

  private Neuron.Builder base(LocalLedger ledger, Keypair key, InProcessNetwork network) {
    Neuron.Builder b = Neuron.builder().keypair(key).ledger(ledger).outputDim(TextModels.DIM)
        .timeout(Duration.ofSeconds(60));
    return network == null ? b : b.inProcess(network);
  }

  private Learner learner(List<Peer> peers, long seed) {
    return learner(peers, seed, classes);
  }

  /**
   * The demo's learner over {@code peers}: a noisy top-k gate over all of them, routing on
   * {@link #context}, and a small head; no gradients are sent (the peers are frozen models).
   */
  public static Learner learner(List<Peer> peers, long seed, int classes) {
    NoisyTopKGate gate = NoisyTopKGate.builder()
        .peers(peers)
        .k(peers.size())
        .contextDim(CONTEXT_DIM)
        .outputDim(TextModels.DIM)
        .learningRate(1e-2)
        .seed(seed)
        .build();
    return Learner.builder()
        .gate(gate)
        .head(TrainableMlp.random(new int[] {TextModels.DIM, 32, classes}, Mlp.Activation.RELU,
            seed))
        .learningRate(3e-3)
        .timeout(Duration.ofSeconds(60))
        // The servers are frozen pretrained models: gradients would go unused.
        .sendGradients(false)
        .context(Market::context)
        .scoreDecay(0.9)
        .build();
  }

  /** A neuron's own view of a passage, which its gate routes on: hashed token counts. */
  static final int CONTEXT_DIM = 64;

  static Tensor context(Tensor ids) {
    int batch = ids.dim(0);
    int seq = ids.dim(1);
    float[] out = new float[batch * CONTEXT_DIM];
    for (int b = 0; b < batch; b++) {
      double norm = 0;
      for (int t = 0; t < seq; t++) {
        long id = ids.longAt(b * seq + t);
        if (id != 0) {
          out[b * CONTEXT_DIM + (int) Math.floorMod(id * 0x9E3779B97F4A7C15L >>> 40,
              (long) CONTEXT_DIM)] += 1;
        }
      }
      for (int j = 0; j < CONTEXT_DIM; j++) {
        norm += out[b * CONTEXT_DIM + j] * out[b * CONTEXT_DIM + j];
      }
      float inv = norm > 0 ? (float) (1 / Math.sqrt(norm)) : 0;
      for (int j = 0; j < CONTEXT_DIM; j++) {
        out[b * CONTEXT_DIM + j] *= inv;
      }
    }
    return Tensor.ofFloats(out, batch, CONTEXT_DIM);
  }

  private Dataset dataset(long seed) {
    return dataset(trainRows, trainLabels, settings.batch(), seed);
  }

  /** Endless shuffled passes over {@code rows}, {@code size} passages a batch. */
  public static Dataset dataset(long[][] trainRows, int[] trainLabels, int size, long seed) {
    Random random = new Random(seed);
    int n = trainRows.length;
    int[] order = new int[n];
    int[] cursor = {n};
    return () -> {
      long[][] rows = new long[size][];
      int[] labels = new int[size];
      for (int i = 0; i < size; i++) {
        if (cursor[0] == n) {
          for (int j = 0; j < n; j++) {
            order[j] = j;
          }
          for (int j = n - 1; j > 0; j--) {
            int k = random.nextInt(j + 1);
            int t = order[j];
            order[j] = order[k];
            order[k] = t;
          }
          cursor[0] = 0;
        }
        int pick = order[cursor[0]++];
        rows[i] = trainRows[pick];
        labels[i] = trainLabels[pick];
      }
      return batch(rows, labels);
    };
  }

  /** {@code rows} cut into batches of {@code size} passages, in order. */
  public static List<LabelledBatch> batches(long[][] rows, int[] labels, int size) {
    List<LabelledBatch> out = new ArrayList<>();
    for (int from = 0; from < rows.length; from += size) {
      int to = Math.min(rows.length, from + size);
      out.add(batch(Arrays.copyOfRange(rows, from, to), Arrays.copyOfRange(labels, from, to)));
    }
    return out;
  }

  /** A batch whose every position carries its passage's label (the answers are pooled). */
  static LabelledBatch batch(long[][] rows, int[] labels) {
    int seq = rows[0].length;
    long[] flat = new long[rows.length * seq];
    int[] perPosition = new int[rows.length * seq];
    for (int b = 0; b < rows.length; b++) {
      System.arraycopy(rows[b], 0, flat, b * seq, seq);
      Arrays.fill(perPosition, b * seq, (b + 1) * seq, labels[b]);
    }
    return new LabelledBatch(
        new ForwardRequest(Modality.TEXT, Tensor.ofLongs(flat, rows.length, seq)), perPosition);
  }

  /**
   * Asks {@code memo} about every passage once, in batches, so that the model has answered them
   * all before the market opens; with a cache file, answers computed by an earlier run with the
   * same rows are read from it instead, and fresh ones are written to it.
   *
   * @param cache the file for this model and these rows, or null for none
   * @return true if the answers came from the cache
   * @throws IllegalStateException if the model fails
   * @throws IOException if the cache cannot be written
   */
  public static boolean warm(Peers.Memo memo, long[][] rows, int batch, java.nio.file.Path cache,
      Consumer<Integer> done) throws IOException {
    int seq = rows[0].length;
    if (cache != null && java.nio.file.Files.isReadable(cache)) {
      java.nio.ByteBuffer buf = java.nio.ByteBuffer.wrap(java.nio.file.Files.readAllBytes(cache))
          .order(java.nio.ByteOrder.LITTLE_ENDIAN);
      int dim = buf.capacity() / 4 / rows.length;
      if (dim * 4L * rows.length == buf.capacity() && dim > 0) {
        float[] all = new float[rows.length * dim];
        buf.asFloatBuffer().get(all);
        for (int i = 0; i < rows.length; i++) {
          float[] one = new float[seq * dim];
          for (int t = 0; t < seq; t++) {
            System.arraycopy(all, i * dim, one, t * dim, dim);
          }
          memo.remember(batch(new long[][] {rows[i]}, new int[1]).request(),
              Tensor.ofFloats(one, 1, seq, dim));
        }
        done.accept(rows.length);
        return true;
      }
    }
    float[] pooled = null;
    int dim = 0;
    for (int from = 0; from < rows.length; from += batch) {
      int to = Math.min(rows.length, from + batch);
      LabelledBatch b = batch(Arrays.copyOfRange(rows, from, to), new int[to - from]);
      ForwardResult r = memo.forward(b.request()).join();
      if (!r.isSuccess()) {
        throw new IllegalStateException(memo + " failed: " + r);
      }
      Tensor y = r.output().orElseThrow();
      dim = y.dim(2);
      if (pooled == null) {
        pooled = new float[rows.length * dim];
      }
      float[] v = y.toFloatArray();
      for (int i = 0; i < to - from; i++) {
        // Pooled answers are the same at every position: keep the first.
        System.arraycopy(v, i * seq * dim, pooled, (from + i) * dim, dim);
      }
      done.accept(to);
    }
    if (cache != null) {
      java.nio.ByteBuffer out = java.nio.ByteBuffer.allocate(pooled.length * 4)
          .order(java.nio.ByteOrder.LITTLE_ENDIAN);
      out.asFloatBuffer().put(pooled);
      java.nio.file.Files.createDirectories(cache.toAbsolutePath().getParent());
      DurableFiles.replace(cache, out.array());
    }
    return false;
  }

  /** A name for the cache file of {@code model}'s answers to {@code rows}: their SHA-256. */
  public static String cacheKey(String model, long[][] rows) {
    try {
      java.security.MessageDigest sha = java.security.MessageDigest.getInstance("SHA-256");
      sha.update(model.getBytes(java.nio.charset.StandardCharsets.UTF_8));
      java.nio.ByteBuffer b = java.nio.ByteBuffer.allocate(8);
      for (long[] row : rows) {
        for (long id : row) {
          b.clear();
          sha.update(b.putLong(id).array());
        }
        sha.update((byte) '\n');
      }
      return model + "-" + java.util.HexFormat.of().formatHex(sha.digest(), 0, 8) + ".f32";
    } catch (java.security.NoSuchAlgorithmException e) {
      throw new IllegalStateException("the JDK lacks SHA-256", e);
    }
  }

  private static double cabalShare(Metagraph m, Set<PeerId> cabal) {
    double total = 0;
    double mine = 0;
    for (PeerState p : m.peers()) {
      total += p.stake();
      if (cabal.contains(p.id())) {
        mine += p.stake();
      }
    }
    return total == 0 ? 0 : mine / total;
  }

  private static Keypair keypair(Random random) {
    byte[] seed = new byte[32];
    random.nextBytes(seed);
    return Keypair.fromSeed(seed);
  }

  private static String percent(double[] xs) {
    StringBuilder sb = new StringBuilder();
    for (double x : xs) {
      sb.append(sb.length() == 0 ? "" : " ").append(String.format("%.1f%%", 100 * x));
    }
    return sb.toString();
  }
}
