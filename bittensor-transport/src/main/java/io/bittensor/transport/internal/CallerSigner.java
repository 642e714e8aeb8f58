package io.bittensor.transport.internal;

import com.google.protobuf.ByteString;
import com.google.protobuf.UnsafeByteOperations;
import io.bittensor.core.Keypair;
import io.bittensor.transport.internal.wire.Caller;
import io.bittensor.transport.internal.wire.SignatureScope;
import java.nio.ByteBuffer;
import java.security.SecureRandom;
import java.time.Clock;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.Function;

/**
 * Makes signed {@link Caller} blocks for one key: a unique 16-byte nonce (a random prefix and
 * a counter), the clock's time and an Ed25519 signature over the digest of the message that
 * carries the block unsigned. Shared by peer requests and ledger requests.
 *
 * <p>Thread-safe.
 */
public final class CallerSigner {
  private final Keypair keypair;
  private final Clock clock;
  private final byte[] noncePrefix = new byte[8];
  private final AtomicLong nonceCounter = new AtomicLong();

  public CallerSigner(Keypair keypair, Clock clock) {
    this.keypair = keypair;
    this.clock = clock;
    new SecureRandom().nextBytes(noncePrefix);
  }

  /** The key that signs. */
  public Keypair keypair() {
    return keypair;
  }

  /**
   * A fresh caller block signed over the digest that {@code digestWith} computes for the
   * message carrying it unsigned; the block names the default scope, the whole request.
   */
  public Caller sign(Function<Caller, byte[]> digestWith) {
    return sign(SignatureScope.WHOLE_REQUEST, digestWith);
  }

  /**
   * A fresh caller block naming {@code scope}, signed over the digest that {@code digestWith}
   * computes (in that scope) for the message carrying it unsigned.
   */
  public Caller sign(SignatureScope scope, Function<Caller, byte[]> digestWith) {
    ByteBuffer nonce = ByteBuffer.allocate(16).put(noncePrefix)
        .putLong(nonceCounter.incrementAndGet());
    Caller unsigned = Caller.newBuilder()
        .setPublicKey(ByteString.copyFrom(keypair.id().toBytes()))
        .setNonce(ByteString.copyFrom(nonce.flip()))
        .setTimestampMs(clock.millis())
        .setScope(scope)
        .build();
    byte[] signature = keypair.sign(digestWith.apply(unsigned));
    return unsigned.toBuilder().setSignature(UnsafeByteOperations.unsafeWrap(signature)).build();
  }
}
