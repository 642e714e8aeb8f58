package io.bittensor.examples;

import io.bittensor.core.ForwardRequest;
import io.bittensor.core.ForwardResult;
import io.bittensor.core.Modality;
import io.bittensor.core.Peer;
import io.bittensor.core.Tensor;
import io.bittensor.core.TensorStandard;
import io.bittensor.learning.Adam;
import io.bittensor.learning.Evaluation;
import io.bittensor.learning.Learner;
import io.bittensor.learning.MlpDistiller;
import io.bittensor.learning.NnOps;
import io.bittensor.learning.NoisyTopKGate;
import io.bittensor.learning.ProbeMeasure;
import io.bittensor.learning.StepResult;
import io.bittensor.learning.TrainableMlp;
import io.bittensor.learning.WeightSource;
import io.bittensor.onnx.Mlp;
import io.bittensor.onnx.OnnxExport;
import io.bittensor.onnx.OnnxPeer;
import io.bittensor.onnx.TensorInput;
import io.bittensor.transport.InProcessNetwork;
import io.bittensor.transport.PeerClient;
import io.bittensor.transport.PeerServer;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.EnumMap;
import java.util.HashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Random;
import java.util.SplittableRandom;
import java.util.function.Consumer;
import java.util.function.ToDoubleFunction;
import java.util.stream.IntStream;
import org.apache.commons.math3.stat.correlation.SpearmansCorrelation;

/**
 * A market of twelve ONNX peers on Fashion-MNIST, and a neuron that learns from it (paper,
 * sections 7 to 9): every peer is a network trained here in Java, written as ONNX and served as an
 * {@link OnnxPeer} by a {@link PeerServer} (over HTTP on loopback sockets in the full run, in
 * process in the reduced one); the neuron routes each of its examples to 2 of the 12 through a
 * {@link NoisyTopKGate}, learns a head on the joined answers, turns what it learned into weight
 * rows, and distils the network into a student that answers offline.
 *
 * <pre>
 * mvn -B -q -pl examples -am package -DskipTests dependency:build-classpath \
 *     -Dmdep.outputFile=target/classpath.txt
 * java -cp "examples/target/classes:$(cat examples/target/classpath.txt)" \
 *     io.bittensor.examples.LearningMarket full target/learning-market
 * </pre>
 *
 * <p>The data: the vendored Fashion-MNIST test split (10,000 images), permuted with the run's
 * seed; the first {@code poolSize} images are the peers' to train on, the next {@code trainSize}
 * the neuron's, the next {@code testSize} held out for every accuracy reported.
 *
 * <p>The peers: two strong generalists, each seeing part of the image (the top 16 rows, the
 * bottom 16); a copycat answering exactly as the first; a flaky strong generalist seeing the
 * middle 16 rows that times out on half its calls; a medium generalist trained on fewer images; two
 * niche specialists that only separate the hard classes (T-shirt/shirt, and pullover/coat/shirt)
 * and answer a uniform distribution over the other classes; three weak generalists trained on a
 * few dozen images; two pure-noise peers trained on random labels. What it measures, on held-out
 * images: the gated network's accuracy against the best single peer and a dense mixture of all
 * twelve; bytes received with top-2 against dense; the Spearman correlation of each weight source
 * (gate importance, pruning score, compensated pruning score, rerouted loss) with each peer's true
 * value, the held-out accuracy lost when the peer is removed and the neuron retrained, the
 * bytes the rerouted loss's probes add to training, and how the probe ranks the peers when it
 * measures accuracy rather than loss ({@link ProbeComparison}); the student's accuracy, and its
 * speed offline against a network query. {@link Config#reduced()} is the same market at a
 * smaller size, for the test suite. Everything is seeded; the results are in {@code
 * docs/learning.md}.
 *
 * <p>The neuron calls anonymously: the market measures learning, not signing; the servers'
 * checks, admission and status codes are otherwise those of a signed call.
 */
public final class LearningMarket {
  private static final int CLASSES = 10;
  private static final int PIXELS = FashionMnist.PIXELS;
  private static final int EVAL_BATCH = 250;
  /** Passes of the head that reads a peer's answers alone. */
  private static final int READ_EPOCHS = 60;

  private LearningMarket() {}

  /**
   * The sizes of a run.
   *
   * @param name for the report
   * @param seed the seed of everything: splits, peer training, gates, heads, the flaky draws
   * @param poolSize images the peers train on (each peer draws its own subset)
   * @param trainSize the neuron's own labelled images
   * @param testSize held-out images every accuracy is measured on
   * @param strongExamples images of each strong generalist
   * @param strongHidden hidden units of the strong generalists and niche specialists
   * @param mediumExamples images of the medium generalist
   * @param weakExamples images of each weak generalist
   * @param noiseExamples images (with random labels) of each noise peer
   * @param peerEpochs passes over its data each peer trains
   * @param neuronEpochs passes over its data the neuron trains
   * @param batch the neuron's batch size
   * @param valueSeeds seeds averaged in each peer's true value
   * @param retrainEpochs passes the neuron trains on after a peer is removed
   * @param distillEpochs passes of distillation after training
   * @param flakyRate the flaky peer's probability of timing out
   * @param flakyHangs true: its failures wait out the deadline; false: TIMEOUT at once
   * @param timeout the neuron's deadline per peer
   * @param loopback true: the peers are served over HTTP on loopback sockets; false: through the
   *     in-process transport (same protocol and checks, no sockets)
   * @param probeEvery the top-2 neurons probe every this many training batches for the rerouted
   *     loss ({@link Learner.Builder#probeEvery}); the dense neuron and the retrained copies, whose
   *     rows are not reported, do not probe
   * @param failureWeight the weight of every neuron's gate failure loss ({@link
   *     NoisyTopKGate.Builder#failureWeight}; 0 turns it off)
   * @param studentFallback every neuron's own student, fitted as it trains, answers in each
   *     failed peer's slot ({@link NoisyTopKGate.Builder#fallback}); the retrained copies start
   *     from a copy of their neuron's student
   * @param balanceWeight the weight of the importance and load balancing losses of every neuron
   *     that routes with noise, after the warm-up ({@link NoisyTopKGate.Builder#importanceWeight},
   *     {@link NoisyTopKGate.Builder#loadWeight}; 0 turns them off)
   * @param warmupBalanceWeight their weight in the warm-up ({@link
   *     NoisyTopKGate.Builder#balanceWarmup})
   * @param warmupEpochs the passes of the warm-up (0: none)
   * @param pureNoise true: the noise peers answer pure noise ({@link
   *     LearningMarket#pureNoisePeer}); false: they are networks trained on random labels, whose
   *     answers a head can still read (see {@code docs/learning.md})
   */
  public record Config(String name, long seed, int poolSize, int trainSize, int testSize,
      int strongExamples, int strongHidden, int mediumExamples, int weakExamples,
      int noiseExamples, int peerEpochs, int neuronEpochs, int batch, int valueSeeds,
      int retrainEpochs, int distillEpochs, double flakyRate, boolean flakyHangs, Duration timeout,
      boolean loopback, int probeEvery, double failureWeight, boolean studentFallback,
      double balanceWeight, double warmupBalanceWeight, int warmupEpochs, boolean pureNoise) {
    /** The full market of {@code docs/learning.md}. */
    public static Config full() {
      return new Config("full", 2026, 6000, 2000, 2000, 1500, 64, 400, 60, 600, 15, 15, 50, 32,
          5, 30, 0.5, false, Duration.ofSeconds(2), true, Learner.DEFAULT_PROBE_EVERY, 0, false,
          0.01, 0.05, 10, false);
    }

    /**
     * The same market drawn with another seed: another split of the images, other peers' models,
     * other neurons. Tells what holds for the market's kinds of peers from what holds for one draw.
     */
    public Config withSeed(long s) {
      return edited(o -> o.seed = s);
    }

    /** This run with the peers served over loopback sockets ({@code true}) or in process. */
    public Config withLoopback(boolean on) {
      return edited(o -> o.loopback = on);
    }

    /** This run with {@code seeds} retraining seeds averaged in each peer's true value. */
    public Config withValueSeeds(int seeds) {
      if (seeds < 1) {
        throw new IllegalArgumentException("valueSeeds must be >= 1, was " + seeds);
      }
      return edited(o -> o.valueSeeds = seeds);
    }

    /** This run with the top-2 neurons probing every {@code m} training batches. */
    public Config withProbeEvery(int m) {
      if (m < 1) {
        throw new IllegalArgumentException("probeEvery must be >= 1, was " + m);
      }
      return edited(o -> o.probeEvery = m);
    }

    /** This run with every neuron's gate weighing failures by {@code w} (0: not at all). */
    public Config withFailureWeight(double w) {
      if (!(w >= 0) || Double.isInfinite(w)) {
        throw new IllegalArgumentException("failureWeight must be finite and >= 0, was " + w);
      }
      return edited(o -> o.failureWeight = w);
    }

    /** This run with (true) or without every neuron's student answering for failed peers. */
    public Config withStudentFallback(boolean on) {
      return edited(o -> o.studentFallback = on);
    }

    /**
     * This run with every noisy neuron's balancing losses weighted by {@code w} in the first
     * {@code epochs} passes (0: no warm-up).
     */
    public Config withBalanceWarmup(double w, int epochs) {
      if (!(w >= 0) || Double.isInfinite(w) || epochs < 0 || epochs > neuronEpochs) {
        throw new IllegalArgumentException("the warm-up needs a finite weight >= 0 and 0 to "
            + neuronEpochs + " passes, was " + w + " for " + epochs);
      }
      return edited(o -> {
        o.warmupBalanceWeight = w;
        o.warmupEpochs = epochs;
      });
    }

    /**
     * This run with every noisy neuron's balancing losses weighted by {@code w} (0: off) after the
     * warm-up.
     */
    public Config withBalanceWeight(double w) {
      if (!(w >= 0) || Double.isInfinite(w)) {
        throw new IllegalArgumentException("balanceWeight must be finite and >= 0, was " + w);
      }
      return edited(o -> o.balanceWeight = w);
    }

    /**
     * This run with the neurons training {@code epochs} passes (the warm-up, if any, keeping its
     * length); the retrained copies' passes are unchanged.
     */
    public Config withNeuronEpochs(int epochs) {
      if (epochs < 1 || epochs < warmupEpochs) {
        throw new IllegalArgumentException("neuronEpochs must be >= 1 and at least the warm-up's "
            + warmupEpochs + " passes, was " + epochs);
      }
      return edited(o -> o.neuronEpochs = epochs);
    }

    /**
     * This run with pure-noise peers ({@code true}) or with noise peers trained on random labels
     * in their places.
     */
    public Config withPureNoise(boolean on) {
      return edited(o -> o.pureNoise = on);
    }

    /**
     * This run with the copies that measure each peer's true value training {@code epochs} more
     * passes after the peer is removed (5 in the full market; 0: the accuracy lost at once, with
     * no retraining).
     */
    public Config withRetrainEpochs(int epochs) {
      if (epochs < 0) {
        throw new IllegalArgumentException("retrainEpochs must be >= 0, was " + epochs);
      }
      return edited(o -> o.retrainEpochs = epochs);
    }

    /** This run with the flaky peer timing out on a share {@code rate} of its calls. */
    public Config withFlakyRate(double rate) {
      if (!(rate >= 0 && rate <= 1)) {
        throw new IllegalArgumentException("flakyRate must be in [0, 1], was " + rate);
      }
      return edited(o -> o.flakyRate = rate);
    }

    /** This market with the run options that {@code edit} sets on a copy of them changed. */
    private Config edited(Consumer<Options> edit) {
      Options o = new Options(this);
      edit.accept(o);
      return o.config();
    }

    /**
     * The run options, as a mutable copy of a config's, so that each {@code with} method names
     * only what it changes; the market's sizes stay as they were.
     */
    private static final class Options {
      private final Config market;
      long seed;
      boolean loopback;
      int valueSeeds;
      int probeEvery;
      double failureWeight;
      boolean studentFallback;
      double balanceWeight;
      double warmupBalanceWeight;
      int warmupEpochs;
      int neuronEpochs;
      boolean pureNoise;
      double flakyRate;
      int retrainEpochs;

      Options(Config c) {
        market = c;
        seed = c.seed;
        loopback = c.loopback;
        valueSeeds = c.valueSeeds;
        probeEvery = c.probeEvery;
        failureWeight = c.failureWeight;
        studentFallback = c.studentFallback;
        balanceWeight = c.balanceWeight;
        warmupBalanceWeight = c.warmupBalanceWeight;
        warmupEpochs = c.warmupEpochs;
        neuronEpochs = c.neuronEpochs;
        pureNoise = c.pureNoise;
        flakyRate = c.flakyRate;
        retrainEpochs = c.retrainEpochs;
      }

      Config config() {
        Config m = market;
        return new Config(m.name, seed, m.poolSize, m.trainSize, m.testSize, m.strongExamples,
            m.strongHidden, m.mediumExamples, m.weakExamples, m.noiseExamples, m.peerEpochs,
            neuronEpochs, m.batch, valueSeeds, retrainEpochs, m.distillEpochs, flakyRate,
            m.flakyHangs, m.timeout, loopback, probeEvery, failureWeight, studentFallback,
            balanceWeight, warmupBalanceWeight, warmupEpochs, pureNoise);
      }
    }

    /**
     * The same market, smaller and faster, for the default test suite. Without the balancing
     * warm-up: on 1,000 images and 8 passes, 0.05 for the first 5 left the neuron 2.1 points
     * behind the dense mixture and a noise peer 1.1% of gate importance.
     */
    public static Config reduced() {
      return new Config("reduced", 2026, 3000, 1000, 1000, 600, 32, 200, 40, 300, 10, 8, 50, 2,
          3, 10, 0.5, false, Duration.ofSeconds(2), false, Learner.DEFAULT_PROBE_EVERY, 0, false,
          0.01, 0, 0, false);
    }
  }

