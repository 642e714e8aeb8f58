package io.bittensor.examples;

import io.bittensor.examples.MechanismComparison.Run;
import java.awt.BasicStroke;
import java.awt.Color;
import java.io.IOException;
import java.nio.file.Path;
import java.util.List;
import org.jfree.chart.ChartUtils;
import org.jfree.chart.JFreeChart;
import org.jfree.chart.LegendItemCollection;
import org.jfree.chart.axis.NumberAxis;
import org.jfree.chart.plot.CombinedDomainXYPlot;
import org.jfree.chart.plot.XYPlot;
import org.jfree.chart.renderer.xy.XYLineAndShapeRenderer;
import org.jfree.data.xy.XYSeries;
import org.jfree.data.xy.XYSeriesCollection;

/** The comparison plot: one panel per market, one line per mechanism (JFreeChart, headless). */
final class ComparisonChart {
  private static final Color[] PALETTE = {new Color(0x1f77b4), new Color(0xd62728),
      new Color(0x2ca02c)};

  private ComparisonChart() {}

  static void write(List<Run> runs, Path png) throws IOException {
    NumberAxis epochs = new NumberAxis("epoch");
    CombinedDomainXYPlot combined = new CombinedDomainXYPlot(epochs);
    combined.setGap(12);
    LegendItemCollection legend = null;
    for (MechanismComparison.Market market : MechanismComparison.markets()) {
      XYSeriesCollection data = new XYSeriesCollection();
      for (Run r : runs) {
        if (!r.market().name().equals(market.name())) {
          continue;
        }
        XYSeries series = new XYSeries(r.mechanism());
        for (int e = 0; e < r.tracked().length; e++) {
          series.add(e, r.tracked()[e]);
        }
        data.addSeries(series);
      }
      NumberAxis y = new NumberAxis(market.name() + ": " + market.tracked());
      y.setAutoRangeIncludesZero(false);
      XYLineAndShapeRenderer renderer = new XYLineAndShapeRenderer(true, false);
      for (int s = 0; s < data.getSeriesCount(); s++) {
        renderer.setSeriesPaint(s, PALETTE[s % PALETTE.length]);
        renderer.setSeriesStroke(s, new BasicStroke(2f));
      }
      XYPlot plot = new XYPlot(data, null, y, renderer);
      plot.setBackgroundPaint(Color.WHITE);
      plot.setRangeGridlinePaint(Color.LIGHT_GRAY);
      plot.setDomainGridlinePaint(Color.LIGHT_GRAY);
      combined.add(plot, 1);
      if (legend == null) {
        legend = plot.getLegendItems(); // one colour per mechanism, the same in every panel
      }
    }
    combined.setFixedLegendItems(legend);
    JFreeChart chart = new JFreeChart(
        "Paper mechanism vs Yuma vs Yuma 3: stake over epochs", JFreeChart.DEFAULT_TITLE_FONT,
        combined, true);
    chart.setBackgroundPaint(Color.WHITE);
    ChartUtils.saveChartAsPNG(png.toFile(), chart, 900, 1100);
  }
}
