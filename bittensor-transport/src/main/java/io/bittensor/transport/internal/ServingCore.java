package io.bittensor.transport.internal;

import com.google.protobuf.GeneratedMessage;
import com.google.protobuf.UnknownFieldSet;
import io.bittensor.core.BackwardRequest;
import io.bittensor.core.BackwardResult;
import io.bittensor.core.ForwardRequest;
import io.bittensor.core.ForwardResult;
import io.bittensor.core.Keypair;
import io.bittensor.core.Modality;
import io.bittensor.core.Peer;
import io.bittensor.core.PeerId;
import io.bittensor.core.PeerInfo;
import io.bittensor.core.Rejection;
import io.bittensor.core.Status;
import io.bittensor.core.Tensor;
import io.bittensor.core.TensorStandard;
import io.bittensor.core.internal.Deadlines;
import io.bittensor.core.internal.Lazy;
import io.bittensor.core.internal.Timer;
import io.bittensor.transport.internal.wire.Response;
import java.time.Duration;
import java.util.Arrays;
import java.util.Optional;
import java.util.Set;
import java.util.TreeSet;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.concurrent.TimeUnit;
import java.util.function.Consumer;

/**
 * The serving pipeline shared by the HTTP server and the in-process transport: version, caller,
 * modality and tensor checks, then the peer's call under a deadline, then the response. Both
 * front-ends hand it decoded wire messages, so both answer every request with the same codes.
 *
 * <p>Thread-safe. It runs on the thread that hands it a request; the peer's future completes on
 * the peer's thread, or on the JDK's delayer thread when the deadline passes first.
 */
public final class ServingCore {
  private final Peer peer;
  private final Set<Modality> modalities;
  private final TensorStandard standard;
  private final Authenticator authenticator;
  private final java.util.concurrent.atomic.LongAdder checkedAhead =
      new java.util.concurrent.atomic.LongAdder();
  private final long defaultTimeoutMs;
  private final long maxTimeoutMs;
  private final Keypair answerKey;

  /**
   * @param peer the peer served
   * @param modalities the modalities it accepts
   * @param standard checks inputs and gradients
   * @param authenticator checks callers
   * @param defaultTimeout the deadline of a request that names none
   * @param maxTimeout the longest deadline granted
   */
  public ServingCore(Peer peer, Set<Modality> modalities, TensorStandard standard,
      Authenticator authenticator, Duration defaultTimeout, Duration maxTimeout) {
    this(peer, modalities, standard, authenticator, defaultTimeout, maxTimeout, null);
  }

  /**
   * A pipeline that signs its SUCCESS answers.
   *
   * @param answerKey signs every SUCCESS answer ("Signed answers" in {@code peer.proto}); null
   *     signs none
   */
  public ServingCore(Peer peer, Set<Modality> modalities, TensorStandard standard,
      Authenticator authenticator, Duration defaultTimeout, Duration maxTimeout,
      Keypair answerKey) {
    this.answerKey = answerKey;
    this.peer = peer;
    this.modalities = Set.copyOf(modalities);
    this.standard = standard;
    this.authenticator = authenticator;
    this.defaultTimeoutMs = Deadlines.saturatedMillis(defaultTimeout);
    this.maxTimeoutMs = Deadlines.saturatedMillis(maxTimeout);
  }

  /**
   * Serves a forward request that arrived now as the next method does, with nothing checked
   * ahead, the output in its full form, and nobody told of the proof.
   *
   * @param hint the caller named before the body was read (a header), or null
   * @return the response; never completes exceptionally
   */
  public CompletableFuture<Response> forward(
      io.bittensor.transport.internal.wire.ForwardRequest msg, PeerId hint) {
    return forward(msg, hint, null, false, System.nanoTime(), id -> { });
  }

