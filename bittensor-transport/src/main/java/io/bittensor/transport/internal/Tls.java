package io.bittensor.transport.internal;

import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.GeneralSecurityException;
import java.security.KeyFactory;
import java.security.KeyStore;
import java.security.PrivateKey;
import java.security.Signature;
import java.security.cert.Certificate;
import java.security.cert.CertificateException;
import java.security.cert.CertificateFactory;
import java.security.cert.X509Certificate;
import java.security.spec.InvalidKeySpecException;
import java.security.spec.PKCS8EncodedKeySpec;
import java.util.Base64;
import java.util.Collection;
import java.util.List;
import java.util.Objects;
import javax.net.ssl.KeyManager;
import javax.net.ssl.KeyManagerFactory;
import javax.net.ssl.SSLContext;
import javax.net.ssl.TrustManager;
import javax.net.ssl.TrustManagerFactory;
import javax.net.ssl.X509TrustManager;
import okhttp3.OkHttpClient;
import okhttp3.Protocol;

/**
 * TLS from PEM files, with the JDK's own providers: a key and certificate chain (a server's, or a
 * client's for mutual TLS), and the certificates a client (or a server asking for clients'
 * certificates) trusts. Misread files are {@link IllegalArgumentException}s naming the
 * file and what was wrong with it, since they are a server's or client's configuration.
 */
public final class Tls {
  private static final String KEY_BEGIN = "-----BEGIN PRIVATE KEY-----";
  private static final String KEY_END = "-----END PRIVATE KEY-----";
  private static final char[] NO_PASSWORD = new char[0];

  private Tls() {}

  /**
   * A server's TLS: the private key in {@code privateKey} (PEM, PKCS#8 unencrypted: EC, RSA or
   * Ed25519) for the first certificate of {@code certificateChain} (PEM, the server's own, then
   * any intermediates).
   *
   * @throws IllegalArgumentException if a file cannot be read or does not hold what it should
   */
  public static SSLContext serverContext(Path privateKey, Path certificateChain) {
    return context(identity(privateKey, certificateChain), null);
  }

  /**
   * The key managers that show a TLS identity: the private key in {@code privateKey} (PEM,
   * PKCS#8 unencrypted: EC, RSA or Ed25519) for the first certificate of {@code
   * certificateChain} (PEM, its own first, then any intermediates). A server shows it to every
   * client; a client shows it to the servers that ask for one.
   *
   * @throws IllegalArgumentException if a file cannot be read or does not hold what it should,
   *     or the key is not the certificate's
   */
  public static KeyManager[] identity(Path privateKey, Path certificateChain) {
    Pair pair = readPair(privateKey, certificateChain);
    try {
      KeyStore store = KeyStore.getInstance("PKCS12");
      store.load(null, null);
      store.setKeyEntry("identity", pair.key(), NO_PASSWORD, pair.chain());
      KeyManagerFactory keys =
          KeyManagerFactory.getInstance(KeyManagerFactory.getDefaultAlgorithm());
      keys.init(store, NO_PASSWORD);
      return keys.getKeyManagers();
    } catch (GeneralSecurityException | IOException e) {
      throw new IllegalArgumentException("the key in " + privateKey + " and the certificate in "
          + certificateChain + " do not make a TLS identity: " + e.getMessage(), e);
    }
  }

  /** A private key and the certificate chain it is the key of, its own certificate first. */
  record Pair(PrivateKey key, X509Certificate[] chain) {}

  /**
   * The key in {@code privateKey} and the chain in {@code certificateChain}, checked to belong
   * together.
   *
   * @throws IllegalArgumentException if a file cannot be read or does not hold what it should,
   *     or the key is not the first certificate's
   */
  static Pair readPair(Path privateKey, Path certificateChain) {
    Objects.requireNonNull(privateKey, "privateKey");
    Objects.requireNonNull(certificateChain, "certificateChain");
    PrivateKey key = readPrivateKey(privateKey);
    List<X509Certificate> chain = readCertificates(certificateChain);
    if (!matches(key, chain.get(0))) {
      throw new IllegalArgumentException("the key in " + privateKey + " is not the key of the"
          + " first certificate in " + certificateChain + " (" + chain.get(0)
          .getSubjectX500Principal().getName() + ")");
    }
    return new Pair(key, chain.toArray(new X509Certificate[0]));
  }

