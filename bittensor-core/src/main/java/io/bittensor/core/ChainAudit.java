package io.bittensor.core;

import io.bittensor.core.internal.DurableFiles;
import io.bittensor.core.internal.SettableClock;
import io.bittensor.core.internal.ledger.BlockCodec;
import io.bittensor.incentive.IncentiveMechanism;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Objects;
import java.util.Optional;
import java.util.function.Consumer;
import java.util.function.Predicate;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;

/**
 * Checks a ledger's history against its chain id instead of trusting whoever serves it: replays
 * the chain from its genesis block in a ledger of its own, submitting each block's
 * transactions (so their signatures and the ledger's rules are checked again) and sealing each
 * block at its recorded time. Every block it seals must be the block the history gave, hash for
 * hash (the hash covers the number, the parent, the time, the transactions and the epoch's
 * result), and its metagraph after the block must equal the history's. A server that changed,
 * dropped, added or reordered a transaction, or sent a state its blocks do not lead to, fails at
 * the first block where it did.
 *
 * <p>What it cannot see: transactions a server never put in a block (it may delay or refuse
 * them), and blocks past those it was given. The chain id must come from somewhere trusted (the
 * ledger's operator, a member of its group), not from the server audited.
 *
 * <pre>{@code
 * Hash256 trustedChainId = ...;   // from a source you trust, not from that server
 * try (RemoteLedger remote = RemoteLedger.connect(URI.create("http://10.0.0.2:8092"))) {
 *   ChainAudit.Result r = ChainAudit.verify(trustedChainId, remote, Long.MAX_VALUE);
 *   System.out.println("blocks 1 to " + r.last().number() + " check out");
 * }
 * }</pre>
 *
 * <p>The replica is in memory, or on disk to go on from where an earlier auditor stopped
 * ({@link #start(Hash256, BlockHistory, IncentiveMechanism, Path)}).
 *
 * <p>Thread-safe: each audit builds its own replica, closed before it returns.
 */
@Experimental
public final class ChainAudit {
  private ChainAudit() {}

  /**
   * What an audit checked.
   *
   * @param chainId the chain
   * @param last the last block checked (the genesis block when there were none)
   * @param state the metagraph after it, as replayed
   */
  public record Result(Hash256 chainId, Block last, Metagraph state) {}

  /** A history that does not replay to itself: the message names the first block that differs. */
  public static final class MismatchException extends LedgerException {
    private static final long serialVersionUID = 1L;

    MismatchException(String message) {
      super(message);
    }
  }

  /**
   * Replays blocks 1 to {@code to} of {@code history} from its genesis block, with the mechanism
   * the genesis block records (the paper's, with its parameters).
   *
   * @param chainId the chain's id, from a trusted source
   * @param history the blocks to check
   * @param to the last block to check; past the latest, the latest
   * @throws MismatchException if the genesis block is not the chain's, or a block or state
   *     differs from its replay
   * @throws LedgerException if the history cannot be read, or its genesis names another
   *     mechanism (use {@link #verify(Hash256, BlockHistory, long, IncentiveMechanism)})
   */
  public static Result verify(Hash256 chainId, BlockHistory history, long to)
      throws LedgerException {
    return verify(chainId, history, to, null);
  }

  /**
   * As {@link #verify(Hash256, BlockHistory, long)}, with the chain's mechanism given.
   *
   * @param mechanism the mechanism the chain runs, or null for the one its genesis records
   */
  public static Result verify(Hash256 chainId, BlockHistory history, long to,
      IncentiveMechanism mechanism) throws LedgerException {
    try (Auditor auditor = start(chainId, history, mechanism)) {
      return auditor.advance(to);
    }
  }

  /**
   * An auditor that keeps its replica between checks, to follow a chain as it grows: each
   * {@link Auditor#advance} replays only the blocks after the last one checked. Uses the
   * mechanism the genesis block records.
   *
   * @throws MismatchException if the genesis block is not the chain's
   * @throws LedgerException if it cannot be read, or names another mechanism (use {@link
   *     #start(Hash256, BlockHistory, IncentiveMechanism)})
   */
  public static Auditor start(Hash256 chainId, BlockHistory history) throws LedgerException {
    return start(chainId, history, null);
  }

