package io.bittensor.core.internal;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Random;
import java.util.stream.LongStream;
import java.util.zip.CRC32C;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * The checkpoint format on seeded random contents: what is written reads back bit for bit, every
 * damage to the bytes is refused, and a reader that does not fit writes nothing.
 */
class StateFileProperties {
  private static final String MAGIC = "BTTEST\0\0";

  static LongStream seeds() {
    return LongStream.range(0, 200);
  }

  /** One random entry: its name, kind (0 floats, 1 doubles, 2 longs, 3 bytes) and values. */
  private record Written(String name, int kind, Object values) {}

  /** Random entries with every kind, empty arrays, non-ASCII names and non-finite values. */
  private static List<Written> randomEntries(Random r) {
    List<Written> out = new ArrayList<>();
    int count = r.nextInt(12);
    for (int i = 0; i < count; i++) {
      String name = "part" + r.nextInt(3) + (r.nextBoolean() ? "/é" : "/") + i;
      int length = r.nextInt(5) == 0 ? 0 : r.nextInt(300);
      int kind = r.nextInt(4);
      Object values = switch (kind) {
        case 0 -> {
          float[] v = new float[length];
          for (int j = 0; j < length; j++) {
            v[j] = r.nextInt(40) == 0 ? Float.NaN : (float) (r.nextGaussian() * 1e3);
          }
          yield v;
        }
        case 1 -> {
          double[] v = new double[length];
          for (int j = 0; j < length; j++) {
            v[j] = r.nextInt(40) == 0 ? Double.NEGATIVE_INFINITY : r.nextGaussian() * 1e-7;
          }
          yield v;
        }
        case 2 -> r.longs(length).toArray();
        default -> {
          byte[] v = new byte[length];
          r.nextBytes(v);
          yield v;
        }
      };
      out.add(new Written(name, kind, values));
    }
    return out;
  }

  private static byte[] encode(List<Written> entries) {
    StateFile.Writer w = new StateFile.Writer(MAGIC);
    for (Written e : entries) {
      switch (e.kind) {
        case 0 -> w.floats(e.name, (float[]) e.values);
        case 1 -> w.doubles(e.name, (double[]) e.values);
        case 2 -> w.longs(e.name, (long[]) e.values);
        default -> w.bytes(e.name, (byte[]) e.values);
      }
    }
    return w.toBytes();
  }

  @ParameterizedTest
  @MethodSource("seeds")
  void whatIsWrittenReadsBackBitForBit(long seed) throws IOException {
    Random r = new Random(seed);
    List<Written> entries = randomEntries(r);
    StateFile.Reader reader = StateFile.Reader.decode(encode(entries), MAGIC, "test");
    List<Object> read = new ArrayList<>();
    for (Written e : entries) {
      assertTrue(reader.has(e.name));
      switch (e.kind) {
        case 0 -> {
          float[] into = new float[((float[]) e.values).length];
          Arrays.fill(into, -1f);
          reader.floats(e.name, into);
          read.add(into);
        }
        case 1 -> {
          double[] into = new double[((double[]) e.values).length];
          reader.doubles(e.name, into);
          read.add(into);
        }
        case 2 -> read.add(reader.longs(e.name, ((long[]) e.values).length));
        default -> read.add(reader.bytes(e.name));
      }
    }
    reader.apply();
    for (int i = 0; i < entries.size(); i++) {
      Object want = entries.get(i).values;
      Object got = read.get(i);
      switch (entries.get(i).kind) {
        case 0 -> assertEquals(bits((float[]) want), bits((float[]) got));
        case 1 -> assertEquals(bits((double[]) want), bits((double[]) got));
        case 2 -> assertArrayEquals((long[]) want, (long[]) got);
        default -> assertArrayEquals((byte[]) want, (byte[]) got);
      }
    }
  }

  private static String bits(float[] v) {
    int[] b = new int[v.length];
    for (int i = 0; i < v.length; i++) {
      b[i] = Float.floatToRawIntBits(v[i]);
    }
    return Arrays.toString(b);
  }

  private static String bits(double[] v) {
    long[] b = new long[v.length];
    for (int i = 0; i < v.length; i++) {
      b[i] = Double.doubleToRawLongBits(v[i]);
    }
    return Arrays.toString(b);
  }

  @ParameterizedTest
  @MethodSource("seeds")
  void everyChangedByteAndEveryTruncationIsRefused(long seed) {
    Random r = new Random(seed);
    byte[] good = encode(randomEntries(r));
    for (int t = 0; t < 20; t++) {
      byte[] bad = good.clone();
      int at = r.nextInt(bad.length);
      bad[at] ^= (byte) (1 + r.nextInt(255));
      assertThrows(IOException.class, () -> StateFile.Reader.decode(bad, MAGIC, "test"),
          "byte " + at);
    }
    int cut = r.nextInt(good.length);
    assertThrows(IOException.class,
        () -> StateFile.Reader.decode(Arrays.copyOf(good, cut), MAGIC, "test"), "cut at " + cut);
  }