  /**
   * What a client trusts: the certificates in {@code pem} (authorities, or the servers' own),
   * and nothing else. A server that asks clients for certificates trusts the same way.
   *
   * @throws IllegalArgumentException if the file cannot be read or holds no certificate
   */
  public static X509TrustManager trustManager(Path pem) {
    List<X509Certificate> certificates = readCertificates(pem);
    try {
      KeyStore store = KeyStore.getInstance("PKCS12");
      store.load(null, null);
      for (int i = 0; i < certificates.size(); i++) {
        store.setCertificateEntry("trusted-" + i, certificates.get(i));
      }
      return x509(store);
    } catch (GeneralSecurityException | IOException e) {
      throw new IllegalArgumentException("cannot trust the certificates in " + pem + ": "
          + e.getMessage(), e);
    }
  }

  /** The JDK's default authorities (its {@code cacerts}). */
  public static X509TrustManager jdkTrust() {
    try {
      return x509(null);
    } catch (GeneralSecurityException e) {
      throw new IllegalStateException("the JDK cannot read its authorities: " + e.getMessage(),
          e);
    }
  }

  private static X509TrustManager x509(KeyStore store) throws GeneralSecurityException {
    TrustManagerFactory factory =
        TrustManagerFactory.getInstance(TrustManagerFactory.getDefaultAlgorithm());
    factory.init(store);
    for (TrustManager m : factory.getTrustManagers()) {
      if (m instanceof X509TrustManager x509) {
        return x509;
      }
    }
    throw new IllegalStateException("the JDK made no X.509 trust manager");
  }

  /** A client context that trusts what {@code trust} trusts. */
  public static SSLContext clientContext(X509TrustManager trust) {
    return context(null, trust);
  }

  /**
   * A TLS context that shows {@code identity} (none where null) and trusts what {@code trust}
   * trusts (the JDK's default authorities where null).
   */
  public static SSLContext context(KeyManager[] identity, X509TrustManager trust) {
    try {
      SSLContext context = SSLContext.getInstance("TLS");
      context.init(identity, trust == null ? null : new TrustManager[] {trust}, null);
      return context;
    } catch (GeneralSecurityException e) {
      throw new IllegalStateException("the JDK cannot make a TLS context: " + e.getMessage(), e);
    }
  }

  /** Whether {@code key} signs what the certificate's public key verifies. */
  private static boolean matches(PrivateKey key, X509Certificate certificate) {
    String algorithm = switch (key.getAlgorithm()) {
      case "EC" -> "SHA256withECDSA";
      case "RSA" -> "SHA256withRSA";
      default -> key.getAlgorithm(); // Ed25519 and EdDSA sign as themselves
    };
    byte[] probe = "bittensor tls key check".getBytes(StandardCharsets.US_ASCII);
    try {
      Signature signer = Signature.getInstance(algorithm);
      signer.initSign(key);
      signer.update(probe);
      byte[] signature = signer.sign();
      Signature verifier = Signature.getInstance(algorithm);
      verifier.initVerify(certificate.getPublicKey());
      verifier.update(probe);
      return verifier.verify(signature);
    } catch (GeneralSecurityException e) {
      return false; // keys of different algorithms, or one the other cannot use
    }
  }

  /**
   * {@code cleartext}'s settings, dispatcher and connection pool, for {@code https://} servers:
   * ALPN names the protocol (HTTP/2 where {@code http2}, else HTTP/1.1 only), {@code trust},
   * when not null, replaces the JDK's authorities, and {@code identity}, when not null, is the
   * certificate shown to servers that ask for one.
   */
  public static OkHttpClient okHttp(OkHttpClient cleartext, boolean http2,
      X509TrustManager trust, KeyManager[] identity) {
    OkHttpClient.Builder tls = cleartext.newBuilder().protocols(http2
        ? List.of(Protocol.HTTP_2, Protocol.HTTP_1_1) : List.of(Protocol.HTTP_1_1));
    if (trust != null || identity != null) {
      X509TrustManager trusted = trust != null ? trust : jdkTrust();
      SSLContext context = context(identity, trusted);
      if (trusted instanceof ReloadableTrust reloadable) {
        // A session resumed after a reload would skip the check against the new trust.
        reloadable.forgetsOnReload(context.getClientSessionContext());
      }
      if (identity != null) {
        for (KeyManager k : identity) {
          if (k instanceof ReloadableIdentity reloadable) {
            // A session resumed after a reload would show the servers the old certificate.
            reloadable.forgetsOnReload(context.getClientSessionContext());
          }
        }
      }
      tls.sslSocketFactory(context.getSocketFactory(), trusted);
    }
    return tls.build();
  }

