package io.bittensor.benchmarks;

import io.bittensor.core.Block;
import io.bittensor.core.BlockPolicy;
import io.bittensor.core.Genesis;
import io.bittensor.core.Hash256;
import io.bittensor.core.Keypair;
import io.bittensor.core.Ledger;
import io.bittensor.core.LedgerParams;
import io.bittensor.core.LocalLedger;
import io.bittensor.core.Modality;
import io.bittensor.core.Receipt;
import io.bittensor.core.SignedTransaction;
import io.bittensor.core.Transaction;
import io.bittensor.raft.RaftLedger;
import java.io.IOException;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.URI;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.time.ZoneOffset;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.SplittableRandom;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.function.Predicate;
import java.util.function.UnaryOperator;
import java.util.stream.Stream;

/**
 * Seeded ledgers and pre-signed transactions for the ledger benchmarks: {@code n} funded keys,
 * a fixed genesis (so the same signed transactions are valid on every fresh ledger), their
 * registrations, and rows of weights.
 */
final class LedgerWorkload {
  static final long FUNDS = 1_000_000_000L;
  static final Instant GENESIS_TIME = Instant.parse("2026-01-01T00:00:00Z");

  final int n;
  final List<Keypair> keys;
  final Genesis genesis;
  final Hash256 chainId;

  LedgerWorkload(int n, LedgerParams params) {
    this.n = n;
    this.keys = new ArrayList<>(n);
    Genesis.Builder g = Genesis.builder().chainName("bench").createdAt(GENESIS_TIME)
        .params(params);
    for (int i = 0; i < n; i++) {
      byte[] seed = new byte[32];
      seed[0] = 0x1b;
      seed[29] = (byte) (i >>> 16);
      seed[30] = (byte) (i >>> 8);
      seed[31] = (byte) i;
      Keypair k = Keypair.fromSeed(seed);
      keys.add(k);
      g.allocate(k.id(), FUNDS);
    }
    this.genesis = g.build();
    try (LocalLedger probe = builder().openInMemory()) {
      this.chainId = probe.chainId();
    }
  }

  /** A manual-block ledger builder on this genesis, with a clock that never moves. */
  LocalLedger.Builder builder() {
    return LocalLedger.builder().genesis(genesis).blocks(BlockPolicy.manual())
        .clock(Clock.fixed(GENESIS_TIME, ZoneOffset.UTC));
  }

  /** Per key: register (nonce 0) and stake (nonce 1). */
  List<List<SignedTransaction>> registrations(ExecutorService pool) throws Exception {
    return perKey(pool, i -> List.of(
        SignedTransaction.sign(keys.get(i), chainId, 0,
            Transaction.register(URI.create("http://10.0." + (i >> 8) + "." + (i & 255) + ":8091"),
                Modality.TEXT)),
        SignedTransaction.sign(keys.get(i), chainId, 1,
            Transaction.addStake(1_000 + 10L * i))));
  }

  /** Per key: {@code count} weight rows of {@code perRow} random uids, nonces 2, 3, ... */
  List<List<SignedTransaction>> weights(ExecutorService pool, int perRow, int count)
      throws Exception {
    return weights(pool, perRow, count, Transaction.SetWeights.NO_BLOCK);
  }

  /**
   * As {@link #weights(ExecutorService, int, int)}, each row made as of block {@code asOfBlock}
   * ({@link Transaction.SetWeights#NO_BLOCK} for none).
   */
  List<List<SignedTransaction>> weights(ExecutorService pool, int perRow, int count,
      long asOfBlock) throws Exception {
    return perKey(pool, i -> {
      SplittableRandom r = new SplittableRandom(0xbe_0000L + i);
      List<SignedTransaction> txs = new ArrayList<>(count);
      for (int c = 0; c < count; c++) {
        int[] uids = r.ints(0, n).distinct().limit(Math.min(perRow, n)).toArray();
        double[] w = r.doubles(uids.length, 0.01, 1).toArray();
        txs.add(SignedTransaction.sign(keys.get(i), chainId, 2 + c,
            new Transaction.SetWeights(uids, w, asOfBlock)));
      }
      return txs;
    });
  }