  /** What kind of peer a row is. */
  public enum Kind { STRONG, COPYCAT, FLAKY, MEDIUM, NICHE, WEAK, NOISE }

  /**
   * One peer's line of the report.
   *
   * @param name its name
   * @param kind its kind
   * @param modelAccuracy its own model's held-out accuracy (argmax of its answer)
   * @param readAccuracy the held-out accuracy of a head trained on its answers alone (a head like
   *     the neuron's, on the neuron's images): what its answers tell about the class, whatever
   *     their argmax says ({@link LearningMarket#readAccuracy}; the flaky peer's model asked
   *     directly, without its failures)
   * @param importance its share of the gate importance weight row
   * @param pruning its share of the pruning score weight row
   * @param compensated its share of the compensated pruning score weight row
   * @param standIn its share of the stand-in pruning score weight row
   * @param rerouted its share of the rerouted loss weight row
   * @param trueValue held-out accuracy lost (fraction) when it is removed and the neuron retrained
   * @param trueValueError its standard error over the retraining seeds (NaN with one seed)
   * @param lossValue held-out cross-entropy gained (nats per image) in the same retrainings
   */
  public record PeerRow(String name, Kind kind, double modelAccuracy, double readAccuracy,
      double importance, double pruning, double compensated, double standIn, double rerouted,
      double trueValue, double trueValueError, double lossValue) {
    /** Its share of the weight row from {@code source}. */
    public double weight(WeightSource source) {
      return switch (source) {
        case GATE_IMPORTANCE -> importance;
        case PRUNING_SCORE -> pruning;
        case COMPENSATED_PRUNING_SCORE -> compensated;
        case STAND_IN_PRUNING_SCORE -> standIn;
        case REROUTED_LOSS -> rerouted;
      };
    }
  }

  /**
   * How one weight source's rows rank the peers one neuron at a time: the Spearman correlation
   * with the true value of each retrained neuron's own row, as a mean with its standard error
   * over those neurons, and its paired difference from the rerouted loss's on the same neurons.
   * One neuron's row is what a validator submits, and the reported neuron's is one draw of it.
   *
   * @param source the weight source
   * @param perNeuron each retrained neuron's own row: the mean
   * @param perNeuronError its standard error (NaN with one neuron)
   * @param minusRerouted each neuron's own row, this source's minus the rerouted loss's: the mean
   * @param minusReroutedError its standard error (NaN with one neuron)
   * @param ownTruth each neuron's own row against that neuron's own true value (the accuracy its
   *     own retrained copies lost, rather than the average over all the neurons): the mean
   * @param ownTruthError its standard error (NaN with one neuron)
   * @param averagedRow the source's row averaged over the retrained neurons, one share per peer:
   *     what a typical neuron gives each peer, where the reported row is one neuron's draw
   * @param noiseUnderBar the fraction of the retrained neurons whose own row gives every noise
   *     peer under 1% (the bar, asked of each neuron rather than of the reported one)
   * @param nicheOverWeak the fraction whose own row gives the niche specialists more per peer
   *     than the weak generalists
   */
  public record SourceSpread(WeightSource source, double perNeuron, double perNeuronError,
      double minusRerouted, double minusReroutedError, double ownTruth, double ownTruthError,
      double[] averagedRow, double noiseUnderBar, double nicheOverWeak) {
    /** Copies the row. */
    public SourceSpread {
      averagedRow = averagedRow.clone();
    }

    /** A copy of the averaged row. */
    @Override
    public double[] averagedRow() {
      return averagedRow.clone();
    }
  }

  /** How many times {@link #resample} draws the retraining seeds. */
  static final int RESAMPLES = 1000;

  /**
   * A weight row's Spearman correlation with true values recomputed from the retraining seeds
   * drawn again with replacement ({@link #RESAMPLES} times): what the same row scores against
   * true values as noisy as the measured one. Peers worth about nothing trade places from draw
   * to draw, so one Spearman can sit near a bar by luck; this says how near.
   *
   * @param low the 5th percentile
   * @param median the median
   * @param high the 95th percentile
   * @param bar the bar for the source: 0.8 for gate importance, 0.9 for the others
   * @param atOrAboveBar the share of the draws at or above the bar
   */
  public record Resampled(double low, double median, double high, double bar,
      double atOrAboveBar) {}

  /** The bar: 0.8 for gate importance, 0.9 for the pruning score (and the others). */
  static double bar(WeightSource source) {
    return source == WeightSource.GATE_IMPORTANCE ? 0.8 : 0.9;
  }

  /**
   * Each row's {@link Resampled} against the seeds' own true values ({@code perSeed}, one array
   * of accuracy lost per peer for each retraining seed), the seeds drawn with {@code seed}.
   */
  static Map<WeightSource, Resampled> resample(Map<WeightSource, double[]> rows,
      List<double[]> perSeed, long seed) {
    return redraw(rows, perSeed, seed, LearningMarket::bar);
  }

  /**
   * The true value's own noise as a ceiling: the measured true value, taken as a weight row,
   * against the same redraws of the seeds as {@link #resample} makes (bar 0.9). By the bootstrap's
   * reasoning a redraw stands to the measured value as the measured value stands to the value
   * with endless seeds, so this is about what a row that knew the peers' worth exactly would
   * score against the measured one: how much of a bar the truth's noise alone uses up.
   */
  static Resampled ceiling(List<double[]> perSeed, long seed) {
    return redraw(Map.of("true value", meanOf(perSeed)), perSeed, seed, k -> 0.9)
        .get("true value");
  }

  /** Each peer's mean over the seeds. */
  static double[] meanOf(List<double[]> perSeed) {
    double[] mean = new double[perSeed.get(0).length];
    for (double[] v : perSeed) {
      for (int j = 0; j < mean.length; j++) {
        mean[j] += v[j] / perSeed.size();
      }
    }
    return mean;
  }

