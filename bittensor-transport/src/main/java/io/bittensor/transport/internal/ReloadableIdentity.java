package io.bittensor.transport.internal;

import java.net.Socket;
import java.nio.file.Path;
import java.security.Principal;
import java.security.PrivateKey;
import java.security.cert.X509Certificate;
import java.util.Enumeration;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.CopyOnWriteArrayList;
import javax.net.ssl.SSLEngine;
import javax.net.ssl.SSLSession;
import javax.net.ssl.SSLSessionContext;
import javax.net.ssl.X509ExtendedKeyManager;

/**
 * The certificate a client shows to servers that ask for one, replaceable while the client runs
 * (a renewed certificate): each handshake shows the pair that was current when it chose one.
 * Every pair gets an alias of its own, and the pair before the current one is kept, so a
 * handshake that chose its alias just before a reload still finds that alias's key and chain
 * together, never the new key with the old chain.
 *
 * <p>Thread-safe: handshakes read it on any thread, {@link #reload} may run at the same time.
 */
public final class ReloadableIdentity extends X509ExtendedKeyManager {
  private record Pair(String alias, PrivateKey key, X509Certificate[] chain) {}

  private long generation;
  private volatile Pair current;
  private volatile Pair previous;
  /** The TLS sessions of the clients that show this identity: forgotten at each reload. */
  private final List<SSLSessionContext> sessions = new CopyOnWriteArrayList<>();

  /**
   * The pair in these files (as {@link Tls#identity} reads them).
   *
   * @throws IllegalArgumentException if a file does not read or the key is not the certificate's
   */
  public ReloadableIdentity(Path privateKey, Path certificateChain) {
    reload(privateKey, certificateChain);
  }

  private ReloadableIdentity(Pair pair, long generation) {
    this.current = pair;
    this.generation = generation;
  }

  /**
   * An identity of its own that shows what this one shows now: for each client a builder
   * makes, so that reloading one client's certificate leaves the others'.
   */
  public synchronized ReloadableIdentity copy() {
    return new ReloadableIdentity(current, generation);
  }

  /**
   * Shows the pair in these files from the next handshake on; connections already made keep
   * theirs.
   *
   * @throws IllegalArgumentException if a file does not read or the key is not the
   *     certificate's; the pair shown so far stays
   */
  public synchronized void reload(Path privateKey, Path certificateChain) {
    Tls.Pair read = Tls.readPair(privateKey, certificateChain);
    Pair next = new Pair("client-" + generation++, read.key(), read.chain());
    previous = current;
    current = next;
    // A new connection that resumed a session from before would carry the old certificate
    // (the server takes a resumed session's peer certificates as they were): forget them.
    forgetSessions(sessions);
  }

  /**
   * Forgets the sessions in {@code context} at each reload from now on, so that no connection
   * made after it resumes a session that showed the certificate before. For the client context
   * this identity is the key manager of.
   */
  void forgetsOnReload(SSLSessionContext context) {
    sessions.add(context);
  }

  /** Invalidates every session of {@code contexts}: for reloads, which a resumed one would skip. */
  static void forgetSessions(List<SSLSessionContext> contexts) {
    for (SSLSessionContext context : contexts) {
      for (Enumeration<byte[]> ids = context.getIds(); ids.hasMoreElements(); ) {
        SSLSession session = context.getSession(ids.nextElement());
        if (session != null) {
          session.invalidate();
        }
      }
    }
  }

  /**
   * Reloads the certificate a client shows, {@code identity}, which is null for a client built
   * without one.
   *
   * @throws IllegalStateException if {@code identity} is null
   * @throws IllegalArgumentException as {@link #reload}
   */
  public static void reloadClient(ReloadableIdentity identity, Path privateKey,
      Path certificateChain) {
    if (identity == null) {
      throw new IllegalStateException("this client shows no certificate: build it with"
          + " clientCertificate(...)");
    }
    identity.reload(privateKey, certificateChain);
  }

  private Pair pair(String alias) {
    Pair now = current;
    if (now.alias().equals(alias)) {
      return now;
    }
    Pair before = previous;
    return before != null && before.alias().equals(alias) ? before : null;
  }

  /** Whether a key of this pair can sign for a handshake that asks for {@code keyType}. */
  private static boolean fits(PrivateKey key, String keyType) {
    String algorithm = key.getAlgorithm().toUpperCase(Locale.ROOT);
    String type = keyType.toUpperCase(Locale.ROOT);
    if (type.equals(algorithm) || type.startsWith(algorithm + "_")) {
      return true;
    }
    if (algorithm.equals("RSA")) {
      return type.equals("RSASSA-PSS");
    }
    boolean edwards = algorithm.equals("ED25519") || algorithm.equals("EDDSA");
    return edwards && (type.equals("ED25519") || type.equals("EDDSA"));
  }

  private String choose(String[] keyTypes) {
    Pair now = current;
    if (keyTypes != null) {
      for (String type : keyTypes) {
        if (type != null && fits(now.key(), type)) {
          return now.alias();
        }
      }
    }
    return null; // no fitting key: no certificate is shown, and a server that requires one refuses
  }

  @Override
  public String chooseClientAlias(String[] keyTypes, Principal[] issuers, Socket socket) {
    return choose(keyTypes);
  }

  @Override
  public String chooseEngineClientAlias(String[] keyTypes, Principal[] issuers,
      SSLEngine engine) {
    return choose(keyTypes);
  }

  @Override
  public String[] getClientAliases(String keyType, Principal[] issuers) {
    String alias = choose(new String[] {keyType});
    return alias == null ? null : new String[] {alias};
  }

  @Override
  public String chooseServerAlias(String keyType, Principal[] issuers, Socket socket) {
    return null; // a client's identity only
  }

  @Override
  public String[] getServerAliases(String keyType, Principal[] issuers) {
    return null;
  }

  @Override
  public X509Certificate[] getCertificateChain(String alias) {
    Pair p = pair(alias);
    return p == null ? null : p.chain().clone();
  }

  @Override
  public PrivateKey getPrivateKey(String alias) {
    Pair p = pair(alias);
    return p == null ? null : p.key();
  }
}