  /**
   * Seals the same {@code blocks} blocks on every ledger: the registrations in the first, then a
   * weight row of 32 uids from every key every {@code rowsEvery} blocks, {@code rows} of them.
   *
   * @throws IllegalStateException if a row is refused or the ledgers seal different blocks
   */
  void sealChain(int blocks, int rowsEvery, int rows, List<LocalLedger> ledgers)
      throws Exception {
    ExecutorService pool = Executors.newFixedThreadPool(2);
    List<List<SignedTransaction>> registrations;
    List<List<SignedTransaction>> weights;
    try {
      registrations = registrations(pool);
      weights = weights(pool, 32, rows);
    } finally {
      pool.shutdownNow();
    }
    for (LocalLedger l : ledgers) {
      for (List<SignedTransaction> txs : registrations) {
        for (SignedTransaction tx : txs) {
          l.submit(tx);
        }
      }
    }
    int row = 0;
    for (int b = 1; b <= blocks; b++) {
      if (b % rowsEvery == 0 && row < rows) {
        for (List<SignedTransaction> txs : weights) {
          for (LocalLedger l : ledgers) {
            if (l.submit(txs.get(row)).isCompletedExceptionally()) {
              throw new IllegalStateException("a weight row was refused at block " + b);
            }
          }
        }
        row++;
      }
      Block first = null;
      for (LocalLedger l : ledgers) {
        Block sealed = l.produceBlock();
        if (first != null && !first.equals(sealed)) {
          throw new IllegalStateException("the ledgers sealed different blocks at " + b);
        }
        first = sealed;
      }
    }
  }

  interface PerKey {
    List<SignedTransaction> make(int i);
  }

  private List<List<SignedTransaction>> perKey(ExecutorService pool, PerKey make)
      throws Exception {
    List<Future<List<SignedTransaction>>> fs = new ArrayList<>(n);
    for (int i = 0; i < n; i++) {
      int k = i;
      fs.add(pool.submit(() -> make.make(k)));
    }
    List<List<SignedTransaction>> out = new ArrayList<>(n);
    for (Future<List<SignedTransaction>> f : fs) {
      out.add(f.get());
    }
    return out;
  }

  /**
   * Submits every key's transactions in order, keys spread over {@code threads} tasks of {@code
   * pool}, and returns the futures (in no particular order).
   */
  static List<CompletableFuture<Receipt>> submitAll(Ledger ledger,
      List<List<SignedTransaction>> perKey, int threads, ExecutorService pool) throws Exception {
    List<Future<List<CompletableFuture<Receipt>>>> parts = new ArrayList<>();
    for (int t = 0; t < threads; t++) {
      int first = t;
      parts.add(pool.submit(() -> {
        List<CompletableFuture<Receipt>> mine = new ArrayList<>();
        int rounds = perKey.stream().mapToInt(List::size).max().orElse(0);
        for (int round = 0; round < rounds; round++) {
          for (int i = first; i < perKey.size(); i += threads) {
            List<SignedTransaction> txs = perKey.get(i);
            if (round < txs.size()) {
              CompletableFuture<Receipt> f = ledger.submit(txs.get(round));
              if (f.isCompletedExceptionally()) {
                f.join();   // throws: a benchmark transaction must be accepted
              }
              mine.add(f);
            }
          }
        }
        return mine;
      }));
    }
    List<CompletableFuture<Receipt>> all = new ArrayList<>();
    for (Future<List<CompletableFuture<Receipt>>> p : parts) {
      all.addAll(p.get());
    }
    return all;
  }