  /** Each peer's standard error of the mean over the seeds (NaN with one seed). */
  static double[] standardErrorOf(List<double[]> perSeed) {
    double[] error = new double[perSeed.get(0).length];
    for (int j = 0; j < error.length; j++) {
      int p = j;
      error[j] = standardError(perSeed.stream().mapToDouble(v -> v[p]).toArray());
    }
    return error;
  }

  private static <K> Map<K, Resampled> redraw(Map<K, double[]> rows, List<double[]> perSeed,
      long seed, ToDoubleFunction<K> bar) {
    SpearmansCorrelation rho = new SpearmansCorrelation();
    SplittableRandom r = new SplittableRandom(seed);
    int seeds = perSeed.size();
    Map<K, double[]> draws = new HashMap<>();
    rows.keySet().forEach(w -> draws.put(w, new double[RESAMPLES]));
    for (int d = 0; d < RESAMPLES; d++) {
      List<double[]> drawn = new ArrayList<>(seeds);
      for (int i = 0; i < seeds; i++) {
        drawn.add(perSeed.get(r.nextInt(seeds)));
      }
      double[] value = meanOf(drawn);
      for (var e : rows.entrySet()) {
        draws.get(e.getKey())[d] = rho.correlation(e.getValue(), value);
      }
    }
    Map<K, Resampled> out = new HashMap<>();
    draws.forEach((w, x) -> {
      double[] sorted = x.clone();
      Arrays.sort(sorted);
      double b = bar.applyAsDouble(w);
      long above = Arrays.stream(sorted).filter(v -> v >= b).count();
      out.put(w, new Resampled(sorted[(int) (0.05 * (RESAMPLES - 1))],
          sorted[(RESAMPLES - 1) / 2], sorted[(int) Math.ceil(0.95 * (RESAMPLES - 1))], b,
          above / (double) RESAMPLES));
    });
    return out;
  }

  /**
   * How the rerouted probe ranks the peers when it scores them in one {@link ProbeMeasure}
   * ({@link Learner#reroutedScores}; {@link ProbeMeasure#LOSS} is the {@link
   * WeightSource#REROUTED_LOSS}). Each figure is a Spearman correlation with the true value (the
   * accuracy lost) of the weight row the scores make: the reported neuron's row, the row averaged
   * over the retrained neurons, and each retrained neuron's own row, whose mean and standard error
   * over those neurons say how a single neuron's row ranks, and by how much the measure differs
   * from the loss on the same neurons (paired).
   *
   * @param measure what the probe measures
   * @param reported the reported neuron's row
   * @param reportedLoss the reported neuron's row against the loss value
   * @param averaged the row averaged over the retrained neurons
   * @param perNeuron each retrained neuron's own row: the mean
   * @param perNeuronError its standard error (NaN with one neuron)
   * @param minusLoss each neuron's own row, this measure's minus the loss's: the mean
   * @param minusLossError its standard error (NaN with one neuron)
   * @param averagedRow the row averaged over the retrained neurons, one share per peer
   */
  public record ProbeComparison(ProbeMeasure measure, double reported, double reportedLoss,
      double averaged, double perNeuron, double perNeuronError, double minusLoss,
      double minusLossError, double[] averagedRow) {
    /** Copies the row. */
    public ProbeComparison {
      averagedRow = averagedRow.clone();
    }

    /** A copy of the averaged row. */
    @Override
    public double[] averagedRow() {
      return averagedRow.clone();
    }
  }

  /**
   * The measurements of a run.
   *
   * @param config the sizes
   * @param peers one row per peer
   * @param gatedAccuracy the top-2 gated neuron's held-out accuracy
   * @param denseAccuracy the dense mixture's (all twelve asked for every example)
   * @param bestSingle the best single peer's name
   * @param bestSingleAccuracy its held-out accuracy
   * @param gatedFallbackRows held-out images the reported neuron's student answered in a failed
   *     peer's slot ({@link Config#studentFallback}; 0 without)
   * @param retrainedAccuracy the held-out accuracy of the control copies the true value retrains
   *     (top-2, every peer), one per seed: their mean and its standard error. One neuron's
   *     accuracy differs from another's by about a point; this mean tells two settings apart
   * @param gatedBytesReceived answer bytes received over the held-out set, top-2
   * @param denseBytesReceived the same, dense
   * @param gatedBytesSent input bytes sent, top-2
   * @param denseBytesSent input bytes sent, dense
   * @param trainingBytes the reported neuron's training traffic: {answer bytes received, input
   *     bytes sent} by its top-2 routing, then {received, sent} by its probes
   * @param spearman Spearman(weight, true value) for each weight source
   * @param spearmanLoss Spearman(weight, loss value) for each weight source
   * @param spearmanAveraged Spearman(weight row averaged over the neurons the true value
   *     retrains, true value) for each weight source
   * @param resampled for each weight source, how far the reported neuron's Spearman with the true
   *     value moves with the true value's own noise ({@link Resampled})
   * @param ceiling the measured true value itself against the same redraws ({@link #ceiling}):
   *     about what a row that knew each peer's worth exactly would score
   * @param twinCorrelation the correlation of strong-top's and copycat's entries of the reported
   *     neuron's Fisher matrix ({@link Learner#fisher()}): how often the two are asked together
   * @param standInTwinCorrelation in the reported neuron's {@link Learner#standInFisher(int)} of
   *     strong-top, the correlation of its routed multiplier with copycat's stand-in multiplier;
   *     then the same in copycat's with strong-top standing in: how well each sees the other
   *     replace it
   * @param spearmanRerouted Spearman(rerouted leave-one-out estimate, true value), not a weight
   *     source (see {@code reroutedLeaveOneOut}): {accuracy lost, loss gained} on the reported
   *     neuron, then both averaged over the retrained neurons
   * @param probeMeasures how the rerouted probe ranks the peers in each {@link ProbeMeasure}
   * @param perNeuron how each weight source ranks the peers one retrained neuron at a time
   * @param studentAccuracy the student's held-out accuracy, through the neuron's head, served as an
   *     OnnxPeer
   * @param studentOneMicros median time for one image: the student OnnxPeer and the head
   * @param networkOneMicros median time for one image: a network query and the head
   * @param studentBatchMicros median time for a batch of 64 images, student
   * @param networkBatchMicros the same, network
   * @param seconds the run's wall time
   */
  public record Result(Config config, List<PeerRow> peers, double gatedAccuracy,
      double denseAccuracy, String bestSingle, double bestSingleAccuracy, int gatedFallbackRows,
      double[] retrainedAccuracy, long gatedBytesReceived,
      long denseBytesReceived, long gatedBytesSent, long denseBytesSent, long[] trainingBytes,
      Map<WeightSource, Double> spearman, Map<WeightSource, Double> spearmanLoss,
      Map<WeightSource, Double> spearmanAveraged, Map<WeightSource, Resampled> resampled,
      Resampled ceiling, double twinCorrelation,
      double[] standInTwinCorrelation, double[] spearmanRerouted,
      List<ProbeComparison> probeMeasures, List<SourceSpread> perNeuron, double studentAccuracy,
      double studentOneMicros, double networkOneMicros, double studentBatchMicros,
      double networkBatchMicros, double seconds) {
    /** Copies the maps. */
    public Result {
      spearman = Map.copyOf(spearman);
      spearmanLoss = Map.copyOf(spearmanLoss);
      spearmanAveraged = Map.copyOf(spearmanAveraged);
      resampled = Map.copyOf(resampled);
      spearmanRerouted = spearmanRerouted.clone();
      standInTwinCorrelation = standInTwinCorrelation.clone();
      probeMeasures = List.copyOf(probeMeasures);
      perNeuron = List.copyOf(perNeuron);
      trainingBytes = trainingBytes.clone();
      retrainedAccuracy = retrainedAccuracy.clone();
    }

    /** A copy of the control copies' accuracy, {mean, standard error}. */
    @Override
    public double[] retrainedAccuracy() {
      return retrainedAccuracy.clone();
    }

    /** A copy of the training traffic (see the parameter). */
    @Override
    public long[] trainingBytes() {
      return trainingBytes.clone();
    }

    /** The probes' answer bytes as a fraction of the top-2 routing's, in training. */
    public double probeOverhead() {
      return trainingBytes[2] / (double) trainingBytes[0];
    }

    /** The summed share of a weight source held by peers of {@code kind}. */
    public double share(Kind kind, WeightSource source) {
      return peers.stream().filter(p -> p.kind() == kind)
          .mapToDouble(p -> p.weight(source))
          .sum();
    }

    /** The largest share one peer of {@code kind} holds. */
    public double maxShare(Kind kind, WeightSource source) {
      return peers.stream().filter(p -> p.kind() == kind)
          .mapToDouble(p -> p.weight(source))
          .max().orElse(0);
    }

    /** The fraction of answer bytes that top-2 saves against dense. */
    public double bytesSaved() {
      return 1 - gatedBytesReceived / (double) denseBytesReceived;
    }
  }

  /**
   * The run the command line asks for: {@code full} or {@code reduced}, the output folder, then
   * the options {@link #main} lists.
   *
   * @throws IllegalArgumentException naming an option it does not know or whose value it cannot
   *     read
   */
  static Config config(String[] args) {
    Config c = args.length > 0 && args[0].equals("reduced") ? Config.reduced() : Config.full();
    for (int i = 2; i < args.length; i++) {
      try {
        c = option(c, args[i]);
      } catch (NumberFormatException e) {
        throw new IllegalArgumentException("cannot read " + args[i] + ": " + e.getMessage(), e);
      }
    }
    return c;
  }

