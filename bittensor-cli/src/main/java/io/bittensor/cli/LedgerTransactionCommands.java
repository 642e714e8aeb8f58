package io.bittensor.cli;

import io.bittensor.core.Account;
import io.bittensor.core.Keypair;
import io.bittensor.core.Ledger;
import io.bittensor.core.LedgerException;
import io.bittensor.core.LedgerParams;
import io.bittensor.core.Metagraph;
import io.bittensor.core.Modality;
import io.bittensor.core.PeerId;
import io.bittensor.core.Receipt;
import io.bittensor.core.RejectReason;
import io.bittensor.core.SignedTransaction;
import io.bittensor.core.Transaction;
import io.bittensor.core.TransactionRejectedException;
import io.bittensor.transport.RemoteLedger;
import java.io.PrintWriter;
import java.net.URI;
import java.nio.file.Path;
import java.time.Duration;
import java.util.HashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.OptionalInt;
import java.util.TreeMap;
import java.util.concurrent.Callable;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.function.Function;
import java.util.function.LongFunction;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

/**
 * {@code bittensor ledger transfer|register|stake|unstake|weights|params}: sign one transaction
 * with a key file (sealed or not) and send it to a ledger server; print its block, or why the
 * ledger refused it.
 */
final class LedgerTransactionCommands {
  private LedgerTransactionCommands() {}

  /** The signing key and the server: what every transaction command takes. */
  static final class Signer {
    @Option(names = "--remote", required = true, paramLabel = "URL", split = ",",
        description = "The ledger server, e.g. http://10.0.0.2:8092; or several, comma-separated"
            + " (the members of a replicated ledger: the first that answers).")
    List<URI> remote;

    @Option(names = "--trust", paramLabel = "FILE",
        description = "With an https:// --remote: trust the certificates in this PEM file instead"
            + " of the JDK's authorities.")
    Path trust;

    @Mixin ClientCertOption clientCert = new ClientCertOption();

    @Option(names = "--key", required = true, paramLabel = "FILE",
        description = "The key that signs (bittensor keys new); its account pays.")
    Path key;

    @Mixin PassphraseOption passphrase = new PassphraseOption();

    @Option(names = "--timeout", defaultValue = "PT60S", paramLabel = "DURATION",
        description = "How long to wait for the transaction's block (ISO-8601). Default:"
            + " ${DEFAULT-VALUE}.")
    Duration timeout;

    /**
     * Signs {@code body}, submits it and waits for its block; prints the receipt and the
     * signer's account after it.
     *
     * @return 0 when sealed in a block
     * @throws CliException bad input when the ledger refuses it (with its reason), failure when
     *     the server cannot be reached or the block does not come in time
     */
    int submit(CommandSpec spec, String what, Transaction body) {
      return submit(spec, what, ledger -> body);
    }

    /** As {@link #submit(CommandSpec, String, Transaction)}, the body made from the ledger. */
    int submit(CommandSpec spec, String what, BodyFrom from) {
      return submit(spec, what, from, body -> null);
    }

    /**
     * As {@link #submit(CommandSpec, String, BodyFrom)}, with a line under {@code what} once
     * the transaction is sealed: {@code detail} of the body {@code from} made, or null for none.
     */
    int submit(CommandSpec spec, String what, BodyFrom from,
        Function<Transaction, String> detail) {
      if (timeout.isNegative() || timeout.isZero()) {
        throw CliException.badInput("--timeout must be positive, was " + timeout, null);
      }
      if (timeout.compareTo(Duration.ofMillis(Long.MAX_VALUE)) > 0) {
        // Else the transaction is sent, then the wait for it fails with "long overflow".
        throw CliException.badInput("--timeout must be at most "
            + Duration.ofMillis(Long.MAX_VALUE) + ", was " + timeout, null);
      }
      Keypair signer = passphrase.load(key);
      PrintWriter out = spec.commandLine().getOut();
      try (RemoteLedger ledger = LedgerSourceOptions.connect(remote, trust,
          clientCert.apply(RemoteLedger.builder().keypair(signer)))) {
        Transaction body = from.body(ledger);
        Receipt receipt;
        try {
          try {
            receipt = submitAtNextNonce(ledger, signer, body, timeout,
                spec.commandLine().getErr());
          } catch (LedgerException e) {
            throw CliException.failure(what + " was not sent: " + e.getMessage(), e);
          }
          // The receipt can come before the block's event: print the account as of that block.
          ledger.awaitBlock(receipt.block(), timeout);
        } catch (ExecutionException e) {
          if (e.getCause() instanceof TransactionRejectedException r) {
            throw CliException.badInput("the ledger refused " + what + ": " + r.getMessage(), r);
          }
          throw CliException.failure(what + " failed: " + e.getCause().getMessage()
              + " (it may or may not be in the ledger: check the account's nonce)", e.getCause());
        } catch (TimeoutException e) {
          throw CliException.failure("no block holds " + what + " after " + timeout
              + " (it may still be sealed: check the account's nonce)", e);
        } catch (InterruptedException e) {
          Thread.currentThread().interrupt();
          throw CliException.failure("interrupted waiting for " + what, e);
        }
        out.println(what);
        String line = detail.apply(body);
        if (line != null) {
          out.println(line);
        }
        out.printf(Locale.ROOT, "sealed   block %d, transaction %s%n", receipt.block(),
            receipt.transaction());
        Account account = ledger.account(signer.id()).orElseThrow();
        Metagraph m = ledger.metagraph();
        // The uid too: a registration's output is where a new peer learns it.
        OptionalInt uid = m.uid(signer.id());
        String stake = uid.isPresent()
            ? m.peer(uid.getAsInt()).stake() + "  uid " + uid.getAsInt()
            : "none (not registered)";
        out.printf(Locale.ROOT, "account  %s  balance %d  nonce %d  stake %s%n",
            signer.id().toHex(), account.balance(), account.nonce(), stake);
        out.flush();
        return 0;
      } catch (LedgerException e) {
        throw CliException.failure(e.getMessage(), e);
      }
    }
  }

