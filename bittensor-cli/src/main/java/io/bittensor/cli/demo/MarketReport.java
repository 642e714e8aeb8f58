package io.bittensor.cli.demo;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import io.bittensor.cli.report.LineChart;
import io.bittensor.cli.demo.Market.EpochRecord;
import io.bittensor.cli.demo.Market.PeerRow;
import io.bittensor.cli.demo.Market.Result;
import io.bittensor.cli.demo.Market.Role;
import io.bittensor.core.internal.DurableFiles;
import java.io.IOException;
import java.io.PrintWriter;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/**
 * What a market run leaves behind: the leaderboard on the console, and a report folder with the
 * metagraph history (CSV and JSON), plots of stake and incentive per peer over the epochs, and an
 * {@code index.html} that shows them.
 */
public final class MarketReport {
  private MarketReport() {}

  /** Prints the last epoch's leaderboard, best incentive first. */
  public static void printLeaderboard(PrintWriter out, Result result) {
    EpochRecord last = result.last();
    double total = last.peers().stream().mapToDouble(PeerRow::stake).sum();
    out.printf(Locale.ROOT, "%nLeaderboard after epoch %d (block %d)%n", last.epoch(),
        last.block());
    out.printf(Locale.ROOT, "%4s  %-22s %-10s %9s %7s %7s %9s %9s %11s %s%n", "uid", "model",
        "role", "stake %", "rank", "trust", "consensus", "incentive", "emission", "accuracy");
    List<PeerRow> rows = new ArrayList<>(last.peers());
    rows.sort(Comparator.comparingDouble(PeerRow::incentive).reversed()
        .thenComparingInt(PeerRow::uid));
    int v = 0;
    for (PeerRow r : rows) {
      String accuracy = "";
      if (r.role() == Role.NEURON) {
        accuracy = String.format(Locale.ROOT, "%.1f%%",
            100 * last.validatorAccuracy()[validatorIndex(last, r)]);
      }
      out.printf(Locale.ROOT, "%4d  %-22s %-10s %9.2f %7.4f %7.4f %9.4f %9.4f %11d %s%n",
          r.uid(), r.name(), r.role().name().toLowerCase(Locale.ROOT),
          100 * r.stake() / total, r.rank(), r.trust(), r.consensus(), r.incentive(),
          r.emission(), accuracy);
      v++;
    }
    out.printf(Locale.ROOT, "%nThe cabal's share of stake: %.4f at the start, then %s%n",
        result.initialCabalShare(), shares(result));
    out.flush();
  }

  private static int validatorIndex(EpochRecord e, PeerRow row) {
    int i = 0;
    for (PeerRow r : e.peers()) {
      if (r.role() == Role.NEURON) {
        if (r.uid() == row.uid()) {
          return i;
        }
        i++;
      }
    }
    throw new IllegalStateException("not a validator: " + row);
  }

  private static String shares(Result result) {
    StringBuilder sb = new StringBuilder();
    for (EpochRecord e : result.epochs()) {
      sb.append(sb.length() == 0 ? "" : ", ").append(String.format(Locale.ROOT, "%.4f",
          e.cabalShare()));
    }
    return sb.toString();
  }

  /**
   * Writes {@code history.csv}, {@code history.json}, {@code stake.png}, {@code incentive.png},
   * {@code cabal.png}, {@code accuracy.png} and {@code index.html} to {@code dir}.
   *
   * @return the index page
   * @throws IOException if a file cannot be written
   */
  public static Path write(Path dir, Result result, Map<String, String> facts) throws IOException {
    Files.createDirectories(dir);
    writeCsv(dir.resolve("history.csv"), result);
    ObjectMapper json = new ObjectMapper().enable(SerializationFeature.INDENT_OUTPUT);
    Map<String, Object> doc = new LinkedHashMap<>();
    doc.put("settings", result.settings());
    doc.put("facts", facts);
    doc.put("initialCabalShare", result.initialCabalShare());
    doc.put("epochs", result.epochs());
    DurableFiles.replace(dir.resolve("history.json"), json.writeValueAsBytes(doc));

    int n = result.epochs().size();
    double[] xs = new double[n];
    for (int e = 0; e < n; e++) {
      xs[e] = result.epochs().get(e).epoch();
    }
    LineChart stake = LineChart.titled("Share of stake per peer").axes("epoch", "share of stake");
    LineChart incentive = LineChart.titled("Incentive per peer").axes("epoch", "incentive");
    List<PeerRow> peers = result.last().peers();
    for (PeerRow p : peers) {
      double[] s = new double[n];
      double[] inc = new double[n];
      for (int e = 0; e < n; e++) {
        EpochRecord r = result.epochs().get(e);
        double total = r.peers().stream().mapToDouble(PeerRow::stake).sum();
        s[e] = r.peers().get(p.uid()).stake() / total;
        inc[e] = r.peers().get(p.uid()).incentive();
      }
      String label = p.uid() + " " + p.name();
      stake.series(label, xs, s);
      incentive.series(label, xs, inc);
    }
    stake.writePng(dir.resolve("stake.png"), 1000, 560);
    incentive.writePng(dir.resolve("incentive.png"), 1000, 560);
    double[] cabal = new double[n + 1];
    double[] cx = new double[n + 1];
    cabal[0] = result.initialCabalShare();
    for (int e = 0; e < n; e++) {
      cx[e + 1] = xs[e];
      cabal[e + 1] = result.epochs().get(e).cabalShare();
    }
    LineChart.titled("The cabal's share of stake").axes("epoch", "share of stake")
        .series("cabal (2 peers voting only for themselves)", cx, cabal)
        .writePng(dir.resolve("cabal.png"), 1000, 480);
    LineChart acc = LineChart.titled("Each neuron's accuracy on held-out passages (era, 4 classes)")
        .axes("epoch", "accuracy").yRange(0, 1);
    int validators = result.last().validatorAccuracy().length;
    for (int v = 0; v < validators; v++) {
      double[] a = new double[n];
      for (int e = 0; e < n; e++) {
        a[e] = result.epochs().get(e).validatorAccuracy()[v];
      }
      acc.series(result.last().peers().stream().filter(r -> r.role() == Role.NEURON)
          .skip(v).findFirst().orElseThrow().name(), xs, a);
    }
    acc.writePng(dir.resolve("accuracy.png"), 1000, 480);
    Path index = dir.resolve("index.html");
    DurableFiles.replace(index, html(result, facts).getBytes(StandardCharsets.UTF_8));
    return index;
  }