  /**
   * What to add to the message of a failed call to {@code endpoint}: for an {@code https://}
   * server that was reached and then ended the handshake or the connection, a reminder that a
   * server asking for client certificates does that to a client without one it trusts, since
   * the client itself sees only a broken pipe, a reset, an alert or a connection shut down
   * (HTTP/2); for one whose answer was not TLS at all, that it may be a cleartext server. Empty
   * otherwise: a server not reached, a timeout, or a server certificate the client did not
   * trust (that message says so already).
   */
  public static String clientCertificateHint(java.net.URI endpoint, IOException e) {
    if (!"https".equals(endpoint.getScheme()) || e instanceof java.net.ConnectException
        || e instanceof java.net.NoRouteToHostException
        || e instanceof java.net.UnknownHostException
        || e instanceof java.io.InterruptedIOException
        || e instanceof javax.net.ssl.SSLPeerUnverifiedException
        || String.valueOf(e.getMessage()).contains("PKIX")) {
      return "";
    }
    if (String.valueOf(e.getMessage()).contains("Unsupported or unrecognized SSL message")) {
      // What the JDK says when the bytes that came back were not TLS at all.
      return " (the server does not speak TLS there: is it an http:// server?)";
    }
    return " (a server that asks for client certificates closes the connection of a client that"
        + " shows none it trusts: see clientCertificate, --client-cert)";
  }

  static PrivateKey readPrivateKey(Path file) {
    String text = read(file);
    int begin = text.indexOf(KEY_BEGIN);
    int end = text.indexOf(KEY_END);
    if (begin < 0 || end < begin) {
      String hint = text.contains("-----BEGIN EC PRIVATE KEY-----")
          || text.contains("-----BEGIN RSA PRIVATE KEY-----")
          || text.contains("-----BEGIN ENCRYPTED PRIVATE KEY-----")
          ? " (it holds another form: convert it with openssl pkcs8 -topk8 -nocrypt)" : "";
      throw new IllegalArgumentException(file + " holds no unencrypted PKCS#8 private key ("
          + KEY_BEGIN + ")" + hint);
    }
    byte[] der;
    try {
      der = Base64.getMimeDecoder().decode(text.substring(begin + KEY_BEGIN.length(), end));
    } catch (IllegalArgumentException e) {
      throw new IllegalArgumentException(file + ": the private key is not valid base64", e);
    }
    for (String algorithm : new String[] {"EC", "RSA", "Ed25519"}) {
      try {
        return KeyFactory.getInstance(algorithm).generatePrivate(new PKCS8EncodedKeySpec(der));
      } catch (InvalidKeySpecException | java.security.NoSuchAlgorithmException e) {
        // Not this algorithm: try the next.
      }
    }
    throw new IllegalArgumentException(file + ": the private key is none of EC, RSA or Ed25519");
  }

  static List<X509Certificate> readCertificates(Path file) {
    String text = read(file);
    Collection<? extends Certificate> read;
    try {
      read = CertificateFactory.getInstance("X.509").generateCertificates(
          new ByteArrayInputStream(text.getBytes(StandardCharsets.ISO_8859_1)));
    } catch (CertificateException e) {
      throw new IllegalArgumentException(file + " holds no valid PEM certificate: "
          + e.getMessage(), e);
    }
    List<X509Certificate> certificates = read.stream()
        .filter(X509Certificate.class::isInstance).map(X509Certificate.class::cast).toList();
    if (certificates.isEmpty()) {
      throw new IllegalArgumentException(file + " holds no PEM certificate"
          + " (-----BEGIN CERTIFICATE-----)");
    }
    return certificates;
  }

  private static String read(Path file) {
    if (!Files.isRegularFile(file)) {
      throw new IllegalArgumentException("no such file: " + file);
    }
    try {
      // Byte for byte: the blocks are ASCII, and the text around them (openssl's "Bag
      // Attributes", a subject line) may be anything, UTF-8 included.
      return Files.readString(file, StandardCharsets.ISO_8859_1);
    } catch (IOException e) {
      throw new IllegalArgumentException("cannot read " + file + ": " + e.getMessage(), e);
    }
  }
}
