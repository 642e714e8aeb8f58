package io.bittensor.raft;

import io.bittensor.core.Account;

import io.bittensor.core.Block;
import io.bittensor.core.BlockBody;
import io.bittensor.core.BlockHistory;
import io.bittensor.core.BlockPolicy;
import io.bittensor.core.BlockRecord;
import io.bittensor.core.Epoch;
import io.bittensor.core.Experimental;
import io.bittensor.core.Genesis;
import io.bittensor.core.Hash256;
import io.bittensor.core.Ledger;
import io.bittensor.core.LedgerException;
import io.bittensor.core.LedgerListener;
import io.bittensor.core.LocalLedger;
import io.bittensor.core.Metagraph;
import io.bittensor.core.PeerId;
import io.bittensor.core.Receipt;
import io.bittensor.core.RejectReason;
import io.bittensor.core.SignedTransaction;
import io.bittensor.core.TransactionRejectedException;
import io.bittensor.core.internal.Deadlines;
import io.bittensor.core.internal.DurableFiles;
import io.bittensor.core.internal.HostPorts;
import io.bittensor.core.internal.ledger.BatchSignatures;
import io.bittensor.core.internal.ledger.BlockCodec;
import io.bittensor.incentive.IncentiveMechanism;
import io.bittensor.incentive.PaperParams;
import io.bittensor.raft.internal.Entries;
import io.bittensor.raft.internal.LedgerStateMachine;
import io.bittensor.raft.internal.RatisExits;
import io.bittensor.raft.internal.Submissions;
import java.io.IOException;
import java.net.InetSocketAddress;
import java.nio.ByteBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;
import java.util.UUID;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.Executor;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.function.LongSupplier;
import java.util.function.Predicate;
import java.util.regex.Pattern;
import org.apache.ratis.client.RaftClient;
import org.apache.ratis.client.RaftClientConfigKeys;
import org.apache.ratis.conf.Parameters;
import org.apache.ratis.conf.RaftProperties;
import org.apache.ratis.grpc.GrpcConfigKeys;
import org.apache.ratis.grpc.GrpcTlsConfig;
import org.apache.ratis.protocol.Message;
import org.apache.ratis.protocol.RaftClientReply;
import org.apache.ratis.protocol.RaftGroup;
import org.apache.ratis.protocol.RaftGroupId;
import org.apache.ratis.protocol.RaftPeer;
import org.apache.ratis.protocol.RaftPeerId;
import org.apache.ratis.protocol.exceptions.AlreadyClosedException;
import org.apache.ratis.protocol.exceptions.RaftRetryFailureException;
import org.apache.ratis.retry.RetryPolicies;
import org.apache.ratis.server.RaftServer;
import org.apache.ratis.server.RaftServerConfigKeys;
import org.apache.ratis.server.storage.RaftStorage;
import org.apache.ratis.thirdparty.com.google.protobuf.ByteString;
import org.apache.ratis.util.SizeInBytes;
import org.apache.ratis.util.TimeDuration;

/**
 * A {@link Ledger} replicated over a group of members with Raft (Apache Ratis): one member on
 * each machine, each holding the whole ledger. The members agree on one log of transactions and
 * block seals; each applies it in order to its own copy, so all hold the same blocks, hashes and
 * state. The ledger goes on while a majority of the members is up (2 of 3, 3 of 5), and a member
 * that was down catches up when it comes back.
 *
 * <pre>{@code
 * Genesis genesis = Genesis.builder()...build();
 * Keypair key = Keypair.load(Path.of("peer.key"));
 * try (RaftLedger ledger = RaftLedger.builder()
 *     .genesis(genesis)                                    // the same on every member
 *     .member("a", new InetSocketAddress("10.0.0.1", 9871))
 *     .member("b", new InetSocketAddress("10.0.0.2", 9871))
 *     .member("c", new InetSocketAddress("10.0.0.3", 9871))
 *     .self("a")                                           // "b" and "c" on the other machines
 *     .open(Path.of("ledger-data"))) {
 *   URI endpoint = URI.create("http://10.0.0.1:8091");
 *   ledger.submit(key, Transaction.register(endpoint, Modality.TEXT)).join();
 * }
 * }</pre>
 *
 * <p><b>Semantics.</b> Any member accepts transactions; they are validated as {@link
 * LocalLedger} validates them, in the log's order, so a rejection is the same on every member.
 * A receipt means the block holding the transaction was committed by a majority and sealed on
 * this member. The leader seals a block every interval of the {@link BlockPolicy} (one second by
 * default), at its own clock; a member never seals one on its own. {@link #account} and {@link
 * #nextNonce} ask the leader, which answers from its copy: a leader cut off from its majority
 * goes on answering until it steps down (about twice the election timeout, 2 s by default),
 * while a new leader may already accept transactions. Such a nonce may be stale, but it is never
 * spent twice: a transaction that uses it is refused ({@code NONCE_REUSED}) when the log applies
 * it. {@link #metagraph()} and the listeners are this member's copy, which may be a moment
 * behind the leader's.
 *
 * <p><b>Durability.</b> The Raft log on each member's disk is the ledger's record. Every {@link
 * Builder#snapshotEvery} blocks a member keeps a snapshot of its copy and drops the log before
 * it; a member that restarts goes on from its latest snapshot and replays the little log after
 * it, and one too far behind is sent the leader's snapshot. Nothing a majority committed is lost
 * while a majority of the members keeps its disk. A member opened with {@link
 * Builder#keepBlocks} also keeps every block it seals in a journal, to read back ({@link
 * #readBlocks}), serve and audit. A member whose copy fails (its journal cannot be written)
 * stops: it leaves the group's work to the others, fails its waiting calls and refuses new ones
 * saying why; close it and open it again, and it replays the log into a new copy.
 *
 * <p><b>Threads.</b> Receipts complete and listeners run on this member's event thread, one at a
 * time and in block order (receipts before the block's events), never on Raft's own threads.
 *
 * <p><b>The Raft port</b> speaks Raft to whoever reaches it unless {@link Builder#tls} is given:
 * transactions stay signed, so nobody can forge one, but a stranger could seal extra blocks or
 * pose as a member. Use mutual TLS with certificates of the group's own authority, or keep the
 * Raft ports on a network only the members reach.
 *
 * <p>Experimental: the log's entries and the folder's layout may change before 1.0.
 */