  private static void writeCsv(Path file, Result result) throws IOException {
    StringBuilder w = new StringBuilder("epoch,block,uid,name,role,kind,stake,rank,trust,"
        + "consensus,incentive,dividends,emission\n");
    for (EpochRecord e : result.epochs()) {
      for (PeerRow p : e.peers()) {
        w.append(String.format(Locale.ROOT, "%d,%d,%d,%s,%s,%s,%d,%.9f,%.9f,%.9f,%.9f,%.9f,%d%n",
            e.epoch(), e.block(), p.uid(), p.name(), p.role(), p.kind(), p.stake(), p.rank(),
            p.trust(), p.consensus(), p.incentive(), p.dividends(), p.emission()));
      }
    }
    DurableFiles.replace(file, w.toString().getBytes(StandardCharsets.UTF_8));
  }

  private static String html(Result result, Map<String, String> facts) {
    StringBuilder sb = new StringBuilder();
    sb.append("<!doctype html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">")
        .append("<title>bittensor demo</title><style>body{font-family:sans-serif;max-width:")
        .append("1040px;margin:2em auto;color:#222}table{border-collapse:collapse}td,th{")
        .append("padding:2px 10px;text-align:right;border-bottom:1px solid #ddd}")
        .append("td.l,th.l{text-align:left}</style></head><body>\n")
        .append("<h1>A market of real models</h1>\n<p>");
    for (var f : facts.entrySet()) {
      sb.append("<b>").append(escape(f.getKey())).append(":</b> ").append(escape(f.getValue()))
          .append("<br>\n");
    }
    sb.append("</p>\n<h2>Leaderboard after epoch ").append(result.last().epoch())
        .append("</h2>\n<table><tr><th>uid</th><th class=l>model</th><th class=l>role</th>")
        .append("<th>stake</th><th>rank</th><th>trust</th><th>consensus</th><th>incentive</th>")
        .append("<th>emission</th></tr>\n");
    List<PeerRow> rows = new ArrayList<>(result.last().peers());
    rows.sort(Comparator.comparingDouble(PeerRow::incentive).reversed()
        .thenComparingInt(PeerRow::uid));
    for (PeerRow r : rows) {
      sb.append(String.format(Locale.ROOT, "<tr><td>%d</td><td class=l>%s</td><td class=l>%s"
              + "</td><td>%d</td><td>%.4f</td><td>%.4f</td><td>%.4f</td><td>%.4f</td><td>%d"
              + "</td></tr>%n", r.uid(), escape(r.name()), r.role(), r.stake(), r.rank(),
          r.trust(), r.consensus(), r.incentive(), r.emission()));
    }
    sb.append("</table>\n");
    for (String[] img : new String[][] {
        {"incentive.png", "Incentive per peer over the epochs"},
        {"stake.png", "Share of stake per peer"},
        {"cabal.png", "The cabal's share of stake falls every epoch"},
        {"accuracy.png", "What the validators learned"}}) {
      sb.append("<h2>").append(img[1]).append("</h2>\n<img src=\"").append(img[0])
          .append("\" alt=\"").append(img[1]).append("\" width=\"1000\">\n");
    }
    sb.append("<p>Data: <a href=\"history.csv\">history.csv</a>, ")
        .append("<a href=\"history.json\">history.json</a>.</p>\n</body></html>\n");
    return sb.toString();
  }

  private static String escape(String s) {
    return s.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;");
  }
}
