package io.bittensor.benchmarks;

import io.bittensor.core.Keypair;
import io.bittensor.core.PeerId;
import io.bittensor.core.internal.Ed25519Tables;
import java.security.KeyPair;
import java.security.KeyPairGenerator;
import java.security.PublicKey;
import java.security.Signature;
import java.util.SplittableRandom;
import java.util.concurrent.TimeUnit;
import org.bouncycastle.math.ec.rfc8032.Ed25519;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Measurement;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.Warmup;

/**
 * Ed25519 as every request and ledger transaction uses it ({@code Keypair.sign},
 * {@code PeerId.verify}, over a 96-byte message such as a request's digest and header) beside
 * the JDK's own {@code Signature("Ed25519")}, the implementation a user would reach for. Both
 * give the same signature bytes ({@code SignaturesTest}). {@code verifyOurs} verifies a key that
 * signs often, so with its table of multiples; {@code verifyBouncyCastle} is the same check
 * without the table (Bouncy Castle's verification, the key's point decoded once).
 *
 * <pre>
 * mvn -B -q -Pbench -pl benchmarks -am package -DskipTests
 * java -jar benchmarks/target/benchmarks.jar Ed25519Benchmark
 * </pre>
 */
@State(Scope.Benchmark)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.MICROSECONDS)
@Warmup(iterations = 3, time = 2)
@Measurement(iterations = 5, time = 2)
@Fork(1)
public class Ed25519Benchmark {
  private final byte[] message = new byte[96];
  private Keypair ours;
  private KeyPair jdk;
  private PublicKey jdkPublic;
  private byte[] ourSignature;
  private byte[] jdkSignature;
  private PeerId ourId;
  private Ed25519.PublicPoint ourPoint;
  private Signature jdkSigner;
  private Signature jdkVerifier;

  @Setup
  public void keys() throws Exception {
    new SplittableRandom(7).nextBytes(message);
    ours = Keypair.generate();
    ourId = ours.id();
    ourSignature = ours.sign(message);
    ourPoint = Ed25519.validatePublicKeyFullExport(ourId.toBytes(), 0);
    jdk = KeyPairGenerator.getInstance("Ed25519").generateKeyPair();
    jdkPublic = jdk.getPublic();
    jdkSigner = Signature.getInstance("Ed25519");
    jdkVerifier = Signature.getInstance("Ed25519");
    jdkSigner.initSign(jdk.getPrivate());
    jdkSigner.update(message);
    jdkSignature = jdkSigner.sign();
  }

  @Benchmark
  public byte[] signOurs() {
    return ours.sign(message);
  }

  @Benchmark
  public byte[] signJdk() throws Exception {
    jdkSigner.initSign(jdk.getPrivate());
    jdkSigner.update(message);
    return jdkSigner.sign();
  }

  @Benchmark
  public boolean verifyOurs() {
    return ourId.verify(message, ourSignature);
  }

  /**
   * What {@code verifyOurs} did before the key tables: Bouncy Castle's verification with the
   * key's decoded point cached, as {@code Signatures} still does for a key seen once.
   */
  @Benchmark
  public boolean verifyBouncyCastle() {
    return Ed25519.verify(ourSignature, 0, ourPoint, message, 0, message.length);
  }

  /** What a key's first verification after its table is due costs on top: building the table. */
  @Benchmark
  public Object buildKeyTable() {
    return Ed25519Tables.Table.of(ourId.toBytes());
  }

  @Benchmark
  public boolean verifyJdk() throws Exception {
    jdkVerifier.initVerify(jdkPublic);
    jdkVerifier.update(message);
    return jdkVerifier.verify(jdkSignature);
  }
}