@Experimental
public final class RaftLedger implements Ledger, BlockHistory {
  private static final Pattern MEMBER_ID = Pattern.compile("[A-Za-z0-9_.-]{1,64}");
  static final String GENESIS_FILE = "genesis.btg";
  /** The folder of a member's copy when it keeps its blocks: a {@code LocalLedger}'s. */
  static final String BLOCKS_FOLDER = "ledger";

  private final String self;
  private final RaftGroup group;
  private final RaftServer server;
  /**
   * The member's client of its group; replaced when Ratis gives it up (see {@link #send}),
   * under {@link #clientLock}.
   */
  private volatile RaftClient client;
  private final Object clientLock = new Object();
  /** The client settings (TLS), for a call that needs a client of its own. */
  private final Parameters parameters;
  private final Submissions submissions;
  private final LedgerStateMachine machine;
  private final ExecutorService events;
  private final ScheduledExecutorService timer;
  private final ScheduledFuture<?> sealing;
  private final Clock clock;
  private final Duration timeout;
  /** The time {@link #produceBlock} counts its timeout in: the builder's (a test's) ticker. */
  private final LongSupplier ticker;
  private final AtomicBoolean closed = new AtomicBoolean();
  private final AtomicBoolean sealInFlight = new AtomicBoolean();
  private final boolean keepBlocks;
  private final byte[] genesisBlock;

  private RaftLedger(Builder b, Path dir) throws IOException {
    this.self = b.self;
    this.clock = b.clock;
    this.timeout = b.timeout;
    this.ticker = b.ticker;
    this.events = Executors.newSingleThreadExecutor(r -> {
      Thread t = new Thread(r, "bittensor-raft-events-" + b.self);
      t.setDaemon(true);
      return t;
    });
    RaftServer s = null;
    RaftClient c = null;
    LedgerStateMachine sm = null;
    try {
      // Durably: a member's folder that a power failure takes back takes its votes with it.
      DurableFiles.createDirectories(dir);
      Chain chain = chain(b, dir);
      this.keepBlocks = b.keepBlocks;
      this.genesisBlock = genesisPayload(chain.genesis, chain.mechanism);
      Hash256 chainId = Hash256.of(genesisBlock);
      if (chain.recorded != null && !chain.recorded.equals(chainId)) {
        throw new LedgerException("the member's folder " + dir + " holds chain "
            + chain.recorded + ", but this genesis and mechanism give chain " + chainId);
      }
      Path blocks = blocksFolder(dir);
      // A member's first start formats its storage; every later one recovers the log there.
      boolean formatted = Files.isDirectory(dir.resolve("raft")
          .resolve(groupId(chainId).getUuid().toString()));
      if (!formatted) {
        // Blocks kept beside a Raft log that is gone: the group sends this member all anew.
        DurableFiles.deleteTree(blocks);
      }
      sm = new LedgerStateMachine(chain.genesis, chain.mechanism, b.maxPending,
          b.snapshotEvery, keepBlocks ? blocks : null, b.archiveKeptBlocks, events);
      this.machine = sm;
      if (!machine.replica().chainId().equals(chainId)) {
        throw new IllegalStateException("the genesis file would not reproduce chain "
            + machine.replica().chainId());
      }
      if (chain.recorded == null) {
        DurableFiles.replace(dir.resolve(GENESIS_FILE), genesisBlock);
      }
      this.group = RaftGroup.valueOf(groupId(chainId), peers(b.members));
      InetSocketAddress address = b.members.get(b.self);
      RaftProperties props = new RaftProperties();
      RaftServerConfigKeys.setStorageDir(props, List.of(dir.resolve("raft").toFile()));
      GrpcConfigKeys.Server.setHost(props, address.getHostString());
      GrpcConfigKeys.Server.setPort(props, address.getPort());
      TimeDuration election = TimeDuration.valueOf(b.electionTimeout.toMillis(),
          TimeUnit.MILLISECONDS);
      RaftServerConfigKeys.Rpc.setTimeoutMin(props, election);
      RaftServerConfigKeys.Rpc.setTimeoutMax(props, election.multiply(2));
      if (b.snapshotEvery > 0) {
        // Raft asks for a snapshot every so many entries (at least one per block), keeps the
        // latest state exported between blocks, and drops the log before it.
        RaftServerConfigKeys.Snapshot.setAutoTriggerEnabled(props, true);
        RaftServerConfigKeys.Snapshot.setAutoTriggerThreshold(props, b.snapshotEvery);
        RaftServerConfigKeys.Log.setPurgeUptoSnapshotIndex(props, true);
        RaftServerConfigKeys.Log.setPurgeGap(props, b.snapshotEvery);
      }
      if (b.logSegmentBytes > 0) {
        RaftServerConfigKeys.Log.setSegmentSizeMax(props, SizeInBytes.valueOf(b.logSegmentBytes));
      }
      RaftServerConfigKeys.Rpc.setFirstElectionTimeoutMin(props, election);
      RaftServerConfigKeys.Rpc.setFirstElectionTimeoutMax(props, election.multiply(2));
      this.parameters = new Parameters();
      if (b.tls != null) {
        GrpcConfigKeys.TLS.setConf(parameters, b.tls);
      }
      s = RaftServer.newBuilder()
          .setGroup(group)
          .setProperties(props)
          .setParameters(parameters)
          .setServerId(RaftPeerId.valueOf(b.self))
          .setStateMachine(machine)
          .setOption(formatted ? RaftStorage.StartupOption.RECOVER
              : RaftStorage.StartupOption.FORMAT)
          .build();
      RatisExits.disable();
      try {
        s.start();
      } catch (RuntimeException | IOException e) {
        if (RatisExits.isExit(e)) {
          throw new IOException(RatisExits.startFailure(b.self, HostPorts.of(address), e), e);
        }
        throw e;
      }
      c = newClient(group, parameters, b.timeout);
    } catch (IOException | RuntimeException e) {
      closeQuietly(c);
      closeQuietly(s);
      if (sm != null) {
        sm.replica().close(); // a copy on disk holds its folder's lock
      }
      events.shutdown();
      throw e;
    }
    this.server = s;
    this.client = c;
    this.submissions = new Submissions(m -> send(m, false), b.self);
    if (b.policy instanceof BlockPolicy.Every every) {
      long ms = every.interval().toMillis();
      this.timer = Executors.newSingleThreadScheduledExecutor(r -> {
        Thread t = new Thread(r, "bittensor-raft-blocks-" + b.self);
        t.setDaemon(true);
        return t;
      });
      this.sealing = timer.scheduleAtFixedRate(this::timedSeal, ms, ms, TimeUnit.MILLISECONDS);
    } else {
      this.timer = null;
      this.sealing = null;
    }
  }