  /**
   * As {@link #start(Hash256, BlockHistory)}, with the chain's mechanism given.
   *
   * @param mechanism the mechanism the chain runs, or null for the one its genesis records
   */
  public static Auditor start(Hash256 chainId, BlockHistory history,
      IncentiveMechanism mechanism) throws LedgerException {
    try {
      return start(chainId, history, mechanism, null);
    } catch (LedgerException e) {
      throw e;
    } catch (IOException e) {
      throw new IllegalStateException("an auditor in memory does no I/O", e);
    }
  }

  /**
   * As {@link #start(Hash256, BlockHistory, IncentiveMechanism)}, with the replica kept on disk
   * in {@code replicaDir} (a {@link LocalLedger}'s data directory): an auditor started again over
   * the same folder goes on after the last block it checked instead of replaying from genesis,
   * and checks that the history's next block follows it. The replica journals whole blocks only,
   * so a crash part way through a block leaves it at the block before, which the next {@link
   * Auditor#advance} replays again. The folder must be empty or hold this chain's replica, and
   * one auditor at a time uses it (its lock says so). A block that did not check out may have
   * been sealed into the replica already; the folder then records why, and cannot be started
   * again. After an auditor that did not close (its process died), the next one first compares
   * the replica's last block, which may have been sealed unchecked, with the history's (and the
   * state after it, in {@link Auditor#advance}); it is not handed to a consumer again.
   *
   * @param mechanism the mechanism the chain runs, or null for the one its genesis records
   * @param replicaDir the replica's folder
   * @throws MismatchException if the genesis block is not the chain's, or the replica holds a
   *     block that did not check out (the message says which, and why)
   * @throws LedgerException as {@link #start(Hash256, BlockHistory, IncentiveMechanism)}, or if
   *     the folder holds another chain's ledger or another process uses it
   * @throws IOException if the folder cannot be read or written
   */
  public static Auditor start(Hash256 chainId, BlockHistory history,
      IncentiveMechanism mechanism, Path replicaDir) throws LedgerException, IOException {
    Objects.requireNonNull(chainId, "chainId");
    Objects.requireNonNull(history, "history");
    byte[] genesisBlock = history.genesisBlock();
    if (!Hash256.of(genesisBlock).equals(chainId)) {
      throw new MismatchException("the genesis block given hashes to "
          + Hash256.of(genesisBlock) + ", not chain " + chainId);
    }
    BlockCodec.Decoded genesis;
    try {
      genesis = BlockCodec.decode(genesisBlock);
    } catch (IllegalArgumentException e) {
      throw new MismatchException("the genesis block of chain " + chainId
          + " does not decode: " + e.getMessage());
    }
    if (genesis.genesis() == null) {
      throw new MismatchException("the genesis block given for chain " + chainId
          + " is not a genesis block but block " + genesis.number());
    }
    if (mechanism == null) {
      mechanism = genesis.paperParams().map(IncentiveMechanism::paper).orElseThrow(
          () -> new LedgerException("chain " + chainId + " runs the mechanism \""
              + genesis.mechanism() + "\"; pass it to start(...) or verify(...)"));
    }
    // At the genesis block's time, so that a new replica writes the same genesis block.
    SettableClock clock = new SettableClock(genesis.timestamp());
    LocalLedger.Builder builder = LocalLedger.builder()
        .genesis(genesis.genesis())
        .mechanism(mechanism)
        .clock(clock)
        .blocks(BlockPolicy.manual())
        .maxPendingTransactions(Integer.MAX_VALUE);
    LocalLedger replica = replicaDir == null ? builder.openInMemory() : builder.open(replicaDir);
    if (!replica.chainId().equals(chainId)) {
      replica.close();
      throw new MismatchException("the genesis block of chain " + chainId + " replays to"
          + " chain " + replica.chainId() + " with mechanism \"" + mechanism.name() + "\"");
    }
    boolean unchecked = false;
    if (replicaDir != null) {
      try {
        refuseAfterMismatch(replicaDir, replica);
        Path running = replicaDir.resolve(RUNNING_FILE);
        if (Files.exists(running)) {
          // Its auditor stopped without closing: it may have sealed its last block unchecked.
          unchecked = replica.metagraph().block().number() > 0;
        } else {
          DurableFiles.replace(running, RUNNING_TEXT.getBytes(StandardCharsets.UTF_8));
        }
      } catch (IOException e) { // a LedgerException is one
        replica.close();
        throw e;
      }
    }
    return new Auditor(chainId, history, replica, clock, replicaDir, unchecked);
  }

