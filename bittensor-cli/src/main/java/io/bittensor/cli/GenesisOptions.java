package io.bittensor.cli;

import io.bittensor.core.Genesis;
import io.bittensor.core.Keypair;
import io.bittensor.core.LedgerParams;
import io.bittensor.core.LocalLedger;
import io.bittensor.core.PeerId;
import io.bittensor.incentive.Emission;
import io.bittensor.incentive.IncentiveMechanism;
import io.bittensor.incentive.PaperParams;
import java.io.IOException;
import java.nio.file.Path;
import java.time.Instant;
import java.time.format.DateTimeParseException;
import java.util.ArrayList;
import java.util.List;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

/**
 * The options that make a new ledger's genesis block and mechanism, shared by {@code ledger
 * init} and {@code ledger serve} (which creates the ledger when its directory holds none).
 * Options left out are null, so that {@link #anyGiven()} can tell a reopening that gave some.
 */
final class GenesisOptions {
  @Option(names = "--chain-name", paramLabel = "NAME",
      description = "A name for people (default local).")
  String chainName;

  @Mixin RuleOptions rules = new RuleOptions();

  @Option(names = "--allocate", paramLabel = "KEY=AMOUNT",
      description = "Tokens at genesis: KEY is 64 hex digits or a key file. Repeatable.")
  List<String> allocations = new ArrayList<>();

  @Option(names = "--authority", paramLabel = "KEY",
      description = "The key that may change the rules (64 hex digits or a key file).")
  String authority;

  @Option(names = "--tau", paramLabel = "UNITS",
      description = "Units minted per epoch (default 1e9).")
  Double tau;

  @Option(names = "--inflation", paramLabel = "R",
      description = "Mint R times the total stake per epoch instead of a fixed tau.")
  Double inflation;

  @Option(names = "--created-at", paramLabel = "INSTANT",
      description = "When the chain began, e.g. 2026-12-05T00:00:00Z (default now). Members of a"
          + " replicated ledger must all give the same.")
  String createdAt;

  /** True when any genesis option was given. */
  boolean anyGiven() {
    return chainName != null || rules.anyGiven() || !allocations.isEmpty() || authority != null
        || tau != null || inflation != null
        || createdAt != null;
  }

  /** The paper's mechanism minting what --tau or --inflation say. */
  IncentiveMechanism mechanism() {
    if (tau != null && inflation != null) {
      throw CliException.badInput("give --tau or --inflation, not both", null);
    }
    Emission emission = inflation != null ? Emission.inflation(inflation)
        : Emission.fixed(tau != null ? tau : LocalLedger.DEFAULT_TAU);
    return IncentiveMechanism.paper(PaperParams.defaults().withEmission(emission));
  }

  /** The genesis block the options describe, defaults filled in. */
  Genesis genesis() {
    LedgerParams params = rules.over(LedgerParams.defaults());
    Genesis.Builder genesis = Genesis.builder()
        .chainName(chainName != null ? chainName : "local").params(params);
    if (createdAt != null) {
      try {
        genesis.createdAt(Instant.parse(createdAt));
      } catch (DateTimeParseException e) {
        throw CliException.badInput("--created-at takes an instant such as"
            + " 2026-12-05T00:00:00Z, was " + createdAt, e);
      }
    }
    if (authority != null) {
      genesis.authority(peerId(authority, "--authority"));
    }
    for (String a : allocations) {
      int eq = a.lastIndexOf('=');
      if (eq < 0) {
        throw CliException.badInput("--allocate takes KEY=AMOUNT, was " + a, null);
      }
      long amount;
      try {
        amount = Long.parseLong(a.substring(eq + 1));
      } catch (NumberFormatException e) {
        throw CliException.badInput("--allocate " + a + ": the amount is not a whole number",
            e);
      }
      genesis.allocate(peerId(a.substring(0, eq), "--allocate"), amount);
    }
    return genesis.build();
  }

  /** 64 hex digits, or a key file's public id (sealed or not); bad input otherwise. */
  static PeerId peerId(String text, String option) {
    if (text.length() == 2 * PeerId.LENGTH && text.chars().allMatch(
        c -> Character.digit(c, 16) >= 0)) {
      return PeerId.fromHex(text);
    }
    try {
      return Keypair.readId(Path.of(text));
    } catch (IOException | RuntimeException e) {
      throw CliException.badInput(option + " " + text
          + ": neither 64 hex digits nor a readable key file (" + e.getMessage() + ")", e);
    }
  }
}