  /** {@code c} with one option of the command line applied. */
  private static Config option(Config c, String arg) {
    if (arg.startsWith("value-seeds=")) {
      c = c.withValueSeeds(Integer.parseInt(arg.substring("value-seeds=".length())));
    } else if (arg.startsWith("probe-every=")) {
      c = c.withProbeEvery(Integer.parseInt(arg.substring("probe-every=".length())));
    } else if (arg.startsWith("failure-weight=")) {
      c = c.withFailureWeight(Double.parseDouble(arg.substring("failure-weight=".length())));
    } else if (arg.startsWith("seed=")) {
      c = c.withSeed(Long.parseLong(arg.substring("seed=".length())));
    } else if (arg.startsWith("warmup=")) {
      String[] w = arg.substring("warmup=".length()).split(":");
      if (w.length != 2) {
        throw new IllegalArgumentException("warmup=W:E, a weight and passes, was " + arg);
      }
      c = c.withBalanceWarmup(Double.parseDouble(w[0]), Integer.parseInt(w[1]));
    } else if (arg.startsWith("epochs=")) {
      c = c.withNeuronEpochs(Integer.parseInt(arg.substring("epochs=".length())));
    } else if (arg.startsWith("balance=")) {
      c = c.withBalanceWeight(Double.parseDouble(arg.substring("balance=".length())));
    } else if (arg.startsWith("flaky-rate=")) {
      c = c.withFlakyRate(Double.parseDouble(arg.substring("flaky-rate=".length())));
    } else if (arg.startsWith("retrain-epochs=")) {
      c = c.withRetrainEpochs(Integer.parseInt(arg.substring("retrain-epochs=".length())));
    } else if (arg.equals("student-fallback")) {
      c = c.withStudentFallback(true);
    } else if (arg.equals("noise=pure") || arg.equals("noise=random-labels")) {
      c = c.withPureNoise(arg.equals("noise=pure"));
    } else if (arg.equals("loopback") || arg.equals("in-process")) {
      c = c.withLoopback(arg.equals("loopback"));
    } else {
      throw new IllegalArgumentException("unknown option " + arg + "; the options are"
          + " value-seeds=N, probe-every=M, failure-weight=W, seed=S, warmup=W:E, epochs=N,"
          + " balance=W, flaky-rate=R, retrain-epochs=N, student-fallback,"
          + " noise=pure|random-labels, loopback, in-process");
    }
    return c;
  }

  /**
   * Runs the market: {@code full} (default) or {@code reduced}; writes {@code learning.md} (the
   * tables), {@code learning-peers.csv} and {@code learning-weights.png} to the folder given
   * (default {@code target/learning-market}). Options after the folder: {@code loopback} or
   * {@code in-process} (the transport), {@code value-seeds=N} (seeds averaged in a true value),
   * {@code probe-every=M} (how often the top-2 neurons probe for the rerouted loss), {@code
   * failure-weight=W} (the gates' failure loss; 0 turns it off), {@code student-fallback} (every
   * neuron's student answers in its failed peers' slots), {@code balance=W} (the noisy neurons'
   * importance and load balancing weight after the warm-up, 0.01 by default), {@code warmup=W:E}
   * (their weight W in the first E passes; 0.05 for 10 of 15 in {@code full}, {@code warmup=0:0}
   * turns it off), {@code seed=N} (the market drawn with another seed; 2026 by default),
   * {@code epochs=N} (the neurons' training passes; 15 by default), {@code noise=pure} (pure-noise
   * peers in the noise peers' places; {@code noise=random-labels}, the default, trains them on
   * random labels), {@code flaky-rate=R} (the share of the flaky peer's calls that time out;
   * 0.5 by default), {@code retrain-epochs=N} (the passes the true value's copies train after a
   * peer is removed; 5 by default, 0 for the accuracy lost at once). An option it does not know
   * or cannot read ends it with exit code 2, saying which.
   */
  public static void main(String[] args) throws Exception {
    Config c;
    try {
      c = config(args);
    } catch (IllegalArgumentException e) {
      // An option mistyped is the user's error: say which, not a stack trace.
      System.err.println("LearningMarket: " + e.getMessage());
      System.exit(2);
      return;
    }
    Path out = Path.of(args.length > 1 ? args[1] : "target/learning-market");
    long t0 = System.nanoTime();
    Result r = run(c, line -> System.out.printf(Locale.ROOT, "[%6.1f s] %s%n",
        (System.nanoTime() - t0) / 1e9, line));
    Files.createDirectories(out);
    Files.writeString(out.resolve("learning.md"), LearningMarketReport.markdown(r));
    Files.writeString(out.resolve("learning-peers.csv"), LearningMarketReport.csv(r));
    LearningMarketReport.plot(r, out.resolve("learning-weights.png"));
    System.out.println(LearningMarketReport.markdown(r));
    System.out.println("wrote " + out.toAbsolutePath());
  }

  /**
   * Builds the market, trains the neuron and measures it.
   *
   * @param progress told what is happening, one line at a time
   * @throws IOException if the data cannot be read or a model not built
   */
  public static Result run(Config c, Consumer<String> progress) throws IOException {
    long start = System.nanoTime();
    FashionMnist data = FashionMnist.testSplit();
    int[] order = permutation(data.size(), new SplittableRandom(c.seed()));
    int[] pool = Arrays.copyOfRange(order, 0, c.poolSize());
    int[] train = Arrays.copyOfRange(order, c.poolSize(), c.poolSize() + c.trainSize());
    int[] test = Arrays.copyOfRange(order, c.poolSize() + c.trainSize(),
        c.poolSize() + c.trainSize() + c.testSize());

    List<String> names = new ArrayList<>();
    List<Kind> kinds = new ArrayList<>();
    List<Mlp> models = trainPeers(c, data, pool, names, kinds, progress);
    try (Market market = new Market(c, models, names, kinds)) {
      int n = models.size();
      double[] modelAccuracy = new double[n];
      double[] readAccuracy = new double[n];
      for (int j = 0; j < n; j++) {
        // Asked once for the held-out images: its argmax and the reading head both score them.
        float[] heldOut = answers(market.direct.get(j), data, test);
        modelAccuracy[j] = accuracy(heldOut, data.labels(test));
        readAccuracy[j] = readAccuracy(answers(market.direct.get(j), data, train),
            data.labels(train), heldOut, data.labels(test), c.seed() + 5);
      }
      progress.accept("peers serving: " + names + ", held-out accuracies "
          + Arrays.toString(Arrays.stream(modelAccuracy).map(a -> Math.round(a * 1000) / 10.0)
              .toArray()));

      MlpDistiller student = student(c.seed() + 99);
      long[] trainingBytes = new long[4];
      Learner gated = neuron(market.served, c, 2, true, c.seed(), student);
      train(gated, c, data, train, c.seed(), 0, c.neuronEpochs(), trainingBytes);
      Evaluation gatedEval = evaluate(gated, data, test);
      progress.accept(String.format(Locale.ROOT, "gated top-2: %.1f%%, %d bytes received",
          100 * gatedEval.accuracy(), gatedEval.bytesReceived()));

      Learner dense = trainNeuron(market.served, c, data, train, n, false, c.seed(), null);
      Evaluation denseEval = evaluate(dense, data, test);
      progress.accept(String.format(Locale.ROOT, "dense: %.1f%%, %d bytes received",
          100 * denseEval.accuracy(), denseEval.bytesReceived()));

      Map<WeightSource, double[]> weights = new EnumMap<>(WeightSource.class);
      for (WeightSource w : WeightSource.values()) {
        weights.put(w, gated.weights(w, 0).toArray());
      }
      double[][] rerouted = reroutedLeaveOneOut(gated, market.local, c, data, train);
      double[][] fisher = gated.fisher();
      // strong-top and copycat are peers 0 and 2 (trainPeers).
      double twins = fisher[0][2] / Math.sqrt(fisher[0][0] * fisher[2][2]);
      // In strong-top's matrix, its routed multiplier against copycat standing in; and the reverse.
      double[] standInTwins = {correlation(gated.standInFisher(0), 0, n + 2),
          correlation(gated.standInFisher(2), 2, n)};
      // Retrained in process: the same servers and answers without the sockets' time.
      TrueValues values = trueValues(market.local, c, data, train, test, progress);
      double[] value = values.accuracy();
      SpearmansCorrelation rho = new SpearmansCorrelation();
      Map<WeightSource, Double> spearman = new EnumMap<>(WeightSource.class);
      Map<WeightSource, Double> spearmanLoss = new EnumMap<>(WeightSource.class);
      Map<WeightSource, Double> spearmanAveraged = new EnumMap<>(WeightSource.class);
      weights.forEach((w, row) -> {
        spearman.put(w, rho.correlation(row, value));
        spearmanLoss.put(w, rho.correlation(row, values.loss()));
        spearmanAveraged.put(w, rho.correlation(values.rows().get(w), value));
      });
      double[] spearmanRerouted = {rho.correlation(rerouted[1], value),
          rho.correlation(rerouted[0], value),
          rho.correlation(values.reroutedAccuracy(), value),
          rho.correlation(values.reroutedLoss(), value)};
      List<ProbeComparison> probeMeasures = compareProbeMeasures(gated, values);
      List<SourceSpread> perNeuron = spreadPerNeuron(values, kinds);

      for (int e = 0; e < c.distillEpochs(); e++) {
        for (int[] b : batches(train, c.batch(), new SplittableRandom(c.seed() * 7 + e))) {
          gated.distill(new ForwardRequest(Modality.TENSOR, data.batch(b)));
        }
      }
      double studentAccuracy;
      double[] speed;
      Path file = Files.createTempFile("student", ".onnx");
      student.writeOnnx(file);
      try (OnnxPeer studentPeer = servingSettings(OnnxPeer.builder().model(file)).build()) {
        studentAccuracy = studentAccuracy(studentPeer, gated, data, test);
        progress.accept(String.format(Locale.ROOT, "student (ONNX): %.1f%%",
            100 * studentAccuracy));
        speed = timings(gated, studentPeer, data, test);
      } finally {
        Files.deleteIfExists(file);
      }

      List<PeerRow> rows = new ArrayList<>();
      double[] valueError = standardErrorOf(values.ownAccuracy());
      int best = 0;
      for (int j = 0; j < n; j++) {
        rows.add(new PeerRow(names.get(j), kinds.get(j), modelAccuracy[j], readAccuracy[j],
            weights.get(WeightSource.GATE_IMPORTANCE)[j],
            weights.get(WeightSource.PRUNING_SCORE)[j],
            weights.get(WeightSource.COMPENSATED_PRUNING_SCORE)[j],
            weights.get(WeightSource.STAND_IN_PRUNING_SCORE)[j],
            weights.get(WeightSource.REROUTED_LOSS)[j], value[j], valueError[j],
            values.loss()[j]));
        best = modelAccuracy[j] > modelAccuracy[best] ? j : best;
      }
      return new Result(c, List.copyOf(rows), gatedEval.accuracy(), denseEval.accuracy(),
          names.get(best), modelAccuracy[best], gatedEval.fallbackRows(),
          new double[] {mean(values.controlAccuracy()), standardError(values.controlAccuracy())},
          gatedEval.bytesReceived(),
          denseEval.bytesReceived(), gatedEval.bytesSent(), denseEval.bytesSent(), trainingBytes,
          spearman,
          spearmanLoss, spearmanAveraged, resample(weights, values.ownAccuracy(), c.seed()),
          ceiling(values.ownAccuracy(), c.seed()), twins, standInTwins, spearmanRerouted,
          probeMeasures, perNeuron, studentAccuracy, speed[0], speed[1], speed[2], speed[3],
          (System.nanoTime() - start) / 1e9);
    }
  }

