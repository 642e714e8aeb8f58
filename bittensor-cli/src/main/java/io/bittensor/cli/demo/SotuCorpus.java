package io.bittensor.cli.demo;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStream;
import java.io.InputStreamReader;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Random;
import java.util.zip.GZIPInputStream;

/**
 * The demo's task: passages of 40 to 90 words from the US State of the Union addresses
 * (1790-2021, public domain), vendored as {@code sotu-passages.tsv.gz} (up to 12 passages per
 * address, evenly spread through it), each labelled with its era.
 *
 * <p>Eras, chosen so that each spans a recognisable political vocabulary: 0 = 1790-1860 (the
 * early republic), 1 = 1861-1932 (civil war to the depression), 2 = 1933-1980 (New Deal to cold
 * war), 3 = 1981-2021. Immutable, thread-safe.
 */
public final class SotuCorpus {
  /** The eras' names, by label. */
  public static final List<String> ERAS =
      List.of("1790-1860", "1861-1932", "1933-1980", "1981-2021");

  private static final String RESOURCE = "sotu-passages.tsv.gz";

  /** A passage and its era. */
  public record Passage(int year, String president, String party, String text, int era) {}

  private final List<Passage> passages;

  private SotuCorpus(List<Passage> passages) {
    this.passages = List.copyOf(passages);
  }

  /** The vendored corpus. */
  public static SotuCorpus load() {
    try (InputStream in = SotuCorpus.class.getResourceAsStream(RESOURCE)) {
      if (in == null) {
        throw new IllegalStateException("the corpus " + RESOURCE + " is missing from the jar");
      }
      BufferedReader r = new BufferedReader(
          new InputStreamReader(new GZIPInputStream(in), StandardCharsets.UTF_8));
      List<Passage> out = new ArrayList<>();
      String line;
      while ((line = r.readLine()) != null) {
        if (line.startsWith("#") || line.isBlank()) {
          continue;
        }
        String[] f = line.split("\t", 4);
        int year = Integer.parseInt(f[0]);
        out.add(new Passage(year, f[1], f[2], f[3], eraOf(year)));
      }
      return new SotuCorpus(out);
    } catch (IOException e) {
      throw new UncheckedIOException("cannot read " + RESOURCE, e);
    }
  }

  /** The era of a year: 0 to 3, see the class comment. */
  public static int eraOf(int year) {
    return year <= 1860 ? 0 : year <= 1932 ? 1 : year <= 1980 ? 2 : 3;
  }

  /** Every passage, in file order (by address, then position). */
  public List<Passage> passages() {
    return passages;
  }

  /**
   * A seeded sample with {@code perEra} passages of each era, shuffled.
   *
   * @throws IllegalArgumentException if an era has fewer passages
   */
  public List<Passage> sample(int perEra, long seed) {
    Random random = new Random(seed);
    List<Passage> out = new ArrayList<>();
    for (int era = 0; era < ERAS.size(); era++) {
      List<Passage> of = new ArrayList<>();
      for (Passage p : passages) {
        if (p.era() == era) {
          of.add(p);
        }
      }
      if (of.size() < perEra) {
        throw new IllegalArgumentException("era " + ERAS.get(era) + " has " + of.size()
            + " passages, fewer than " + perEra);
      }
      Collections.shuffle(of, random);
      out.addAll(of.subList(0, perEra));
    }
    Collections.shuffle(out, random);
    return out;
  }
}
