package io.bittensor.cli;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.bittensor.core.BlockRecord;
import io.bittensor.core.Epoch;
import io.bittensor.core.Ledger;
import io.bittensor.core.LedgerException;
import io.bittensor.core.LedgerParams;
import io.bittensor.core.SignedTransaction;
import io.bittensor.core.Transaction;
import java.io.IOException;
import java.io.PrintWriter;
import java.io.UncheckedIOException;
import java.util.Locale;
import java.util.concurrent.Callable;
import java.util.function.Predicate;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

/** {@code bittensor ledger blocks}: the blocks of a ledger's journal, with their transactions. */
@Command(
    name = "blocks",
    mixinStandardHelpOptions = true,
    description = {
      "Print the blocks of the ledger in --data, or of the ledger server at --remote, oldest"
          + " first: each with its hash, time and epoch, and each transaction (signer, nonce,"
          + " what it asks). --data reads the journal without locking or changing the files, so"
          + " it works while the ledger runs. A compacted journal holds only the blocks after"
          + " its checkpoint, unless it was archived."
    })
final class LedgerBlocksCommand implements Callable<Integer> {
  @Spec CommandSpec spec;

  @Mixin LedgerSourceOptions source = new LedgerSourceOptions();

  @Option(names = "--from", paramLabel = "N", description = "The first block (default 1).")
  Long from;

  @Option(names = "--to", paramLabel = "N",
      description = "The last block (default the latest).")
  Long to;

  @Option(names = "--last", paramLabel = "N",
      description = "The latest N blocks, instead of --from and --to.")
  Integer last;

  @Option(names = "--json",
      description = "Print one JSON object per block and line (JSON Lines) instead of text.")
  boolean json;

  @Override
  public Integer call() {
    if (last != null && (from != null || to != null)) {
      throw CliException.badInput("give --last, or --from and --to, not both", null);
    }
    if (last != null && last < 1) {
      throw CliException.badInput("--last must be >= 1, was " + last, null);
    }
    if (from != null && from < 1) {
      throw CliException.badInput("--from must be >= 1, was " + from, null);
    }
    if (to != null && to < 0) {
      throw CliException.badInput("--to must be >= 0, was " + to, null);
    }
    if (from != null && to != null && to < from) {
      throw CliException.badInput("--to " + to + " is before --from " + from, null);
    }
    PrintWriter out = spec.commandLine().getOut();
    ObjectMapper mapper = new ObjectMapper();
    Predicate<BlockRecord> print = r -> {
      if (json) {
        try {
          out.println(mapper.writeValueAsString(json(mapper, r)));
        } catch (IOException e) {
          throw new UncheckedIOException("a JSON tree always serialises", e);
        }
      } else {
        text(r, out);
      }
      return !out.checkError(); // the reader went away (a pipe into head): stop
    };
    try (Ledger ledger = source.open()) {
      long latest = ledger.metagraph().block().number();
      LedgerSourceOptions.history(ledger).readBlocks(first(latest), to == null ? latest : to,
          print);
    } catch (LedgerException e) {
      throw CliException.failure(e.getMessage(), e);
    }
    out.flush();
    return 0;
  }

  /** The first block to print, given the latest. */
  private long first(long latest) {
    return last != null ? Math.max(1, latest - last + 1) : from == null ? 1 : from;
  }

  private static void text(BlockRecord r, PrintWriter out) {
    out.printf(Locale.ROOT, "block %d  %s  %s  %d transaction%s%n", r.block().number(),
        r.block().timestamp(), r.block().hash(), r.transactions().size(),
        r.transactions().size() == 1 ? "" : "s");
    for (int i = 0; i < r.transactions().size(); i++) {
      SignedTransaction tx = r.transactions().get(i);
      out.printf(Locale.ROOT, "  %3d  %s  %s  nonce %d  %s%n", i, tx.hash().toShortHex(),
          tx.signer().toHex().substring(0, 16), tx.nonce(), text(tx.body()));
    }
    r.epoch().ifPresent(e -> out.printf(Locale.ROOT, "  epoch %d: %s%n", e.number(),
        e.skipped().map(s -> "skipped (" + s + ")").orElse(String.format(Locale.ROOT,
            "%d peers, minted %d, loss %.6f, minAllowedWeights %d", e.peers(), e.minted(),
            e.loss(), e.minAllowedWeights()))));
  }