  /**
   * A builder; the members and {@link Builder#self} are required, and {@link Builder#genesis} to
   * create a member.
   */
  public static Builder builder() {
    return new Builder();
  }

  /**
   * Whether {@code dir} holds a member (its genesis): {@link Builder#open} then reopens it, and
   * needs no genesis.
   */
  public static boolean holdsMember(Path dir) {
    return Files.isRegularFile(dir.resolve(GENESIS_FILE));
  }

  /**
   * Where the member in {@code dir} keeps its blocks when it does ({@link Builder#keepBlocks}):
   * a {@link LocalLedger}'s data directory, which {@link LocalLedger.Builder#openReadOnly} reads
   * while the member runs.
   */
  @Experimental
  public static Path blocksFolder(Path dir) {
    return dir.resolve(BLOCKS_FOLDER);
  }

  private record Chain(Genesis genesis, IncentiveMechanism mechanism, Hash256 recorded) {}

  /**
   * The chain this member keeps: the builder's, or the one recorded in its folder (the genesis
   * block's bytes, whose hash is the chain id), so that a member reopens without being told.
   */
  private static Chain chain(Builder b, Path dir) throws IOException {
    Path file = dir.resolve(GENESIS_FILE);
    if (!Files.exists(file)) {
      if (b.genesis == null) {
        throw new LedgerException("no ledger member in " + dir + " to reopen, and no genesis"
            + " given to create one");
      }
      IncentiveMechanism m = b.mechanism != null ? b.mechanism : IncentiveMechanism.paper(
          PaperParams.defaults().withTau(LocalLedger.DEFAULT_TAU));
      return new Chain(b.genesis, m, null);
    }
    byte[] payload = Files.readAllBytes(file);
    BlockCodec.Decoded recorded;
    try {
      recorded = BlockCodec.decode(payload);
    } catch (IllegalArgumentException e) {
      throw new LedgerException(file + " is not a genesis block this version can read: "
          + e.getMessage(), e);
    }
    IncentiveMechanism m = b.mechanism;
    if (m == null) {
      if (recorded.paperParams().isEmpty()) {
        throw new LedgerException("the ledger in " + dir + " runs the mechanism \""
            + recorded.mechanism() + "\"; pass it to mechanism(...) to open it");
      }
      m = IncentiveMechanism.paper(recorded.paperParams().get());
    }
    return new Chain(b.genesis != null ? b.genesis : recorded.genesis(), m,
        Hash256.of(payload));
  }

  /** The genesis block as the replica writes it: stamped at the genesis' own time. */
  private static byte[] genesisPayload(Genesis genesis, IncentiveMechanism m) {
    return BlockCodec.encodeGenesis(genesis, m, genesis.createdAt().toEpochMilli());
  }

  /** One Raft group per chain: its id is the chain id's first 16 bytes. */
  static RaftGroupId groupId(Hash256 chainId) {
    ByteBuffer b = ByteBuffer.wrap(chainId.toBytes());
    return RaftGroupId.valueOf(new UUID(b.getLong(), b.getLong()));
  }

  /**
   * A Raft client of {@code group} whose calls give up after about {@code timeout}: each try
   * waits at most a quarter of it (a second at least), 100 ms apart.
   */
  static RaftClient newClient(RaftGroup group, Parameters parameters, Duration timeout) {
    RaftProperties props = new RaftProperties();
    long ms = Deadlines.saturatedMillis(timeout);
    RaftClientConfigKeys.Rpc.setRequestTimeout(props,
        TimeDuration.valueOf(Math.max(1000, ms / 4), TimeUnit.MILLISECONDS));
    int tries = (int) Math.min(Integer.MAX_VALUE, Math.max(1, ms / 100));
    return RaftClient.newBuilder()
        .setProperties(props)
        .setParameters(parameters)
        .setRaftGroup(group)
        .setRetryPolicy(RetryPolicies.retryUpToMaximumCountWithFixedSleep(tries,
            TimeDuration.valueOf(100, TimeUnit.MILLISECONDS)))
        .build();
  }

  static List<RaftPeer> peers(Map<String, InetSocketAddress> members) {
    List<RaftPeer> peers = new ArrayList<>();
    members.forEach((id, address) -> peers.add(RaftPeer.newBuilder()
        .setId(id)
        .setAddress(HostPorts.of(address))
        .build()));
    return peers;
  }


  private static void closeQuietly(AutoCloseable c) {
    if (c != null) {
      try {
        c.close();
      } catch (Exception ignored) {
        // Closing after a failure or at close(): release the rest regardless.
      }
    }
  }

  // ---------------------------------------------------------------------------------------
  // Reads

  @Override
  public Hash256 chainId() {
    return machine.replica().chainId(); // every replica's, and known after one failed
  }

  /**
   * Reads back the blocks this member sealed, from its journal ({@link Builder#keepBlocks}), as
   * {@link LocalLedger#readBlocks} does: the same blocks on every member, each with its
   * transactions, epoch and metagraph after it.
   *
   * @throws LedgerException if this member keeps no blocks, or not block {@code from} (it was
   *     sent the leader's snapshot of a later block), or they cannot be read
   */
  @Override
  public long readBlocks(long from, long to, Predicate<BlockRecord> visitor)
      throws LedgerException {
    BlockHistory.checkArguments(from, visitor);
    checkKeepsBlocks();
    // A snapshot from the leader may replace the replica mid-read: the read goes on in the new.
    return machine.readBlocks(from, to, visitor, LocalLedger::readBlocks,
        r -> r.block().number());
  }

