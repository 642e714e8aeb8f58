package io.bittensor.core;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

@Timeout(30)
class FanOutTest {
  private static final TensorStandard STD = TensorStandard.of(4);
  private static final ForwardRequest REQUEST =
      new ForwardRequest(Modality.TENSOR, Tensor.zeros(DType.FLOAT32, 2, 3, 5));

  private static Peer after(long millis) {
    return r -> CompletableFuture.supplyAsync(() -> ForwardResult.success(STD.zeros(r.input())),
        CompletableFuture.delayedExecutor(millis, TimeUnit.MILLISECONDS));
  }

  @Test
  void costsAboutTheSlowestPeerNotTheSum() {
    List<Peer> peers = new ArrayList<>();
    for (int i = 0; i < 16; i++) {
      peers.add(after(100 + 20 * i)); // sum 4 s, slowest 400 ms
    }
    long t0 = System.nanoTime();
    List<QueryResult> rs = FanOut.of(STD).queryAndWait(peers, REQUEST, Duration.ofSeconds(5));
    long ms = (System.nanoTime() - t0) / 1_000_000;
    assertEquals(16, rs.size());
    rs.forEach(r -> assertEquals(Status.SUCCESS, r.status()));
    assertTrue(ms >= 400 && ms < 2_500, "16 peers of 100..400 ms took " + ms + " ms");
  }

  /** A null among the peers is refused before any call goes out, not after some did. */
  @Test
  void aNullPeerIsRefusedBeforeAnyCallIsMade() {
    int[] calls = {0};
    Peer counting = r -> {
      calls[0]++;
      return new CompletableFuture<>();
    };
    List<Peer> peers = new ArrayList<>();
    peers.add(counting);
    peers.add(null);
    assertThrows(NullPointerException.class,
        () -> FanOut.of(STD).query(peers, REQUEST, Duration.ofSeconds(60)));
    assertEquals(0, calls[0], "no call left running until its deadline");
  }

  /** A timeout too long to write in milliseconds waits as long as it takes. */
  @Test
  void aHugeTimeoutWaitsForTheAnswer() {
    List<QueryResult> rs = FanOut.of(STD).queryAndWait(List.of(after(0)), REQUEST,
        Duration.ofSeconds(Long.MAX_VALUE));
    assertEquals(Status.SUCCESS, rs.get(0).status());
  }

  @Test
  void aSilentPeerCostsTheTimeoutAndCountsAsZeros() {
    Peer silent = r -> new CompletableFuture<>();
    Peer fast = after(0);
    long t0 = System.nanoTime();
    List<QueryResult> rs = FanOut.of(STD).queryAndWait(List.of(fast, silent), REQUEST,
        Duration.ofMillis(200));
    long ms = (System.nanoTime() - t0) / 1_000_000;
    assertTrue(ms >= 190 && ms < 2_000, "took " + ms + " ms");
    assertSame(fast, rs.get(0).peer());
    assertEquals(Status.SUCCESS, rs.get(0).status());
    assertEquals(Status.TIMEOUT, rs.get(1).status());
    assertEquals(STD.zeros(REQUEST.input()), rs.get(1).output());
    assertTrue(rs.get(1).latency().toMillis() >= 190, rs.get(1).latency().toString());
  }

  @Test
  void throwingAndFailingPeersBecomeStatuses() {
    Peer throwing = r -> {
      throw new IllegalStateException("boom");
    };
    Peer failing = r -> CompletableFuture.failedFuture(new RuntimeException("bad"));
    Peer refusing = r -> CompletableFuture.completedFuture(
        ForwardResult.failure(Status.BACKOFF, "busy"));
    List<QueryResult> rs = FanOut.of(STD).queryAndWait(List.of(throwing, failing, refusing),
        REQUEST, Duration.ofSeconds(1));
    assertEquals(Status.INTERNAL_ERROR, rs.get(0).status());
    assertTrue(rs.get(0).result().message().contains("boom"));
    assertEquals(Status.INTERNAL_ERROR, rs.get(1).status());
    assertEquals(Status.BACKOFF, rs.get(2).status());
    rs.forEach(r -> assertTrue(r.output().hasShape(2, 3, 4)));
  }

  @Test
  void theDefaultDeadlineCancelsTheSlowCall() {
    CompletableFuture<ForwardResult> never = new CompletableFuture<>();
    Peer silent = r -> never;
    ForwardResult r = silent.forward(REQUEST, Duration.ofMillis(50)).join();
    assertEquals(Status.TIMEOUT, r.status());
    assertTrue(never.isCancelled(), "the abandoned call is cancelled");
  }

  @Test
  void misuseIsRefused() {
    assertThrows(IllegalArgumentException.class, () -> FanOut.of(TensorStandard.anyOutputDim()));
    assertThrows(IllegalArgumentException.class,
        () -> FanOut.of(STD).query(List.of(), REQUEST, Duration.ZERO));
    assertEquals(List.of(), FanOut.of(STD).queryAndWait(List.of(), REQUEST, Duration.ofMillis(1)));
  }
}