  /**
   * A transaction as its record prints, but a change of the rules as {@code ledger show} prints
   * them: the registration rules only where set, not always at 0.
   */
  private static String text(Transaction body) {
    if (body instanceof Transaction.ChangeParams b) {
      LedgerParams p = b.params();
      return String.format(Locale.ROOT, "ChangeParams  epochLength %d  maxPeers %d"
          + "  immunityPeriod %d  minAllowedWeights %d  weightsRateLimit %d%s", p.epochLength(),
          p.maxPeers(), p.immunityPeriod(), p.minAllowedWeights(), p.weightsRateLimit(),
          LedgerCommand.registrationRules(p));
    }
    return body.toString();
  }

  private static ObjectNode json(ObjectMapper mapper, BlockRecord r) {
    ObjectNode block = mapper.createObjectNode();
    block.put("number", r.block().number());
    block.put("hash", r.block().hash().toHex());
    block.put("parent", r.block().parent().toHex());
    block.put("timestamp", r.block().timestamp().toString());
    ArrayNode txs = block.putArray("transactions");
    for (int i = 0; i < r.transactions().size(); i++) {
      SignedTransaction tx = r.transactions().get(i);
      ObjectNode t = txs.addObject();
      t.put("index", i);
      t.put("hash", tx.hash().toHex());
      t.put("signer", tx.signer().toHex());
      t.put("nonce", tx.nonce());
      body(tx.body(), t);
    }
    if (r.epoch().isPresent()) {
      Epoch e = r.epoch().get();
      ObjectNode epoch = block.putObject("epoch");
      epoch.put("number", e.number());
      epoch.put("peers", e.peers());
      epoch.put("minted", e.minted());
      epoch.put("loss", e.loss());
      epoch.put("minAllowedWeights", e.minAllowedWeights());
      e.skipped().ifPresent(s -> epoch.put("skipped", s));
    }
    return block;
  }

  /** A transaction's kind and fields. */
  private static void body(Transaction body, ObjectNode t) {
    if (body instanceof Transaction.Register b) {
      t.put("kind", "register").put("endpoint", b.endpoint().toString())
          .put("modality", b.modality().name()).put("version", b.version());
    } else if (body instanceof Transaction.Serve b) {
      t.put("kind", "serve").put("endpoint", b.endpoint().toString())
          .put("modality", b.modality().name()).put("version", b.version());
    } else if (body instanceof Transaction.Transfer b) {
      t.put("kind", "transfer").put("to", b.to().toHex()).put("amount", b.amount());
    } else if (body instanceof Transaction.AddStake b) {
      t.put("kind", "addStake").put("amount", b.amount());
    } else if (body instanceof Transaction.RemoveStake b) {
      t.put("kind", "removeStake").put("amount", b.amount());
    } else if (body instanceof Transaction.SetWeights b) {
      t.put("kind", "setWeights");
      ArrayNode uids = t.putArray("uids");
      ArrayNode weights = t.putArray("weights");
      for (int i = 0; i < b.uids().length; i++) {
        uids.add(b.uids()[i]);
        weights.add(b.weights()[i]);
      }
      if (b.asOfBlock() != Transaction.SetWeights.NO_BLOCK) {
        t.put("asOfBlock", b.asOfBlock());
      }
    } else if (body instanceof Transaction.ChangeParams b) {
      LedgerParams p = b.params();
      t.put("kind", "changeParams");
      t.putObject("params").put("epochLength", p.epochLength()).put("maxPeers", p.maxPeers())
          .put("immunityPeriod", p.immunityPeriod())
          .put("minAllowedWeights", p.minAllowedWeights())
          .put("weightsRateLimit", p.weightsRateLimit())
          .put("registrationBurn", p.registrationBurn())
          .put("maxRegistrationsPerBlock", p.maxRegistrationsPerBlock());
    } else {
      t.put("kind", body.getClass().getSimpleName());
    }
  }
}
