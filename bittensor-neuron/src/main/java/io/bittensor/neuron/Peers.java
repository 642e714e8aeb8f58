package io.bittensor.neuron;

import io.bittensor.core.BackwardRequest;
import io.bittensor.core.BackwardResult;
import io.bittensor.core.DType;
import io.bittensor.core.Experimental;
import io.bittensor.core.ForwardRequest;
import io.bittensor.core.ForwardResult;
import io.bittensor.core.Modality;
import io.bittensor.core.Peer;
import io.bittensor.core.Rejection;
import io.bittensor.core.Status;
import io.bittensor.core.Tensor;
import io.bittensor.core.TensorStandard;
import io.bittensor.learning.TrainablePeer;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Optional;
import java.util.SplittableRandom;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.AtomicReference;
import java.util.function.Function;

/**
 * Small peers that need no model file: baselines for a market (a hashed bag of words, noise), a
 * peer that serves nothing, and a memo that answers repeated inputs from memory.
 *
 * <pre>{@code
 * Peer weak = Peers.bagOfWords(384, 32, 7);        // TEXT: token counts in 32 hashed buckets
 * Peer noise = Peers.noise(384, 7);                 // any input: seeded random vectors
 * OnnxPeer onnxPeer = OnnxPeer.builder().model(Path.of("model.onnx"))...build();
 * Peer cached = Peers.memoize(onnxPeer);            // the model runs once per distinct input row
 * }</pre>
 *
 * <p>Every peer here is thread-safe and answers FLOAT32 {@code [batch, sequence, outputDim]}.
 */
@Experimental
public final class Peers {
  private Peers() {}

  /**
   * A TEXT peer that counts each example's token ids into {@code buckets} hashed buckets
   * (padding, id 0, skipped), takes {@code log(1 + count)}, scales the row to unit length and
   * answers it, zero-padded to {@code outputDim}, at every position. A weak but honest baseline:
   * it sees which words occur, not their order or meaning, and few buckets mix many words.
   *
   * @param outputDim the network's answer size
   * @param buckets how many hashed buckets, {@code 1 <= buckets <= outputDim}
   * @param seed the hash's seed
   * @throws IllegalArgumentException if the sizes are out of range
   */
  public static Peer bagOfWords(int outputDim, int buckets, long seed) {
    TensorStandard standard = TensorStandard.of(outputDim);
    if (buckets < 1 || buckets > outputDim) {
      throw new IllegalArgumentException(
          "buckets must be in [1, outputDim = " + outputDim + "], was " + buckets);
    }
    return new Computed("bag of words (" + buckets + " buckets)", standard, Modality.TEXT) {
      @Override
      void row(Tensor input, int b, float[] out) {
        countWords(input, b, buckets, seed, out);
      }
    };
  }

  /**
   * What {@link #bagOfWords} answers, as features for a model to learn on: each example's token
   * ids counted into {@code buckets} hashed buckets, {@code log(1 + count)}, scaled to unit
   * length, as a FLOAT32 {@code [batch, buckets]} tensor. For a {@link TrainablePeer} that learns
   * from words:
   *
   * <pre>{@code
   * TrainablePeer words = TrainablePeer.builder()
   *     .network(TrainableMlp.random(new int[] {256, 64, 384}, Mlp.Activation.RELU, 7))
   *     .features(Peers.bagOfWordsFeatures(256, 7))
   *     .build();
   * }</pre>
   *
   * @param buckets how many hashed buckets, {@code >= 1}
   * @param seed the hash's seed
   * @return a function that throws {@link IllegalArgumentException} for an input that is not
   *     INT64 token ids {@code [batch, sequence]}
   * @throws IllegalArgumentException if {@code buckets < 1}
   */
  public static Function<Tensor, Tensor> bagOfWordsFeatures(int buckets, long seed) {
    if (buckets < 1) {
      throw new IllegalArgumentException("buckets must be >= 1, was " + buckets);
    }
    return input -> {
      if (input.dtype() != DType.INT64 || input.rank() != 2) {
        throw new IllegalArgumentException("bag-of-words features need TEXT token ids,"
            + " INT64 [batch, sequence]; was " + input.dtype() + " "
            + Arrays.toString(input.shape()));
      }
      int batch = input.dim(0);
      float[] x = new float[batch * buckets];
      float[] row = new float[buckets];
      for (int b = 0; b < batch; b++) {
        Arrays.fill(row, 0f);
        countWords(input, b, buckets, seed, row);
        System.arraycopy(row, 0, x, b * buckets, buckets);
      }
      return Tensor.ofFloats(x, batch, buckets);
    };
  }