  /**
   * The file in a replica's folder while an auditor uses it, removed when it closes with every
   * block it sealed checked or its mismatch recorded. A block is sealed before it is compared,
   * so one found at the next start says the last block may never have been checked (the process
   * died in between): that block is read from the history again and compared with the replica's
   * before any after it.
   */
  static final String RUNNING_FILE = "audit-running";

  private static final String RUNNING_TEXT = "an auditor uses this replica; left behind, its last"
      + " block is checked again\n";

  /**
   * The file in a replica's folder that says why its last block did not check out: the block
   * was sealed before its hash (or state) was compared, and the replica cannot go on from it.
   */
  static final String MISMATCH_FILE = "audit-mismatch.txt";

  /** Throws what an earlier audit found, if the replica holds a block that did not check out. */
  private static void refuseAfterMismatch(Path replicaDir, LocalLedger replica)
      throws IOException {
    Path file = replicaDir.resolve(MISMATCH_FILE);
    if (Files.exists(file)) {
      throw new MismatchException("the replica in " + replicaDir + " holds block "
          + replica.metagraph().block().number() + ", which did not check out when it was"
          + " audited (" + Files.readString(file, StandardCharsets.UTF_8).strip() + "): an"
          + " audit cannot go on from it; audit into an empty folder");
    }
  }

  /**
   * A chain checked up to some block, with the replica that checked it: {@link #advance}
   * checks the blocks after. Once a block differs the auditor stays failed.
   *
   * <p>Not thread-safe: advance from one thread at a time. Closing frees the replica;
   * idempotent.
   */
  public static final class Auditor implements AutoCloseable {
    private final Hash256 chainId;
    private final BlockHistory history;
    private final LocalLedger replica;
    private final SettableClock clock;
    /** The replica's folder, or null in memory. */
    private final Path replicaDir;
    private LedgerException failed;
    /**
     * The state after the last block that checked out: the replica may hold one block more,
     * sealed before its hash was found to differ.
     */
    private Metagraph lastGood;
    /**
     * Whether the replica's last block may be sealed but not checked, nor its mismatch recorded:
     * the next read compares it with the history's before replaying any after it.
     */
    private boolean unchecked;
    private boolean closed;

    private Auditor(Hash256 chainId, BlockHistory history, LocalLedger replica,
        SettableClock clock, Path replicaDir, boolean unchecked) {
      this.chainId = chainId;
      this.history = history;
      this.replica = replica;
      this.clock = clock;
      this.replicaDir = replicaDir;
      this.lastGood = replica.metagraph();
      this.unchecked = unchecked;
    }

    /**
     * Checks the blocks after the last one checked, up to {@code to}.
     *
     * @param to the last block to check; past the latest, the latest
     * @return what has been checked so far
     * @throws MismatchException if a block or state differs from its replay (then, or before)
     * @throws LedgerException if the history cannot be read
     * @throws IllegalStateException if the auditor is closed
     */
    public Result advance(long to) throws LedgerException {
      return advance(to, r -> { });
    }

    /**
     * As {@link #advance(long)}, handing {@code checked} each block that checks out, in order,
     * as soon as it does (on the calling thread): the record as the history gave it, now known
     * to replay to itself. A block that differs is not handed over, nor any after it.
     *
     * @param checked takes each block checked
     */
    public Result advance(long to, Consumer<BlockRecord> checked) throws LedgerException {
      Objects.requireNonNull(checked, "checked");
      return check((next, outcome) -> history.readBlocks(next, to, r -> {
        if (unchecked) {
          return outcome.test(recheck(r.block(), r.after()));
        }
        LedgerException differs = replay(replica, clock, r);
        if (differs == null) {
          checked.accept(r);
        }
        return outcome.test(differs);
      }));
    }

