package io.bittensor.cli;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.bittensor.core.BlockPolicy;
import io.bittensor.core.Epoch;
import io.bittensor.core.Genesis;
import io.bittensor.core.Keypair;
import io.bittensor.core.LedgerException;
import io.bittensor.core.LedgerParams;
import io.bittensor.core.LocalLedger;
import io.bittensor.core.Metagraph;
import io.bittensor.core.PeerId;
import io.bittensor.core.PeerState;
import io.bittensor.incentive.Emission;
import io.bittensor.incentive.IncentiveMechanism;
import io.bittensor.incentive.PaperParams;
import java.io.IOException;
import java.io.PrintWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

/** {@code bittensor ledger}: create and inspect an embedded ledger's data directory. */
@Command(
    name = "ledger",
    mixinStandardHelpOptions = true,
    description = "Create and inspect an embedded ledger (a LocalLedger data directory).",
    subcommands = {LedgerCommand.Init.class, LedgerCommand.Show.class})
final class LedgerCommand implements Runnable {
  @Spec CommandSpec spec;

  @Override
  public void run() {
    spec.commandLine().usage(spec.commandLine().getOut());
  }

  /** {@code bittensor ledger init}. */
  @Command(
      name = "init",
      mixinStandardHelpOptions = true,
      description = {
        "Create a ledger in --data: its genesis block (rules, authority, allocations) and the"
            + " paper's incentive mechanism with the given emission. Prints the chain id."
      })
  static final class Init implements Callable<Integer> {
    @Spec CommandSpec spec;

    @Option(names = "--data", required = true, paramLabel = "DIR",
        description = "The data directory; must not hold a ledger yet.")
    Path data;

    @Option(names = "--chain-name", defaultValue = "local",
        description = "A name for people (default ${DEFAULT-VALUE}).")
    String chainName;

    @Option(names = "--epoch-length", defaultValue = "100", paramLabel = "BLOCKS",
        description = "Blocks per epoch (default ${DEFAULT-VALUE}).")
    int epochLength;

    @Option(names = "--max-peers", defaultValue = "4096",
        description = "Most peers at once (default ${DEFAULT-VALUE}).")
    int maxPeers;

    @Option(names = "--immunity-period", defaultValue = "200", paramLabel = "BLOCKS",
        description = "Blocks a newcomer cannot be replaced (default ${DEFAULT-VALUE}).")
    int immunityPeriod;

    @Option(names = "--min-allowed-weights", defaultValue = "1", paramLabel = "K",
        description = "Fewest non-zero weights per row at the start (default ${DEFAULT-VALUE}).")
    int minAllowedWeights;

    @Option(names = "--weights-rate-limit", defaultValue = "10", paramLabel = "BLOCKS",
        description = "Fewest blocks between two weight rows of a peer (default"
            + " ${DEFAULT-VALUE}).")
    int weightsRateLimit;

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

    @Override
    public Integer call() {
      if (tau != null && inflation != null) {
        throw CliException.badInput("give --tau or --inflation, not both", null);
      }
      Emission emission = inflation != null ? Emission.inflation(inflation)
          : Emission.fixed(tau != null ? tau : LocalLedger.DEFAULT_TAU);
      LedgerParams params = new LedgerParams(epochLength, maxPeers, immunityPeriod,
          minAllowedWeights, weightsRateLimit);
      Genesis.Builder genesis = Genesis.builder().chainName(chainName).params(params);
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
      if (Files.exists(data.resolve("journal.btl"))) {
        throw CliException.badInput("--data " + data + " already holds a ledger", null);
      }
      try (LocalLedger ledger = LocalLedger.builder()
          .genesis(genesis.build())
          .mechanism(IncentiveMechanism.paper(PaperParams.defaults().withEmission(emission)))
          .blocks(BlockPolicy.manual())
          .open(data)) {
        PrintWriter out = spec.commandLine().getOut();
        out.println("created ledger " + ledger.chainId() + " in " + data);
        out.flush();
      } catch (IOException e) {
        throw CliException.failure("cannot create a ledger in " + data + ": " + e.getMessage(),
            e);
      }
      return 0;
    }

