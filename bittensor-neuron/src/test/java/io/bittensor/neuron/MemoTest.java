package io.bittensor.neuron;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.bittensor.core.BackwardRequest;
import io.bittensor.core.BackwardResult;
import io.bittensor.core.ForwardRequest;
import io.bittensor.core.ForwardResult;
import io.bittensor.core.Modality;
import io.bittensor.core.Peer;
import io.bittensor.core.Status;
import io.bittensor.core.Tensor;
import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.Semaphore;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.stream.LongStream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * {@link Peers#memoize}: each distinct row goes to the model once, later requests are answered
 * from memory exactly as the model answered, and only the rows not seen yet are sent on.
 */
class MemoTest {
  private static final int DIM = 3;

  /**
   * A deterministic model that counts the rows it is sent: each row's answer is a function of
   * its values, the same at every position ({@code pooled}) or different at each.
   */
  private static final class Model implements Peer {
    final boolean pooled;
    final List<Integer> batches = new ArrayList<>();
    volatile Status failWith;
    volatile int answerRows = -1; // a wrong number of rows, when >= 0

    Model(boolean pooled) {
      this.pooled = pooled;
    }

    static float[] answer(long[] row, int position, boolean pooled) {
      long sum = 0;
      for (long v : row) {
        sum = sum * 31 + v;
      }
      float[] y = new float[DIM];
      for (int d = 0; d < DIM; d++) {
        y[d] = (float) Math.sin(sum + d + (pooled ? 0 : 7 * position));
      }
      return y;
    }

    @Override
    public CompletableFuture<ForwardResult> forward(ForwardRequest request) {
      Tensor x = request.input();
      batches.add(x.dim(0));
      if (failWith != null) {
        return CompletableFuture.completedFuture(ForwardResult.failure(failWith, "down"));
      }
      int batch = answerRows >= 0 ? answerRows : x.dim(0);
      int seq = x.dim(1);
      long[] all = x.toLongArray();
      float[] out = new float[batch * seq * DIM];
      for (int b = 0; b < batch; b++) {
        long[] row = java.util.Arrays.copyOfRange(all, b * seq, (b + 1) * seq);
        for (int s = 0; s < seq; s++) {
          System.arraycopy(answer(row, s, pooled), 0, out, (b * seq + s) * DIM, DIM);
        }
      }
      return CompletableFuture.completedFuture(
          ForwardResult.success(Tensor.ofFloats(out, batch, seq, DIM)));
    }

    @Override
    public CompletableFuture<BackwardResult> backward(BackwardRequest request) {
      return CompletableFuture.completedFuture(BackwardResult.success());
    }
  }

  private static ForwardRequest text(long[][] rows) {
    int seq = rows[0].length;
    long[] flat = new long[rows.length * seq];
    for (int b = 0; b < rows.length; b++) {
      System.arraycopy(rows[b], 0, flat, b * seq, seq);
    }
    return new ForwardRequest(Modality.TEXT, Tensor.ofLongs(flat, rows.length, seq));
  }

  private static float[] expected(long[][] rows, boolean pooled) {
    int seq = rows[0].length;
    float[] out = new float[rows.length * seq * DIM];
    for (int b = 0; b < rows.length; b++) {
      for (int s = 0; s < seq; s++) {
        System.arraycopy(Model.answer(rows[b], s, pooled), 0, out, (b * seq + s) * DIM, DIM);
      }
    }
    return out;
  }

  static LongStream seeds() {
    return LongStream.range(0, 40).map(i -> 0x3e30L + i);
  }

  /**
   * Random requests over a small pool of rows, pooled or per-position answers: every answer is
   * the model's exactly, and the model is sent each distinct row once, in batches of the rows
   * not seen yet.
   */
  @ParameterizedTest
  @MethodSource("seeds")
  void everyAnswerIsTheModelsAndEachRowIsAskedOnce(long seed) {
    SplittableRandom r = new SplittableRandom(seed);
    boolean pooled = r.nextBoolean();
    int seq = 1 + r.nextInt(4);
    long[][] pool = new long[6][seq];
    for (long[] row : pool) {
      for (int s = 0; s < seq; s++) {
        row[s] = r.nextInt(1000);
      }
    }
    Model model = new Model(pooled);
    Peers.Memo memo = Peers.memoize(model);
    java.util.Set<Integer> seen = new java.util.HashSet<>();
    long rowsAsked = 0;
    for (int call = 0; call < 8; call++) {
      int batch = 1 + r.nextInt(5);
      long[][] rows = new long[batch][];
      int[] picks = new int[batch];
      int fresh = 0;
      for (int b = 0; b < batch; b++) {
        picks[b] = r.nextInt(pool.length);
        rows[b] = pool[picks[b]];
        // A row not seen before is sent, once however often it is in the request.
        fresh += seen.add(picks[b]) ? 1 : 0;
      }
      int before = model.batches.size();
      ForwardResult got = memo.forward(text(rows)).join();
      assertTrue(got.isSuccess(), got::toString);
      assertArrayEquals(expected(rows, pooled), got.output().orElseThrow().toFloatArray(),
          "call " + call + " (seed " + seed + ")");
      assertArrayEquals(new int[] {batch, seq, DIM}, got.output().orElseThrow().shape());
      if (fresh == 0) {
        assertEquals(before, model.batches.size(), "all from memory: the model is not asked");
      } else {
        assertEquals(List.of(fresh), model.batches.subList(before, model.batches.size()),
            "one batch of the rows not seen yet");
      }
      rowsAsked += batch;
    }
    assertEquals(rowsAsked, memo.hits() + memo.misses());
    assertEquals(model.batches.stream().mapToInt(Integer::intValue).sum(), memo.misses());
  }

  /**
   * A model that blocks until released, counting its calls: each call releases a permit of
   * {@code events} as it starts, then answers as {@link Model} does (or fails, while {@code
   * failFirst} holds for the first call).
   */
  private static final class Blocking implements Peer {
    final Model inner = new Model(true);
    final CountDownLatch release = new CountDownLatch(1);
    final Semaphore events = new Semaphore(0);
    final AtomicInteger calls = new AtomicInteger();
    final boolean failFirst;

    Blocking(boolean failFirst) {
      this.failFirst = failFirst;
    }

    @Override
    public CompletableFuture<ForwardResult> forward(ForwardRequest request) {
      int call = calls.incrementAndGet();
      events.release();
      try {
        assertTrue(release.await(10, TimeUnit.SECONDS), "never released");
      } catch (InterruptedException e) {
        throw new AssertionError(e);
      }
      return failFirst && call == 1
          ? CompletableFuture.completedFuture(ForwardResult.failure(Status.UNAVAILABLE, "down"))
          : inner.forward(request);
    }
  }

  /** Two callers' results (the first's, then the second's), the model and the memo. */
  private record Race(List<ForwardResult> results, Blocking model, Peers.Memo memo) {}

  /** The row both callers ask about. */
  private static final long[][] ROW = {{4, 2}};

  /**
   * Asks a memo of a {@link Blocking} model about {@link #ROW} on two threads, the second once
   * the model is answering the first (and before it answered).
   */
  private static Race twoCallers(boolean failFirst) throws Exception {
    Blocking model = new Blocking(failFirst);
    Peers.Memo memo = Peers.memoize(model);
    long[][] rows = ROW;
    ExecutorService threads = Executors.newFixedThreadPool(2);
    try {
      Future<ForwardResult> first = threads.submit(() -> memo.forward(text(rows)).join());
      assertTrue(model.events.tryAcquire(10, TimeUnit.SECONDS), "the model was not asked");
      Future<CompletableFuture<ForwardResult>> second = threads.submit(() -> {
        CompletableFuture<ForwardResult> f = memo.forward(text(rows));
        model.events.release(); // returned without waiting for the model
        return f;
      });
      // The second asked the model too, or returned its future: either way, let the model go.
      assertTrue(model.events.tryAcquire(10, TimeUnit.SECONDS), "the second caller is stuck");
      model.release.countDown();
      return new Race(List.of(first.get(10, TimeUnit.SECONDS),
          second.get(10, TimeUnit.SECONDS).get(10, TimeUnit.SECONDS)), model, memo);
    } finally {
      threads.shutdownNow();
    }
  }

  /**
   * Two requests for a row not seen yet, the second made while the model answers the first:
   * the model is asked once, and both get its answer.
   */
  @Test
  void concurrentRequestsForOneNewRowShareOneModelCall() throws Exception {
    Race race = twoCallers(false);
    for (ForwardResult r : race.results()) {
      assertTrue(r.isSuccess(), r::toString);
      assertArrayEquals(expected(ROW, true), r.output().orElseThrow().toFloatArray());
    }
    assertEquals(1, race.model().calls.get(), "the model asked once for the row");
    assertEquals(1, race.memo().misses());
    assertEquals(1, race.memo().hits());
  }

  /**
   * A shared call that fails fails its own request, and the request that waited on it asks the
   * model itself: the failure is not remembered, nor passed to a caller that did not cause it.
   */
  @Test
  void aRequestThatWaitedOnASharedCallThatFailedAsksTheModelItself() throws Exception {
    Race race = twoCallers(true);
    List<ForwardResult> both = race.results();
    assertEquals(Status.UNAVAILABLE, both.get(0).status(), both.get(0)::toString);
    assertTrue(both.get(1).isSuccess(), both.get(1)::toString);
    assertArrayEquals(expected(ROW, true), both.get(1).output().orElseThrow().toFloatArray());
    assertEquals(2, race.model().calls.get(), "asked again by the request that waited");
  }

  /**
   * A model whose calls answer as {@link Model} does, except those whose futures the test holds:
   * the i-th call (from 1) answers with {@code held.get(i - 1)} while there is one.
   */
  private static final class Held implements Peer {
    final Model inner = new Model(true);
    final List<CompletableFuture<ForwardResult>> held = new ArrayList<>();
    final AtomicInteger calls = new AtomicInteger();

    Held(int count) {
      for (int i = 0; i < count; i++) {
        held.add(new CompletableFuture<>());
      }
    }

    @Override
    public CompletableFuture<ForwardResult> forward(ForwardRequest request) {
      int call = calls.incrementAndGet();
      return call <= held.size() ? held.get(call - 1) : inner.forward(request);
    }
  }

  /**
   * A shared call that never answers: a request that waits on it within a timeout of its own
   * gets TIMEOUT at its deadline, however long the call runs, and so does each later request that
   * shares it while the first still waits; once the first gives up too, the call is cancelled and
   * the next request for the row asks the model again and gets its answer. Before the memo heard
   * of giving up, every later request for the row waited on the call for ever.
   */
  @Test
  void aRequestWaitingOnACallThatNeverAnswersGivesUpAtItsDeadlineAndTheRowIsAskedAgain()
      throws Exception {
    Held model = new Held(1);
    Peers.Memo memo = Peers.memoize(model);
    CompletableFuture<ForwardResult> first = memo.forward(text(ROW)); // no deadline of its own
    for (int waiter = 0; waiter < 2; waiter++) {
      ForwardResult waited =
          memo.forward(text(ROW), java.time.Duration.ofMillis(50)).get(10, TimeUnit.SECONDS);
      assertEquals(Status.TIMEOUT, waited.status(), waited::toString);
      assertEquals(1, model.calls.get(), "the waiter shared the first's call");
    }
    assertFalse(model.held.get(0).isDone(), "the first still waits on its call");
    assertTrue(first.cancel(true));
    assertTrue(model.held.get(0).isCancelled(), "no one waits: the call is cancelled");
    CompletableFuture<ForwardResult> later = memo.forward(text(ROW));
    assertEquals(2, model.calls.get(), "a later request asks the model again");
    ForwardResult r = later.get(10, TimeUnit.SECONDS);
    assertTrue(r.isSuccess(), r::toString);
    assertArrayEquals(expected(ROW, true), r.output().orElseThrow().toFloatArray());
  }

  /**
   * Two requests share one model call, and the one that made it gives up (cancelled at its
   * deadline, as a server cancels it): it only leaves. The call runs on for the other, a third
   * request made meanwhile shares it too, and both get its answer from that single model call.
   * Before, the first's giving up cancelled the call, and the second asked the model again.
   */
  @Test
  void aRequestThatGivesUpLeavesItsCallToTheRequestsStillWaitingOnIt() throws Exception {
    Held model = new Held(1);
    Peers.Memo memo = Peers.memoize(model);
    CompletableFuture<ForwardResult> first = memo.forward(text(ROW));
    CompletableFuture<ForwardResult> second = memo.forward(text(ROW));
    assertTrue(first.cancel(true));
    assertFalse(model.held.get(0).isDone(), "the call runs on for the second");
    CompletableFuture<ForwardResult> third = memo.forward(text(ROW));
    model.held.get(0).complete(model.inner.forward(text(ROW)).join());
    for (CompletableFuture<ForwardResult> f : List.of(second, third)) {
      ForwardResult r = f.get(10, TimeUnit.SECONDS);
      assertTrue(r.isSuccess(), r::toString);
      assertArrayEquals(expected(ROW, true), r.output().orElseThrow().toFloatArray());
    }
    assertEquals(1, model.calls.get(), "one model call answered them all");
  }

  /**
   * Two requests share one model call and both give up, in either order: the call is cancelled
   * once the second has, not before, and the next request for the row asks the model again.
   */
  @ParameterizedTest
  @ValueSource(booleans = {true, false})
  void aSharedCallIsCancelledOnceEveryRequestWaitingOnItHasGivenUp(boolean makerFirst)
      throws Exception {
    Held model = new Held(1);
    Peers.Memo memo = Peers.memoize(model);
    CompletableFuture<ForwardResult> maker = memo.forward(text(ROW));
    CompletableFuture<ForwardResult> waiter = memo.forward(text(ROW));
    assertTrue((makerFirst ? maker : waiter).cancel(true));
    assertFalse(model.held.get(0).isDone(), "one request still waits on the call");
    assertTrue((makerFirst ? waiter : maker).cancel(true));
    assertTrue(model.held.get(0).isCancelled(), "no one waits: the call is cancelled");
    ForwardResult r = memo.forward(text(ROW)).get(10, TimeUnit.SECONDS);
    assertTrue(r.isSuccess(), r::toString);
    assertEquals(2, model.calls.get(), "the next request asked the model again");
  }

  /**
   * Interest is counted per model call: a request that waits on two calls and gives up leaves
   * both; the call no one else waits on is cancelled, the one another request still waits on
   * runs on and answers it.
   */
  @Test
  void aRequestWaitingOnTwoCallsCancelsOnlyTheOneNoOneElseWaitsOn() throws Exception {
    Held model = new Held(2);
    Peers.Memo memo = Peers.memoize(model);
    long[][] a = {{1, 1}};
    long[][] b = {{2, 2}};
    CompletableFuture<ForwardResult> askedA = memo.forward(text(a));
    CompletableFuture<ForwardResult> askedB = memo.forward(text(b));
    CompletableFuture<ForwardResult> both = memo.forward(text(new long[][] {a[0], b[0]}));
    assertEquals(2, model.calls.get(), "the third shares both calls");
    assertTrue(askedA.cancel(true));
    assertFalse(model.held.get(0).isDone(), "the third still waits on the call for a");
    assertTrue(both.cancel(true));
    assertTrue(model.held.get(0).isCancelled(), "no one waits on the call for a");
    assertFalse(model.held.get(1).isDone(), "the second still waits on the call for b");
    model.held.get(1).complete(model.inner.forward(text(b)).join());
    ForwardResult r = askedB.get(10, TimeUnit.SECONDS);
    assertArrayEquals(expected(b, true), r.output().orElseThrow().toFloatArray());
  }

  /**
   * Many requests for one row on threads of their own share one model call; all but one then
   * give up at once, and the one left gets the answer of that single call. Then, again, all of
   * them give up at once, and the call is cancelled. Repeated, so that the giving up races with
   * itself.
   */
  @Test
  void requestsGivingUpAtOnceLeaveTheCallToTheLastAndCancelItWhenNoneIsLeft() throws Exception {
    int n = 6;
    ExecutorService threads = Executors.newFixedThreadPool(n);
    try {
      for (int round = 0; round < 100; round++) {
        boolean everyone = round % 2 == 1;
        Held model = new Held(1);
        Peers.Memo memo = Peers.memoize(model);
        List<CompletableFuture<ForwardResult>> requests = race(threads, n,
            i -> memo.forward(text(ROW)));
        assertEquals(1, model.calls.get(), "round " + round + ": one model call");
        race(threads, everyone ? n : n - 1, i -> requests.get(i).cancel(true));
        if (everyone) {
          assertTrue(model.held.get(0).isCancelled(), "round " + round + ": no one waits");
          continue;
        }
        assertFalse(model.held.get(0).isDone(), "round " + round + ": the last still waits");
        model.held.get(0).complete(model.inner.forward(text(ROW)).join());
        ForwardResult r = requests.get(n - 1).get(10, TimeUnit.SECONDS);
        assertTrue(r.isSuccess(), "round " + round + ": " + r);
        assertArrayEquals(expected(ROW, true), r.output().orElseThrow().toFloatArray());
        assertEquals(1, model.calls.get(), "round " + round + ": answered by the one call");
      }
    } finally {
      threads.shutdownNow();
    }
  }

  /** Runs {@code task} for 0 to {@code n - 1} on threads released together; their results. */
  private static <T> List<T> race(ExecutorService threads, int n,
      java.util.function.IntFunction<T> task) throws Exception {
    CountDownLatch ready = new CountDownLatch(n);
    CountDownLatch go = new CountDownLatch(1);
    List<Future<T>> running = new ArrayList<>();
    for (int i = 0; i < n; i++) {
      int index = i;
      running.add(threads.submit(() -> {
        ready.countDown();
        assertTrue(go.await(10, TimeUnit.SECONDS), "never let go");
        return task.apply(index);
      }));
    }
    assertTrue(ready.await(10, TimeUnit.SECONDS), "the threads did not start");
    go.countDown();
    List<T> results = new ArrayList<>();
    for (Future<T> f : running) {
      results.add(f.get(10, TimeUnit.SECONDS));
    }
    return results;
  }

  /**
   * A request whose shared call failed asks the model itself; cancelled then, it cancels that
   * call of its own too, not only the wait it no longer makes.
   */
  @Test
  void aRequestCancelledWhileItAsksAgainCancelsThatCall() throws Exception {
    Held model = new Held(2);
    Peers.Memo memo = Peers.memoize(model);
    CompletableFuture<ForwardResult> first = memo.forward(text(ROW));
    CompletableFuture<ForwardResult> second = memo.forward(text(ROW));
    model.held.get(0).complete(ForwardResult.failure(Status.UNAVAILABLE, "down"));
    assertEquals(Status.UNAVAILABLE, first.get(10, TimeUnit.SECONDS).status());
    assertEquals(2, model.calls.get(), "the waiter asked the model itself");
    second.cancel(true);
    assertTrue(model.held.get(1).isCancelled(), "its own call is cancelled");
    CompletableFuture<ForwardResult> later = memo.forward(text(ROW));
    assertEquals(3, model.calls.get(), "a later request asks again");
    assertTrue(later.get(10, TimeUnit.SECONDS).isSuccess());
  }

  @Test
  void failuresArePassedOnAndNotRemembered() {
    Model model = new Model(true);
    Peers.Memo memo = Peers.memoize(model);
    long[][] rows = {{1, 2}, {3, 4}};
    model.failWith = Status.UNAVAILABLE;
    ForwardResult down = memo.forward(text(rows)).join();
    assertEquals(Status.UNAVAILABLE, down.status());
    model.failWith = null;
    ForwardResult up = memo.forward(text(rows)).join();
    assertTrue(up.isSuccess(), up::toString);
    assertEquals(List.of(2, 2), model.batches, "asked again after the failure");
    assertArrayEquals(expected(rows, true), up.output().orElseThrow().toFloatArray());
  }

  @Test
  void theSameBytesInAnotherModalityAreAnotherRow() {
    Model model = new Model(true);
    Peers.Memo memo = Peers.memoize(model);
    Tensor x = Tensor.ofLongs(new long[] {5, 6}, 1, 2);
    assertTrue(memo.forward(new ForwardRequest(Modality.TEXT, x)).join().isSuccess());
    assertTrue(memo.forward(new ForwardRequest(Modality.TENSOR, x)).join().isSuccess());
    assertEquals(List.of(1, 1), model.batches);
    assertEquals(0, memo.hits());
  }

  /**
   * Two rows whose bytes hash alike (one byte up by 1, the next down by 31) are two rows: the
   * second is the model's answer to it, not the first's remembered.
   */
  @Test
  void rowsWhoseBytesHashAlikeAreStillTwoRows() {
    long x = 100 * 256 + 10;
    long y = 69 * 256 + 11;
    assertEquals(java.util.Arrays.hashCode(text(new long[][] {{x}}).input().toByteArray()),
        java.util.Arrays.hashCode(text(new long[][] {{y}}).input().toByteArray()),
        "the rows' bytes hash alike");
    Model model = new Model(true);
    Peers.Memo memo = Peers.memoize(model);
    memo.forward(text(new long[][] {{x}})).join();
    ForwardResult second = memo.forward(text(new long[][] {{y}})).join();
    assertArrayEquals(expected(new long[][] {{y}}, true),
        second.output().orElseThrow().toFloatArray());
    assertEquals(List.of(1, 1), model.batches);
    assertEquals(0, memo.hits());
  }

  @Test
  void anAnswerOfTheWrongSizeIsRefusedAndNotRemembered() {
    Model model = new Model(true);
    Peers.Memo memo = Peers.memoize(model);
    model.answerRows = 1;
    ForwardResult r = memo.forward(text(new long[][] {{1}, {2}})).join();
    assertEquals(Status.BAD_RESPONSE, r.status());
    assertTrue(r.message().contains("for 2 rows"), r.message());
    model.answerRows = -1;
    assertTrue(memo.forward(text(new long[][] {{1}, {2}})).join().isSuccess());
    assertEquals(List.of(2, 2), model.batches);
  }

  /**
   * The Peer contract: a result, never an exception. An answer not of the standard's form is
   * BAD_RESPONSE (it threw ArrayIndexOutOfBoundsException in the future), and an empty batch
   * goes to the model as it is (it threw ArithmeticException from forward).
   */
  @Test
  void anAnswerOfAnotherRankIsRefusedAndAnEmptyBatchGoesToTheModel() {
    Peer flat = request -> CompletableFuture.completedFuture(
        ForwardResult.success(Tensor.ofFloats(new float[2 * DIM], 2, DIM)));
    ForwardResult r = Peers.memoize(flat).forward(text(new long[][] {{1}, {2}})).join();
    assertEquals(Status.BAD_RESPONSE, r.status());
    assertTrue(r.message().contains("[2, 3]"), r.message());
    Model model = new Model(true);
    Peers.Memo memo = Peers.memoize(model);
    ForwardRequest empty = new ForwardRequest(Modality.TEXT, Tensor.ofLongs(new long[0], 0, 4));
    ForwardResult e = memo.forward(empty).join();
    assertTrue(e.isSuccess(), e.toString());
    assertArrayEquals(new int[] {0, 4, DIM}, e.output().orElseThrow().shape());
    assertEquals(List.of(0), model.batches);
  }

  /**
   * A request of many rows answered from memory whose answer no tensor holds (2048 rows of 1024
   * positions at 1024 features, 2^31 floats) is refused as too large: the size in {@code int}
   * wrapped, and forward threw NegativeArraySizeException, where a peer answers with a result.
   */
  @Test
  void rowsFromMemoryWhoseAnswerNoTensorHoldsAreRefusedAsTooLarge() {
    Peers.Memo memo = Peers.memoize(new Model(true));
    int seq = 1024;
    int dim = 1024;
    ForwardRequest one = new ForwardRequest(Modality.TEXT, Tensor.ofLongs(new long[seq], 1, seq));
    memo.remember(one, Tensor.ofFloats(new float[seq * dim], 1, seq, dim));
    ForwardRequest many =
        new ForwardRequest(Modality.TEXT, Tensor.ofLongs(new long[2048 * seq], 2048, seq));
    ForwardResult r = memo.forward(many).join();
    assertEquals(Status.PAYLOAD_TOO_LARGE, r.status(), r::toString);
    assertTrue(r.message().contains("2147483648 floats"), r.message());
  }

  @Test
  void rememberedAnswersAreServedAsTheModelsWouldBe() {
    Model model = new Model(false);
    Peers.Memo memo = Peers.memoize(model);
    long[][] rows = {{7, 8, 9}, {1, 1, 1}};
    ForwardRequest request = text(rows);
    float[] answer = expected(rows, false);
    memo.remember(request, Tensor.ofFloats(answer, 2, 3, DIM));
    ForwardResult got = memo.forward(request).join();
    assertArrayEquals(answer, got.output().orElseThrow().toFloatArray());
    assertEquals(List.of(), model.batches, "nothing sent to the model");
    assertEquals(2, memo.hits());
    var e = assertThrows(IllegalArgumentException.class,
        () -> memo.remember(request, Tensor.ofFloats(new float[3 * DIM], 1, 3, DIM)));
    assertTrue(e.getMessage().contains("must be [2, 3, dim]"), e.getMessage());
  }

  /**
   * {@link Peers.Memo#remember} takes an empty batch as nothing to remember, and refuses an
   * answer that is not FLOAT32 and a request without rows with IllegalArgumentException, as it
   * documents. They threw ArithmeticException ("/ by zero"), IllegalStateException and
   * ArrayIndexOutOfBoundsException.
   */
  @Test
  void rememberTakesAnEmptyBatchAndRefusesWhatIsNotAnAnswer() {
    Model model = new Model(true);
    Peers.Memo memo = Peers.memoize(model);
    memo.remember(new ForwardRequest(Modality.TEXT, Tensor.ofLongs(new long[0], 0, 4)),
        Tensor.ofFloats(new float[0], 0, 4, DIM));
    ForwardRequest two = text(new long[][] {{1}, {2}});
    var longs = assertThrows(IllegalArgumentException.class,
        () -> memo.remember(two, Tensor.ofLongs(new long[2 * DIM], 2, 1, DIM)));
    assertTrue(longs.getMessage().contains("FLOAT32"), longs.getMessage());
    var flat = assertThrows(IllegalArgumentException.class, () -> memo.remember(
        new ForwardRequest(Modality.TENSOR, Tensor.ofFloats(new float[2], 2)),
        Tensor.ofFloats(new float[2 * DIM], 2, 1, DIM)));
    assertTrue(flat.getMessage().contains("[batch, sequence"), flat.getMessage());
    assertTrue(memo.forward(two).join().isSuccess());
    assertEquals(List.of(2), model.batches, "nothing was remembered");
  }

  /**
   * Rows of the same bytes in tensors of other shapes are other inputs: a TENSOR row of 2
   * positions by 2 features is not the row of 4 positions by 1 feature that holds the same
   * floats, and the model answers each for its own positions.
   */
  @Test
  void theSameBytesInAnotherShapeAreAnotherRow() {
    List<int[]> asked = new ArrayList<>();
    Peer positions = request -> {
      Tensor x = request.input();
      asked.add(x.shape());
      int seq = x.dim(1);
      float[] out = new float[x.dim(0) * seq * DIM];
      for (int i = 0; i < out.length; i++) {
        out[i] = i;
      }
      return CompletableFuture.completedFuture(
          ForwardResult.success(Tensor.ofFloats(out, x.dim(0), seq, DIM)));
    };
    Peers.Memo memo = Peers.memoize(positions);
    float[] values = {1, 2, 3, 4};
    ForwardResult wide = memo.forward(
        new ForwardRequest(Modality.TENSOR, Tensor.ofFloats(values, 1, 2, 2))).join();
    ForwardResult tall = memo.forward(
        new ForwardRequest(Modality.TENSOR, Tensor.ofFloats(values, 1, 4, 1))).join();
    assertTrue(wide.isSuccess(), wide::toString);
    assertTrue(tall.isSuccess(), tall::toString);
    assertArrayEquals(new int[] {1, 4, DIM}, tall.output().orElseThrow().shape());
    assertEquals(2, asked.size(), "the model is asked about each shape");
    assertEquals(0, memo.hits());
  }

  /**
   * A model that answers later rows with another number of features: a request that mixes rows
   * remembered at both sizes is refused as BAD_RESPONSE naming the two, not answered with rows
   * cut short or run over; each size alone is still served.
   */
  @Test
  void rowsRememberedAtTwoSizesAreNotServedTogether() {
    int[] dim = {DIM};
    Peer model = request -> {
      Tensor x = request.input();
      return CompletableFuture.completedFuture(ForwardResult.success(
          Tensor.ofFloats(new float[x.dim(0) * x.dim(1) * dim[0]], x.dim(0), x.dim(1), dim[0])));
    };
    Peers.Memo memo = Peers.memoize(model);
    assertTrue(memo.forward(text(new long[][] {{1}})).join().isSuccess());
    dim[0] = DIM + 1;
    assertTrue(memo.forward(text(new long[][] {{2}})).join().isSuccess());
    for (long[][] rows : new long[][][] {{{1}, {2}}, {{2}, {1}}}) {
      ForwardResult mixed = memo.forward(text(rows)).join();
      assertEquals(Status.BAD_RESPONSE, mixed.status());
      assertTrue(mixed.message().contains("rows of"), mixed.message());
    }
    assertArrayEquals(new int[] {1, 1, DIM + 1},
        memo.forward(text(new long[][] {{2}})).join().output().orElseThrow().shape());
    assertEquals(2, memo.misses(), "each row asked once");
  }

  /** Gradients go to the model as they came, and its answer back as it gave it. */
  @Test
  void gradientsGoToTheModelUnchanged() {
    List<BackwardRequest> sent = new ArrayList<>();
    BackwardResult refused = BackwardResult.failure(Status.UNAVAILABLE, "frozen");
    Peer model = new Peer() {
      @Override
      public CompletableFuture<ForwardResult> forward(ForwardRequest request) {
        throw new AssertionError("no forward");
      }

      @Override
      public CompletableFuture<BackwardResult> backward(BackwardRequest request) {
        sent.add(request);
        return CompletableFuture.completedFuture(refused);
      }

      @Override
      public String toString() {
        return "the model";
      }
    };
    Peers.Memo memo = Peers.memoize(model);
    BackwardRequest request = new BackwardRequest(Modality.TEXT,
        Tensor.ofLongs(new long[] {1, 2}, 1, 2), Tensor.ofFloats(new float[2 * DIM], 1, 2, DIM));
    assertEquals(refused, memo.backward(request).join());
    assertEquals(List.of(request), sent);
    assertEquals("memo of the model", memo.toString());
  }
}