  private void checkKeepsBlocks() throws LedgerException {
    checkOpen();
    if (!keepBlocks) {
      throw new LedgerException("member " + self + " keeps no blocks to read back; open it with"
          + " keepBlocks(true)");
    }
  }

  /** As {@link #readBlocks}, the blocks and their transactions only, from the journal. */
  @Override
  public long readBlockBodies(long from, long to, Predicate<BlockBody> visitor)
      throws LedgerException {
    BlockHistory.checkArguments(from, visitor);
    checkKeepsBlocks();
    return machine.readBlocks(from, to, visitor, LocalLedger::readBlockBodies,
        b -> b.block().number());
  }

  /** The chain's genesis block, as the member's folder records it (kept blocks or not). */
  @Override
  public byte[] genesisBlock() {
    checkOpen();
    return genesisBlock.clone();
  }

  /** Whether this member keeps its blocks to read back ({@link Builder#keepBlocks}). */
  @Override
  public boolean keepsBlocks() {
    return keepBlocks;
  }

  /**
   * This member's latest sealed block's metagraph (a moment behind the leader's, at most).
   *
   * @throws IllegalStateException if the ledger is closed, or the member stopped because its
   *     copy of the ledger failed (the message says why)
   */
  @Override
  public Metagraph metagraph() {
    checkOpen();
    return machine.read(LocalLedger::metagraph);
  }

  /**
   * {@inheritDoc}
   *
   * <p>Asks the leader, so the account includes every transaction the group accepted so far,
   * unless that leader was cut off from its majority and has not stepped down yet (see the class
   * documentation's Semantics).
   *
   * @throws LedgerException if no leader answers within the builder's timeout (no majority up),
   *     or this member stopped because its copy of the ledger failed
   */
  @Override
  public Optional<Account> account(PeerId id) throws LedgerException {
    Objects.requireNonNull(id, "id");
    checkServing();
    RaftClientReply reply = await(send(message(Entries.accountQuery(id)), true),
        "reading the account of " + id);
    return Entries.account(id, reply.getMessage().getContent().toByteArray());
  }

  /**
   * This member's full state hash (see {@link LocalLedger#stateHash()}): equal on members that
   * applied the same log. For tests and audits.
   *
   * @throws IllegalStateException if the ledger is closed, or the member stopped (its copy
   *     failed)
   */
  public Hash256 stateHash() {
    checkOpen();
    return machine.read(LocalLedger::stateHash);
  }

  /** This member's id in the group. */
  public String memberId() {
    return self;
  }

  /**
   * The member this one believes leads the group, or empty during an election and once this one
   * closed.
   */
  public Optional<String> leader() {
    if (closed.get()) {
      return Optional.empty(); // Ratis' closed division keeps the leader it knew
    }
    try {
      RaftPeerId id = server.getDivision(group.getGroupId()).getInfo().getLeaderId();
      return Optional.ofNullable(id).map(RaftPeerId::toString);
    } catch (IOException e) {
      return Optional.empty();
    }
  }

  /** Whether this member leads the group now (and so seals its blocks); false once closed. */
  public boolean isLeader() {
    if (closed.get()) {
      return false; // Ratis' closed division keeps the role it had
    }
    try {
      return server.getDivision(group.getGroupId()).getInfo().isLeader();
    } catch (IOException e) {
      return false;
    }
  }

  /**
   * The group's members as this member knows them now (the last configuration it applied), id
   * to Raft address.
   */
  public Map<String, InetSocketAddress> members() {
    Map<String, InetSocketAddress> out = new LinkedHashMap<>();
    try {
      for (RaftPeer p : server.getDivision(group.getGroupId()).getRaftConf().getCurrentPeers()) {
        out.put(p.getId().toString(), address(p.getAddress()));
      }
    } catch (IOException e) {
      throw new IllegalStateException("this member has left its group", e);
    }
    return out;
  }

  /**
   * Changes who the group's members are, through the leader (Raft's joint consensus: the group
   * stays available throughout). A member being added must already run, opened in a new folder
   * with the genesis and the new member list; it catches up from the leader (its log or its
   * snapshot) before it counts toward a majority. A member being removed stops taking part once
   * this returns; close it then. Give members that restart later the new list.
   *
   * @param members every member of the new group, id to Raft address, at least one
   * @throws IllegalArgumentException if {@code members} is empty, an id is not valid, or two
   *     members have one address
   * @throws LedgerException if the group does not make the change within the builder's timeout
   *     (a member being added is not running, or no majority is up); it is not tried again
   * @throws IllegalStateException if the ledger is closed
   */
  public void changeMembers(Map<String, InetSocketAddress> members) throws LedgerException {
    checkOpen();
    Map<String, InetSocketAddress> checked = checkedMembers(members);
    setConfiguration(newClient(RaftGroup.valueOf(group.getGroupId(), peers(members())),
        parameters, timeout), checked, timeout);
  }

  /** The members, their ids and addresses checked as {@link Builder#member} checks them. */
  static Map<String, InetSocketAddress> checkedMembers(Map<String, InetSocketAddress> members) {
    if (members.isEmpty()) {
      throw new IllegalArgumentException("a group needs at least one member");
    }
    Builder check = new Builder();
    members.forEach(check::member);
    return check.members;
  }

  /**
   * Runs Ratis' blocking admin calls, each on a daemon thread of its own, so that they can be
   * bounded by a timeout. Never on the common pool: a Ratis server answers a group's info there
   * ({@code thenApplyAsync}), and on a JDK whose {@code CompletableFuture} uses a common pool of
   * one thread (JDK 25 on two cores; 17 started a thread per task) a member in the same JVM would
   * answer only once the call waiting for it had timed out.
   */
  static final Executor BLOCKING_CALLS = task -> {
    Thread t = new Thread(task, "bittensor-raft-admin-call");
    t.setDaemon(true);
    t.start();
  };