  private static double correlation(double[][] f, int a, int b) {
    return f[a][b] / Math.sqrt(f[a][a] * f[b][b]);
  }

  /** Trains the twelve peers' networks, filling in their names and kinds. */
  private static List<Mlp> trainPeers(Config c, FashionMnist data, int[] pool, List<String> names,
      List<Kind> kinds, Consumer<String> progress) {
    List<Mlp> models = new ArrayList<>();
    long s = c.seed();
    int h = c.strongHidden();
    int n = c.strongExamples();
    // The strong generalists each see their own part of the image (their own sensor, as peers in
    // a market hold different data): no one of them is enough, two together do better.
    Mlp top = trainPeer(data, sample(pool, n, s + 1), rows(0, 16), null, h, c, s + 1);
    add(models, names, kinds, top, "strong-top", Kind.STRONG);
    add(models, names, kinds, trainPeer(data, sample(pool, n, s + 2), rows(12, 28), null, h, c,
        s + 2), "strong-bottom", Kind.STRONG);
    add(models, names, kinds, top, "copycat", Kind.COPYCAT);
    add(models, names, kinds, trainPeer(data, sample(pool, n, s + 3), rows(6, 22), null, h, c,
        s + 3), "flaky", Kind.FLAKY);
    add(models, names, kinds, trainPeer(data, sample(pool, c.mediumExamples(), s + 4), null,
        null, h / 2, c, s + 4), "medium", Kind.MEDIUM);
    add(models, names, kinds, trainPeer(data, sample(pool, n, s + 5), null,
        nicheTargets(data, sample(pool, n, s + 5), 0, 6), h, c, s + 5), "niche-tops", Kind.NICHE);
    add(models, names, kinds, trainPeer(data, sample(pool, n, s + 6), null,
        nicheTargets(data, sample(pool, n, s + 6), 2, 4, 6), h, c, s + 6), "niche-warm",
        Kind.NICHE);
    for (int w = 1; w <= 3; w++) {
      add(models, names, kinds, trainPeer(data, sample(pool, c.weakExamples(), s + 6 + w), null,
          null, 16, c, s + 6 + w), "weak-" + w, Kind.WEAK);
    }
    for (int z = 1; z <= 2; z++) {
      add(models, names, kinds, c.pureNoise() ? pureNoisePeer(s + 9 + z)
          : randomLabelPeer(data, pool, c, s, z), "noise-" + z, Kind.NOISE);
    }
    progress.accept("trained " + models.size() + " peers");
    return models;
  }

  /** Noise peer {@code z} of the default market: a network trained on random labels. */
  private static Mlp randomLabelPeer(FashionMnist data, int[] pool, Config c, long s, int z) {
    int[] idx = sample(pool, c.noiseExamples(), s + 9 + z);
    SplittableRandom r = new SplittableRandom(s + 19 + z);
    float[] random = new float[idx.length * CLASSES];
    for (int i = 0; i < idx.length; i++) {
      random[i * CLASSES + r.nextInt(CLASSES)] = 1;
    }
    return trainPeer(data, idx, null, random, 32, c, s + 9 + z);
  }

  /**
   * A pure-noise peer: a deep random network in the chaotic regime (twelve tanh layers of 64, the
   * weights' standard deviation 30 over the root of the inputs, then softmax over the classes).
   * Each layer pulls apart what the one before kept close, so the answers to any two images,
   * however alike, are unrelated: a head reads chance from them (9% to 12% on the held-out
   * images, where it reads 58% from a network trained on random labels). Deterministic, since
   * the answer is a function of the pixels (on one machine: the layers amplify any difference in
   * rounding), and a real ONNX model like the others; nothing to train.
   */
  static Mlp pureNoisePeer(long seed) {
    Random r = new Random(seed);
    List<Mlp.Layer> layers = new ArrayList<>();
    int in = PIXELS;
    for (int l = 0; l < 12; l++) {
      layers.add(gaussianDense(r, in, 64, 30 / Math.sqrt(in)));
      layers.add(Mlp.Activation.TANH);
      in = 64;
    }
    layers.add(gaussianDense(r, in, CLASSES, 3 / Math.sqrt(in)));
    layers.add(Mlp.Activation.SOFTMAX);
    return Mlp.of(PIXELS, layers);
  }

  /** A dense layer with Gaussian weights of standard deviation {@code sd} and no bias. */
  private static Mlp.Dense gaussianDense(Random r, int in, int out, double sd) {
    float[][] w = new float[in][out];
    for (float[] row : w) {
      for (int j = 0; j < out; j++) {
        row[j] = (float) (r.nextGaussian() * sd);
      }
    }
    return new Mlp.Dense(w, new float[out]);
  }

  private static void add(List<Mlp> models, List<String> names, List<Kind> kinds, Mlp m,
      String name, Kind kind) {
    models.add(m);
    names.add(name);
    kinds.add(kind);
  }

  /** The pixels of image rows {@code [from, to)}. */
  private static boolean[] rows(int from, int to) {
    boolean[] view = new boolean[PIXELS];
    Arrays.fill(view, from * 28, to * 28, true);
    return view;
  }

  /**
   * A niche specialist's targets: its own classes as they are; every other image a uniform
   * distribution over the other classes. It learns to separate its classes and says nothing
   * about the rest, so its answer mixes into the network's without pulling it anywhere else.
   */
  private static float[] nicheTargets(FashionMnist data, int[] idx, int... niche) {
    float[] t = new float[idx.length * CLASSES];
    for (int i = 0; i < idx.length; i++) {
      int y = data.label(idx[i]);
      if (Arrays.stream(niche).anyMatch(k -> k == y)) {
        t[i * CLASSES + y] = 1;
      } else {
        for (int k = 0; k < CLASSES; k++) {
          int kk = k;
          t[i * CLASSES + k] = Arrays.stream(niche).anyMatch(q -> q == kk) ? 0
              : 1f / (CLASSES - niche.length);
        }
      }
    }
    return t;
  }

  /**
   * A peer's network: 784 -> hidden -> 10 with ReLU, cross-entropy and Adam over its images, then
   * a softmax so that it answers probabilities.
   *
   * @param view the pixels it sees (null: all); the weights of the others stay 0, so the exported
   *     model ignores them too
   * @param targets a distribution per image (null: the images' labels)
   */
  static Mlp trainPeer(FashionMnist data, int[] idx, boolean[] view, float[] targets,
      int hidden, Config c, long seed) {
    TrainableMlp net = TrainableMlp.random(new int[] {PIXELS, hidden, CLASSES},
        Mlp.Activation.RELU, seed);
    if (view != null) {
      float[] w = net.parameters().get(0).values();
      for (int p = 0; p < PIXELS; p++) {
        if (!view[p]) {
          Arrays.fill(w, p * hidden, (p + 1) * hidden, 0f);
        }
      }
    }
    Adam adam = Adam.over(net.parameters(), 1e-3);
    int[] labels = data.labels(idx);
    SplittableRandom r = new SplittableRandom(seed);
    int[] pos = new int[idx.length];
    for (int i = 0; i < pos.length; i++) {
      pos[i] = i;
    }
    float[] p = new float[32 * CLASSES];
    for (int e = 0; e < c.peerEpochs(); e++) {
      shuffle(pos, r);
      for (int b = 0; b < pos.length; b += 32) {
        int rows = Math.min(32, pos.length - b);
        int[] bi = new int[rows];
        for (int i = 0; i < rows; i++) {
          bi[i] = idx[pos[b + i]];
        }
        float[] x = data.pixels(bi);
        if (view != null) {
          for (int i = 0; i < x.length; i++) {
            x[i] = view[i % PIXELS] ? x[i] : 0f;
          }
        }
        float[] logits = net.forward(x, rows);
        // Softmax cross-entropy against a target distribution: d = (softmax - target) / rows.
        NnOps.softmaxRows(logits, rows, CLASSES, p);
        float[] d = new float[rows * CLASSES];
        for (int i = 0; i < rows; i++) {
          for (int k = 0; k < CLASSES; k++) {
            float t = targets != null ? targets[pos[b + i] * CLASSES + k]
                : labels[pos[b + i]] == k ? 1f : 0f;
            d[i * CLASSES + k] = (p[i * CLASSES + k] - t) / rows;
          }
        }
        net.backward(d, false);
        adam.step();
      }
    }
    List<Mlp.Layer> layers = new ArrayList<>(net.toMlp().layers());
    layers.add(Mlp.Activation.SOFTMAX);
    return Mlp.of(PIXELS, layers);
  }

