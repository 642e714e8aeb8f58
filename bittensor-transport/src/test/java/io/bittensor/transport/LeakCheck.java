package io.bittensor.transport;

import static org.junit.jupiter.api.Assertions.fail;

import java.util.List;
import java.util.stream.Collectors;
import org.junit.jupiter.api.extension.AfterEachCallback;
import org.junit.jupiter.api.extension.ExtensionContext;

/**
 * Fails a test that leaves transport threads behind: every server and client it opened must be
 * closed by its end. Our threads are named {@code bittensor-server*}, {@code bittensor-client*}
 * and {@code bittensor-ledger*}; OkHttp's and the JDK's shared daemons are not ours to stop.
 */
final class LeakCheck implements AfterEachCallback {
  private static final long GRACE_MILLIS = 5_000;

  @Override
  public void afterEach(ExtensionContext context) throws InterruptedException {
    long deadline = System.currentTimeMillis() + GRACE_MILLIS;
    List<String> alive;
    do {
      alive = Thread.getAllStackTraces().keySet().stream()
          .filter(Thread::isAlive)
          .map(Thread::getName)
          .filter(n -> n.startsWith("bittensor-server") || n.startsWith("bittensor-client")
              || n.startsWith("bittensor-ledger"))
          .sorted()
          .collect(Collectors.toList());
      if (alive.isEmpty()) {
        return;
      }
      Thread.sleep(20);
    } while (System.currentTimeMillis() < deadline);
    fail(context.getDisplayName() + " left transport threads running (a server or client not"
        + " closed): " + alive);
  }
}