  /**
   * Serves a forward request, telling {@code proved} the caller once its signature checks,
   * before the request goes on (not called for an anonymous request).
   *
   * @param ahead the signature's check from the body's first bytes ({@link #verifyAhead}), or
   *     null
   * @param rowsRepeated whether the caller reads the compact form ({@code Bittensor-Accept:
   *     repeated-rows}): an output whose rows repeat along each example's sequence is sent once
   *     per example ({@link WireTensors#withRowsRepeated}), and signed as sent
   * @param arrivedNanos when the request arrived ({@link System#nanoTime}): its timeout runs from
   *     then, the time it waited for a slot and for its body included
   */
  public CompletableFuture<Response> forward(
      io.bittensor.transport.internal.wire.ForwardRequest msg, PeerId hint,
      Authenticator.Verified ahead, boolean rowsRepeated, long arrivedNanos,
      Consumer<PeerId> proved) {
    try {
      // Computed at most once: for the caller's signature, and for the answer's.
      Lazy<byte[]> digest = new Lazy<>(() -> CanonicalDigest.of(msg));
      PeerId caller =
          authenticate(msg.getVersion(), msg.getCaller(), hint, digest, ahead, proved);
      Modality modality = modality(msg.getModalityValue());
      if (!msg.hasInput()) {
        throw new Rejected(Status.BAD_REQUEST, "input", "the request has no input tensor");
      }
      Tensor input = WireTensors.fromWire(msg.getInput(), "input", Status.BAD_SHAPE);
      reject(standard.checkInput(modality, input).orElse(null));
      String note = unknownFieldsNote(msg, msg.getCaller(), msg.getInput());
      long timeoutMs = timeout(msg.getTimeoutMs());
      long leftNanos = nanosLeft(timeoutMs, arrivedNanos);
      CompletableFuture<ForwardResult> call = peer.forward(
          new ForwardRequest(modality, input, Optional.ofNullable(caller)));
      return deadline(call, leftNanos,
          r -> AnswerSigning.sign(compact(Responses.of(r, note), rowsRepeated), true, answerKey,
              digest),
          () -> Responses.timeout(timeoutMs));
    } catch (Rejected e) {
      return CompletableFuture.completedFuture(Responses.of(e.rejection()));
    } catch (RuntimeException | Error e) { // an Error too: the call must end to free its slot
      return CompletableFuture.completedFuture(Responses.internal(e));
    }
  }

  /** {@code r} with its output's repeated rows sent once, when the caller reads that. */
  private static Response compact(Response r, boolean rowsRepeated) {
    if (!rowsRepeated || !r.hasOutput()) {
      return r;
    }
    var output = WireTensors.withRowsRepeated(r.getOutput());
    return output == r.getOutput() ? r : r.toBuilder().setOutput(output).build();
  }

  /**
   * Serves a backward request, telling {@code proved} the caller once its signature checks (not
   * called for an anonymous request).
   *
   * @param hint the caller named before the body was read (a header), or null
   * @param arrivedNanos when the request arrived ({@link System#nanoTime}), as for a forward
   * @return the response; never completes exceptionally
   */
  public CompletableFuture<Response> backward(
      io.bittensor.transport.internal.wire.BackwardRequest msg, PeerId hint, long arrivedNanos,
      Consumer<PeerId> proved) {
    try {
      Lazy<byte[]> digest = new Lazy<>(() -> CanonicalDigest.of(msg));
      PeerId caller =
          authenticate(msg.getVersion(), msg.getCaller(), hint, digest, null, proved);
      Modality modality = modality(msg.getModalityValue());
      if (!msg.hasInput() || !msg.hasGradient()) {
        throw new Rejected(Status.BAD_REQUEST, msg.hasInput() ? "gradient" : "input",
            "a backward request has both an input and a gradient tensor");
      }
      Tensor input = WireTensors.fromWire(msg.getInput(), "input", Status.BAD_SHAPE);
      reject(standard.checkInput(modality, input).orElse(null));
      Tensor gradient = WireTensors.fromWire(msg.getGradient(), "gradient", Status.BAD_SHAPE);
      reject(standard.checkGradient(input, gradient).orElse(null));
      String note = unknownFieldsNote(msg, msg.getCaller(), msg.getInput(), msg.getGradient());
      long timeoutMs = timeout(msg.getTimeoutMs());
      long leftNanos = nanosLeft(timeoutMs, arrivedNanos);
      CompletableFuture<BackwardResult> call =
          peer.backward(new BackwardRequest(modality, input, gradient,
              Optional.ofNullable(caller)));
      return deadline(call, leftNanos,
          r -> AnswerSigning.sign(Responses.of(r, note), false, answerKey, digest),
          () -> Responses.timeout(timeoutMs));
    } catch (Rejected e) {
      return CompletableFuture.completedFuture(Responses.of(e.rejection()));
    } catch (RuntimeException | Error e) { // an Error too: the call must end to free its slot
      return CompletableFuture.completedFuture(Responses.internal(e));
    }
  }

  /**
   * Checks the signature of a forward request from the first bytes of its body ({@link
   * ForwardPrefix}), while the rest is still arriving: null when there is nothing to check ahead.
   * The answer is used only if the whole request turns out to carry that caller block and that
   * digest. Never throws.
   */
  public Authenticator.Verified verifyAhead(ForwardPrefix prefix) {
    try {
      Authenticator.Verified v =
          authenticator.verifyAhead(prefix.caller(), prefix::metadataDigest);
      if (v != null) {
        checkedAhead.increment();
      }
      return v;
    } catch (RuntimeException e) {
      return null; // the request gets its full check, and its error, later
    }
  }

  /** The longest deadline granted, in milliseconds: also how long a body may take to arrive. */
  public long maxTimeoutMillis() {
    return maxTimeoutMs;
  }

  /** How many signatures {@link #verifyAhead} has checked: for tests. */
  long checkedAhead() {
    return checkedAhead.sum();
  }