  /**
   * Sets the group's members through {@code client}, which finds the leader, and closes it. The
   * client is the call's own: closed, it stops retrying once the call gave up, so that a change
   * reported as failed is not made later (its retries, counted for tries that fail fast, went on
   * for minutes while the leader waited for a member being added).
   */
  static void setConfiguration(RaftClient client, Map<String, InetSocketAddress> members,
      Duration timeout) throws LedgerException {
    List<RaftPeer> peers = peers(members);
    RaftClientReply reply;
    try {
      reply = await(CompletableFuture.supplyAsync(() -> {
        try {
          return client.admin().setConfiguration(peers);
        } catch (IOException e) {
          throw new CompletionException(e);
        }
      }, BLOCKING_CALLS), "changing the members to " + members.keySet(), timeout);
    } catch (LedgerException e) {
      if (e.getCause() instanceof TimeoutException) {
        throw new LedgerException(e.getMessage() + " And is each member being added running"
            + " and reachable? The leader waits for it to catch up; read the members before"
            + " trying again", e.getCause());
      }
      throw e;
    } finally {
      closeQuietly(client);
    }
    if (!reply.isSuccess()) {
      throw new LedgerException("the group refused the members " + members.keySet() + ": "
          + reply.getException(), reply.getException());
    }
  }

  /** {@code timeout}, checked to be positive. */
  static Duration positive(Duration timeout) {
    if (timeout.isNegative() || timeout.isZero()) {
      throw new IllegalArgumentException("timeout must be positive, was " + timeout);
    }
    return timeout;
  }

  /** Parses a Raft peer's address, {@code host:port} or {@code [v6]:port}. */
  static InetSocketAddress address(String hostPort) {
    int colon = hostPort.lastIndexOf(':');
    String host = hostPort.substring(0, colon);
    if (host.startsWith("[") && host.endsWith("]")) {
      host = host.substring(1, host.length() - 1);
    }
    return InetSocketAddress.createUnresolved(host,
        Integer.parseInt(hostPort.substring(colon + 1)));
  }

  /** The mutual TLS of {@link Builder#tls}, its files checked. */
  static GrpcTlsConfig tlsConfig(Path privateKey, Path certificate, Path trustedCertificates) {
    for (Path p : new Path[] {privateKey, certificate, trustedCertificates}) {
      if (!Files.isRegularFile(p)) {
        throw new IllegalArgumentException("no such file: " + p);
      }
    }
    return new GrpcTlsConfig(privateKey.toFile(), certificate.toFile(),
        trustedCertificates.toFile(), true);
  }

  // ---------------------------------------------------------------------------------------
  // Transactions and blocks

  /**
   * {@inheritDoc}
   *
   * <p>Checks the chain and the signature here, then sends the transaction to the leader and
   * waits (one round trip) for it to be validated in the log's order: a rejection is reported at
   * once, as {@link LocalLedger} reports it. Submissions from concurrent threads share round
   * trips: those that arrive while an earlier one is on its way go together in one log entry.
   * If the group does not answer within the builder's timeout (no majority up), the future fails
   * with a {@link LedgerException}: the transaction may or may not be in the ledger. So it does
   * if this member's copy of the ledger fails, or it is sent the leader's snapshot of a block
   * after the transaction's, before it seals that block.
   */
  @Override
  public CompletableFuture<Receipt> submit(SignedTransaction tx) {
    Objects.requireNonNull(tx, "tx");
    return submitAll(List.of(tx)).get(0);
  }

  /**
   * {@inheritDoc} Checks the chain and the signatures here (on several threads for a batch of 16
   * or more), then queues every transaction for the leader before waiting for any, so that they
   * go in as few log entries as hold them, one round trip each, not one round trip a
   * transaction. The whole batch waits at most the builder's timeout.
   */
  @Override
  @Experimental
  public List<CompletableFuture<Receipt>> submitAll(List<SignedTransaction> transactions) {
    Objects.requireNonNull(transactions, "transactions");
    checkOpen();
    int n = transactions.size();
    for (SignedTransaction tx : transactions) {
      Objects.requireNonNull(tx, "tx");
    }
    LedgerException stopped = machine.failure();
    if (stopped != null) {
      List<CompletableFuture<Receipt>> refused = new ArrayList<>(n);
      for (int i = 0; i < n; i++) {
        refused.add(CompletableFuture.failedFuture(new LedgerException(stopped.getMessage(),
            stopped)));
      }
      return refused;
    }
    boolean[] verified = BatchSignatures.verify(transactions);
    List<CompletableFuture<Receipt>> futures = new ArrayList<>(n);
    List<CompletableFuture<Receipt>> results = new ArrayList<>(n);
    List<CompletableFuture<byte[]>> ordering = new ArrayList<>(n);
    for (int i = 0; i < n; i++) {
      SignedTransaction tx = transactions.get(i);
      CompletableFuture<Receipt> refused = !tx.chainId().equals(chainId())
          ? CompletableFuture.failedFuture(new TransactionRejectedException(
              RejectReason.WRONG_CHAIN,
              "transaction names chain " + tx.chainId() + ", this ledger is " + chainId()))
          : !verified[i] ? CompletableFuture.failedFuture(new TransactionRejectedException(
              RejectReason.BAD_SIGNATURE, "the signature does not verify against " + tx.signer()))
          : null;
      futures.add(refused);
      results.add(refused == null ? machine.awaitTransaction(tx) : null);
      ordering.add(refused == null ? submissions.submit(tx) : null);
    }
    // Counted from the start, not to a deadline: a timeout of "forever" would overflow one.
    long start = System.nanoTime();
    long budget = Deadlines.saturatedNanos(timeout);
    for (int i = 0; i < n; i++) {
      if (futures.get(i) != null) {
        continue;
      }
      Hash256 hash = transactions.get(i).hash();
      CompletableFuture<Receipt> result = results.get(i);
      byte[] outcome;
      try {
        outcome = await(ordering.get(i), "ordering transaction " + hash.toShortHex(),
            Duration.ofNanos(Math.max(1_000_000, budget - (System.nanoTime() - start))));
      } catch (LedgerException e) {
        machine.forget(hash, result);
        ordering.get(i).cancel(false); // not sent later, if it is still queued
        futures.set(i, CompletableFuture.failedFuture(e instanceof Submissions.NotSent ? e
            : new LedgerException(e.getMessage()
                + "; it may or may not be in the ledger: check its nonce before resending", e)));
        continue;
      }
      CompletableFuture<Receipt> decided = decided(outcome, result);
      if (decided != result) {
        machine.forget(hash, result);
      }
      futures.set(i, decided);
    }
    return futures;
  }

