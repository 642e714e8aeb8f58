package io.bittensor.examples;

import io.bittensor.core.Account;
import io.bittensor.core.BlockPolicy;
import io.bittensor.core.Genesis;
import io.bittensor.core.Keypair;
import io.bittensor.core.LedgerParams;
import io.bittensor.core.LocalLedger;
import io.bittensor.core.Metagraph;
import io.bittensor.core.Modality;
import io.bittensor.core.PeerId;
import io.bittensor.core.Transaction;
import java.io.PrintStream;
import java.net.URI;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Arrays;

/**
 * A stake holder's key kept sealed under a passphrase (a "cold" key), paying a neuron's own key
 * (a "hot" one, which signs every call and weight row) what it stakes: the cold key's seed is
 * opened only for the one transfer, and its account is named without the passphrase.
 *
 * <pre>
 * mvn -B -q -pl examples -am package -DskipTests dependency:build-classpath \
 *     -Dmdep.outputFile=target/classpath.txt
 * java -cp "examples/target/classes:$(cat examples/target/classpath.txt)" \
 *     io.bittensor.examples.ColdKeyStake
 * </pre>
 *
 * <p>From the shell the same is {@code bittensor keys new --seal cold.key}, then {@code bittensor
 * ledger transfer --key cold.key --to hot.key ...} and {@code ledger stake --key hot.key ...}.
 */
public final class ColdKeyStake {
  private ColdKeyStake() {}

  public static void main(String[] args) throws Exception {
    char[] passphrase = "correct horse battery staple".toCharArray(); // in practice: the console
    try {
      TemporaryFolder.use("cold-key", dir -> run(dir, passphrase, System.out));
    } finally {
      Arrays.fill(passphrase, '\0');
    }
  }

  /** Seals a cold key, funds it at genesis, and has it pay a hot key that registers and stakes. */
  static Metagraph run(Path dir, char[] passphrase, PrintStream out) throws Exception {
    Path coldFile = dir.resolve("cold.key");
    Keypair.generate().save(coldFile, passphrase);          // Argon2id + AES-256-GCM, owner only
    PeerId cold = Keypair.readId(coldFile);                  // its account, without the passphrase
    Keypair hot = Keypair.generate();                        // the neuron's own key
    Genesis genesis = Genesis.builder().params(LedgerParams.defaults())
        .allocate(cold, 10_000).build();
    try (LocalLedger ledger = LocalLedger.builder().genesis(genesis)
        .blocks(BlockPolicy.every(Duration.ofMillis(20))).openInMemory()) {
      Keypair opened = Keypair.load(coldFile, passphrase);   // a wrong passphrase: IOException
      ledger.submit(opened, Transaction.transfer(hot.id(), 4_000)).join();
      ledger.submit(hot, Transaction.register(URI.create("http://127.0.0.1:8091"),
          Modality.TEXT)).join();
      ledger.submit(hot, Transaction.addStake(3_000)).join();

      Account coldAccount = ledger.account(cold).orElseThrow();
      Metagraph m = ledger.metagraph();
      int uid = m.uid(hot.id()).orElseThrow();
      out.printf("cold %s: balance %d%n", cold.toHex().substring(0, 16), coldAccount.balance());
      out.printf("hot  %s: uid %d, stake %d, balance %d%n", hot.id().toHex().substring(0, 16),
          uid, m.peer(uid).stake(), ledger.account(hot.id()).orElseThrow().balance());
      return m;
    }
  }
}
