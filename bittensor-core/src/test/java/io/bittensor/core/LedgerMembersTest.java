package io.bittensor.core;

import static io.bittensor.core.testing.LedgerFixtures.genesis;
import static io.bittensor.core.testing.LedgerFixtures.params;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.lang.reflect.Proxy;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicReference;
import org.junit.jupiter.api.Test;

/**
 * {@link LedgerMembers} against a ledger whose events and reads it cannot order (the ledger
 * contract runs it on every real ledger): it keeps the newest metagraph whichever way they come,
 * and a failed first read leaves no subscription behind.
 */
class LedgerMembersTest {
  /** Metagraphs of blocks 0 to 3 of one in-memory ledger. */
  private static List<Metagraph> metagraphs() throws LedgerException {
    List<Metagraph> out = new ArrayList<>();
    try (LocalLedger ledger = LocalLedger.builder().genesis(genesis(params(8), 1))
        .blocks(BlockPolicy.manual()).openInMemory()) {
      out.add(ledger.metagraph());
      for (int i = 0; i < 3; i++) {
        ledger.produceBlock();
        out.add(ledger.metagraph());
      }
    }
    return out;
  }

  /**
   * A ledger that answers {@code metagraph()} with {@code read} (or throws it), hands its
   * listener to {@code listener} and says whether its subscription was closed.
   */
  private static Ledger ledger(Object read, AtomicReference<LedgerListener> listener,
      AtomicBoolean unsubscribed) {
    return (Ledger) Proxy.newProxyInstance(Ledger.class.getClassLoader(),
        new Class<?>[] {Ledger.class}, (proxy, method, args) -> switch (method.getName()) {
          case "subscribe" -> {
            listener.set((LedgerListener) args[0]);
            yield (Ledger.Subscription) () -> unsubscribed.set(true);
          }
          case "metagraph" -> {
            if (read instanceof LedgerException e) {
              throw e;
            }
            yield read;
          }
          default -> throw new UnsupportedOperationException(method.getName());
        });
  }

  @Test
  void theNewestMetagraphStaysWhateverOrderTheEventsAndTheReadCome() throws Exception {
    List<Metagraph> m = metagraphs();
    AtomicReference<LedgerListener> listener = new AtomicReference<>();
    AtomicBoolean unsubscribed = new AtomicBoolean();
    try (LedgerMembers members = LedgerMembers.follow(ledger(m.get(2), listener, unsubscribed))) {
      assertSame(m.get(2), members.metagraph());
      // Block 1's event, sealed before the read and heard after it: older, ignored.
      listener.get().onBlock(m.get(1).block(), m.get(1));
      assertSame(m.get(2), members.metagraph());
      listener.get().onBlock(m.get(3).block(), m.get(3));
      assertSame(m.get(3), members.metagraph());
    }
    assertTrue(unsubscribed.get());
  }

  @Test
  void aFailedFirstReadLeavesNoSubscription() {
    AtomicBoolean unsubscribed = new AtomicBoolean();
    LedgerException down = new LedgerException("the server cannot be reached");
    LedgerException thrown = assertThrows(LedgerException.class,
        () -> LedgerMembers.follow(ledger(down, new AtomicReference<>(), unsubscribed)));
    assertSame(down, thrown);
    assertTrue(unsubscribed.get(), "the listener was taken off again");
    assertThrows(NullPointerException.class, () -> LedgerMembers.follow(null));
  }
}