  /**
   * The future of a transaction the leader applied with {@code outcome}: its rejection, failed
   * at once (the same here), or else {@code here}, this member's outcome as it applies it. So
   * is an outcome this version cannot read (a reason only a newer leader knows, in a rolling
   * upgrade): thrown, it would leave the batch's later transactions waiting for good.
   */
  static CompletableFuture<Receipt> decided(byte[] outcome, CompletableFuture<Receipt> here) {
    Optional<TransactionRejectedException> rejection;
    try {
      rejection = Entries.rejection(outcome);
    } catch (RuntimeException e) {
      return here;
    }
    return rejection.isPresent() ? CompletableFuture.failedFuture(rejection.get()) : here;
  }

  /**
   * Seals a block now, through the leader (with every transaction ordered before it), and waits
   * until this member has sealed it too: for simulations and tests; with {@link
   * BlockPolicy#manual()} it is the only way blocks are made.
   *
   * <p>The whole call waits at most the builder's timeout: the group's seal and this member's
   * own share it.
   *
   * @return the block
   * @throws LedgerException if the group does not seal it within the builder's timeout, or this
   *     member does not seal it too within what is left of it (its copy is behind the group's),
   *     or this member stopped because its copy of the ledger failed
   * @throws IllegalStateException if the ledger is closed
   */
  public Block produceBlock() throws LedgerException {
    checkServing();
    // Counted from the start, not to a deadline: a timeout of "forever" would overflow one.
    long start = ticker.getAsLong();
    long budget = Deadlines.saturatedNanos(timeout);
    RaftClientReply reply = await(send(message(Entries.seal(clock.millis())), false),
        "sealing a block");
    long number = Entries.blockNumber(reply.getMessage().getContent().toByteArray());
    // Only what the seal left: each step waiting the whole timeout made the call wait twice it.
    long left = Math.max(0, budget - (ticker.getAsLong() - start));
    try {
      return await(machine.awaitBlock(number), "waiting for block " + number + " here",
          Duration.ofNanos(left));
    } catch (LedgerException e) {
      if (!(e.getCause() instanceof TimeoutException)) {
        throw e;
      }
      // A majority just sealed it: asking whether one is up would send the reader astray.
      throw new LedgerException("the group sealed block " + number + ", but this member had"
          + " not sealed it too within " + Deadlines.saturatedMillis(timeout) + " ms: its copy"
          + " is behind the group's (catching up, or slow to apply the log)", e.getCause());
    }
  }

  private void timedSeal() {
    if (closed.get() || !isLeader() || !sealInFlight.compareAndSet(false, true)) {
      return;
    }
    try {
      send(message(Entries.seal(clock.millis())), false)
          .whenComplete((reply, error) -> sealInFlight.set(false));
    } catch (RuntimeException | Error e) {
      // Closing, or the clock or client failed: the next tick (if any) tries again. Thrown on,
      // it would end the timer: the executor drops a periodic task that throws, silently.
      sealInFlight.set(false);
    }
  }

  /**
   * Sends {@code m} through the member's client. Ratis closes an ordered client whose request
   * ran out of retries (no majority for a while), and every later call through it fails
   * "SlidingWindow$Client ... is closed": such a client is replaced by a new one, so that the
   * member serves again once its group is back.
   */
  private CompletableFuture<RaftClientReply> send(Message m, boolean readOnly) {
    RaftClient used = client;
    CompletableFuture<RaftClientReply> f;
    try {
      f = readOnly ? used.async().sendReadOnly(m) : used.async().send(m);
    } catch (RuntimeException e) {
      renewIfGivenUp(used, e);
      throw e;
    }
    return f.whenComplete((reply, error) -> renewIfGivenUp(used,
        error != null ? error : reply != null && !reply.isSuccess() ? reply.getException() : null));
  }

  private void renewIfGivenUp(RaftClient used, Throwable error) {
    if (closed.get() || !givenUp(error)) {
      return;
    }
    synchronized (clientLock) {
      if (closed.get() || client != used) {
        return; // closing, or renewed already
      }
      client = newClient(group, parameters, timeout);
    }
    // Not on the caller's thread, which may be one of the old client's own.
    BLOCKING_CALLS.execute(() -> closeQuietly(used));
  }

  /** Whether {@code t} says Ratis gave the client up: out of retries, or closed since. */
  private static boolean givenUp(Throwable t) {
    return RatisExits.chain(t).stream().anyMatch(c -> c instanceof AlreadyClosedException
        || c instanceof RaftRetryFailureException);
  }

  private <T> T await(CompletableFuture<T> f, String what) throws LedgerException {
    return await(f, what, timeout);
  }

  static <T> T await(CompletableFuture<T> f, String what, Duration timeout)
      throws LedgerException {
    try {
      T value = f.get(Deadlines.saturatedMillis(timeout), TimeUnit.MILLISECONDS);
      if (value instanceof RaftClientReply r && !r.isSuccess()) {
        throw new LedgerException(what + " failed: " + r.getException(), r.getException());
      }
      return value;
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new LedgerException(what + " was interrupted", e);
    } catch (ExecutionException e) {
      Throwable cause = e.getCause();
      if (cause instanceof LedgerException l) {
        throw l;
      }
      throw new LedgerException(what + " failed: " + cause, cause);
    } catch (TimeoutException e) {
      throw new LedgerException(what + " took longer than " + Deadlines.saturatedMillis(timeout)
          + " ms: is a majority of the group up?", e);
    }
  }

