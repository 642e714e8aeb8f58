package io.bittensor.core;

import io.bittensor.core.testing.LedgerFixtures;
import io.bittensor.raft.Cluster;
import io.bittensor.raft.RaftLedger;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.api.io.TempDir;

/**
 * The ledger contract on a {@link RaftLedger}: each ledger is a group of three members on
 * loopback, and the contract talks to one that does not lead, so every submission crosses Raft
 * and every read is a follower's copy. Blocks are sealed on demand through the leader.
 *
 * <p>In package {@code io.bittensor.core} because the contract is package-private there.
 */
@ExtendWith(Cluster.ClosingInBackground.class)
class RaftLedgerContractTest extends LedgerContract {
  /** The groups' folders, kept until every group closed: they close while later tests run. */
  @TempDir static Path dir;
  private final List<Cluster> groups = new ArrayList<>();

  @Override
  protected Ledger create(Genesis genesis) throws IOException {
    Cluster c = new Cluster(Files.createTempDirectory(dir, "group-"), 3, genesis, mechanism(),
        BlockPolicy.manual());
    c.clock = LedgerFixtures.fixedClock();
    groups.add(c);
    c.start();
    return c.members[(c.leader() + 1) % 3];
  }

  @Override
  protected Block seal(Ledger ledger) throws IOException {
    return ((RaftLedger) ledger).produceBlock();
  }

  @Override
  protected Optional<Hash256> stateHash(Ledger ledger) {
    return Optional.of(((RaftLedger) ledger).stateHash());
  }

  /** The groups close every member, the contract's ones included, without waiting for them. */
  @AfterEach
  @Override
  void closeLedgers() {
    groups.forEach(Cluster::close);
  }
}
