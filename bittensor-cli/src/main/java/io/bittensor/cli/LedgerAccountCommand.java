package io.bittensor.cli;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.bittensor.core.Account;
import io.bittensor.core.Ledger;
import io.bittensor.core.LedgerException;
import io.bittensor.core.Metagraph;
import io.bittensor.core.PeerId;
import io.bittensor.core.PeerState;
import java.io.PrintWriter;
import java.util.Locale;
import java.util.Optional;
import java.util.OptionalInt;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.Spec;

/** {@code bittensor ledger account}: one account's balance, nonce, and its peer if registered. */
@Command(
    name = "account",
    mixinStandardHelpOptions = true,
    description = "Print an account of the ledger in --data or of the server at --remote: its"
        + " free balance, its nonce (the next transaction's), and its peer's uid, stake and"
        + " endpoint when it is registered.")
final class LedgerAccountCommand implements Callable<Integer> {
  @Spec CommandSpec spec;

  @Mixin LedgerSourceOptions source = new LedgerSourceOptions();

  @Parameters(index = "0", paramLabel = "ID|KEYFILE",
      description = "The account: 64 hex digits, or a key file (sealed or not).")
  String account;

  @Option(names = "--json", description = "Print JSON instead of text.")
  boolean json;

  @Override
  public Integer call() {
    PeerId id = GenesisOptions.peerId(account, "ACCOUNT");
    Optional<Account> found;
    Metagraph m;
    try (Ledger ledger = source.open()) {
      found = ledger.account(id);
      m = ledger.metagraph();
    } catch (LedgerException e) {
      throw CliException.failure(e.getMessage(), e);
    }
    OptionalInt uid = m.uid(id);
    PeerState peer = uid.isPresent() ? m.peer(uid.getAsInt()) : null;
    long balance = found.map(Account::balance).orElse(0L);
    long nonce = found.map(Account::nonce).orElse(0L);
    PrintWriter out = spec.commandLine().getOut();
    if (json) {
      ObjectMapper mapper = new ObjectMapper();
      ObjectNode root = mapper.createObjectNode();
      root.put("id", id.toHex());
      root.put("known", found.isPresent());
      root.put("balance", balance);
      root.put("nonce", nonce);
      root.put("block", m.block().number());
      if (peer != null) {
        root.put("uid", peer.uid());
        root.put("stake", peer.stake());
        root.put("endpoint", peer.info().endpoint().toString());
      }
      out.println(root.toPrettyString());
    } else {
      out.printf(Locale.ROOT, "account  %s%s%n", id.toHex(),
          found.isPresent() ? "" : "  (unknown to the ledger)");
      out.printf(Locale.ROOT, "balance  %d%nnonce    %d%n", balance, nonce);
      out.println(peer == null ? "peer     not registered"
          : String.format(Locale.ROOT, "peer     uid %d  stake %d  %s  (block %d)", peer.uid(),
              peer.stake(), peer.info().endpoint(), m.block().number()));
    }
    out.flush();
    return 0;
  }
}
