package io.bittensor.core.testing;

import io.bittensor.core.Account;
import io.bittensor.core.Keypair;
import io.bittensor.core.Ledger;
import io.bittensor.core.LedgerException;
import io.bittensor.core.LedgerParams;
import io.bittensor.core.Metagraph;
import io.bittensor.core.Modality;
import io.bittensor.core.PeerId;
import io.bittensor.core.SignedTransaction;
import io.bittensor.core.Transaction;
import java.util.List;
import java.util.OptionalInt;
import java.util.SplittableRandom;
import java.util.stream.LongStream;

/**
 * Seeded random transactions against a ledger's current state: mostly valid, some breaking a
 * rule (wrong nonce, too much, bad weights, a peer changing the rules), so that a sequence
 * exercises acceptance and rejection alike. The same seed and the same ledger state give the
 * same transactions.
 */
public final class RandomTransactions {
  private final SplittableRandom random;
  private final List<Keypair> keys;
  private final Keypair authority = LedgerFixtures.authority();
  private boolean registrationRules;
  private boolean rowsAsOfBlocks;

  /**
   * A generator over keys {@code 0 .. keyCount-1} (give the first of them funds at genesis) and
   * the fixtures' authority.
   */
  public RandomTransactions(long seed, int keyCount) {
    this.random = new SplittableRandom(seed);
    this.keys = LedgerFixtures.keys(keyCount);
  }

  /** {@code count} seeds for parameterized tests, fixed so that failures reproduce. */
  public static LongStream seeds(int count) {
    return LongStream.range(0, count).map(i -> 0x5eed_0000L + i * 7919);
  }

  /**
   * Rule changes set random registration rules too (a burn up to 400,000 of the fixtures'
   * 1,000,000 funds, a cap of up to 3 per block, each 0 a quarter of the time).
   *
   * @return this generator
   */
  public RandomTransactions withRegistrationRules() {
    this.registrationRules = true;
    return this;
  }

  /**
   * Weight rows are made as of a block most of the time: the latest, one up to three blocks
   * before it (so that replacements since drop entries), or now and then one not sealed yet.
   *
   * @return this generator
   */
  public RandomTransactions withRowsAsOfBlocks() {
    this.rowsAsOfBlocks = true;
    return this;
  }

  /** {@link #params(long)} with random registration rules, each set. */
  public static LedgerParams paramsWithRegistrationRules(long seed) {
    SplittableRandom r = new SplittableRandom(seed ^ 0x2545f4914f6cdd1dL);
    return params(seed).withRegistrationBurn(1 + r.nextInt(400_000))
        .withMaxRegistrationsPerBlock(1 + r.nextInt(3));
  }

  /** Random rules with small epochs and few peers, so that replacement and epochs happen. */
  public static LedgerParams params(long seed) {
    SplittableRandom r = new SplittableRandom(seed ^ 0x9e3779b97f4a7c15L);
    int maxPeers = 2 + r.nextInt(6);
    return new LedgerParams(2 + r.nextInt(4), maxPeers, r.nextInt(5), r.nextInt(2),
        r.nextInt(3));
  }

  /**
   * The next transaction.
   *
   * @throws LedgerException if the ledger cannot be read
   */
  public SignedTransaction next(Ledger ledger) throws LedgerException {
    Metagraph m = ledger.metagraph();
    int n = m.size();
    int kind = random.nextInt(100);
    Keypair key;
    if (kind >= 32 && kind < 94 && n > 0 && random.nextInt(8) != 0) {
      key = peerKey(m);                       // stake and weights: mostly from peers
    } else if (kind >= 12 && kind < 32 && random.nextInt(5) != 0) {
      key = keys.get(random.nextInt(Math.max(1, keys.size() / 2)));   // transfers: funded keys
    } else {
      key = random.nextInt(40) == 0 ? authority : keys.get(random.nextInt(keys.size()));
    }
    Account account = ledger.account(key.id()).orElse(new Account(key.id(), 0, 0));
    OptionalInt uid = m.uid(key.id());
    long stake = uid.isPresent() ? m.stake(uid.getAsInt()) : 0;
    Transaction body;
    if (kind < 12) {
      body = Transaction.register(LedgerFixtures.endpoint(random.nextInt(1000)),
          Modality.values()[random.nextInt(Modality.values().length)]);
    } else if (kind < 32) {
      PeerId to = keys.get(random.nextInt(keys.size())).id();
      body = Transaction.transfer(to, amount(account.balance()));
    } else if (kind < 52) {
      body = Transaction.addStake(amount(account.balance()));
    } else if (kind < 61) {
      body = Transaction.removeStake(amount(stake));
    } else if (kind < 64) {
      body = Transaction.serve(LedgerFixtures.endpoint(random.nextInt(1000)),
          Modality.values()[random.nextInt(Modality.values().length)]);
    } else if (kind < 94) {
      body = weights(n, m.params().maxPeers(), m.block().number());
    } else {
      LedgerParams p = params(random.nextLong());
      if (p.maxPeers() < n && random.nextInt(4) != 0) {
        p = p.withMaxPeers(Math.min(LedgerParams.MAX_PEERS, n + random.nextInt(3)));
      }
      if (random.nextBoolean()) {
        key = authority;
        account = ledger.account(key.id()).orElse(new Account(key.id(), 0, 0));
      }
      if (registrationRules) {
        p = p.withRegistrationBurn(random.nextInt(4) == 0 ? 0 : random.nextInt(400_000))
            .withMaxRegistrationsPerBlock(random.nextInt(4) == 0 ? 0 : 1 + random.nextInt(3));
      }
      body = Transaction.changeParams(p);
    }
    long nonce = account.nonce();
    if (random.nextInt(25) == 0) {
      nonce += random.nextBoolean() ? 1 : -1;
    }
    return SignedTransaction.sign(key, ledger.chainId(), nonce, body);
  }

  /** The key of a random registered peer, if it is one of ours; otherwise any of ours. */
  private Keypair peerKey(Metagraph m) {
    PeerId id = m.info(random.nextInt(m.size())).id();
    for (Keypair k : keys) {
      if (k.id().equals(id)) {
        return k;
      }
    }
    return keys.get(random.nextInt(keys.size()));
  }

  /** Mostly within {@code available}, sometimes above it, now and then zero or negative. */
  private long amount(long available) {
    int r = random.nextInt(50);
    if (r == 0) {
      return -random.nextInt(10);
    }
    if (r < 5) {
      return available + 1 + random.nextInt(100);
    }
    return 1 + (available <= 1 ? 0 : random.nextLong(available));
  }

  private Transaction weights(int n, int maxPeers, long latest) {
    int k = random.nextInt(Math.max(1, Math.min(n + 1, 6)) + 1);
    int[] uids = new int[k];
    double[] w = new double[k];
    for (int i = 0; i < k; i++) {
      int r = random.nextInt(60);
      uids[i] = r == 0 ? maxPeers + random.nextInt(3) : r == 1 ? -1 : random.nextInt(n + 1);
      w[i] = r == 2 ? Double.NaN : r == 3 ? -random.nextDouble() : r == 4 ? 0
          : random.nextDouble() * 10;
    }
    if (!rowsAsOfBlocks || random.nextInt(5) == 0) {
      return Transaction.setWeights(uids, w);
    }
    int back = random.nextInt(20) == 0 ? -1 - random.nextInt(2) : random.nextInt(4);
    return Transaction.setWeights(uids, w, Math.max(0, latest - back));
  }
}
