package io.bittensor.cli.internal;

import java.io.IOException;
import java.io.PrintWriter;
import java.nio.ByteBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.FileTime;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.time.Duration;
import java.time.LocalTime;
import java.time.temporal.ChronoUnit;
import java.util.List;
import java.util.Objects;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;

/**
 * Watches a server's TLS key and certificate files and hands them to {@code reload} when either
 * changes (its modification time or its content: a file finished within the same tick of the
 * file system's clock as a half-written one read before counts as changed), so that a
 * certificate renewed on disk (certbot, a mesh's agent) is served without a restart. A pair
 * that does not read is reported and the server goes on with the one it has; the next change is
 * tried again.
 *
 * <p>One daemon thread, {@code bittensor-tls-reload}; {@link #close()} stops it.
 */
public final class TlsReloader implements AutoCloseable {
  /** Reloads a server's TLS from a key and a certificate chain (PEM). */
  @FunctionalInterface
  public interface Reload {
    void reload(Path privateKey, Path certificateChain);
  }

  private final ScheduledExecutorService thread;
  private final Path key;
  private final Path chain;
  private final Reload reload;
  private final String what;
  private final PrintWriter out;
  private List<Object> seen;

  private TlsReloader(Path key, Path chain, Reload reload, String what, PrintWriter out,
      Snapshot since) {
    this.key = key;
    this.chain = chain;
    this.reload = reload;
    this.what = what;
    this.out = out;
    this.seen = since != null ? since.state : state(key, chain);
    this.thread = Executors.newSingleThreadScheduledExecutor(r -> {
      Thread t = new Thread(r, "bittensor-tls-reload");
      t.setDaemon(true);
      return t;
    });
  }

  /**
   * Checks {@code key} and {@code chain} every {@code every} and reloads when either changed,
   * telling {@code out} what it did.
   *
   * @throws IllegalArgumentException if {@code every} is not positive
   */
  public static TlsReloader watch(Path key, Path chain, Duration every, Reload reload,
      PrintWriter out) {
    return watch(key, chain, every, reload, out, null);
  }

  /**
   * As {@link #watch(Path, Path, Duration, Reload, PrintWriter)}, the files compared first with
   * {@code since} (null: the files as they are now): a snapshot taken before the server read
   * them, so that a file renewed while the server started is reloaded too.
   */
  public static TlsReloader watch(Path key, Path chain, Duration every, Reload reload,
      PrintWriter out, Snapshot since) {
    return start(new TlsReloader(Objects.requireNonNull(key), Objects.requireNonNull(chain),
        reload, "the TLS certificate", out, since), every);
  }

  /**
   * Checks {@code pem}, the client certificates a server trusts (mutual TLS), every {@code
   * every} and hands it to {@code reload} when it changed: a member added to the file is let in
   * without a restart.
   *
   * @throws IllegalArgumentException if {@code every} is not positive
   */
  public static TlsReloader watchTrust(Path pem, Duration every,
      java.util.function.Consumer<Path> reload, PrintWriter out) {
    return watchTrust(pem, every, reload, out, null);
  }

  /** As {@link #watchTrust(Path, Duration, java.util.function.Consumer, PrintWriter)}, from
   * {@code since} as {@link #watch(Path, Path, Duration, Reload, PrintWriter, Snapshot)}. */
  public static TlsReloader watchTrust(Path pem, Duration every,
      java.util.function.Consumer<Path> reload, PrintWriter out, Snapshot since) {
    Objects.requireNonNull(pem);
    return start(new TlsReloader(pem, pem, (k, c) -> reload.accept(c),
        "the trusted client certificates", out, since), every);
  }

  /**
   * As {@link #watchTrust(Path, Duration, java.util.function.Consumer, PrintWriter, Snapshot)},
   * for the certificates a client trusts of the servers it calls (their authority renewed or
   * replaced), which it tells as such.
   *
   * @throws IllegalArgumentException if {@code every} is not positive
   */
  public static TlsReloader watchServerTrust(Path pem, Duration every,
      java.util.function.Consumer<Path> reload, PrintWriter out, Snapshot since) {
    Objects.requireNonNull(pem);
    return start(new TlsReloader(pem, pem, (k, c) -> reload.accept(c),
        "the trusted server certificates", out, since), every);
  }

  /** What {@code key} and {@code chain} hold now, to watch them from (for a trust file, both). */
  public static Snapshot snapshot(Path key, Path chain) {
    return new Snapshot(state(key, chain));
  }

  /** The files' state at a moment: their modification times and digests. */
  public static final class Snapshot {
    private final List<Object> state;

    private Snapshot(List<Object> state) {
      this.state = state;
    }
  }

  private static TlsReloader start(TlsReloader r, Duration every) {
    if (every.isZero() || every.isNegative()) {
      r.close();
      throw new IllegalArgumentException("--tls-reload must be positive, was " + every);
    }
    long ms = Math.max(1, every.toMillis());
    r.thread.scheduleWithFixedDelay(r::check, ms, ms, TimeUnit.MILLISECONDS);
    return r;
  }

  /** The files' modification times and a digest of each one's bytes. */
  private static List<Object> state(Path key, Path chain) {
    try {
      FileTime keyTime = Files.getLastModifiedTime(key);
      FileTime chainTime = Files.getLastModifiedTime(chain);
      return List.of(keyTime, chainTime, digest(key), digest(chain));
    } catch (IOException e) {
      return List.of(); // a file being replaced: it is read at the next check
    }
  }

  private static ByteBuffer digest(Path file) throws IOException {
    try {
      return ByteBuffer.wrap(MessageDigest.getInstance("SHA-256").digest(Files.readAllBytes(file)));
    } catch (NoSuchAlgorithmException e) {
      throw new IllegalStateException("every JDK has SHA-256", e);
    }
  }

  private void check() {
    List<Object> now = state(key, chain);
    if (now.isEmpty() || now.equals(seen)) {
      return;
    }
    seen = now;
    String at = LocalTime.now().truncatedTo(ChronoUnit.SECONDS).toString();
    try {
      reload.reload(key, chain);
      synchronized (out) {
        out.println(at + " reloaded " + what + " from " + chain);
        out.flush();
      }
    } catch (RuntimeException e) {
      synchronized (out) {
        out.println(at + " kept " + what + ": " + e.getMessage());
        out.flush();
      }
    }
  }

  @Override
  public void close() {
    thread.shutdownNow();
  }
}