  /**
   * Checks the version, then the caller (its signature, and the header's name against it);
   * returns the caller proved, null for an anonymous request. The modality is checked after.
   */
  private PeerId authenticate(int version, io.bittensor.transport.internal.wire.Caller caller,
      PeerId hint, java.util.function.Supplier<byte[]> digest, Authenticator.Verified ahead,
      Consumer<PeerId> proved) {
    checkVersion(version);
    PeerId id = authenticator.authenticate(caller, digest, ahead);
    if (hint != null && !hint.equals(id)) {
      throw new Rejected(Status.BAD_SIGNATURE, "Bittensor-Caller",
          "the Bittensor-Caller header names " + hint.toHex() + " but the request is "
              + (id == null ? "anonymous" : "signed by " + id.toHex()));
    }
    if (id != null) {
      proved.accept(id);
    }
    return id;
  }

  private static void checkVersion(int version) {
    if (version != PeerInfo.PROTOCOL_VERSION) {
      throw new Rejected(Status.UNSUPPORTED_VERSION, "version",
          "this peer speaks protocol version " + PeerInfo.PROTOCOL_VERSION + ", the request "
              + Integer.toUnsignedString(version));
    }
  }

  private Modality modality(int code) {
    Modality m =
        Modality.ofCode(code)
            .orElseThrow(
                () ->
                    new Rejected(
                        Status.UNKNOWN_MODALITY,
                        "modality",
                        "unknown modality "
                            + code
                            + "; this peer serves "
                            + new TreeSet<>(modalities)));
    if (!modalities.contains(m)) {
      throw new Rejected(Status.UNKNOWN_MODALITY, "modality",
          "this peer serves " + new TreeSet<>(modalities) + ", not " + m);
    }
    return m;
  }

  private static void reject(Rejection r) {
    if (r != null) {
      throw new Rejected(r);
    }
  }

  private long timeout(int requestedMs) {
    long asked = Integer.toUnsignedLong(requestedMs);
    return asked == 0 ? defaultTimeoutMs : Math.min(asked, maxTimeoutMs);
  }

  /**
   * What is left of a request's timeout, which runs from its arrival; a request with nothing
   * left is answered TIMEOUT without troubling the peer: its caller has stopped waiting.
   */
  private static long nanosLeft(long timeoutMs, long arrivedNanos) {
    long waited = System.nanoTime() - arrivedNanos;
    long left = TimeUnit.MILLISECONDS.toNanos(timeoutMs) - waited;
    if (left <= 0) {
      throw new Rejected(Rejection.of(Status.TIMEOUT, "the request waited " + waited / 1_000_000
          + " ms for a free slot and its body, all of its " + timeoutMs + " ms"));
    }
    return left;
  }

  private static <T> CompletableFuture<Response> deadline(CompletableFuture<T> call,
      long leftNanos, java.util.function.Function<T, Response> encode,
      java.util.function.Supplier<Response> onTimeout) {
    if (call == null) {
      return CompletableFuture.completedFuture(Responses.of(
          Rejection.of(Status.INTERNAL_ERROR, "the peer returned no future")));
    }
    CompletableFuture<Response> out = call.handle((r, e) -> {
      if (e != null) {
        Throwable cause = e instanceof CompletionException && e.getCause() != null
            ? e.getCause() : e;
        return Responses.internal(cause);
      }
      if (r == null) {
        return Responses.of(Rejection.of(Status.INTERNAL_ERROR, "the peer answered null"));
      }
      try {
        return encode.apply(r);
      } catch (RuntimeException ex) {
        return Responses.internal(ex);
      }
    });
    // Not out.completeOnTimeout: the JDK's delayer thread would be woken for every call.
    Timer.Timeout late = Timer.SHARED.schedule(leftNanos, TimeUnit.NANOSECONDS,
        () -> out.complete(null));
    out.whenComplete((r, e) -> late.cancel());
    return out.thenApply(r -> {
      if (r == null) {
        call.cancel(true); // the peer missed the deadline: let it abandon the work
        return onTimeout.get();
      }
      return r;
    });
  }

  private static String unknownFieldsNote(GeneratedMessage... messages) {
    TreeSet<String> unknown = new TreeSet<>();
    for (GeneratedMessage m : messages) {
      UnknownFieldSet u = m.getUnknownFields();
      for (Integer n : u.asMap().keySet()) {
        unknown.add(m.getDescriptorForType().getName() + "." + n);
      }
    }
    return unknown.isEmpty() ? "" : "ignored fields unknown to protocol version "
        + PeerInfo.PROTOCOL_VERSION + ": " + String.join(", ", unknown);
  }

  /** For messages: e.g. "[TEXT, TENSOR]". */
  @Override
  public String toString() {
    return "ServingCore" + Arrays.toString(modalities.toArray());
  }
}
