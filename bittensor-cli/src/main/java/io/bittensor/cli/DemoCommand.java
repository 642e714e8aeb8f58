package io.bittensor.cli;

import io.bittensor.cli.demo.Market;
import io.bittensor.cli.demo.MarketReport;
import io.bittensor.cli.demo.SotuCorpus;
import io.bittensor.cli.demo.TextModels;
import io.bittensor.cli.internal.Progress;
import io.bittensor.neuron.Peers;
import io.bittensor.onnx.OnnxPeer;
import io.bittensor.onnx.TextTokenizer;
import java.io.PrintWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

/** {@code bittensor demo}: the main job, a market of real models on loopback. */
@Command(
    name = "demo",
    mixinStandardHelpOptions = true,
    description = {
      "Runs a local intelligence market: an embedded ledger and neurons over HTTP/2 on loopback."
          + " Servers: three pretrained text encoders (all-MiniLM-L6-v2, e5-small-v2,"
          + " bge-small-en-v1.5), a hashed bag-of-words peer and a noise peer. Validators learn"
          + " to tell the era of State of the Union passages through them and set weights from"
          + " what each peer is worth; a two-peer cabal votes only for itself.",
      "Prints progress and the leaderboard; writes a report folder (history.csv, history.json,"
          + " plots, index.html). The same --seed gives the same market."
    })
final class DemoCommand implements Callable<Integer> {
  @Spec CommandSpec spec;

  @Option(names = "--seed", defaultValue = "7", paramLabel = "N",
      description = "Seed (default ${DEFAULT-VALUE}).")
  long seed;

  @Option(names = "--epochs", defaultValue = "10", paramLabel = "K",
      description = "Epochs (default ${DEFAULT-VALUE}).")
  int epochs;

  @Option(names = "--steps", defaultValue = "6", paramLabel = "N",
      description = "Training batches per validator per epoch (default ${DEFAULT-VALUE}).")
  int steps;

  @Option(names = "--per-era", defaultValue = "60", paramLabel = "N",
      description = "Training passages per era (default ${DEFAULT-VALUE}).")
  int perEra;

  @Option(names = "--test-per-era", defaultValue = "20", paramLabel = "N",
      description = "Held-out passages per era (default ${DEFAULT-VALUE}).")
  int testPerEra;

  @Option(names = "--max-tokens", defaultValue = "32", paramLabel = "N",
      description = "Tokens per passage, cut or padded (default ${DEFAULT-VALUE}).")
  int maxTokens;

  @Option(
      names = "--models",
      split = ",",
      defaultValue = "MINILM,E5,BGE",
      paramLabel = "M",
      description =
          "Real models to serve, from ${COMPLETION-CANDIDATES} (default ${DEFAULT-VALUE}).")
  List<TextModels.Model> models;

  @Option(names = "--in-process",
      description = "Use the in-process transport instead of HTTP/2 on loopback.")
  boolean inProcess;

  @Option(names = "--threads", defaultValue = "2", paramLabel = "N",
      description = "ONNX Runtime threads per model (default ${DEFAULT-VALUE}).")
  int threads;

  @Option(names = "--report", defaultValue = "reports/demo", paramLabel = "DIR",
      description = "Folder for the report (default ${DEFAULT-VALUE}).")
  Path report;

  @Option(names = "--cache", defaultValue = "reports/demo-cache", paramLabel = "DIR",
      description = "Folder that keeps the models' answers to the sampled passages between runs"
          + " (default ${DEFAULT-VALUE}).")
  Path cache;

  @Option(
      names = "--no-cache",
      description = "Compute every answer afresh; read and write no cache.")
  boolean noCache;

