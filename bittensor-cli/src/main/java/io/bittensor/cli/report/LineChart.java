package io.bittensor.cli.report;

import java.awt.BasicStroke;
import java.awt.Color;
import io.bittensor.core.internal.DurableFiles;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Objects;
import org.jfree.chart.ChartFactory;
import org.jfree.chart.ChartUtils;
import org.jfree.chart.JFreeChart;
import org.jfree.chart.plot.PlotOrientation;
import org.jfree.chart.plot.XYPlot;
import org.jfree.chart.renderer.xy.XYLineAndShapeRenderer;
import org.jfree.data.xy.XYSeries;
import org.jfree.data.xy.XYSeriesCollection;

/**
 * A line chart written as a PNG (JFreeChart, headless): the plots of stake, incentive and shares
 * over epochs in our reports.
 *
 * <pre>{@code
 * double[] epochs = {0, 1, 2}, shares = {0.51, 0.50, 0.46};
 * LineChart.titled("Cabal share of stake")
 *     .axes("epoch", "share")
 *     .series("honest 0.51", epochs, shares)
 *     .writePng(Path.of("collusion.png"), 900, 540);
 * }</pre>
 *
 * <p>Not thread-safe; build one chart per thread.
 */
public final class LineChart {
  private static final Color[] PALETTE = {
    new Color(0x1f77b4), new Color(0xd62728), new Color(0x2ca02c), new Color(0xff7f0e),
    new Color(0x9467bd), new Color(0x8c564b), new Color(0xe377c2), new Color(0x7f7f7f),
    new Color(0xbcbd22), new Color(0x17becf),
  };

  private final String title;
  private String xLabel = "x";
  private String yLabel = "y";
  private final List<XYSeries> series = new ArrayList<>();
  private Double yMin;
  private Double yMax;

  private LineChart(String title) {
    this.title = Objects.requireNonNull(title, "title");
  }

  /** A chart with this title. */
  public static LineChart titled(String title) {
    return new LineChart(title);
  }

  /** Names the axes. */
  public LineChart axes(String x, String y) {
    this.xLabel = Objects.requireNonNull(x, "x");
    this.yLabel = Objects.requireNonNull(y, "y");
    return this;
  }

  /** Fixes the y range (otherwise it fits the data). */
  public LineChart yRange(double min, double max) {
    if (!(min < max)) {
      throw new IllegalArgumentException("y range must have min < max, was " + min + ", " + max);
    }
    this.yMin = min;
    this.yMax = max;
    return this;
  }

  /**
   * Adds a line.
   *
   * @param name the legend entry
   * @param xs the x values; not modified
   * @param ys the y values, one per x; not modified
   */
  public LineChart series(String name, double[] xs, double[] ys) {
    if (xs.length != ys.length) {
      throw new IllegalArgumentException(
          "series " + name + ": " + xs.length + " x values but " + ys.length + " y values");
    }
    XYSeries s = new XYSeries(name, false, true);
    for (int i = 0; i < xs.length; i++) {
      s.add(xs[i], ys[i]);
    }
    series.add(s);
    return this;
  }

  /** Adds a line over x = 0, 1, 2, ... */
  public LineChart series(String name, double[] ys) {
    double[] xs = new double[ys.length];
    for (int i = 0; i < xs.length; i++) {
      xs[i] = i;
    }
    return series(name, xs, ys);
  }

  /**
   * Writes the chart as a PNG, whole or not at all, creating parent folders.
   *
   * @throws IOException if the file cannot be written
   */
  public void writePng(Path file, int width, int height) throws IOException {
    System.setProperty("java.awt.headless", "true");
    XYSeriesCollection data = new XYSeriesCollection();
    series.forEach(data::addSeries);
    JFreeChart chart = ChartFactory.createXYLineChart(
        title, xLabel, yLabel, data, PlotOrientation.VERTICAL, true, false, false);
    chart.setBackgroundPaint(Color.WHITE);
    XYPlot plot = chart.getXYPlot();
    plot.setBackgroundPaint(Color.WHITE);
    plot.setDomainGridlinePaint(new Color(0xdddddd));
    plot.setRangeGridlinePaint(new Color(0xdddddd));
    XYLineAndShapeRenderer renderer = new XYLineAndShapeRenderer(true, false);
    for (int i = 0; i < series.size(); i++) {
      renderer.setSeriesPaint(i, PALETTE[i % PALETTE.length]);
      renderer.setSeriesStroke(i, new BasicStroke(2.0f));
    }
    plot.setRenderer(renderer);
    if (yMin != null) {
      plot.getRangeAxis().setRange(yMin, yMax);
    }
    Path parent = file.toAbsolutePath().getParent();
    if (parent != null) {
      Files.createDirectories(parent);
    }
    // Whole or not at all: a crash mid-write leaves the last plot, never half of one.
    ByteArrayOutputStream png = new ByteArrayOutputStream();
    ChartUtils.writeChartAsPNG(png, chart, width, height);
    DurableFiles.replace(file, png.toByteArray());
  }
}
