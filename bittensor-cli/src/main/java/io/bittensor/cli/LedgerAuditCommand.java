package io.bittensor.cli;

import io.bittensor.core.ChainAudit;
import io.bittensor.core.Hash256;
import io.bittensor.core.Ledger;
import io.bittensor.core.LedgerException;
import java.io.IOException;
import java.io.PrintWriter;
import java.nio.file.Path;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

/** {@code bittensor ledger audit}: replays a ledger's chain from its genesis block. */
@Command(
    name = "audit",
    mixinStandardHelpOptions = true,
    description = {
      "Replay the chain of the ledger in --data, or of the ledger server at --remote, from its"
          + " genesis block in a ledger of this process's own: every transaction's signature and"
          + " rules checked again, every block and the state after it compared with what was"
          + " given. Exits 1 naming the first block that differs. With --chain, the genesis"
          + " block must be that chain's (get the id from someone you trust, not the server)."
          + " With --follow, goes on auditing the blocks sealed since. With --replica, the"
          + " replica is kept in a folder, and an audit started again goes on after the last"
          + " block it checked."
    })
final class LedgerAuditCommand implements Callable<Integer> {
  @Spec CommandSpec spec;

  @Mixin LedgerSourceOptions source = new LedgerSourceOptions();

  @Option(names = "--chain", paramLabel = "HEX",
      description = "The chain id to check the genesis block against (64 hex digits); default:"
          + " the one the ledger names.")
  String chain;

  @Option(names = "--to", paramLabel = "N", description = "The last block (default the latest).")
  Long to;

  @Option(names = "--follow", paramLabel = "SECONDS",
      description = "Keep auditing: every SECONDS, the blocks sealed since, until stopped"
          + " (Ctrl-C). Exits 1 at the first block that differs.")
  Double follow;

  @Option(names = "--replica", paramLabel = "DIR",
      description = "Keep the audit's replica in DIR (a ledger's data directory): an audit"
          + " started again over it replays only the blocks after those it checked.")
  Path replica;

  @Override
  public Integer call() {
    Hash256 trusted = LedgerCommand.chainId("--chain", chain);
    if (follow != null && !(follow > 0)) {
      throw CliException.badInput("--follow must be > 0 seconds, was " + follow, null);
    }
    // Under a millisecond the pause rounds to none and the ledger is polled without a break;
    // past a long's milliseconds it is never polled again.
    if (follow != null && !(follow >= 0.001 && follow <= Long.MAX_VALUE / 1000)) {
      throw CliException.badInput("--follow must be 0.001 to " + Long.MAX_VALUE / 1000
          + " seconds, was " + follow, null);
    }
    if (to != null && to < 0) {
      throw CliException.badInput("--to must be >= 0, was " + to, null);
    }
    if (follow != null && to != null) {
      throw CliException.badInput("--follow audits every new block: give it or --to, not both",
          null);
    }
    if (replica != null) {
      LedgerCommand.requireFolderOrNothing(replica, "--replica");
    }
    PrintWriter out = spec.commandLine().getOut();
    try (Ledger ledger = source.open()) {
      Hash256 id = trusted != null ? trusted : ledger.chainId();
      try (ChainAudit.Auditor auditor = ChainAudit.start(id,
          LedgerSourceOptions.history(ledger), null, replica)) {
        long before = auditor.checked().last().number();
        long checked = auditor.advance(to == null ? Long.MAX_VALUE : to).last().number();
        String named = trusted != null ? "" : " (as the ledger names it)";
        String earlier = before == 0 ? "" : " (1 to " + before + " checked before, in "
            + replica + ")";
        if (checked == before) { // a genesis block alone, or a replica that is up to date
          out.printf("chain %s%s: no blocks to replay after %s%s%n", id, named,
              before == 0 ? "its genesis block" : "block " + before, earlier);
        } else {
          out.printf("chain %s%s: blocks %d to %d replay from its genesis block to the same"
              + " blocks and state%s%n", id, named, before + 1, checked, earlier);
        }
        out.flush();
        while (follow != null) {
          try {
            Thread.sleep(Math.round(follow * 1000));
          } catch (InterruptedException e) {
            Thread.currentThread().interrupt(); // an embedding program's way of saying stop
            out.println("stopped");
            break;
          }
          long now = auditor.advance(Long.MAX_VALUE).last().number();
          if (now > checked) {
            out.printf("blocks %d to %d replay too%n", checked + 1, now);
            out.flush();
            checked = now;
          }
        }
      }
    } catch (ChainAudit.MismatchException e) {
      throw CliException.failure("the audit failed: " + e.getMessage(), e);
    } catch (LedgerException e) {
      throw CliException.failure(e.getMessage(), e);
    } catch (IOException e) {
      throw CliException.failure("cannot keep the replica in " + replica + ": "
          + CliException.why(e), e);
    }
    out.flush();
    return 0;
  }
}
