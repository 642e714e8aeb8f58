package io.bittensor.core;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.SplittableRandom;
import java.util.stream.LongStream;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * For random keys, passphrases (ASCII, accented, CJK, and characters outside the BMP) and cheap
 * costs: a sealed file opens to the same key with its passphrase, and to nothing with a passphrase
 * one character off or with any one hex digit of the file changed.
 */
class SealedKeyFileProperties {
  private static final String ALPHABET = "abcXYZ019 -_!~\u00e9\u00fc\u00df\u6f22\u5b57\ud83d\udd11";
  private static final byte[] MESSAGE = "forward".getBytes(StandardCharsets.UTF_8);

  @TempDir Path dir;

  static LongStream seeds() {
    return LongStream.range(0, 24).map(i -> 0x5EA1EDL * 1_000 + i);
  }

  @ParameterizedTest(name = "seed {0}")
  @MethodSource("seeds")
  void aSealedFileOpensToItsKeyAndToNothingElse(long seed) throws IOException {
    SplittableRandom random = new SplittableRandom(seed);
    byte[] keySeed = new byte[Keypair.SEED_LENGTH];
    random.nextBytes(keySeed);
    Keypair k = Keypair.fromSeed(keySeed);
    char[] passphrase = passphrase(random);
    KeyProtection cost = KeyProtection.argon2id(
        64 + random.nextInt(192), 1 + random.nextInt(2), 1 + random.nextInt(2));
    Path file = dir.resolve("k" + seed + ".key");
    k.save(file, passphrase, cost);

    Keypair opened = Keypair.load(file, passphrase);
    assertEquals(k.id(), opened.id(), "seed " + seed);
    assertArrayEquals(k.sign(MESSAGE), opened.sign(MESSAGE), "seed " + seed);
    assertEquals(k.id(), Keypair.readId(file), "seed " + seed);

    // One character off, a whole one: half of a pair is refused as such (SealedKeyFileTest).
    int[] points = new String(passphrase).codePoints().toArray();
    int at = random.nextInt(points.length);
    points[at] = points[at] == 'a' ? 'b' : 'a';
    char[] off = new String(points, 0, points.length).toCharArray();
    assertThrows(IOException.class, () -> Keypair.load(file, off), "seed " + seed);

    // One hex digit changed anywhere in the cost, salt, nonce, sealed seed or public key.
    List<String> lines = Files.readAllLines(file);
    int line = 1 + random.nextInt(5);
    String text = lines.get(line);
    int start = text.indexOf(": ") + 2;
    int digit = start + random.nextInt(text.length() - start);
    char c = text.charAt(digit);
    char changed = Character.isDigit(c) ? (char) ('0' + (c - '0' + 1) % 10)
        : c == 'f' ? 'e' : Character.isLetter(c) && c < 'f' ? (char) (c + 1) : c;
    if (changed == c) {
      return; // a separator ("m=", " t="): nothing to change there
    }
    String[] copy = lines.toArray(String[]::new);
    copy[line] = text.substring(0, digit) + changed + text.substring(digit + 1);
    Files.writeString(file, String.join("\n", copy) + "\n");
    assertThrows(IOException.class, () -> Keypair.load(file, passphrase),
        "seed " + seed + ": line " + line + " changed to " + copy[line]);
  }

  private static char[] passphrase(SplittableRandom random) {
    StringBuilder b = new StringBuilder();
    int n = 1 + random.nextInt(24);
    for (int i = 0; i < n; i++) {
      int at = random.nextInt(ALPHABET.length());
      char c = ALPHABET.charAt(at);
      if (Character.isHighSurrogate(c)) {
        b.append(c).append(ALPHABET.charAt(at + 1));
      } else if (!Character.isLowSurrogate(c)) {
        b.append(c);
      }
    }
    if (b.length() == 0) {
      b.append('x');
    }
    return b.toString().toCharArray();
  }
}