  private static Message message(byte[] bytes) {
    return Message.valueOf(ByteString.copyFrom(bytes));
  }

  // ---------------------------------------------------------------------------------------
  // Events and lifecycle

  /**
   * {@inheritDoc}
   *
   * <p>Callbacks run on this member's event thread as it seals each block.
   */
  @Override
  public Subscription subscribe(LedgerListener listener) {
    Objects.requireNonNull(listener, "listener");
    checkOpen();
    Forwarder f = new Forwarder(listener);
    f.inner = machine.subscribe(f);
    return f;
  }

  /** Moves a replica's events onto the event thread, and stops them once closed. */
  private final class Forwarder implements LedgerListener, Subscription {
    private final LedgerListener listener;
    private volatile Runnable inner;
    private boolean active = true;

    Forwarder(LedgerListener listener) {
      this.listener = listener;
    }

    @Override
    public void onBlock(Block block, Metagraph after) {
      events.execute(() -> deliver(() -> listener.onBlock(block, after)));
    }

    @Override
    public void onEpoch(Epoch epoch, Metagraph after) {
      events.execute(() -> deliver(() -> listener.onEpoch(epoch, after)));
    }

    private synchronized void deliver(Runnable callback) {
      // Events queued before close still drain on the event thread: none reaches a listener.
      if (active && !closed.get()) {
        try {
          callback.run();
        } catch (RuntimeException ignored) {
          // Listeners must not throw; one that does must not stop the ledger.
        }
      }
    }

    @Override
    public synchronized void close() {
      active = false;
      Runnable stop = inner;
      if (stop != null) {
        stop.run();
      }
    }
  }

  private void checkOpen() {
    if (closed.get()) {
      throw new IllegalStateException("the ledger is closed");
    }
  }

  /** As {@link #checkOpen}, and throws why this member stopped if its copy failed. */
  private void checkServing() throws LedgerException {
    checkOpen();
    LedgerException stopped = machine.failure();
    if (stopped != null) {
      throw new LedgerException(stopped.getMessage(), stopped);
    }
  }

  /**
   * Leaves the group: stops sealing, closes the Raft server and client, and fails this member's
   * waiting futures (their transactions may still be sealed by the others). Idempotent.
   */
  @Override
  public void close() {
    if (!closed.compareAndSet(false, true)) {
      return;
    }
    if (sealing != null) {
      sealing.cancel(false);
      timer.shutdown();
    }
    submissions.close();
    RaftClient last;
    synchronized (clientLock) {
      last = client; // closed is set: no client replaces it from now on
    }
    // Closed outside the lock: the client's own threads, failing its calls, take the lock.
    closeQuietly(last);
    closeQuietly(server);
    machine.failWaiters(new LedgerException("this member closed before the transaction's block"
        + " was sealed here; the group may still seal it: check its nonce before resending"));
    machine.replica().close();
    events.shutdown();
  }

  /** E.g. {@code RaftLedger[a of a,b,c, block 120, 64 peers]}. */
  @Override
  public String toString() {
    List<String> ids = new ArrayList<>();
    group.getPeers().forEach(p -> ids.add(p.getId().toString()));
    String state;
    if (machine.failure() != null) {
      state = "stopped: its copy failed";
    } else {
      try {
        Metagraph m = machine.read(LocalLedger::metagraph);
        state = "block " + m.block().number() + ", " + m.size() + " peers";
      } catch (IllegalStateException e) {
        state = "closed"; // its copy closed with it (or while this read it)
      }
    }
    return "RaftLedger[" + self + " of " + String.join(",", ids) + ", " + state + "]";
  }

  /** Configures and opens a {@link RaftLedger} member. Not thread-safe. */
  public static final class Builder {
    private Genesis genesis;
    private IncentiveMechanism mechanism;
    private final Map<String, InetSocketAddress> members = new LinkedHashMap<>();
    private String self;
    private BlockPolicy policy = BlockPolicy.every(Duration.ofSeconds(1));
    private Clock clock = Clock.systemUTC();
    private Duration timeout = Duration.ofSeconds(10);
    private Duration electionTimeout = Duration.ofMillis(1000);
    private int maxPending = 100_000;
    private int snapshotEvery = 1000;
    private GrpcTlsConfig tls;
    private boolean keepBlocks;
    private boolean archiveKeptBlocks;
    /** The Raft log's segment size (0: Ratis' default); small in tests, so that logs purge. */
    long logSegmentBytes;
    /** Nanoseconds for {@link RaftLedger#produceBlock}'s timeout; a test's, to skip time. */
    LongSupplier ticker = System::nanoTime;

    private Builder() {}

    /**
     * The chain's genesis, the same on every member: needed to create a member's folder, not to
     * reopen it (the folder records it, as a {@link LocalLedger}'s journal does).
     */
    public Builder genesis(Genesis genesis) {
      this.genesis = Objects.requireNonNull(genesis, "genesis");
      return this;
    }

    /** The incentive mechanism (the same on every member); the paper's by default. */
    public Builder mechanism(IncentiveMechanism mechanism) {
      this.mechanism = Objects.requireNonNull(mechanism, "mechanism");
      return this;
    }

    /**
     * A member of the group and the address of its Raft port. Every member must list the same
     * members. Ids are 1 to 64 letters, digits, {@code _ . -}.
     *
     * @throws IllegalArgumentException for a bad or repeated id, an address without a port, or
     *     the address of another member
     */
    public Builder member(String id, InetSocketAddress raftAddress) {
      Objects.requireNonNull(id, "id");
      Objects.requireNonNull(raftAddress, "raftAddress");
      if (!MEMBER_ID.matcher(id).matches()) {
        throw new IllegalArgumentException("member id \"" + id + "\" must be 1 to 64 letters,"
            + " digits, '_', '.' or '-'");
      }
      if (raftAddress.getPort() == 0) {
        throw new IllegalArgumentException("member " + id + " needs a port (0 is not one the"
            + " others could reach)");
      }
      if (members.containsKey(id)) {
        throw new IllegalArgumentException("member " + id + " is listed twice");
      }
      // One server answers at an address: two members there would count it twice.
      String where = HostPorts.of(raftAddress);
      members.forEach((other, at) -> {
        if (HostPorts.of(at).equalsIgnoreCase(where)) {
          throw new IllegalArgumentException("members " + other + " and " + id + " are both at "
              + where + ": each member needs a Raft port of its own");
        }
      });
      members.put(id, raftAddress);
      return this;
    }