  /**
   * Counts example {@code b}'s token ids (padding, id 0, skipped) into {@code out[0, buckets)},
   * takes {@code log(1 + count)} and scales {@code out} to unit length.
   */
  private static void countWords(Tensor input, int b, int buckets, long seed, float[] out) {
    int seq = input.dim(1);
    for (int s = 0; s < seq; s++) {
      long id = input.longAt(b * seq + s);
      if (id != 0) {
        out[(int) Long.remainderUnsigned(mix(id ^ seed), buckets)] += 1;
      }
    }
    double norm = 0;
    for (int j = 0; j < buckets; j++) {
      out[j] = (float) Math.log1p(out[j]);
      norm += out[j] * out[j];
    }
    scale(out, norm);
  }

  /**
   * A peer that answers any input with a random unit vector per example, the same one each time
   * for the same example and seed: it carries no information about its input.
   *
   * @param outputDim the network's answer size
   * @param seed the random source's seed
   * @throws IllegalArgumentException if {@code outputDim < 1}
   */
  public static Peer noise(int outputDim, long seed) {
    TensorStandard standard = TensorStandard.of(outputDim);
    return new Computed("noise", standard, null) {
      @Override
      void row(Tensor input, int b, float[] out) {
        // This example's bytes only: a copy of the whole batch per example was quadratic.
        ByteBuffer all = input.data();
        int width = input.byteSize() / input.dim(0);
        long h = seed;
        for (int i = b * width; i < (b + 1) * width; i++) {
          h = mix(h ^ all.get(i));
        }
        SplittableRandom random = new SplittableRandom(h);
        double norm = 0;
        for (int j = 0; j < out.length; j++) {
          out[j] = (float) random.nextGaussian();
          norm += out[j] * out[j];
        }
        scale(out, norm);
      }
    };
  }

  /**
   * A peer that answers every request with {@code status} and {@code message}: for a neuron that
   * only validates, or one that has left the market but keeps its key.
   *
   * @param status the failure to answer, not {@link Status#SUCCESS}
   * @throws IllegalArgumentException if {@code status} is SUCCESS
   */
  public static Peer failing(Status status, String message) {
    if (status == Status.SUCCESS) {
      throw new IllegalArgumentException("a failing peer needs a failure status, was SUCCESS");
    }
    ForwardResult answer = ForwardResult.failure(status, message);
    return new Peer() {
      @Override
      public CompletableFuture<ForwardResult> forward(ForwardRequest request) {
        return CompletableFuture.completedFuture(answer);
      }

      @Override
      public String toString() {
        return "failing peer (" + status + ": " + message + ")";
      }
    };
  }

  /**
   * A memo in front of {@code delegate}: each distinct input row (same modality, dtype, shape and
   * bytes) goes to the delegate once; later requests for it are answered from memory, and only
   * the rows not seen yet are sent on, as one smaller batch. For deterministic models that many
   * callers ask about the same data, such as a market's validators sharing a corpus. A request
   * for a row that the model is answering (for another request, or twice in one) waits for that
   * answer rather than ask again; should that call fail, it asks the model itself. A request that
   * gives up, its future cancelled (as a server does at its caller's deadline, and {@link
   * Peer#forward(ForwardRequest, java.time.Duration)} at its own), only stops waiting: the model
   * call runs on for the requests still waiting on it, whoever made it, and is cancelled once the
   * last of them has given up, when the next request for its rows asks again. A call that never
   * ends holds no one past their deadline, but while a request without one waits on it, later
   * requests for its rows wait on it too, each up to its own deadline. Gradients go
   * to the delegate unchanged. Memory grows with the distinct rows seen: one {@code outputDim}
   * vector per row whose answer is the same at every position, the whole row otherwise.
   *
   * @param delegate the model; its failures are passed on and not remembered
   */
  public static Memo memoize(Peer delegate) {
    return new Memo(delegate);
  }