    private static PeerId peerId(String text, String option) {
      if (text.length() == 2 * PeerId.LENGTH && text.chars().allMatch(
          c -> Character.digit(c, 16) >= 0)) {
        return PeerId.fromHex(text);
      }
      try {
        return Keypair.load(Path.of(text)).id();
      } catch (IOException | RuntimeException e) {
        throw CliException.badInput(option + " " + text
            + ": neither 64 hex digits nor a readable key file (" + e.getMessage() + ")", e);
      }
    }
  }

  /** {@code bittensor ledger show}. */
  @Command(
      name = "show",
      mixinStandardHelpOptions = true,
      description = {
        "Print the metagraph of the ledger in --data at its latest durable block: one row per"
            + " peer (uid, key, stake, rank, trust, consensus, incentive, dividends, emission,"
            + " registration, last update, endpoint). Reads without locking or changing the"
            + " files, so it works while the ledger runs."
      })
  static final class Show implements Callable<Integer> {
    @Spec CommandSpec spec;

    @Option(names = "--data", required = true, paramLabel = "DIR",
        description = "The ledger's data directory.")
    Path data;

    @Option(names = "--json", description = "Print JSON instead of a table.")
    boolean json;

    @Option(names = "--sort", defaultValue = "uid", paramLabel = "KEY",
        description = "Order rows by uid, stake, incentive or emission (largest first but for"
            + " uid; default ${DEFAULT-VALUE}).")
    String sort;

    @Option(names = "--limit", paramLabel = "N", description = "Show only the first N rows.")
    Integer limit;

    @Override
    public Integer call() {
      if (!Files.isDirectory(data)) {
        throw CliException.badInput("--data " + data + " is not a directory", null);
      }
      if (limit != null && limit < 0) {
        throw CliException.badInput("--limit must be >= 0, was " + limit, null);
      }
      Comparator<PeerState> order = switch (sort) {
        case "uid" -> Comparator.comparingInt(PeerState::uid);
        case "stake" -> Comparator.comparingLong(PeerState::stake).reversed();
        case "incentive" -> Comparator.comparingDouble(PeerState::incentive).reversed();
        case "emission" -> Comparator.comparingLong(PeerState::emission).reversed();
        default -> throw CliException.badInput(
            "--sort takes uid, stake, incentive or emission, was " + sort, null);
      };
      Metagraph m;
      try (LocalLedger ledger = LocalLedger.builder().openReadOnly(data)) {
        m = ledger.metagraph();
      } catch (LedgerException e) {
        throw CliException.failure(e.getMessage(), e);
      } catch (IOException e) {
        throw CliException.failure("cannot read the ledger in " + data + ": " + e.getMessage(),
            e);
      }
      List<PeerState> rows = new ArrayList<>(m.peers());
      rows.sort(order.thenComparingInt(PeerState::uid));
      if (limit != null && limit < rows.size()) {
        rows = rows.subList(0, limit);
      }
      PrintWriter out = spec.commandLine().getOut();
      if (json) {
        out.println(json(m, rows));
      } else {
        table(m, rows, out);
      }
      out.flush();
      return 0;
    }