  /** Applies the registrations in one block, from {@code pool}'s threads. */
  static void register(LocalLedger ledger, List<List<SignedTransaction>> registrations,
      ExecutorService pool, int threads) throws Exception {
    List<CompletableFuture<Receipt>> fs = submitAll(ledger, registrations, threads, pool);
    ledger.produceBlock();
    CompletableFuture.allOf(fs.toArray(new CompletableFuture<?>[0])).join();
  }

  /**
   * Registers every key, sets each one's first weight row of {@code perRow}, and seals blocks up
   * to the first epoch (so bonds exist), all on {@code ledger}.
   *
   * @return each key's {@code rows} signed weight rows, the first of them already sealed
   */
  List<List<SignedTransaction>> pastFirstEpoch(LocalLedger ledger, ExecutorService pool,
      int perRow, int rows) throws Exception {
    List<List<SignedTransaction>> signed = weights(pool, perRow, rows);
    register(ledger, registrations(pool), pool, 2);
    List<List<SignedTransaction>> first = new ArrayList<>();
    for (List<SignedTransaction> own : signed) {
      first.add(List.of(own.get(0)));
    }
    register(ledger, first, pool, 2);
    while (ledger.metagraph().bonds().nonZeroCount() == 0) {
      ledger.produceBlock();
    }
    return signed;
  }

  /**
   * Every key's transactions in one list, keys taking turns and each key's in nonce order: the
   * order a ledger takes them in one {@code submitAll}.
   */
  static List<SignedTransaction> inNonceOrder(List<List<SignedTransaction>> perKey) {
    List<SignedTransaction> out = new ArrayList<>(count(perKey));
    int rounds = perKey.stream().mapToInt(List::size).max().orElse(0);
    for (int round = 0; round < rounds; round++) {
      for (List<SignedTransaction> own : perKey) {
        if (round < own.size()) {
          out.add(own.get(round));
        }
      }
    }
    return out;
  }

  static int count(List<List<SignedTransaction>> perKey) {
    return perKey.stream().mapToInt(List::size).sum();
  }

  /**
   * Opens three {@link RaftLedger} members on free loopback ports, each in its own folder under
   * {@code dir} with a 150 ms election timeout and whatever {@code each} adds, adding each to
   * {@code open} as it opens; returns the first member that {@code pick} accepts once one does
   * (within 30 s).
   */
  static RaftLedger raftGroup(Genesis genesis, Path dir, UnaryOperator<RaftLedger.Builder> each,
      Predicate<RaftLedger> pick, List<AutoCloseable> open)
      throws IOException, InterruptedException {
    List<InetSocketAddress> addresses = new ArrayList<>();
    for (int i = 0; i < 3; i++) {
      try (ServerSocket s = new ServerSocket(0)) {
        addresses.add(new InetSocketAddress("127.0.0.1", s.getLocalPort()));
      }
    }
    List<RaftLedger> members = new ArrayList<>();
    for (int i = 0; i < 3; i++) {
      RaftLedger.Builder b = RaftLedger.builder().genesis(genesis).self("m" + i)
          .electionTimeout(Duration.ofMillis(150));
      for (int j = 0; j < 3; j++) {
        b.member("m" + j, addresses.get(j));
      }
      RaftLedger m = each.apply(b).open(dir.resolve("m" + i));
      members.add(m);
      open.add(m);
    }
    long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
    while (System.nanoTime() < deadline) {
      for (RaftLedger m : members) {
        if (pick.test(m)) {
          return m;
        }
      }
      Thread.sleep(10);
    }
    throw new IOException("no member to pick in 30 s (no leader?)");
  }

  static void deleteTree(Path dir) throws IOException {
    if (dir == null || !Files.exists(dir)) {
      return;
    }
    try (Stream<Path> walk = Files.walk(dir)) {
      for (Path p : walk.sorted(Comparator.reverseOrder()).toList()) {
        Files.delete(p);
      }
    }
  }

}