    /** Which of the members this process is. Required. */
    public Builder self(String id) {
      this.self = Objects.requireNonNull(id, "id");
      return this;
    }

    /**
     * When the leader seals blocks: every second by default; {@link BlockPolicy#manual()} for
     * {@link #produceBlock()} only. Give every member the same.
     */
    public Builder blocks(BlockPolicy policy) {
      this.policy = Objects.requireNonNull(policy, "policy");
      return this;
    }

    /** The clock the leader stamps blocks with (never earlier than the last block's). */
    public Builder clock(Clock clock) {
      this.clock = Objects.requireNonNull(clock, "clock");
      return this;
    }

    /** How long a call waits for the group (a leader) before failing; 10 seconds by default. */
    public Builder timeout(Duration timeout) {
      this.timeout = positive(timeout);
      return this;
    }

    /**
     * How long a follower waits without hearing from the leader before it stands for election
     * (a random time between this and twice this); 1 second by default. Lower detects a failed
     * leader sooner, on a network fast enough for it.
     */
    public Builder electionTimeout(Duration electionTimeout) {
      if (electionTimeout.toMillis() < 50) {
        throw new IllegalArgumentException("electionTimeout must be at least 50 ms, was "
            + electionTimeout);
      }
      this.electionTimeout = electionTimeout;
      return this;
    }

    /**
     * The most transactions that may wait for the next block, beyond which submissions are
     * rejected with {@link RejectReason#BUSY} (default 100,000). Give every member the same.
     */
    public Builder maxPendingTransactions(int max) {
      if (max < 1) {
        throw new IllegalArgumentException("max must be >= 1, was " + max);
      }
      this.maxPending = max;
      return this;
    }

    /**
     * Take a snapshot of the state every {@code blocks} blocks (1000 by default; 0 never): a
     * member then restarts from its latest snapshot instead of the first block, its Raft log is
     * dropped up to it, and a member too far behind is sent it by the leader. Give every member
     * the same.
     *
     * @throws IllegalArgumentException if {@code blocks < 0}
     */
    public Builder snapshotEvery(int blocks) {
      if (blocks < 0) {
        throw new IllegalArgumentException("snapshotEvery must be >= 0, was " + blocks);
      }
      this.snapshotEvery = blocks;
      return this;
    }

    /**
     * Keep this member's blocks on disk (off by default): its copy of the ledger is then a
     * {@link LocalLedger} in the folder's {@code ledger/} (a journal and snapshots), not one in
     * memory, so that {@link RaftLedger#readBlocks} reads its blocks back, a {@code
     * LedgerServer} in front of it catches up clients that fell behind from them, and {@code
     * ChainAudit} can check the chain through it. The Raft log still drops its entries at each
     * snapshot; the journal keeps every block, from the first this member sealed. A member
     * restarted goes on from its journal and skips the entries it has; one sent the leader's
     * snapshot keeps its blocks from that snapshot on (those before are no longer read back).
     * Switched on for a member that ran without it, it keeps blocks from its latest snapshot on.
     * Costs a write and an fsync of each block on each member that keeps them.
     */
    @Experimental
    public Builder keepBlocks(boolean keep) {
      this.keepBlocks = keep;
      return this;
    }

    /**
     * With {@link #keepBlocks}: compact the kept journal at each snapshot and keep each journal
     * it replaces in {@code ledger/archive} ({@link LocalLedger.Builder#archiveCompacted}), so
     * that the live journal stays a snapshot's worth of blocks long (a restart reads only it)
     * while {@link RaftLedger#readBlocks} still reads every block, through the archive. Off by
     * default.
     */
    @Experimental
    public Builder archiveKeptBlocks(boolean archive) {
      this.archiveKeptBlocks = archive;
      return this;
    }

    /**
     * Mutual TLS on the Raft port: this member shows {@code certificate} (PEM, with its private
     * key in {@code privateKey}, PEM PKCS#8) and accepts only peers whose certificates chain to
     * {@code trustedCertificates} (PEM, the group's own authority). Without it the Raft port is
     * plain and takes entries from anyone who reaches it. Give every member a certificate of the
     * same authority, naming the host or address the others reach it at.
     *
     * @throws IllegalArgumentException if a file does not exist
     */
    public Builder tls(Path privateKey, Path certificate, Path trustedCertificates) {
      this.tls = tlsConfig(privateKey, certificate, trustedCertificates);
      return this;
    }

    /**
     * Opens this member: its genesis and Raft log live in {@code dir} (created if absent), and it
     * joins the group. It can answer once a majority of the members is up.
     *
     * @throws IllegalStateException if the members or self are missing, self is not a member,
     *     or kept blocks are to be archived but not kept
     * @throws LedgerException if {@code dir} holds another chain, or holds none and no genesis
     *     was given
     * @throws IOException if the directory or the Raft port cannot be used
     */
    public RaftLedger open(Path dir) throws IOException {
      Objects.requireNonNull(dir, "dir");
      if (members.isEmpty()) {
        throw new IllegalStateException("a raft ledger needs its members: call member(...)");
      }
      if (self == null) {
        throw new IllegalStateException("say which member this is: call self(...)");
      }
      if (!members.containsKey(self)) {
        throw new IllegalStateException("self \"" + self + "\" is not among the members "
            + members.keySet());
      }
      if (archiveKeptBlocks && !keepBlocks) {
        throw new IllegalStateException("archiveKeptBlocks archives the blocks a member keeps:"
            + " call keepBlocks(true) too");
      }
      return new RaftLedger(this, dir);
    }
  }
}
