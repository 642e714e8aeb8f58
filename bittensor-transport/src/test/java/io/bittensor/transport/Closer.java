package io.bittensor.transport;

import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import org.junit.jupiter.api.extension.AfterEachCallback;
import org.junit.jupiter.api.extension.ExtensionContext;

/**
 * Closes what a test opened (servers, clients, ledgers), last opened first, after each test.
 * Registered as a field ({@code @RegisterExtension}), it runs before a class's {@link LeakCheck}.
 */
final class Closer implements AfterEachCallback {
  private final List<AutoCloseable> open = new ArrayList<>();

  /** Closes {@code c} after the test; returns it. */
  <T extends AutoCloseable> T add(T c) {
    open.add(c);
    return c;
  }

  @Override
  public void afterEach(ExtensionContext context) throws Exception {
    List<AutoCloseable> all = new ArrayList<>(open);
    open.clear();
    Collections.reverse(all);
    for (AutoCloseable c : all) {
      c.close();
    }
  }
}