  /**
   * A neuron trained on its own images, querying {@code peers} through a top-k gate.
   *
   * @param without the peers its gate never routes to (none: the whole market)
   */
  static Learner trainNeuron(List<Peer> peers, Config c, FashionMnist data, int[] train, int k,
      boolean noise, long seed, MlpDistiller student, int... without) {
    Learner learner = neuron(peers, c, k, noise, seed, student, without);
    train(learner, c, data, train, seed, 0, c.neuronEpochs(), new long[4]);
    return learner;
  }

  /**
   * An untrained neuron; with {@link Config#studentFallback}, its student (the one given, or its
   * own) answers in its failed peers' slots.
   */
  private static Learner neuron(List<Peer> peers, Config c, int k, boolean noise, long seed,
      MlpDistiller student, int... without) {
    if (c.studentFallback() && student == null) {
      student = student(seed + 99);
    }
    NoisyTopKGate.Builder gate = NoisyTopKGate.builder().peers(peers).k(k).contextDim(PIXELS)
        .outputDim(CLASSES).noise(noise).learningRate(1e-3).seed(seed)
        .failureWeight(c.failureWeight()).exclude(without);
    // Only the noisy neurons balance; the dense one and the retrained copies route as trained.
    double balance = noise ? c.balanceWeight() : 0;
    gate.importanceWeight(balance).loadWeight(balance);
    if (noise) {
      gate.balanceWarmup(c.warmupBalanceWeight(), (long) c.warmupEpochs() * batchesPerEpoch(c));
    }
    if (c.studentFallback()) {
      gate.fallback(student.asPeer());
    }
    Learner.Builder b = Learner.builder()
        .gate(gate.build())
        .head(TrainableMlp.random(new int[] {CLASSES, 32, CLASSES}, Mlp.Activation.RELU, seed))
        .learningRate(3e-3)
        .timeout(c.timeout())
        // Only the noisy top-2 neurons' rows are reported; the others need no probes.
        .probeEvery(noise && k < peers.size() ? c.probeEvery() : 0);
    if (student != null) {
      b.distiller(student);
    }
    return b.build();
  }

  /**
   * Epochs {@code from} to {@code to - 1} of the neuron's training, each in its seeded order.
   *
   * @param bytes adds {received, sent} by routing, then {received, sent} by probes
   */
  private static void train(Learner learner, Config c, FashionMnist data, int[] train, long seed,
      int from, int to, long[] bytes) {
    for (int e = from; e < to; e++) {
      for (int[] batch : batches(train, c.batch(), new SplittableRandom(seed * 1000 + e))) {
        StepResult s = learner.train(new ForwardRequest(Modality.TENSOR, data.batch(batch)),
            data.labels(batch));
        bytes[0] += s.bytesReceived();
        bytes[1] += s.bytesSent();
        bytes[2] += s.probeBytesReceived();
        bytes[3] += s.probeBytesSent();
      }
    }
  }

  /**
   * Each peer's true value: the held-out accuracy lost when it is removed and the neuron
   * retrained, averaged over {@code valueSeeds} seeds; beside it the cross-entropy gained.
   *
   * <p>How, for each seed: the neuron is trained on the whole market; then, from copies of its
   * trained parameters, one copy trains {@code retrainEpochs} more passes with every peer (the
   * control) and one per peer trains them with that peer removed. The peer is removed by
   * excluding it from the gate, which keeps every other peer's index and parameters as they
   * were; the copies route without noise and without the balancing losses, so each differs from
   * the control by the missing peer alone, and a peer the gate never routes to is worth exactly
   * 0. Retraining from scratch instead adds the spread between whole training runs, about a
   * point of accuracy here, more than most peers are worth (see {@code docs/learning.md}).
   */
  private static TrueValues trueValues(List<Peer> peers, Config c, FashionMnist data,
      int[] train, int[] test, Consumer<String> progress) {
    int n = peers.size();
    double[] value = new double[n];
    double[] loss = new double[n];
    Map<WeightSource, double[]> rows = new EnumMap<>(WeightSource.class);
    Map<WeightSource, List<double[]>> ownRows = new EnumMap<>(WeightSource.class);
    for (WeightSource w : WeightSource.values()) {
      rows.put(w, new double[n]);
      ownRows.put(w, new ArrayList<>());
    }
    double[] reroutedLoss = new double[n];
    double[] reroutedAccuracy = new double[n];
    List<double[]> ownValues = new ArrayList<>();
    double[] controlAccuracy = new double[c.valueSeeds()];
    Map<ProbeMeasure, List<double[]>> probeRows = new EnumMap<>(ProbeMeasure.class);
    for (ProbeMeasure m : ProbeMeasure.values()) {
      probeRows.put(m, new ArrayList<>());
    }
    for (int s = 0; s < c.valueSeeds(); s++) {
      long seed = c.seed() + 1000L * s;
      // Trained as the reported neuron is, less its student (which fills in where no peer
      // answered and would make the copies differ from it), unless every neuron has its own
      // student answering for failed peers (studentFallback), which its copies then copy.
      Learner base = trainNeuron(peers, c, data, train, 2, true, seed, null);
      for (WeightSource w : WeightSource.values()) {
        double[] row = base.weights(w, 0).toArray();
        ownRows.get(w).add(row);
        for (int j = 0; j < n; j++) {
          rows.get(w)[j] += row[j] / c.valueSeeds();
        }
      }
      for (ProbeMeasure m : ProbeMeasure.values()) {
        probeRows.get(m).add(probeRow(base, m));
      }
      double[][] rerouted = reroutedLeaveOneOut(base, peers, c, data, train);
      for (int j = 0; j < n; j++) {
        reroutedLoss[j] += rerouted[0][j] / c.valueSeeds();
        reroutedAccuracy[j] += rerouted[1][j] / c.valueSeeds();
      }
      List<float[]> trained = parameters(base).stream().map(float[]::clone).toList();
      Evaluation full = retrained(peers, c, data, train, test, seed, trained);
      controlAccuracy[s] = full.accuracy();
      double[] own = new double[n];
      ownValues.add(own);
      for (int j = 0; j < n; j++) {
        Evaluation without = retrained(peers, c, data, train, test, seed, trained, j);
        own[j] = full.accuracy() - without.accuracy();
        value[j] += own[j] / c.valueSeeds();
        loss[j] += (without.loss() - full.loss()) / c.valueSeeds();
        progress.accept(String.format(Locale.ROOT, "seed %d, without peer %d: %.2f%% (full %.2f%%)",
            s, j, 100 * without.accuracy(), 100 * full.accuracy()));
      }
    }
    return new TrueValues(value, loss, rows, ownRows, ownValues, reroutedAccuracy, reroutedLoss,
        probeRows, controlAccuracy);
  }

  /**
   * Each peer's true value in accuracy and in loss; each source's weight row, and the rerouted
   * leave-one-out estimates, averaged over the neurons retrained to measure them; each of those
   * neurons' own row from every source, and its own true value (the accuracy its copies lost,
   * one retraining); its rows from its probe, in every measure; and each control copy's
   * held-out accuracy.
   */
  private record TrueValues(double[] accuracy, double[] loss, Map<WeightSource, double[]> rows,
      Map<WeightSource, List<double[]>> ownRows, List<double[]> ownAccuracy,
      double[] reroutedAccuracy, double[] reroutedLoss,
      Map<ProbeMeasure, List<double[]>> probeRows, double[] controlAccuracy) {}

  /** The weight row that the learner's rerouted scores in {@code m} make, as for a source. */
  private static double[] probeRow(Learner neuron, ProbeMeasure m) {
    return Learner.weightRow(Arrays.stream(neuron.reroutedScores(m)).map(v -> Math.max(0, v))
        .toArray(), 0);
  }

  /** Each probe measure's rows against the true value (see {@link ProbeComparison}). */
  private static List<ProbeComparison> compareProbeMeasures(Learner reported, TrueValues values) {
    SpearmansCorrelation rho = new SpearmansCorrelation();
    double[] value = values.accuracy();
    double[] byLoss = spearmanEach(values.probeRows().get(ProbeMeasure.LOSS), value);
    List<ProbeComparison> out = new ArrayList<>();
    for (ProbeMeasure m : ProbeMeasure.values()) {
      List<double[]> rows = values.probeRows().get(m);
      double[] own = spearmanEach(rows, value);
      double[] minusLoss = minus(own, byLoss);
      double[] averaged = new double[value.length];
      for (int i = 0; i < own.length; i++) {
        for (int j = 0; j < value.length; j++) {
          averaged[j] += rows.get(i)[j] / rows.size();
        }
      }
      double[] row = probeRow(reported, m);
      out.add(new ProbeComparison(m, rho.correlation(row, value),
          rho.correlation(row, values.loss()), rho.correlation(averaged, value), mean(own),
          standardError(own), mean(minusLoss), standardError(minusLoss), averaged));
    }
    return out;
  }