  /** Makes a transaction's body from what the ledger holds now. */
  @FunctionalInterface
  interface BodyFrom {
    Transaction body(Ledger ledger) throws LedgerException;
  }

  /** How many times a transaction is signed again when its nonce was taken meanwhile. */
  static final int NONCE_ATTEMPTS = 5;

  /**
   * Signs {@code body} with the ledger's next nonce for {@code key}, submits it and waits for its
   * receipt. When another transaction of the same key took that nonce between the two (a neuron
   * running with the key sets its weights on its own), the ledger refuses this one and changes
   * nothing, so it is signed again with the next nonce, up to {@value #NONCE_ATTEMPTS} times,
   * each said on {@code err}.
   *
   * @throws ExecutionException with the ledger's rejection, or its failure
   * @throws TimeoutException if an attempt's receipt does not come within {@code timeout}
   * @throws LedgerException if the nonce cannot be read: nothing was sent (what was sent
   *     before, refused for its nonce, changed nothing)
   */
  static Receipt submitAtNextNonce(Ledger ledger, Keypair key, Transaction body,
      Duration timeout, PrintWriter err)
      throws ExecutionException, TimeoutException, InterruptedException, LedgerException {
    for (int attempt = 1; ; attempt++) {
      // Read here, not in Ledger.submit(key, body): its failure there would read as a
      // transaction that may have been sent.
      long nonce = ledger.nextNonce(key.id());
      try {
        return ledger.submit(SignedTransaction.sign(key, ledger.chainId(), nonce, body))
            .get(timeout.toMillis(), TimeUnit.MILLISECONDS);
      } catch (ExecutionException e) {
        if (attempt == NONCE_ATTEMPTS
            || !(e.getCause() instanceof TransactionRejectedException r)
            || !(r.reason() == RejectReason.NONCE_REUSED
                || r.reason() == RejectReason.NONCE_WRONG)) {
          throw e;
        }
        err.println("another transaction of this key took its nonce (" + r.detail()
            + "); signing again");
        err.flush();
      }
    }
  }

  /** {@code bittensor ledger transfer}. */
  @Command(name = "transfer", mixinStandardHelpOptions = true,
      description = "Move tokens from the signer's balance to another account's.")
  static final class Transfer implements Callable<Integer> {
    @Spec CommandSpec spec;
    @Mixin Signer signer = new Signer();

    @Option(names = "--to", required = true, paramLabel = "ID|KEYFILE",
        description = "The account that receives: 64 hex digits, or a key file (sealed or not).")
    String to;

    @Option(names = "--amount", required = true, paramLabel = "TOKENS",
        description = "Tokens, > 0.")
    long amount;

    @Override
    public Integer call() {
      PeerId receiver = GenesisOptions.peerId(to, "--to");
      return signer.submit(spec, "transfer of " + positive(amount) + " to " + receiver.toHex(),
          Transaction.transfer(receiver, amount));
    }
  }

  /** {@code bittensor ledger register}. */
  @Command(name = "register", mixinStandardHelpOptions = true,
      description = "Register the signer's peer at the endpoint where it serves (peer serve), so"
          + " that it gets a uid, can hold stake and is asked by others.")
  static final class Register implements Callable<Integer> {
    @Spec CommandSpec spec;
    @Mixin Signer signer = new Signer();

    @Option(names = "--endpoint", required = true, paramLabel = "URL",
        description = "Where the peer serves, e.g. http://10.0.0.7:8091 (or https://).")
    URI endpoint;

    @Option(names = "--modality", defaultValue = "TEXT", paramLabel = "M",
        description = "What it answers: TEXT,"
        + " IMAGE, SPEECH or TENSOR. Default: ${DEFAULT-VALUE}.")
    Modality modality;

    @Override
    public Integer call() {
      return signer.submit(spec, "registration at " + endpoint,
          Transaction.register(endpoint, modality));
    }
  }

  /** A command that moves {@code --amount} tokens with one transaction. */
  abstract static class AmountCommand implements Callable<Integer> {
    private final String what;
    private final LongFunction<Transaction> body;

