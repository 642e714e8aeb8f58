package io.bittensor.cli.demo;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.bittensor.cli.demo.Market.EpochRecord;
import io.bittensor.cli.demo.Market.PeerRow;
import io.bittensor.cli.demo.Market.Result;
import io.bittensor.neuron.Peers;
import io.bittensor.onnx.OnnxPeer;
import io.bittensor.onnx.TextTokenizer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * A small market end to end: a real model (all-MiniLM-L6-v2), the bag-of-words peer, the noise
 * peer and the cabal, on State of the Union passages, over the in-process transport and over
 * HTTP/2 on loopback. The paper's promises: the model earns more than bag-of-words, which earns
 * more than noise, and the cabal's share of stake falls every epoch.
 */
@Timeout(value = 240, unit = TimeUnit.SECONDS)
class MarketTest {
  static final long SEED = 11;
  static OnnxPeer minilm;
  static Peers.Memo memo;
  static long[][] trainRows;
  static long[][] testRows;
  static int[] trainLabels;
  static int[] testLabels;

  @BeforeAll
  static void embed() throws Exception {
    List<SotuCorpus.Passage> sample = SotuCorpus.load().sample(40, SEED);
    List<SotuCorpus.Passage> train = new ArrayList<>();
    List<SotuCorpus.Passage> test = new ArrayList<>();
    int[] seen = new int[4];
    for (SotuCorpus.Passage p : sample) {
      (seen[p.era()]++ < 10 ? test : train).add(p);
    }
    try (TextTokenizer tokenizer = TextModels.tokenizer(24)) {
      trainRows = TextModels.tokenize(tokenizer,
          train.stream().map(SotuCorpus.Passage::text).toList(), 24);
      testRows = TextModels.tokenize(tokenizer,
          test.stream().map(SotuCorpus.Passage::text).toList(), 24);
    }
    trainLabels = train.stream().mapToInt(SotuCorpus.Passage::era).toArray();
    testLabels = test.stream().mapToInt(SotuCorpus.Passage::era).toArray();
    minilm = TextModels.Model.MINILM.open(24, 1);
    memo = Peers.memoize(minilm);
    long[][] all = new long[trainRows.length + testRows.length][];
    System.arraycopy(trainRows, 0, all, 0, trainRows.length);
    System.arraycopy(testRows, 0, all, trainRows.length, testRows.length);
    Market.warm(memo, all, 32, null, done -> {});
  }

  @AfterAll
  static void close() {
    minilm.close();
  }

  static Result run(boolean http) throws Exception {
    List<Market.Server> servers = List.of(
        new Market.Server("all-MiniLM-L6-v2", "pretrained", memo),
        new Market.Server("bag-of-words", "baseline", Peers.bagOfWords(TextModels.DIM, 16, SEED)),
        new Market.Server("noise", "noise", Peers.noise(TextModels.DIM, SEED)));
    // Three honest neurons, each trusted by the other two: the cabal holds a tenth of the stake,
    // so that the honest side's consensus, not the peg, settles the market.
    Market.Settings settings = Market.Settings.defaults(SEED).withEpochs(4).withSteps(4)
        .withStakes(1_500_000, 250_000).withHttp(http);
    return new Market(settings, servers, trainRows, trainLabels, testRows, testLabels, 4,
        line -> {}).run();
  }

  static double incentive(Result r, String kind) {
    return r.last().peers().stream().filter(p -> p.kind().equals(kind)).findFirst()
        .orElseThrow().incentive();
  }

  static void assertThePapersOrdering(Result r) {
    double model = incentive(r, "pretrained");
    double words = incentive(r, "baseline");
    double noise = incentive(r, "noise");
    assertTrue(model > words && words > noise,
        "model " + model + " > bag of words " + words + " > noise " + noise);
    double previous = r.initialCabalShare();
    for (EpochRecord e : r.epochs()) {
      assertTrue(e.cabalShare() < previous,
          "epoch " + e.epoch() + ": cabal share " + e.cabalShare() + " after " + previous);
      previous = e.cabalShare();
    }
  }

  @Test
  void overLoopbackHttpTheModelEarnsMostNoiseLeastAndTheCabalShrinks(@TempDir Path dir)
      throws Exception {
    Result http = run(true);
    assertThePapersOrdering(http);

    Path index = MarketReport.write(dir, http, java.util.Map.of("test", "yes"));
    assertTrue(Files.readString(index).contains("<img src=\"stake.png\""));
    for (String f : List.of("history.csv", "history.json", "stake.png", "incentive.png",
        "cabal.png", "accuracy.png")) {
      assertTrue(Files.size(dir.resolve(f)) > 100, f);
    }
    // One line per peer per epoch, after the header.
    assertEquals(1 + 4 * http.last().peers().size(),
        Files.readAllLines(dir.resolve("history.csv")).size());

    // The same seed over the in-process transport: the same market, to the token.
    Result inProcess = run(false);
    assertThePapersOrdering(inProcess);
    for (int e = 0; e < http.epochs().size(); e++) {
      List<PeerRow> a = http.epochs().get(e).peers();
      List<PeerRow> b = inProcess.epochs().get(e).peers();
      for (int i = 0; i < a.size(); i++) {
        assertEquals(a.get(i).stake(), b.get(i).stake(), "epoch " + (e + 1) + " uid " + i);
      }
    }
  }
}