  /** A peer that remembers its delegate's answers per input row; see {@link Peers#memoize}. */
  public static final class Memo implements Peer {
    private final Peer delegate;
    private final ConcurrentHashMap<RowKey, Answer> rows = new ConcurrentHashMap<>();
    /**
     * Rows sent to the model and not answered yet, each to the call asking for it, so that a
     * request for one shares that call rather than send the row again.
     */
    private final ConcurrentHashMap<RowKey, Call> pending = new ConcurrentHashMap<>();
    private final AtomicLong hits = new AtomicLong();
    private final AtomicLong misses = new AtomicLong();

    private Memo(Peer delegate) {
      this.delegate = java.util.Objects.requireNonNull(delegate, "delegate");
    }

    /**
     * One model call and the requests waiting on it: the one that made it, and those that asked
     * for its rows since. It is cancelled only once all of them have given up, so that one
     * request's deadline does not take the answer from the others.
     */
    private final class Call {
      /** Completes true once the rows are remembered, false if the call failed or was dropped. */
      final CompletableFuture<Boolean> done = new CompletableFuture<>();
      /** The rows it asks for, and the model's call; set by its maker before the maker leaves. */
      volatile RowKey[] rows = new RowKey[0];
      volatile CompletableFuture<ForwardResult> model;
      private int waiting = 1; // its maker; guarded by this
      private boolean dropped; // guarded by this

      /** Counts one more request waiting on it; false once dropped, to be asked again. */
      synchronized boolean join() {
        if (dropped) {
          return false;
        }
        waiting++;
        return true;
      }

      /** A request no longer waits on it: the last to leave drops it, ended or not. */
      void leave() {
        synchronized (this) {
          if (--waiting > 0 || dropped) {
            return;
          }
          dropped = true;
        }
        // No one waits for the answer: a later request asks the model again.
        for (RowKey key : rows) {
          pending.remove(key, this);
        }
        CompletableFuture<ForwardResult> call = model;
        if (call != null) {
          call.cancel(true); // a no-op on a call that ended
        }
      }
    }

    @Override
    public CompletableFuture<ForwardResult> forward(ForwardRequest request) {
      Tensor input = request.input();
      if (input.rank() < 2 || input.dim(0) == 0) {
        return delegate.forward(request); // no rows to remember: the model answers or refuses
      }
      int batch = input.dim(0);
      int seq = input.dim(1);
      byte[] all = input.toByteArray();
      int width = all.length / batch;
      RowKey[] keys = new RowKey[batch];
      RowKey[] missing = new RowKey[batch];
      Call mine = null; // the call this request makes, for the rows no one is asking about
      Call spare = null;
      List<Call> waits = new ArrayList<>(); // other requests' calls this one waits on
      int missed = 0;
      int[] rowShape = Arrays.copyOfRange(input.shape(), 1, input.rank());
      for (int b = 0; b < batch; b++) {
        RowKey key = new RowKey(request.modality(), input.dtype(), rowShape,
            Arrays.copyOfRange(all, b * width, (b + 1) * width));
        keys[b] = key;
        if (rows.containsKey(key)) {
          continue;
        }
        Call call = mine != null ? mine : spare != null ? spare : (spare = new Call());
        while (true) {
          Call asked = pending.putIfAbsent(key, call);
          if (asked == null) {
            if (rows.containsKey(key)) { // answered between the two looks
              pending.remove(key, call);
              if (call == spare) {
                spare = null;
                call.done.complete(true); // for any request that joined it meanwhile
              }
            } else {
              missing[missed++] = key;
              mine = call;
              spare = null;
            }
            break;
          }
          if (asked == mine || waits.contains(asked)) {
            break; // twice in this request: the one call answers both
          }
          if (asked.join()) {
            waits.add(asked); // the model is answering it for another request
            break;
          }
          pending.remove(key, asked); // everyone waiting on that call gave up: ask again
        }
      }
      hits.addAndGet(batch - missed);
      misses.addAndGet(missed);
      CompletableFuture<ForwardResult> own = mine == null
          ? CompletableFuture.completedFuture(null)
          : settle(mine, request, Arrays.copyOf(missing, missed), seq);
      // However this request ends, it leaves its calls: the last to leave one cancels it.
      List<Call> joined = new ArrayList<>(waits);
      if (mine != null) {
        joined.add(mine);
      }
      if (waits.isEmpty()) {
        CompletableFuture<ForwardResult> result =
            own.thenApply(failed -> failed != null ? failed : assemble(keys, seq));
        result.whenComplete((r, e) -> joined.forEach(Call::leave));
        return result;
      }
      // Whichever of the caller's giving up and a retry's call comes second cancels that call.
      AtomicBoolean gaveUp = new AtomicBoolean();
      AtomicReference<CompletableFuture<ForwardResult>> retry = new AtomicReference<>();
      CompletableFuture<?>[] everything = new CompletableFuture<?>[waits.size() + 1];
      for (int i = 0; i < waits.size(); i++) {
        everything[i] = waits.get(i).done;
      }
      everything[waits.size()] = own;
      CompletableFuture<Void> answered = CompletableFuture.allOf(everything);
      CompletableFuture<ForwardResult> result = answered.thenCompose(x -> {
        ForwardResult failed = own.join();
        if (failed != null) {
          return CompletableFuture.completedFuture(failed);
        }
        for (Call w : waits) {
          if (!w.done.join()) { // that call failed: its failure was its request's, not this one's
            CompletableFuture<ForwardResult> again = forward(request);
            retry.set(again);
            if (gaveUp.get()) {
              again.cancel(true);
            }
            return again;
          }
        }
        return CompletableFuture.completedFuture(assemble(keys, seq));
      });
      result.whenComplete((r, e) -> {
        if (result.isCancelled()) { // the caller gave up: so does the call it asks again
          gaveUp.set(true);
          CompletableFuture<ForwardResult> again = retry.get();
          if (again != null) {
            again.cancel(true);
          }
        }
        joined.forEach(Call::leave);
      });
      return result;
    }

