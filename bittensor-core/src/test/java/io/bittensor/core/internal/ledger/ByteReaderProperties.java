package io.bittensor.core.internal.ledger;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.SplittableRandom;
import java.util.stream.LongStream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * The reader under every ledger decoder: what the writer wrote reads back, big-endian, and each
 * limit holds exactly at its edge (the last byte there is read; one more is refused, naming the
 * field) so that a decoder never reads past its input nor allocates what the input cannot hold.
 */
class ByteReaderProperties {

  static LongStream seeds() {
    return LongStream.range(0, 100).map(i -> 0xB17EL * 31 + i);
  }

  @ParameterizedTest(name = "seed {0}")
  @MethodSource("seeds")
  void whatIsWrittenReadsBack(long seed) {
    SplittableRandom r = new SplittableRandom(seed);
    int u8 = r.nextInt(256);
    int u16 = r.nextInt(65536);
    int i32 = r.nextInt();
    long i64 = r.nextLong();
    double f64 = Double.longBitsToDouble(r.nextLong());
    byte[] blob = new byte[r.nextInt(40)];
    r.nextBytes(blob);
    String s = "é" + Long.toString(r.nextLong(), 36) + "\u20ac";
    byte[] data = new ByteWriter(4).u8(u8).u16(u16).i32(i32).i64(i64).f64(f64).blob(blob)
        .string(s).toByteArray();
    ByteReader in = new ByteReader(data);
    assertEquals(u8, in.u8("a"));
    assertEquals(u16, in.u16("b"));
    assertEquals(i32, in.i32("c"));
    assertEquals(i64, in.i64("d"));
    assertEquals(Double.doubleToRawLongBits(f64), Double.doubleToRawLongBits(in.f64("e")));
    assertArrayEquals(blob, in.blob(blob.length, "f"));
    assertEquals(s, in.string("g"));
    assertEquals(0, in.remaining());
    assertEquals(data.length, in.position());
    in.requireEnd("the record");
  }

  @Test
  void numbersAreBigEndian() {
    ByteReader in = new ByteReader(new byte[] {0x12, 0x34, (byte) 0xFE, (byte) 0xDC, 0, 1});
    assertEquals(0x1234, in.u16("x"));
    assertEquals(0xFEDC0001, in.i32("y"));
    assertEquals(0xFEDC, new ByteReader(new byte[] {(byte) 0xFE, (byte) 0xDC}).u16("z"));
  }

  @Test
  void aReadOfTheLastBytesWorksAndOneMoreIsRefused() {
    byte[] data = {1, 2, 3, 4, 5, 6, 7, 8, 9, 10};
    ByteReader in = new ByteReader(data, 2, 6); // bytes 3 to 8
    assertArrayEquals(new byte[] {3, 4, 5, 6, 7}, in.bytes(5, "head"));
    assertEquals(1, in.remaining());
    IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
        () -> in.u16("tail"));
    assertEquals("truncated: tail needs 2 bytes, 1 left", e.getMessage());
    assertEquals(8, in.u8("last"));
    assertThrows(IllegalArgumentException.class, () -> in.u8("past the end"));
    assertThrows(IllegalArgumentException.class, () -> new ByteReader(data).bytes(-1, "n"));
    assertEquals(0, new ByteReader(data, 10, 0).bytes(0, "nothing").length);
  }

  @Test
  void blobsAndCountsHoldTheirLimitsExactly() {
    byte[] four = new ByteWriter(8).blob(new byte[] {1, 2, 3, 4}).toByteArray();
    assertEquals(4, new ByteReader(four).blob(4, "key").length, "at the limit");
    IllegalArgumentException over = assertThrows(IllegalArgumentException.class,
        () -> new ByteReader(four).blob(3, "key"));
    assertEquals("key length must be in [0, 3], was 4", over.getMessage());
    byte[] negative = new ByteWriter(4).i32(-1).toByteArray();
    assertThrows(IllegalArgumentException.class, () -> new ByteReader(negative).blob(9, "key"));

    // A count of 3 elements of at least 4 bytes needs 12 bytes after it.
    byte[] twelve = new ByteWriter(16).i32(3).bytes(new byte[12]).toByteArray();
    assertEquals(3, new ByteReader(twelve).count(3, 4, "rows"), "fits exactly");
    assertThrows(IllegalArgumentException.class, () -> new ByteReader(twelve).count(2, 4, "rows"),
        "over the maximum");
    byte[] eleven = new ByteWriter(16).i32(3).bytes(new byte[11]).toByteArray();
    IllegalArgumentException longer = assertThrows(IllegalArgumentException.class,
        () -> new ByteReader(eleven).count(3, 4, "rows"));
    assertEquals("rows count 3 is out of range [0, 3] or longer than the input",
        longer.getMessage());
    byte[] minus = new ByteWriter(4).i32(-2).toByteArray();
    assertThrows(IllegalArgumentException.class, () -> new ByteReader(minus).count(9, 0, "rows"));
    // Elements of no minimum size: a huge count is still bounded by the maximum.
    byte[] huge = new ByteWriter(4).i32(Integer.MAX_VALUE).toByteArray();
    assertThrows(IllegalArgumentException.class,
        () -> new ByteReader(huge).count(1 << 20, 0, "rows"));
  }

  @Test
  void leftoverBytesAreNamed() {
    ByteReader in = new ByteReader(new byte[] {1, 2, 3});
    in.u8("first");
    IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
        () -> in.requireEnd("a block"));
    assertEquals("a block has 2 trailing bytes", e.getMessage());
    IllegalArgumentException utf = assertThrows(IllegalArgumentException.class,
        () -> new ByteReader(new ByteWriter(8).u16(2).bytes(new byte[] {(byte) 0xC3, 0x28})
            .toByteArray()).string("name"));
    assertTrue(utf.getMessage().contains("name is not well-formed UTF-8"), utf.getMessage());
  }
}
