package io.bittensor.examples;

import io.bittensor.core.BlockPolicy;
import io.bittensor.core.DType;
import io.bittensor.core.ForwardRequest;
import io.bittensor.core.ForwardResult;
import io.bittensor.core.Genesis;
import io.bittensor.core.Keypair;
import io.bittensor.core.LedgerParams;
import io.bittensor.core.LocalLedger;
import io.bittensor.core.Metagraph;
import io.bittensor.core.Modality;
import io.bittensor.core.PeerInfo;
import io.bittensor.core.Receipt;
import io.bittensor.core.Tensor;
import io.bittensor.core.Transaction;
import io.bittensor.transport.BuiltinPeers;
import io.bittensor.transport.LedgerServer;
import io.bittensor.transport.PeerClient;
import io.bittensor.transport.PeerServer;
import io.bittensor.transport.RemoteLedger;
import java.io.PrintStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;

/**
 * A market whose traffic others cannot read: the ledger and a peer served over HTTPS with the
 * market's certificates, a peer that registers its {@code https://} endpoint through the ledger
 * over HTTPS, and a caller that finds it on the metagraph and asks it, trusting the market's
 * authority and taking only answers the peer signed. TLS keeps the batches private; the Ed25519
 * signatures still say who asked and who answered. Given a client certificate too, it runs over
 * mutual TLS: both servers serve only clients that show a certificate the market's authority
 * issued, so a machine without one cannot even read the metagraph.
 *
 * <pre>
 * mvn -B -q -pl examples -am package -DskipTests
 * java -cp "examples/target/classes:bittensor-cli/target/bittensor.jar" \
 *     io.bittensor.examples.MarketOverHttps KEY CERT CA [CLIENT_KEY CLIENT_CERT]
 * </pre>
 *
 * <p>{@code KEY} and {@code CERT}: a PEM PKCS#8 key and its certificate, naming 127.0.0.1;
 * {@code CA}: the PEM certificate of the authority that signed it (or {@code CERT} itself, when
 * self-signed); {@code CLIENT_KEY} and {@code CLIENT_CERT}: a key and a certificate for client
 * authentication that {@code CA} issued. The test set in {@code
 * bittensor-core/src/test/resources/tls} is one: {@code peer.key peer.pem ca.pem client.key
 * client.pem}. To make your own, copy its {@code make.sh} to an empty folder and run it there:
 * run where it lies, it replaces those test files.
 */
public final class MarketOverHttps {
  private MarketOverHttps() {}

  private static final String USAGE = "usage: MarketOverHttps KEY CERT CA [CLIENT_KEY CLIENT_CERT]";

  public static void main(String[] args) throws Exception {
    if (args.length != 3 && args.length != 5) {
      System.err.println(USAGE);
      System.exit(2);
    }
    // A mistyped path is the user's error: say which, not a stack trace from the builders.
    for (String file : args) {
      if (!Files.isReadable(Path.of(file))) {
        System.err.println("MarketOverHttps: cannot read " + file + "\n" + USAGE);
        System.exit(2);
      }
    }
    run(Path.of(args[0]), Path.of(args[1]), Path.of(args[2]),
        args.length == 5 ? List.of(Path.of(args[3]), Path.of(args[4])) : List.of(), System.out);
  }

  /**
   * Runs the market once; returns the caller's answer.
   *
   * @param client the client's key and certificate for mutual TLS, or empty for TLS alone
   */
  static ForwardResult run(Path key, Path certificate, Path authority, List<Path> client,
      PrintStream out) throws Exception {
    boolean mutual = !client.isEmpty();
    Keypair peerKey = Keypair.generate();
    Keypair callerKey = Keypair.generate();
    Genesis genesis = Genesis.builder().params(LedgerParams.defaults())
        .allocate(peerKey.id(), 1_000).build();
    try (LocalLedger ledger = LocalLedger.builder().genesis(genesis)
            .blocks(BlockPolicy.every(Duration.ofMillis(50))).openInMemory();
        LedgerServer ledgerServer = mutual(LedgerServer.builder().ledger(ledger)
            .host("127.0.0.1").port(0).tls(key, certificate), mutual, authority).start();
        PeerServer peerServer = mutual(PeerServer.newBuilder(BuiltinPeers.deterministic(16))
            .host("127.0.0.1").port(0).tls(key, certificate)
            .signAnswers(peerKey), mutual, authority)     // answers signed with its ledger key
            .start();
        RemoteLedger remote = shows(RemoteLedger.builder().keypair(peerKey)
            .trustedCertificates(authority), client).connect(List.of(ledgerServer.uri()));
        PeerClient caller = shows(PeerClient.newBuilder().keypair(callerKey)
            .trustedCertificates(authority)
            .requireSignedAnswers(true), client)          // only the registered key's answers
            .build()) {
      out.println("ledger at " + ledgerServer.uri() + ", peer at " + peerServer.endpoint());
      Receipt registered = remote.submit(peerKey,
          Transaction.register(peerServer.endpoint(), Modality.TENSOR)).get();
      // The receipt may come before the block's event: wait until this client has the block.
      if (!remote.awaitBlock(registered.block(), Duration.ofSeconds(10))) {
        throw new IllegalStateException("block " + registered.block() + " never arrived");
      }
      Metagraph m = remote.metagraph();
      PeerInfo found = m.info(m.uid(peerKey.id()).orElseThrow());
      out.println("registered: uid " + m.uid(peerKey.id()).getAsInt() + " at " + found.endpoint());
      ForwardResult answer = caller.connect(found).forwardAndWait(
          new ForwardRequest(Modality.TENSOR, Tensor.zeros(DType.FLOAT32, 1, 4, 8)),
          Duration.ofSeconds(10));
      out.println("asked over " + (mutual ? "mutual TLS: " : "HTTPS: ") + answer.status()
          + ", shape "
          + answer.output().map(t -> java.util.Arrays.toString(t.shape())).orElse("none"));
      return answer;
    }
  }

  /** Servers of a mutual-TLS market ask every client for a certificate the authority issued. */
  private static LedgerServer.Builder mutual(LedgerServer.Builder b, boolean mutual, Path ca) {
    return mutual ? b.requireClientCertificates(ca) : b;
  }

  private static PeerServer.Builder mutual(PeerServer.Builder b, boolean mutual, Path ca) {
    return mutual ? b.requireClientCertificates(ca) : b;
  }

  /** Its clients show theirs. */
  private static RemoteLedger.Builder shows(RemoteLedger.Builder b, List<Path> client) {
    return client.isEmpty() ? b : b.clientCertificate(client.get(0), client.get(1));
  }

  private static PeerClient.Builder shows(PeerClient.Builder b, List<Path> client) {
    return client.isEmpty() ? b : b.clientCertificate(client.get(0), client.get(1));
  }
}