  @Override
  public Integer call() throws Exception {
    PrintWriter out = spec.commandLine().getOut();
    if (epochs < 1 || steps < 1 || perEra < 1 || testPerEra < 1 || maxTokens < 4 || threads < 1) {
      throw CliException.badInput("--epochs, --steps, --per-era, --test-per-era and --threads must"
          + " be >= 1 and --max-tokens >= 4", null);
    }
    if (Files.exists(report) && !Files.isDirectory(report)) {
      // Said now, not once the market has run.
      throw CliException.badInput("--report " + report + " is a file, not a folder", null);
    }
    if (!noCache && Files.exists(cache) && !Files.isDirectory(cache)) {
      // Else found once the first model's answers are to be written, named by the file alone.
      throw CliException.badInput("--cache " + cache + " is a file, not a folder", null);
    }
    long start = System.nanoTime();
    SotuCorpus corpus = SotuCorpus.load();
    List<SotuCorpus.Passage> sample;
    try {
      // No overflow past the int's range: more than any era holds, said as such.
      sample = corpus.sample((int) Math.min(Integer.MAX_VALUE, (long) perEra + testPerEra), seed);
    } catch (IllegalArgumentException e) {
      throw CliException.badInput("--per-era plus --test-per-era is too many: " + e.getMessage(),
          e);
    }
    List<SotuCorpus.Passage> train = new ArrayList<>();
    List<SotuCorpus.Passage> test = new ArrayList<>();
    int[] seen = new int[SotuCorpus.ERAS.size()];
    for (SotuCorpus.Passage p : sample) {
      (seen[p.era()]++ < testPerEra ? test : train).add(p);
    }
    out.printf(Locale.ROOT, "State of the Union passages: %d to train on, %d held out, 4 eras %s%n",
        train.size(), test.size(), SotuCorpus.ERAS);
    long[][] trainRows;
    long[][] testRows;
    try (TextTokenizer tokenizer = TextModels.tokenizer(maxTokens)) {
      trainRows = TextModels.tokenize(tokenizer, train.stream().map(SotuCorpus.Passage::text)
          .toList(), maxTokens);
      testRows = TextModels.tokenize(tokenizer, test.stream().map(SotuCorpus.Passage::text)
          .toList(), maxTokens);
    }
    long[][] all = new long[trainRows.length + testRows.length][];
    System.arraycopy(trainRows, 0, all, 0, trainRows.length);
    System.arraycopy(testRows, 0, all, trainRows.length, testRows.length);

    List<OnnxPeer> opened = new ArrayList<>();
    try {
      List<Market.Server> servers = new ArrayList<>();
      for (TextModels.Model m : models) {
        OnnxPeer peer = m.open(maxTokens, threads);
        opened.add(peer);
        Peers.Memo memo = Peers.memoize(peer);
        long t0 = System.nanoTime();
        Path file = noCache ? null : cache.resolve(Market.cacheKey(m.name(), all));
        boolean cached;
        try (Progress progress = Main.progress(spec, "  embedding with " + m.title(),
            all.length)) {
          cached = Market.warm(memo, all, 32, file, progress::update);
        }
        out.printf(Locale.ROOT, "  %s: %d passages in %.1f s%s%n", m.title(), all.length,
            (System.nanoTime() - t0) / 1e9, cached ? " (from the cache " + file + ")" : "");
        servers.add(new Market.Server(m.title(), "pretrained", memo));
      }
      servers.add(new Market.Server("bag-of-words", "baseline",
          Peers.bagOfWords(TextModels.DIM, 16, seed)));
      servers.add(new Market.Server("noise", "noise", Peers.noise(TextModels.DIM, seed)));
      int[] trainLabels = train.stream().mapToInt(SotuCorpus.Passage::era).toArray();
      int[] testLabels = test.stream().mapToInt(SotuCorpus.Passage::era).toArray();
      Market.Settings settings = Market.Settings.defaults(seed).withEpochs(epochs)
          .withSteps(steps).withHttp(!inProcess);
      Market market = new Market(settings, servers, trainRows, trainLabels, testRows, testLabels,
          SotuCorpus.ERAS.size(), line -> {
            out.println(line);
            out.flush();
          });
      Market.Result result = market.run();
      MarketReport.printLeaderboard(out, result);
      Map<String, String> facts = new LinkedHashMap<>();
      facts.put("task", "the era of a State of the Union passage, 4 classes "
          + SotuCorpus.ERAS + "; " + train.size() + " passages to train on, " + test.size()
          + " held out, " + maxTokens + " tokens each");
      facts.put("seed", Long.toString(seed));
      facts.put("transport", inProcess ? "in-process" : "HTTP/2 on loopback");
      String verdict = verdict(result);
      facts.put("the bar", verdict);
      Path index = MarketReport.write(report, result, facts);
      out.println(verdict);
      out.printf(Locale.ROOT, "Report: %s (%.0f s in all)%n", index.toAbsolutePath(),
          (System.nanoTime() - start) / 1e9);
      out.flush();
      return 0;
    } finally {
      for (OnnxPeer p : opened) {
        p.close();
      }
    }
  }

  /** Whether the run met the paper's promises, in one line. */
  static String verdict(Market.Result result) {
    List<Market.PeerRow> rows = result.last().peers();
    double bow = incentiveOf(rows, "baseline");
    double noise = incentiveOf(rows, "noise");
    boolean modelsAbove = rows.stream().filter(r -> r.kind().equals("pretrained"))
        .allMatch(r -> r.incentive() > bow);
    boolean bowAbove = bow > noise;
    boolean falling = true;
    double prev = result.initialCabalShare();
    for (Market.EpochRecord e : result.epochs()) {
      falling &= e.cabalShare() < prev;
      prev = e.cabalShare();
    }
    return String.format(Locale.ROOT, "Every real model above bag-of-words: %s; bag-of-words"
        + " above noise: %s; the cabal's share fell every epoch: %s",
        modelsAbove ? "yes" : "NO", bowAbove ? "yes" : "NO", falling ? "yes" : "NO");
  }

  private static double incentiveOf(List<Market.PeerRow> rows, String kind) {
    return rows.stream().filter(r -> r.kind().equals(kind)).findFirst().orElseThrow().incentive();
  }
}