    /**
     * As {@link #advance(long, Consumer)}, reading only the blocks and their transactions
     * ({@link BlockHistory#readBlockBodies}): each block is replayed and checked hash for hash
     * (which covers its transactions and its epoch's result), and {@code checked} is handed the
     * replica's own record of it, the epoch and state this replay computed. The history's states
     * are not read, so not compared: whoever uses the records uses no state of the history's.
     * Much cheaper for a history that replays to give states (a ledger server reading its
     * journal replays from its latest snapshot for every read).
     */
    public Result follow(long to, Consumer<BlockRecord> checked) throws LedgerException {
      Objects.requireNonNull(checked, "checked");
      return check((next, outcome) -> history.readBlockBodies(next, to, b -> {
        if (unchecked) {
          return outcome.test(recheck(b.block(), null));
        }
        LedgerException differs = replay(replica, clock, b.block(), b.transactions());
        if (differs == null) {
          Metagraph after = replica.metagraph();
          checked.accept(new BlockRecord(b.block(), b.transactions(),
              b.block().epoch() ? after.lastEpoch() : Optional.empty(), after));
        }
        return outcome.test(differs);
      }));
    }

    /** A read of the blocks from {@code next} on, each replayed and its outcome told. */
    private interface CheckedRead {
      /** @param outcome takes what differs in each block (null: it checked out); false: stop */
      void read(long next, Predicate<LedgerException> outcome) throws LedgerException;
    }

    /**
     * Runs {@code read} from the block after the last one checked; the first block that differs
     * stops it and fails this auditor for good.
     */
    private Result check(CheckedRead read) throws LedgerException {
      if (failed != null) {
        throw failed;
      }
      LedgerException[] mismatch = {null};
      long last = replica.metagraph().block().number();
      read.read(unchecked ? last : last + 1, differs -> {
        mismatch[0] = differs;
        if (differs == null) {
          lastGood = replica.metagraph();
          unchecked = false;
        }
        return differs == null;
      });
      if (mismatch[0] != null) {
        failed = mismatch[0];
        if (unchecked) {
          lastGood = stateBefore(lastGood);
        }
        if (replicaDir != null && (unchecked
            || replica.metagraph().block().number() > lastGood.block().number())) {
          // Sealed before it was compared: a restart must not take it as checked.
          try {
            DurableFiles.replace(replicaDir.resolve(MISMATCH_FILE),
                failed.getMessage().getBytes(StandardCharsets.UTF_8));
            unchecked = false;
          } catch (IOException e) {
            unchecked = true; // left to the next start, which checks the block again
            failed.addSuppressed(e);
          }
        }
        throw failed;
      }
      return checked();
    }

    /** The replica: the chain as checked so far. */
    LocalLedger replica() {
      return replica;
    }

    /** Why the audit failed for good, or null while it has not. */
    LedgerException failure() {
      return failed;
    }

    /** What has been checked so far: up to the block before the one that differed, if any. */
    public Result checked() {
      return new Result(chainId, lastGood.block(), lastGood);
    }

    /**
     * The replica's state one block before {@code last}'s, which did not check out when it was
     * compared again; {@code last} itself if the replica keeps no record of it.
     */
    private Metagraph stateBefore(Metagraph last) {
      Metagraph[] before = {last};
      try {
        replica.readBlocks(last.block().number() - 1, last.block().number() - 1, r -> {
          before[0] = r.after();
          return false;
        });
      } catch (LedgerException | RuntimeException e) {
        // The genesis (no record), or a journal that starts after it: the result names the
        // block that failed, as it did.
      }
      return before[0];
    }

    /**
     * Compares the replica's last block, which it may have sealed unchecked before its auditor
     * stopped, with the history's {@code given} and, for a history that gives it, the state
     * {@code after} it; null when they match.
     */
    private LedgerException recheck(Block given, Metagraph after) {
      Metagraph sealed = replica.metagraph();
      if (!given.equals(sealed.block())) {
        return new MismatchException("block " + given.number() + " given is " + given
            + ", but the replica sealed " + sealed.block() + " before its auditor stopped"
            + " without closing (the history changed since, or the block did not check out)");
      }
      String differs = after == null ? null : differs(after, sealed);
      return differs == null ? null : new MismatchException("the state after block "
          + given.number() + " differs from its replay in " + differs);
    }