    /** Sends {@code missing} to the model as one batch. */
    private CompletableFuture<ForwardResult> ask(ForwardRequest request, RowKey[] missing) {
      try {
        Tensor input = request.input();
        int width = missing[0].bytes.length;
        int[] shape = input.shape().clone();
        shape[0] = missing.length;
        ByteBuffer sub =
            ByteBuffer.allocate(missing.length * width).order(ByteOrder.LITTLE_ENDIAN);
        for (RowKey key : missing) {
          sub.put(key.bytes);
        }
        sub.flip();
        Tensor subInput = Tensor.wrap(input.dtype(), sub, shape);
        return delegate.forward(request.withInput(subInput));
      } catch (RuntimeException | Error e) {
        return CompletableFuture.failedFuture(e); // settled as a failure: the rows are let go
      }
    }

    /**
     * Makes {@code call}: asks the model about {@code asked}, remembers its answer, then takes
     * the rows out of {@link #pending} and completes {@link Call#done} (true once the rows are
     * remembered, false if the model failed or its call was cancelled).
     *
     * @return completes with null once the rows are remembered, or with the model's failure
     */
    private CompletableFuture<ForwardResult> settle(Call call, ForwardRequest request,
        RowKey[] asked, int seq) {
      call.rows = asked;
      call.model = ask(request, asked);
      CompletableFuture<ForwardResult> done =
          call.model.thenApply(r -> remember(r, asked, asked.length, seq));
      // Whatever the outcome, the rows are no longer being asked: a later request asks again.
      done.whenComplete((failed, e) -> {
        for (RowKey key : asked) {
          pending.remove(key, call);
        }
        call.done.complete(e == null && failed == null);
      });
      return done;
    }

