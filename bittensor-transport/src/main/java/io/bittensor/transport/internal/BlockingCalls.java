package io.bittensor.transport.internal;

import java.io.IOException;
import java.io.InterruptedIOException;
import okhttp3.Call;
import okhttp3.Response;

/** OkHttp's {@link Call#execute()} with an interrupt always reported as an IOException. */
public final class BlockingCalls {
  private BlockingCalls() {}

  /**
   * Runs {@code call} on the caller's thread. OkHttp 5 lets an {@link InterruptedException} out
   * of {@code execute()}, undeclared, when the caller is interrupted while it waits for a new
   * connection (its fast-fallback connect, which cancels its attempts as it throws): here that
   * is an {@link InterruptedIOException} with the thread's interrupt flag set again, as okio
   * reports an interrupt during a read or write.
   *
   * @throws IOException as {@code execute()} does, or InterruptedIOException as above
   */
  public static Response execute(Call call) throws IOException {
    try {
      return call.execute();
    } catch (IOException | RuntimeException e) {
      throw e;
    } catch (Exception e) { // a checked exception execute() does not declare
      if (!(e instanceof InterruptedException)) {
        throw new IOException(e);
      }
      Thread.currentThread().interrupt();
      InterruptedIOException interrupted = new InterruptedIOException("interrupted");
      interrupted.initCause(e);
      throw interrupted;
    }
  }
}