    @Spec CommandSpec spec;
    @Mixin Signer signer = new Signer();

    @Option(names = "--amount", required = true, paramLabel = "TOKENS",
        description = "Tokens, > 0.")
    long amount;

    AmountCommand(String what, LongFunction<Transaction> body) {
      this.what = what;
      this.body = body;
    }

    @Override
    public Integer call() {
      return signer.submit(spec, what + " of " + positive(amount), body.apply(amount));
    }
  }

  /** {@code bittensor ledger stake}. */
  @Command(name = "stake", mixinStandardHelpOptions = true,
      description = "Move tokens from the signer's balance to its registered peer's stake.")
  static final class Stake extends AmountCommand {
    Stake() {
      super("stake", Transaction::addStake);
    }
  }

  /** {@code bittensor ledger unstake}. */
  @Command(name = "unstake", mixinStandardHelpOptions = true,
      description = "Move tokens from the signer's peer's stake back to its balance.")
  static final class Unstake extends AmountCommand {
    Unstake() {
      super("unstake", Transaction::removeStake);
    }
  }

  /** {@code bittensor ledger weights}. */
  @Command(name = "weights", mixinStandardHelpOptions = true,
      description = "Set the signer's weight row, e.g. --set 0=0.5 --set 3=0.5 (the ledger"
          + " normalises it; peers left out get 0).")
  static final class Weights implements Callable<Integer> {
    @Spec CommandSpec spec;
    @Mixin Signer signer = new Signer();

    @Option(names = "--set", required = true, paramLabel = "UID=WEIGHT", split = ",",
        description = "A peer's uid and its weight, >= 0; repeat or separate with commas,"
            + " each uid once.")
    Map<Integer, Double> set;

    @Option(names = "--as-of-block", paramLabel = "BLOCK",
        description = "The block of the metagraph the uids were read from (ledger show prints"
            + " it): an entry whose uid a peer registered after it holds now is dropped, not"
            + " given to that newcomer. Default: each uid means whoever holds it when the row"
            + " lands.")
    Long asOfBlock;

    @Override
    public Integer call() {
      refuseAUidGivenTwice();
      TreeMap<Integer, Double> row = new TreeMap<>(set);
      int[] uids = row.keySet().stream().mapToInt(Integer::intValue).toArray();
      double[] weights = row.values().stream().mapToDouble(Double::doubleValue).toArray();
      if (asOfBlock != null && asOfBlock < 0) {
        throw CliException.badInput("--as-of-block must be a block number, >= 0, was "
            + asOfBlock, null);
      }
      return signer.submit(spec, "weights " + row, asOfBlock == null
          ? Transaction.setWeights(uids, weights)
          : Transaction.setWeights(uids, weights, asOfBlock));
    }

    /** The map kept the last weight of a uid given twice, silently: a typo, or rows pasted. */
    private void refuseAUidGivenTwice() {
      Map<Integer, String> given = new HashMap<>();
      // As typed: the map parsed each already, so each entry holds a uid before its '='.
      for (String value : spec.commandLine().getParseResult().matchedOption("--set")
          .originalStringValues()) {
        for (String entry : value.split(",")) {
          int uid = Integer.parseInt(entry.substring(0, entry.indexOf('=')));
          String first = given.putIfAbsent(uid, entry);
          if (first != null) {
            throw CliException.badInput("--set gives uid " + uid + " twice (" + first + ", "
                + entry + "); give each uid once", null);
          }
        }
      }
    }
  }

  /** {@code bittensor ledger params}. */
  @Command(name = "params", mixinStandardHelpOptions = true,
      description = "Change the ledger's rules; only the genesis authority's key may (ledger init"
          + " --authority). The options given replace the rules in force, the others stay.")
  static final class Params implements Callable<Integer> {
    @Spec CommandSpec spec;
    @Mixin Signer signer = new Signer();

    @Mixin RuleOptions rules = new RuleOptions();

    @Override
    public Integer call() {
      if (!rules.anyGiven()) {
        throw CliException.badInput("give at least one of --epoch-length, --max-peers,"
            + " --immunity-period, --min-allowed-weights, --weights-rate-limit,"
            + " --registration-burn, --max-registrations-per-block", null);
      }
      // Printed under the headline once sealed; before, it came first, and on a refusal too.
      return signer.submit(spec, "new rules",
          ledger -> Transaction.changeParams(rules.over(ledger.metagraph().params())), body -> {
            LedgerParams next = ((Transaction.ChangeParams) body).params();
            return String.format(Locale.ROOT, "rules    epochLength %d  maxPeers %d"
                + "  immunityPeriod %d  minAllowedWeights %d  weightsRateLimit %d%s",
                next.epochLength(), next.maxPeers(), next.immunityPeriod(),
                next.minAllowedWeights(), next.weightsRateLimit(),
                LedgerCommand.registrationRules(next));
          });
    }
  }

  private static long positive(long amount) {
    if (amount <= 0) {
      throw CliException.badInput("--amount must be > 0, was " + amount, null);
    }
    return amount;
  }
}