    /** Remembers the answer to the first {@code count} of {@code missing}: null, or why not. */
    private ForwardResult remember(ForwardResult r, RowKey[] missing, int count, int seq) {
      if (!r.isSuccess()) {
        return r;
      }
      Tensor out = r.output().orElseThrow();
      if (out.dtype() != DType.FLOAT32 || out.rank() != 3) {
        return ForwardResult.rejected(new Rejection(Status.BAD_RESPONSE, "output.shape",
            "the model answered " + out.dtype() + " " + Arrays.toString(out.shape())
                + ", not FLOAT32 [batch, sequence, dim]"));
      }
      int dim = out.dim(2);
      float[] values = out.toFloatArray();
      int rowFloats = seq * dim;
      if (out.dim(0) != count || values.length != count * rowFloats) {
        return ForwardResult.rejected(new Rejection(Status.BAD_RESPONSE, "output.shape",
            "the model answered " + Arrays.toString(out.shape()) + " for " + count + " rows"));
      }
      for (int i = 0; i < count; i++) {
        rows.put(missing[i], compact(values, i * rowFloats, seq, dim));
      }
      return null;
    }

    @Override
    public CompletableFuture<BackwardResult> backward(BackwardRequest request) {
      return delegate.backward(request);
    }

    /**
     * Remembers {@code answer} for the rows of {@code request}, as if the model had given it: to
     * load answers computed earlier (a cache on disk).
     *
     * @param answer FLOAT32 {@code [batch, sequence, dim]} for the request's batch; not modified
     * @throws IllegalArgumentException if the answer is not FLOAT32 or its shape does not fit the
     *     request, or the request has no {@code [batch, sequence]} rows
     */
    public void remember(ForwardRequest request, Tensor answer) {
      Tensor input = request.input();
      if (input.rank() < 2) {
        throw new IllegalArgumentException("the request must be [batch, sequence, ...] to have"
            + " rows to remember, was " + Arrays.toString(input.shape()));
      }
      int batch = input.dim(0);
      int seq = input.dim(1);
      if (answer.rank() != 3 || answer.dim(0) != batch || answer.dim(1) != seq) {
        throw new IllegalArgumentException("the answer must be [" + batch + ", " + seq
            + ", dim], was " + Arrays.toString(answer.shape()));
      }
      if (answer.dtype() != DType.FLOAT32) {
        throw new IllegalArgumentException("the answer must be FLOAT32, was " + answer.dtype());
      }
      if (batch == 0) {
        return; // no rows
      }
      byte[] all = input.toByteArray();
      int width = all.length / batch;
      float[] values = answer.toFloatArray();
      int dim = answer.dim(2);
      int[] rowShape = Arrays.copyOfRange(input.shape(), 1, input.rank());
      for (int b = 0; b < batch; b++) {
        rows.put(new RowKey(request.modality(), input.dtype(), rowShape,
                Arrays.copyOfRange(all, b * width, (b + 1) * width)),
            compact(values, b * seq * dim, seq, dim));
      }
    }

    /** Rows answered from memory so far. */
    public long hits() {
      return hits.get();
    }

    /** Rows sent to the model so far. */
    public long misses() {
      return misses.get();
    }

    private ForwardResult assemble(RowKey[] keys, int seq) {
      int dim = rows.get(keys[0]).dim;
      Optional<ForwardResult> tooLarge = tooLarge(keys.length, seq, dim);
      if (tooLarge.isPresent()) {
        return tooLarge.get();
      }
      float[] out = new float[keys.length * seq * dim];
      for (int b = 0; b < keys.length; b++) {
        Answer a = rows.get(keys[b]);
        if (a.dim != dim) {
          return ForwardResult.rejected(new Rejection(Status.BAD_RESPONSE, "output.shape",
              "the model answered rows of " + a.dim + " and " + dim + " features"));
        }
        if (a.values.length == dim) {
          for (int s = 0; s < seq; s++) {
            System.arraycopy(a.values, 0, out, (b * seq + s) * dim, dim);
          }
        } else {
          System.arraycopy(a.values, 0, out, b * seq * dim, seq * dim);
        }
      }
      return ForwardResult.success(Tensor.ofFloats(out, keys.length, seq, dim));
    }

    private static Answer compact(float[] values, int offset, int seq, int dim) {
      boolean same = true;
      for (int s = 1; s < seq && same; s++) {
        same = Arrays.equals(values, offset, offset + dim,
            values, offset + s * dim, offset + (s + 1) * dim);
      }
      // A row that is the same at every position (a pooled answer) is kept once.
      return new Answer(dim, same
          ? Arrays.copyOfRange(values, offset, offset + dim)
          : Arrays.copyOfRange(values, offset, offset + seq * dim));
    }