    private static void table(Metagraph m, List<PeerState> rows, PrintWriter out) {
      out.printf(Locale.ROOT, "chain  %s%n", m.chainId());
      out.printf(Locale.ROOT, "block  %d  %s  %s%n", m.block().number(), m.block().hash(),
          m.block().timestamp());
      out.printf(Locale.ROOT, "peers  %d of %d   supply %d   staked %d%n", m.size(),
          m.params().maxPeers(), m.supply(), m.totalStake());
      LedgerParams p = m.params();
      out.printf(Locale.ROOT, "rules  epochLength %d  immunityPeriod %d  minAllowedWeights %d"
          + "  weightsRateLimit %d%n", p.epochLength(), p.immunityPeriod(),
          p.minAllowedWeights(), p.weightsRateLimit());
      if (m.lastEpoch().isPresent()) {
        Epoch e = m.lastEpoch().get();
        out.printf(Locale.ROOT, "epoch  %d after block %d: %s%n", e.number(), e.block(),
            e.skipped().map(s -> "skipped (" + s + ")")
                .orElse(String.format(Locale.ROOT, "minted %d, loss %.6f", e.minted(),
                    e.loss())));
      } else {
        out.println("epoch  none yet");
      }
      out.println();
      out.printf(Locale.ROOT, "%5s  %-16s %14s %9s %9s %9s %9s %9s %14s %8s %8s  %s%n",
          "uid", "key", "stake", "rank", "trust", "consensus", "incentive", "dividends",
          "emission", "reg", "updated", "endpoint");
      for (PeerState r : rows) {
        out.printf(Locale.ROOT, "%5d  %-16s %14d %9.6f %9.6f %9.6f %9.6f %9.6f %14d %8d %8s  %s%n",
            r.uid(), r.id().toHex().substring(0, 16), r.stake(), r.rank(), r.trust(),
            r.consensus(), r.incentive(), r.dividends(), r.emission(), r.registeredAt(),
            r.lastUpdate() < 0 ? "never" : Long.toString(r.lastUpdate()), r.info().endpoint());
      }
    }

    private static String json(Metagraph m, List<PeerState> rows) {
      ObjectMapper mapper = new ObjectMapper().enable(SerializationFeature.INDENT_OUTPUT);
      ObjectNode root = mapper.createObjectNode();
      root.put("chainId", m.chainId().toHex());
      ObjectNode block = root.putObject("block");
      block.put("number", m.block().number());
      block.put("hash", m.block().hash().toHex());
      block.put("parent", m.block().parent().toHex());
      block.put("timestamp", m.block().timestamp().toString());
      LedgerParams p = m.params();
      ObjectNode params = root.putObject("params");
      params.put("epochLength", p.epochLength());
      params.put("maxPeers", p.maxPeers());
      params.put("immunityPeriod", p.immunityPeriod());
      params.put("minAllowedWeights", p.minAllowedWeights());
      params.put("weightsRateLimit", p.weightsRateLimit());
      root.put("supply", m.supply());
      root.put("totalStake", m.totalStake());
      m.lastEpoch().ifPresent(e -> {
        ObjectNode epoch = root.putObject("lastEpoch");
        epoch.put("number", e.number());
        epoch.put("block", e.block());
        epoch.put("peers", e.peers());
        epoch.put("minted", e.minted());
        epoch.put("loss", e.loss());
        epoch.put("minAllowedWeights", e.minAllowedWeights());
        e.skipped().ifPresent(s -> epoch.put("skipped", s));
      });
      ArrayNode peers = root.putArray("peers");
      for (PeerState r : rows) {
        ObjectNode peer = peers.addObject();
        peer.put("uid", r.uid());
        peer.put("id", r.id().toHex());
        peer.put("endpoint", r.info().endpoint().toString());
        peer.put("modality", r.info().modality().name());
        peer.put("version", r.info().version());
        peer.put("stake", r.stake());
        peer.put("registeredAt", r.registeredAt());
        peer.put("lastUpdate", r.lastUpdate());
        peer.put("rank", r.rank());
        peer.put("trust", r.trust());
        peer.put("consensus", r.consensus());
        peer.put("incentive", r.incentive());
        peer.put("dividends", r.dividends());
        peer.put("emission", r.emission());
      }
      try {
        return mapper.writeValueAsString(root);
      } catch (IOException e) {
        throw new IllegalStateException("a JSON tree always serialises", e);
      }
    }
  }
}