  /** A body that passes its checksum but lies about its structure is refused by the decoder too. */
  @ParameterizedTest
  @MethodSource("seeds")
  void aResealedLieAboutLengthsIsRefused(long seed) {
    Random r = new Random(seed);
    List<Written> entries = randomEntries(r);
    entries.add(new Written("last", 0, new float[1 + r.nextInt(50)]));
    byte[] good = encode(entries);
    // The entry count sits after the magic and the version: claim one entry more or one fewer.
    byte[] bad = good.clone();
    ByteBuffer.wrap(bad).putInt(12, entries.size() + (r.nextBoolean() ? 1 : -1));
    reseal(bad);
    assertThrows(IOException.class, () -> StateFile.Reader.decode(bad, MAGIC, "test"));
  }

  /** A resealed entry claiming more elements than the file holds is refused before allocating. */
  @ParameterizedTest
  @MethodSource("seeds")
  void aResealedLieAboutAnEntrysLengthIsRefused(long seed) {
    Random r = new Random(seed);
    int kind = r.nextInt(4);
    StateFile.Writer w = new StateFile.Writer(MAGIC);
    switch (kind) {
      case 0 -> w.floats("x", new float[3]);
      case 1 -> w.doubles("x", new double[3]);
      case 2 -> w.longs("x", new long[3]);
      default -> w.bytes("x", new byte[3]);
    }
    byte[] bad = w.toBytes();
    // The element count follows the magic, version, entry count, name length, name and kind.
    int at = 8 + 4 + 4 + 2 + 1 + 1;
    int claimed = r.nextBoolean() ? Integer.MAX_VALUE : 4 + r.nextInt(1000);
    ByteBuffer.wrap(bad).putInt(at, claimed);
    reseal(bad);
    IOException e = assertThrows(IOException.class,
        () -> StateFile.Reader.decode(bad, MAGIC, "test"));
    assertTrue(e.getMessage().contains("ends inside an entry"), e.getMessage());
  }

  private static void reseal(byte[] b) {
    CRC32C crc = new CRC32C();
    crc.update(b, 0, b.length - 4);
    ByteBuffer.wrap(b).putInt(b.length - 4, (int) crc.getValue());
  }

  @Test
  void aMisfitWritesNothingAndNamesTheEntry() throws IOException {
    byte[] file = new StateFile.Writer(MAGIC).floats("a", new float[] {1, 2}).floats("b",
        new float[] {3, 4, 5}).toBytes();
    StateFile.Reader r = StateFile.Reader.decode(file, MAGIC, "test");
    float[] a = {0, 0};
    r.floats("a", a);
    IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
        () -> r.floats("b", new float[2]));
    assertTrue(e.getMessage().contains("b has 3 values"), e.getMessage());
    assertArrayEquals(new float[] {0, 0}, a, "staged, not written");

    StateFile.Reader partial = StateFile.Reader.decode(file, MAGIC, "test");
    partial.floats("a", a);
    e = assertThrows(IllegalArgumentException.class, partial::apply);
    assertTrue(e.getMessage().contains("[b]"), e.getMessage());
    assertArrayEquals(new float[] {0, 0}, a, "nothing applied while an entry is left over");

    StateFile.Reader whole = StateFile.Reader.decode(file, MAGIC, "test");
    float[] b = new float[3];
    whole.floats("a", a);
    whole.floats("b", b);
    whole.apply();
    assertArrayEquals(new float[] {1, 2}, a);
    assertArrayEquals(new float[] {3, 4, 5}, b);
    assertThrows(IllegalArgumentException.class,
        () -> StateFile.Reader.decode(file, MAGIC, "test").doubles("a", new double[2]),
        "kind checked");
    IOException other = assertThrows(IOException.class,
        () -> StateFile.Reader.decode(file, "BTOTHER\0", "neuron"));
    assertEquals("not a neuron checkpoint (no BTOTHER header)", other.getMessage());
  }

  /**
   * Damage is named as damage: a file cut short after its magic is not "not a checkpoint", and
   * a changed version number that fails the checksum is not "another version". A version that
   * passes it is.
   */
  @Test
  void aTruncatedFileOrADamagedVersionIsNamedAsDamage() {
    byte[] file = new StateFile.Writer(MAGIC).floats("a", new float[] {1, 2}).toBytes();
    IOException e = assertThrows(IOException.class,
        () -> StateFile.Reader.decode(Arrays.copyOf(file, 15), MAGIC, "test"));
    assertTrue(e.getMessage().contains("truncated"), e.getMessage());

    byte[] flipped = file.clone();
    flipped[11] ^= 2;
    e = assertThrows(IOException.class, () -> StateFile.Reader.decode(flipped, MAGIC, "test"));
    assertTrue(e.getMessage().contains("checksum"), e.getMessage());

    byte[] newer = file.clone();
    ByteBuffer.wrap(newer).putInt(8, 2);
    reseal(newer);
    e = assertThrows(IOException.class, () -> StateFile.Reader.decode(newer, MAGIC, "test"));
    assertEquals("checkpoint format version 2; this library reads 1", e.getMessage());
  }
}