  /** Each weight source's own rows against the true value (see {@link SourceSpread}). */
  private static List<SourceSpread> spreadPerNeuron(TrueValues values, List<Kind> kinds) {
    double[] value = values.accuracy();
    double[] rerouted = spearmanEach(values.ownRows().get(WeightSource.REROUTED_LOSS), value);
    List<SourceSpread> out = new ArrayList<>();
    for (WeightSource w : WeightSource.values()) {
      double[] own = spearmanEach(values.ownRows().get(w), value);
      double[] minus = minus(own, rerouted);
      double[] ownTruth = spearmanPaired(values.ownRows().get(w), values.ownAccuracy());
      out.add(new SourceSpread(w, mean(own), standardError(own), mean(minus),
          standardError(minus), mean(ownTruth), standardError(ownTruth),
          values.rows().get(w), noiseUnderBar(values.ownRows().get(w), kinds),
          nicheOverWeak(values.ownRows().get(w), kinds)));
    }
    return out;
  }

  /** The fraction of {@code rows} that give every noise peer under 1%. */
  static double noiseUnderBar(List<double[]> rows, List<Kind> kinds) {
    return rows.stream().filter(row -> largest(row, kinds, Kind.NOISE) < 0.01).count()
        / (double) rows.size();
  }

  /** The fraction of {@code rows} that give the niche specialists more per peer than the weak. */
  static double nicheOverWeak(List<double[]> rows, List<Kind> kinds) {
    return rows.stream()
        .filter(row -> perPeer(row, kinds, Kind.NICHE) > perPeer(row, kinds, Kind.WEAK))
        .count() / (double) rows.size();
  }

  private static double largest(double[] row, List<Kind> kinds, Kind kind) {
    return IntStream.range(0, row.length).filter(j -> kinds.get(j) == kind)
        .mapToDouble(j -> row[j]).max().orElse(0);
  }

  private static double perPeer(double[] row, List<Kind> kinds, Kind kind) {
    return IntStream.range(0, row.length).filter(j -> kinds.get(j) == kind)
        .mapToDouble(j -> row[j]).average().orElse(0);
  }

  /** Spearman(rows[i], values[i]) for each i: each neuron's row against its own true value. */
  private static double[] spearmanPaired(List<double[]> rows, List<double[]> values) {
    SpearmansCorrelation rho = new SpearmansCorrelation();
    double[] out = new double[rows.size()];
    for (int i = 0; i < out.length; i++) {
      out[i] = rho.correlation(rows.get(i), values.get(i));
    }
    return out;
  }

  /** Spearman(row, value) for each row. */
  private static double[] spearmanEach(List<double[]> rows, double[] value) {
    SpearmansCorrelation rho = new SpearmansCorrelation();
    return rows.stream().mapToDouble(row -> rho.correlation(row, value)).toArray();
  }

  /** a - b, element by element. */
  private static double[] minus(double[] a, double[] b) {
    double[] d = new double[a.length];
    for (int i = 0; i < a.length; i++) {
      d[i] = a[i] - b[i];
    }
    return d;
  }

  private static double mean(double[] x) {
    return Arrays.stream(x).average().orElse(Double.NaN);
  }

  /** The standard error of the mean; NaN for fewer than two values. */
  private static double standardError(double[] x) {
    double m = mean(x);
    double squares = Arrays.stream(x).map(v -> (v - m) * (v - m)).sum();
    return Math.sqrt(squares / (x.length - 1) / x.length);
  }

  /**
   * An estimate of each peer's value that sees substitutes: on each of the neuron's own images,
   * routed as in inference (top 2 of the gate's logits, no noise), the loss and the correctness
   * with each of the two peers replaced by the gate's third choice, the one that would step in
   * were that peer excluded, against those with both; failed answers are masked and the gate
   * renormalised as the gate does, or, where the neuron's student is its gate's fallback ({@link
   * Config#studentFallback}), the student answers in their place. No retraining. It needs every
   * image's third-choice answer, which the neuron does not ask for (the example asks every peer):
   * it measures what a weight source asking one more peer per example could reach, not one the
   * learner has.
   *
   * @return {loss gained, accuracy lost} per peer, averaged over the images
   */
  static double[][] reroutedLeaveOneOut(
      Learner neuron, List<Peer> peers, Config c, FashionMnist data, int[] train) {
    NoisyTopKGate gate = (NoisyTopKGate) neuron.gate();
    float[] wg = gate.parameters().get(0).values();
    float[] bg = gate.parameters().get(1).values();
    int n = peers.size();
    double[] loss = new double[n];
    double[] acc = new double[n];
    int total = 0;
    for (int[] b : batches(train, c.batch(), new SplittableRandom(c.seed() * 13))) {
      Tensor x = data.batch(b);
      ForwardRequest req = new ForwardRequest(Modality.TENSOR, x);
      int rows = b.length;
      int[] labels = data.labels(b);
      float[] h = new float[rows * n];
      NnOps.denseForward(Learner.flatten(x).toFloatArray(), rows, PIXELS, wg, bg, n, h);
      float[][] ans = new float[n][];
      float[] student = c.studentFallback()
          ? neuron.distiller().orElseThrow().predict(x).toFloatArray() : null;
      for (int j = 0; j < n; j++) {
        ForwardResult r = peers.get(j).forward(req).join();
        ans[j] = r.isSuccess() ? r.output().orElseThrow().toFloatArray() : student;
      }
      // Per image: the routed pair, then each with one of them replaced by the third choice.
      float[] joined = new float[rows * 3 * CLASSES];
      int[][] sets = new int[rows * 3][];
      for (int r = 0; r < rows; r++) {
        Integer[] order = new Integer[n];
        for (int j = 0; j < n; j++) {
          order[j] = j;
        }
        int rr = r;
        Arrays.sort(order, (a, bb) -> Float.compare(h[rr * n + bb], h[rr * n + a]));
        int s1 = order[0];
        int s2 = order[1];
        int s3 = order[2];
        sets[r * 3] = new int[] {s1, s2};
        sets[r * 3 + 1] = new int[] {s3, s2};
        sets[r * 3 + 2] = new int[] {s1, s3};
        for (int v = 0; v < 3; v++) {
          int[] set = sets[r * 3 + v];
          double max = Double.NEGATIVE_INFINITY;
          for (int j : set) {
            if (ans[j] != null) {
              max = Math.max(max, h[r * n + j]);
            }
          }
          double sum = 0;
          for (int j : set) {
            sum += ans[j] != null ? Math.exp(h[r * n + j] - max) : 0;
          }
          for (int j : set) {
            if (ans[j] == null) {
              continue;
            }
            double g = Math.exp(h[r * n + j] - max) / sum;
            for (int e = 0; e < CLASSES; e++) {
              joined[(r * 3 + v) * CLASSES + e] += (float) (g * ans[j][r * CLASSES + e]);
            }
          }
        }
      }
      float[] logits = neuron.head().predict(joined, rows * 3);
      for (int r = 0; r < rows; r++) {
        double[] l = new double[3];
        boolean[] ok = new boolean[3];
        for (int v = 0; v < 3; v++) {
          int o = (r * 3 + v) * CLASSES;
          l[v] = NnOps.softmaxCrossEntropy(Arrays.copyOfRange(logits, o, o + CLASSES), 1, CLASSES,
              new int[] {labels[r]}, null);
          ok[v] = NnOps.argmax(logits, r * 3 + v, CLASSES) == labels[r];
        }
        loss[sets[r * 3][0]] += l[1] - l[0];
        loss[sets[r * 3][1]] += l[2] - l[0];
        acc[sets[r * 3][0]] += (ok[0] ? 1 : 0) - (ok[1] ? 1 : 0);
        acc[sets[r * 3][1]] += (ok[0] ? 1 : 0) - (ok[2] ? 1 : 0);
      }
      total += rows;
    }
    for (int j = 0; j < n; j++) {
      loss[j] /= total;
      acc[j] /= total;
    }
    return new double[][] {loss, acc};
  }

  /** A copy of a trained neuron, trained on without the peers given, evaluated. */
  private static Evaluation retrained(List<Peer> peers, Config c, FashionMnist data, int[] train,
      int[] test, long seed, List<float[]> trained, int... without) {
    Learner copy = neuron(peers, c, 2, false, seed + 1, null, without);
    List<float[]> into = parameters(copy);
    for (int i = 0; i < into.size(); i++) {
      System.arraycopy(trained.get(i), 0, into.get(i), 0, into.get(i).length);
    }
    train(copy, c, data, train, seed, c.neuronEpochs(), c.neuronEpochs() + c.retrainEpochs(),
        new long[4]);
    return evaluate(copy, data, test);
  }

  /** The live values of a neuron's gate, head and student parameters (if any), in order. */
  private static List<float[]> parameters(Learner learner) {
    List<float[]> out = new ArrayList<>();
    ((NoisyTopKGate) learner.gate()).parameters().forEach(p -> out.add(p.values()));
    learner.head().parameters().forEach(p -> out.add(p.values()));
    learner.distiller().ifPresent(d -> ((MlpDistiller) d).parameters()
        .forEach(p -> out.add(p.values())));
    return out;
  }

  /** The neuron's student: a 784-64-10 MLP fitted to the network's answers. */
  private static MlpDistiller student(long seed) {
    return MlpDistiller.builder().inputDim(PIXELS).hidden(64).outputDim(CLASSES)
        .learningRate(1e-3).seed(seed).build();
  }

  static Evaluation evaluate(Learner learner, FashionMnist data, int[] test) {
    Evaluation total = new Evaluation(0, 0, 0, 0, 0, 0);
    for (int b = 0; b < test.length; b += EVAL_BATCH) {
      int[] idx = Arrays.copyOfRange(test, b, Math.min(test.length, b + EVAL_BATCH));
      total = total.plus(learner.evaluate(new ForwardRequest(Modality.TENSOR, data.batch(idx)),
          data.labels(idx)));
    }
    return total;
  }