    @Override
    public String toString() {
      return "memo of " + delegate;
    }
  }

  /** A remembered answer row: {@code dim} floats, or {@code sequence * dim}. */
  private record Answer(int dim, float[] values) {}

  /**
   * An input row: its bytes, and what they mean (the same bytes in another dtype, or another
   * shape of row, are another input).
   */
  private record RowKey(Modality modality, DType dtype, int[] shape, byte[] bytes) {
    @Override
    public boolean equals(Object o) {
      return o instanceof RowKey k && k.modality == modality && k.dtype == dtype
          && Arrays.equals(k.shape, shape) && Arrays.equals(k.bytes, bytes);
    }

    @Override
    public int hashCode() {
      return ((31 * modality.hashCode() + dtype.hashCode()) * 31 + Arrays.hashCode(shape)) * 31
          + Arrays.hashCode(bytes);
    }
  }

  /** The most floats of an answer: what a float32 tensor holds. */
  private static final long MAX_ANSWER_FLOATS = Tensor.MAX_BYTES / 4;

  /**
   * PAYLOAD_TOO_LARGE when an answer of {@code [batch, seq, dim]} is more than a tensor holds,
   * counted in {@code long} (in {@code int} it wrapped, and forward threw); else empty.
   */
  static Optional<ForwardResult> tooLarge(int batch, int seq, int dim) {
    long floats = (long) batch * seq * dim;
    if (floats <= MAX_ANSWER_FLOATS) {
      return Optional.empty();
    }
    return Optional.of(ForwardResult.rejected(new Rejection(Status.PAYLOAD_TOO_LARGE,
        "input.shape", "the answer to [" + batch + ", " + seq + ", ...] at " + dim
            + " features would have " + floats + " floats, more than a tensor holds ("
            + MAX_ANSWER_FLOATS + "); split it")));
  }

  /** A peer that computes each example's answer row from its input, repeated at each position. */
  private abstract static class Computed implements Peer {
    private final String name;
    private final TensorStandard standard;
    private final Modality only;

    Computed(String name, TensorStandard standard, Modality only) {
      this.name = name;
      this.standard = standard;
      this.only = only;
    }

    abstract void row(Tensor input, int b, float[] out);

    @Override
    public CompletableFuture<ForwardResult> forward(ForwardRequest request) {
      if (only != null && request.modality() != only) {
        return CompletableFuture.completedFuture(ForwardResult.rejected(new Rejection(
            Status.UNKNOWN_MODALITY, "modality", name + " takes " + only + ", was "
                + request.modality())));
      }
      var bad = standard.checkInput(request.modality(), request.input());
      if (bad.isPresent()) {
        return CompletableFuture.completedFuture(ForwardResult.rejected(bad.get()));
      }
      Tensor input = request.input();
      int batch = input.dim(0);
      int seq = input.dim(1);
      int dim = standard.outputDim();
      Optional<ForwardResult> tooLarge = tooLarge(batch, seq, dim);
      if (tooLarge.isPresent()) {
        return CompletableFuture.completedFuture(tooLarge.get());
      }
      float[] out = new float[batch * seq * dim];
      float[] r = new float[dim];
      for (int b = 0; b < batch; b++) {
        Arrays.fill(r, 0);
        row(input, b, r);
        for (int s = 0; s < seq; s++) {
          System.arraycopy(r, 0, out, (b * seq + s) * dim, dim);
        }
      }
      return CompletableFuture.completedFuture(
          ForwardResult.success(Tensor.ofFloats(out, batch, seq, dim)));
    }

    @Override
    public String toString() {
      return name;
    }
  }

  static void scale(float[] v, double squaredNorm) {
    if (squaredNorm > 0) {
      float inv = (float) (1 / Math.sqrt(squaredNorm));
      for (int j = 0; j < v.length; j++) {
        v[j] *= inv;
      }
    }
  }

  /** SplitMix64's finaliser: a cheap, well-mixed hash of a long. */
  static long mix(long z) {
    z = (z ^ (z >>> 30)) * 0xbf58476d1ce4e5b9L;
    z = (z ^ (z >>> 27)) * 0x94d049bb133111ebL;
    return z ^ (z >>> 31);
  }
}