    @Override
    public void close() {
      if (closed) {
        return; // the folder may be another auditor's now
      }
      closed = true;
      if (replicaDir != null && !unchecked) {
        try {
          // Before the replica's lock goes: the next auditor's file is its own.
          Files.deleteIfExists(replicaDir.resolve(RUNNING_FILE));
        } catch (IOException e) {
          // Left behind: the next start checks the last block again, which is all it costs.
        }
      }
      replica.close();
    }
  }

  /** Seals one block anew; null when it matches, else what differs. */
  private static LedgerException replay(LocalLedger replica, SettableClock clock,
      BlockRecord r) {
    LedgerException differentBlock = replay(replica, clock, r.block(), r.transactions());
    if (differentBlock != null) {
      return differentBlock;
    }
    String differs = differs(r.after(), replica.metagraph());
    if (differs != null) {
      return new MismatchException("the state after block " + r.block().number()
          + " differs from its replay in " + differs);
    }
    return null;
  }

  /** Seals one block anew from its transactions; null when it is the block given. */
  private static LedgerException replay(LocalLedger replica, SettableClock clock, Block given,
      List<SignedTransaction> transactions) {
    long n = given.number();
    Block checked = replica.metagraph().block();
    if (!given.parent().equals(checked.hash())) {
      return new MismatchException("block " + n + " given names parent " + given.parent()
          + ", but block " + checked.number() + " as checked is " + checked.hash()
          + " (the history changed since it was checked, or skips a block)");
    }
    clock.set(given.timestamp().toEpochMilli());
    for (int i = 0; i < transactions.size(); i++) {
      SignedTransaction tx = transactions.get(i);
      CompletableFuture<Receipt> f = replica.submit(tx);
      if (f.isCompletedExceptionally()) {
        return new MismatchException("transaction " + i + " of block " + n + " ("
            + tx.hash().toShortHex() + ") is refused on replay: " + cause(f));
      }
    }
    Block sealed;
    try {
      sealed = replica.produceBlock();
    } catch (LedgerException e) {
      return e;
    }
    if (!sealed.equals(given)) {
      return new MismatchException("block " + n + " replays to " + sealed + ", not the " + given
          + " given");
    }
    return null;
  }

  /** What two metagraphs differ in, or null; exactly, without copying the matrices. */
  private static String differs(Metagraph given, Metagraph replayed) {
    if (!given.block().equals(replayed.block())) {
      return "its block: given " + given.block() + ", replayed " + replayed.block();
    }
    if (!given.params().equals(replayed.params())) {
      return "its rules: given " + given.params() + ", replayed " + replayed.params();
    }
    if (given.supply() != replayed.supply()) {
      return "its supply: given " + given.supply() + ", replayed " + replayed.supply();
    }
    if (!given.lastEpoch().equals(replayed.lastEpoch())) {
      return "its last epoch: given " + given.lastEpoch() + ", replayed "
          + replayed.lastEpoch();
    }
    if (!given.peers().equals(replayed.peers())) {
      for (int i = 0; i < Math.min(given.size(), replayed.size()); i++) {
        if (!given.peer(i).equals(replayed.peer(i))) {
          return "peer " + i + ": given " + given.peer(i) + ", replayed " + replayed.peer(i);
        }
      }
      return "its number of peers: given " + given.size() + ", replayed " + replayed.size();
    }
    if (!given.weights().approximatelyEquals(replayed.weights(), 0)) {
      return "its weights";
    }
    if (!given.bonds().approximatelyEquals(replayed.bonds(), 0)) {
      return "its bonds";
    }
    return null;
  }

  private static String cause(CompletableFuture<Receipt> f) {
    try {
      f.join();
      return "";
    } catch (CompletionException e) {
      return String.valueOf(e.getCause() == null ? e : e.getCause().getMessage());
    }
  }
}