  /**
   * What a head reads from a peer's answers alone: a head like the neuron's (10-32-10, ReLU,
   * Adam), trained {@value #READ_EPOCHS} passes on the peer's answers to the neuron's images and
   * their labels, then scored on its answers to the held-out images. A peer whose answers carry
   * nothing about the image reads at chance (10%), whatever its own argmax does; one trained on
   * random labels answers a fixed function of the image, which a head can read.
   *
   * @param xs its answers to the training images ({@link #answers}), a row of classes each
   * @param ys their labels
   * @param heldOut its answers to the held-out images
   * @param heldOutLabels their labels
   */
  static double readAccuracy(float[] xs, int[] ys, float[] heldOut, int[] heldOutLabels,
      long seed) {
    TrainableMlp head = TrainableMlp.random(new int[] {CLASSES, 32, CLASSES},
        Mlp.Activation.RELU, seed);
    Adam adam = Adam.over(head.parameters(), 3e-3);
    int[] pos = IntStream.range(0, ys.length).toArray();
    SplittableRandom r = new SplittableRandom(seed);
    for (int e = 0; e < READ_EPOCHS; e++) {
      shuffle(pos, r);
      for (int b = 0; b < pos.length; b += 50) {
        int rows = Math.min(50, pos.length - b);
        float[] x = new float[rows * CLASSES];
        int[] y = new int[rows];
        for (int i = 0; i < rows; i++) {
          System.arraycopy(xs, pos[b + i] * CLASSES, x, i * CLASSES, CLASSES);
          y[i] = ys[pos[b + i]];
        }
        float[] d = new float[rows * CLASSES];
        NnOps.softmaxCrossEntropy(head.forward(x, rows), rows, CLASSES, y, d);
        head.backward(d, false);
        adam.step();
      }
    }
    return accuracy(head.predict(heldOut, heldOutLabels.length), heldOutLabels);
  }

  /** A peer's answers to the images {@code idx}, asked in batches. */
  static float[] answers(Peer peer, FashionMnist data, int[] idx) {
    float[] all = new float[idx.length * CLASSES];
    for (int b = 0; b < idx.length; b += EVAL_BATCH) {
      int[] part = Arrays.copyOfRange(idx, b, Math.min(idx.length, b + EVAL_BATCH));
      System.arraycopy(answer(peer, data.batch(part)), 0, all, b * CLASSES, part.length * CLASSES);
    }
    return all;
  }

  /** The share of rows whose argmax is the label. */
  private static double accuracy(float[] scores, int[] labels) {
    int ok = 0;
    for (int i = 0; i < labels.length; i++) {
      ok += NnOps.argmax(scores, i, CLASSES) == labels[i] ? 1 : 0;
    }
    return ok / (double) labels.length;
  }

  private static double studentAccuracy(OnnxPeer student, Learner neuron, FashionMnist data,
      int[] test) {
    return accuracy(neuron.head().predict(answers(student, data, test), test.length),
        data.labels(test));
  }

  /** The peer's answer through its blocking call, as a caller that waits for it makes it. */
  private static float[] answerNow(Peer peer, Tensor x) {
    return output(peer, peer.forwardAndWait(new ForwardRequest(Modality.TENSOR, x),
        Duration.ofSeconds(10)));
  }

  private static float[] answer(Peer peer, Tensor x) {
    return output(peer, peer.forward(new ForwardRequest(Modality.TENSOR, x)).join());
  }

  /** A successful answer's values; a failed one is an error here. */
  private static float[] output(Peer peer, ForwardResult r) {
    if (!r.isSuccess()) {
      throw new IllegalStateException(peer + " failed: " + r.status() + " " + r.message());
    }
    return r.output().orElseThrow().toFloatArray();
  }

  /**
   * Median latencies in microseconds: {student, network} for one image, then for 64 images.
   * Network: the gate, the two peers' answers through the transport, the head. Student: the
   * student's OnnxPeer, asked with the blocking call as the network's peers are, and the head.
   *
   * <p>The two alternate in blocks of {@value #TIMING_BLOCK} calls, so that both meet the same
   * machine (other work, frequency) over the run, while each runs with its own data in the
   * caches, as it would when answering a stream of queries; the first block of each is warm-up.
   * (Alternating call by call, each call found the other's memory in the caches, which slowed
   * the small student by up to half.)
   */
  private static double[] timings(Learner neuron, OnnxPeer student, FashionMnist data,
      int[] test) {
    double[] out = new double[4];
    int[] sizes = {1, 64};
    int[] blocks = {20, 8};
    for (int s = 0; s < 2; s++) {
      int size = sizes[s];
      long[] st = new long[blocks[s] * TIMING_BLOCK];
      long[] nt = new long[blocks[s] * TIMING_BLOCK];
      int call = 0;
      for (int b = -1; b < blocks[s]; b++) {
        for (int path = 0; path < 2; path++) {
          for (int i = 0; i < TIMING_BLOCK; i++) {
            int[] idx = new int[size];
            for (int q = 0; q < size; q++) {
              idx[q] = test[Math.floorMod((call + i) * size + q, test.length)];
            }
            Tensor x = data.batch(idx);
            long t0 = System.nanoTime();
            if (path == 0) {
              neuron.head().predict(answerNow(student, x), size);
            } else {
              neuron.predict(new ForwardRequest(Modality.TENSOR, x));
            }
            long t = System.nanoTime() - t0;
            if (b >= 0) {
              (path == 0 ? st : nt)[b * TIMING_BLOCK + i] = t;
            }
          }
        }
        call += TIMING_BLOCK;
      }
      out[2 * s] = median(st) / 1e3;
      out[2 * s + 1] = median(nt) / 1e3;
    }
    return out;
  }

  private static final int TIMING_BLOCK = 50;

  /**
   * How every model here is served: one ONNX Runtime thread each and no spin-waiting (many peers
   * share two cores), batches up to the evaluation's size.
   */
  static OnnxPeer.Builder servingSettings(OnnxPeer.Builder b) {
    return b.input(TensorInput.passThrough()).intraOpThreads(1).interOpThreads(1)
        .spinning(false).maxBatch(EVAL_BATCH);
  }

  /**
   * The peers as OnnxPeers, each served in process and, with {@link Config#loopback()}, also over
   * HTTP on a loopback socket; reached through clients.
   */
  private static final class Market implements AutoCloseable {
    final List<OnnxPeer> direct = new ArrayList<>();
    /** Over loopback sockets when the config says so, else in process. */
    final List<Peer> served = new ArrayList<>();
    /** In process: the same servers' protocol and checks, without sockets. */
    final List<Peer> local = new ArrayList<>();
    final List<PeerServer> servers = new ArrayList<>();
    final List<PeerClient> clients = new ArrayList<>();

    Market(Config c, List<Mlp> models, List<String> names, List<Kind> kinds) throws IOException {
      InProcessNetwork net = new InProcessNetwork();
      TensorStandard standard = TensorStandard.of(CLASSES);
      PeerClient inProcess = PeerClient.newBuilder().standard(standard).inProcess(net).build();
      clients.add(inProcess);
      PeerClient http = null;
      if (c.loopback()) {
        http = PeerClient.newBuilder().standard(standard).build();
        clients.add(http);
      }
      try {
        for (int j = 0; j < models.size(); j++) {
          OnnxPeer peer = servingSettings(OnnxPeer.builder().model(OnnxExport.toBytes(
              models.get(j), OnnxExport.Options.defaults().withOutputDim(CLASSES)))).build();
          direct.add(peer);
          // The flaky peer's failures are drawn per call; each transport gets its own draws.
          PeerServer.Builder sb = PeerServer.newBuilder(kinds.get(j) == Kind.FLAKY
              ? new FlakyPeer(peer, c.flakyRate(), c.seed() + 77, c.flakyHangs()) : peer)
              .allowAnonymous(true).standard(standard).modalities(Modality.TENSOR);
          PeerServer inproc = sb.startInProcess(net, names.get(j));
          servers.add(inproc);
          local.add(inProcess.connect(inproc.endpoint()));
          if (http != null) {
            PeerServer.Builder hb = PeerServer.newBuilder(kinds.get(j) == Kind.FLAKY
                ? new FlakyPeer(peer, c.flakyRate(), c.seed() + 77, c.flakyHangs()) : peer)
                .allowAnonymous(true).standard(standard).modalities(Modality.TENSOR);
            PeerServer server = hb.host("127.0.0.1").port(0).threads(4).start();
            servers.add(server);
            served.add(http.connect(server.endpoint()));
          } else {
            served.add(local.get(j));
          }
        }
      } catch (IOException | RuntimeException e) {
        close();
        throw e;
      }
    }

    @Override
    public void close() {
      servers.forEach(PeerServer::close);
      clients.forEach(PeerClient::close);
      direct.forEach(OnnxPeer::close);
    }
  }

  private static int[] permutation(int n, SplittableRandom r) {
    int[] p = new int[n];
    for (int i = 0; i < n; i++) {
      p[i] = i;
    }
    shuffle(p, r);
    return p;
  }

  private static void shuffle(int[] a, SplittableRandom r) {
    for (int i = a.length - 1; i > 0; i--) {
      int j = r.nextInt(i + 1);
      int t = a[i];
      a[i] = a[j];
      a[j] = t;
    }
  }

  private static int[] sample(int[] pool, int count, long seed) {
    int[] copy = pool.clone();
    shuffle(copy, new SplittableRandom(seed));
    return Arrays.copyOf(copy, Math.min(count, copy.length));
  }

  /** The neuron's training batches per pass over its images. */
  private static int batchesPerEpoch(Config c) {
    return (c.trainSize() + c.batch() - 1) / c.batch();
  }

  private static List<int[]> batches(int[] idx, int size, SplittableRandom r) {
    int[] order = idx.clone();
    shuffle(order, r);
    List<int[]> out = new ArrayList<>();
    for (int b = 0; b < order.length; b += size) {
      out.add(Arrays.copyOfRange(order, b, Math.min(order.length, b + size)));
    }
    return out;
  }

  private static double median(long[] v) {
    long[] s = v.clone();
    Arrays.sort(s);
    return s.length % 2 == 1 ? s[s.length / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2.0;
  }
}
