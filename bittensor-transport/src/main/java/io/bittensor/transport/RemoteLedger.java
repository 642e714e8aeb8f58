package io.bittensor.transport;

import com.github.benmanes.caffeine.cache.Cache;
import com.github.benmanes.caffeine.cache.Caffeine;
import com.google.protobuf.ByteString;
import com.google.protobuf.InvalidProtocolBufferException;
import com.google.protobuf.MessageLite;
import io.bittensor.core.Account;
import io.bittensor.core.Block;
import io.bittensor.core.BlockBody;
import io.bittensor.core.BlockHistory;
import io.bittensor.core.BlockRecord;
import io.bittensor.core.Experimental;
import io.bittensor.core.Hash256;
import io.bittensor.core.Keypair;
import io.bittensor.core.Ledger;
import io.bittensor.core.LedgerException;
import io.bittensor.core.LedgerListener;
import io.bittensor.core.Metagraph;
import io.bittensor.core.PeerId;
import io.bittensor.core.PeerInfo;
import io.bittensor.core.Receipt;
import io.bittensor.core.RejectReason;
import io.bittensor.core.SignedTransaction;
import io.bittensor.core.Status;
import io.bittensor.core.TransactionRejectedException;
import io.bittensor.core.internal.Backoff;
import io.bittensor.core.internal.Deadlines;
import io.bittensor.core.internal.ledger.BlockCodec;
import io.bittensor.incentive.IncentiveMechanism;
import io.bittensor.transport.internal.Args;
import io.bittensor.transport.internal.BlockingCalls;
import io.bittensor.transport.internal.CallerSigner;
import io.bittensor.transport.internal.CanonicalDigest;
import io.bittensor.transport.internal.HttpPeerHandler;
import io.bittensor.transport.internal.LedgerWire;
import io.bittensor.transport.internal.MetagraphDeltas;
import io.bittensor.transport.internal.NoDelaySocketFactory;
import io.bittensor.transport.internal.ReloadableIdentity;
import io.bittensor.transport.internal.ReloadableTrust;
import io.bittensor.transport.internal.Tls;
import io.bittensor.transport.internal.wire.AccountRequest;
import io.bittensor.transport.internal.wire.BlockEvent;
import io.bittensor.transport.internal.wire.BlocksRequest;
import io.bittensor.transport.internal.wire.EventsRequest;
import io.bittensor.transport.internal.wire.GenesisRequest;
import io.bittensor.transport.internal.wire.LedgerEvent;
import io.bittensor.transport.internal.wire.LedgerRequest;
import io.bittensor.transport.internal.wire.LedgerResponse;
import io.bittensor.transport.internal.wire.MetagraphRequest;
import io.bittensor.transport.internal.wire.SubmitAllRequest;
import io.bittensor.transport.internal.wire.SubmitRequest;
import io.bittensor.transport.internal.wire.SubmitResult;
import io.bittensor.transport.internal.wire.TransactionFailed;
import java.io.IOException;
import java.io.InputStream;
import java.net.URI;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collection;
import java.util.Collections;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.ThreadFactory;
import java.util.concurrent.ThreadPoolExecutor;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.Predicate;
import javax.net.ssl.KeyManager;
import okhttp3.Call;
import okhttp3.ConnectionPool;
import okhttp3.HttpUrl;
import okhttp3.MediaType;
import okhttp3.OkHttpClient;
import okhttp3.Protocol;
import okhttp3.Request;
import okhttp3.RequestBody;
import okhttp3.Response;
import okhttp3.ResponseBody;

/**
 * A {@link Ledger} served by a {@link LedgerServer} elsewhere: every operation goes over HTTP/2
 * (cleartext, prior knowledge) as signed protobuf requests, and one long-lived event stream
 * brings every block and epoch, in order, to this client's listeners and its metagraph cache.
 *
 * <pre>{@code
 * Keypair me = Keypair.load(Path.of("peer.key"));
 * try (RemoteLedger ledger = RemoteLedger.connect(URI.create("http://10.0.0.2:8092"))) {
 *   Receipt r = ledger.submit(me, Transaction.addStake(500)).join();   // once durable there
 *   Metagraph m = ledger.metagraph();          // from the cache, kept fresh by block events
 *   ledger.subscribe(new LedgerListener() {
 *     public void onEpoch(Epoch e, Metagraph after) { ... }
 *   });
 * }
 * }</pre>
 *
 * <p><b>Submitting.</b> {@link #submit(SignedTransaction)} blocks for one round trip while the
 * server validates: a rejection completes the future at once with a {@link
 * TransactionRejectedException} carrying the server's {@link RejectReason} and message. An
 * accepted transaction's future completes with its {@link Receipt} when the event of its
 * durable block arrives. If the stream is lost for longer than {@link
 * Builder#reconnectTimeout(Duration)}, or the server no longer holds the blocks missed, waiting
 * futures fail with a {@link LedgerException}: the transaction may or may not be in the ledger
 * (check the signer's nonce before resending).
 *
 * <p><b>Events.</b> The stream reconnects by itself (backing off up to 2 s), resuming at the
 * block after the last one heard, so listeners miss nothing while the server keeps those blocks
 * (its {@link LedgerServer.Builder#history(int) history}, or its ledger's journal: a server
 * restarted over the same journal sends them too). A client that reads so slowly (a slow
 * listener) that the server's history moves past it resumes the same way, and one far behind
 * hears the journal page by page (each up to the server's {@link
 * LedgerServer.Builder#historyBytes(long) historyBytes}); a client with no listener and no
 * transaction waiting skips to the latest state instead. Listeners run on this
 * client's event thread ({@code bittensor-ledger-events}), one at a time, in block order;
 * {@code onEpoch} before {@code onBlock} for the same block. Keep them fast; an exception is
 * caught and dropped. Futures of {@code submit} complete on another thread, so a callback may
 * wait on them.
 *
 * <p><b>Metagraph cache.</b> Each block event carries what the block changed in the metagraph
 * (or says it changed nothing), which the client applies to the one before; the client keeps the
 * last few in a Caffeine cache by block number. {@link
 * #metagraph()} answers from it while the stream is connected, and asks the server otherwise.
 *
 * <p>Thread-safe. {@link #close()} is idempotent; it ends the stream, fails waiting futures and
 * frees the connections; afterwards reads and submissions throw {@link IllegalStateException}.
 */
public final class RemoteLedger implements Ledger, BlockHistory {
  private static final MediaType PROTOBUF = MediaType.get(HttpPeerHandler.PROTOBUF);
  /** The most transactions, and about the most bytes, in one {@code submit-all} request. */
  static final int SUBMIT_ALL_COUNT = 1024;
  static final int SUBMIT_ALL_BYTES = 4 << 20;

  /** The servers this client may use, in order; it talks to one at a time. */
  private final List<URI> servers;
  private volatile int serverIndex;
  private volatile URI uri;
  /** Each server's address, parsed once: requests name the server they go to. */
  private final Map<URI, HttpUrl> urls;
  private final OkHttpClient http;
  private final OkHttpClient streamHttp;
  private final OkHttpClient https;
  /** The certificate shown to servers that ask for one, or null. */
  private final ReloadableIdentity identity;
  /** The certificates trusted in place of the JDK's authorities, or null. */
  private final ReloadableTrust trust;
  private final OkHttpClient streamHttps;
  private final ExecutorService completions;
  private final CallerSigner signer;
  private final Duration timeout;
  private final long reconnectTimeoutNanos;
  private final Cache<Long, Metagraph> cache;
  private final Map<Hash256, CompletableFuture<Receipt>> pending = new ConcurrentHashMap<>();
  /**
   * The waiting transactions the server has acknowledged: a resumed stream names them, so that
   * a server that no longer knows one says so instead of leaving its future waiting. Pruned to
   * {@code pending} whenever a stream opens.
   */
  private final Set<Hash256> acknowledged = ConcurrentHashMap.newKeySet();
  private final List<Sub> listeners = new CopyOnWriteArrayList<>();
  private final Object blockLock = new Object();
  private final Thread follower;
  private volatile Hash256 chainId;
  /**
   * Whether this client asks to run epochs itself ({@code replay_epochs}), in the stream and in
   * pages of blocks read back: until a replay fails, after which it is sent what epochs change
   * (the stream from its next connection on).
   */
  private volatile boolean replayEpochs;
  /** The chain's mechanism, to replay epochs with: given, or read from the genesis block. */
  private volatile IncentiveMechanism epochMechanism;
  /** Epochs run here. */
  private final AtomicLong epochsReplayed = new AtomicLong();
  private volatile Metagraph current;
  private volatile long lastBlock = -1;
  private volatile boolean connected;
  private volatile boolean closed;
  /**
   * The servers that refused the submit-all path (older ones): to them transactions go one at a
   * time; to the others, of a group being upgraded, still many in a request.
   */
  private final Set<URI> submitAllRefusedBy = ConcurrentHashMap.newKeySet();
  /** The event stream's call and the server it went to, or null before the first. */
  private volatile StreamCall streamCall;

  private record StreamCall(Call call, URI server) {}
  /** What ended the event thread, if an Error did (a listener's): no stream follows then. */
  private volatile Error eventThreadFailure;
  /** The stream {@link #start()} opened, for the event thread to go on reading. */
  private volatile FirstStream firstStream;

  /** The first stream, and the server it is open at (which a move may have left already). */
  private record FirstStream(InputStream in, URI server) {}
  /**
   * The last block heard when a resync last made the stream resume (-1: never): a resync with no
   * block heard since is taken as it comes. Event thread only.
   */
  private long resumedAfterResync = -1;

  private RemoteLedger(Builder b, List<URI> servers) {
    this.servers = List.copyOf(servers);
    this.uri = servers.get(0);
    Map<URI, HttpUrl> parsed = new java.util.HashMap<>();
    for (URI server : this.servers) {
      parsed.put(server, HttpUrl.get(server.toString()));
    }
    this.urls = Map.copyOf(parsed);
    this.signer = new CallerSigner(b.keypair != null ? b.keypair : Keypair.generate(), b.clock);
    this.timeout = b.timeout;
    this.reconnectTimeoutNanos = Deadlines.saturatedNanos(b.reconnectTimeout);
    this.replayEpochs = b.replayEpochs;
    this.epochMechanism = b.epochMechanism;
    this.cache = Caffeine.newBuilder()
        .maximumSize(b.cachedMetagraphs)
        .executor(Runnable::run) // maintenance on the calling thread: no background threads
        .build();
    this.completions = new ThreadPoolExecutor(0, 1, 30, TimeUnit.SECONDS,
        new LinkedBlockingQueue<>(), r -> daemon(r, "bittensor-ledger-completions"));
    this.http = new OkHttpClient.Builder()
        .protocols(b.protocol == HttpProtocol.H2_PRIOR_KNOWLEDGE
            ? List.of(Protocol.H2_PRIOR_KNOWLEDGE) : List.of(Protocol.HTTP_1_1))
        .connectionPool(new ConnectionPool(4, 5, TimeUnit.MINUTES))
        .socketFactory(new NoDelaySocketFactory())
        .connectTimeout(Args.forOkHttp(b.connectTimeout))
        .readTimeout(Duration.ZERO)
        .writeTimeout(Duration.ZERO)
        .callTimeout(Args.forOkHttp(b.timeout))
        .build();
    // The stream's reads time out when not even a heartbeat came: the connection is dead.
    this.streamHttp = http.newBuilder().callTimeout(Duration.ZERO)
        .readTimeout(Args.forOkHttp(b.streamTimeout)).build();
    // For https servers: the same, over TLS, with ALPN naming the protocol.
    // Each client its own, so that a reload of one leaves the builder's other clients alone.
    this.identity = b.clientCertificate == null ? null : b.clientCertificate.copy();
    this.trust = b.trust == null ? null : b.trust.copy();
    this.https = Tls.okHttp(http, b.protocol == HttpProtocol.H2_PRIOR_KNOWLEDGE, trust,
        identity == null ? null : new KeyManager[] {identity});
    this.streamHttps = https.newBuilder().callTimeout(Duration.ZERO)
        .readTimeout(Args.forOkHttp(b.streamTimeout)).build();
    this.follower = b.eventThreads != null ? b.eventThreads.newThread(this::follow)
        : daemon(this::follow, "bittensor-ledger-events");
  }

  private static Thread daemon(Runnable r, String name) {
    Thread t = new Thread(r, name);
    t.setDaemon(true);
    return t;
  }

  /**
   * Connects to the ledger server at {@code uri} with the defaults (an ephemeral key signs the
   * requests).
   *
   * @param uri {@code http://host:port} or {@code https://host:port}, as {@link
   *     LedgerServer#uri()} gives; without a port, 80 or 443
   * @throws LedgerException if the server cannot be reached or refuses the client, naming the
   *     address and the cause
   * @throws IllegalArgumentException if {@code uri} is not {@code http} or {@code https} with a
   *     host
   */
  public static RemoteLedger connect(URI uri) throws LedgerException {
    return builder().connect(uri);
  }

  /** A builder with the defaults: HTTP/2, an ephemeral key, 10 s per request. */
  public static Builder builder() {
    return new Builder();
  }

  /**
   * Connects to whichever of {@code servers} answers first, in order, and moves to the next when
   * the one in use cannot be reached: for the members of a replicated ledger, each serving it
   * through a {@link LedgerServer}. A transaction waiting for its block at the server the client
   * leaves fails, saying it may or may not be in the ledger (its receipt would come from the
   * server that took it); one sent to the next server waits for its block there.
   *
   * @param servers {@code http(s)://host:port} each (without a port, 80 or 443), at least one,
   *     all serving the same chain
   * @throws LedgerException if none can be reached, naming each and its cause (each server's
   *     own failure, with its cause, suppressed in it)
   * @throws IllegalArgumentException if {@code servers} is empty or one is not {@code http} or
   *     {@code https} with a host
   */
  public static RemoteLedger connect(List<URI> servers) throws LedgerException {
    return builder().connect(servers);
  }

  /** The address of the server in use now. */
  public URI uri() {
    return uri;
  }

  /** Every server this client may use, in the order given. */
  public List<URI> servers() {
    return servers;
  }

  /**
   * Moves to the next server (if there is more than one), from {@code from}: the requests and the
   * stream that failed there go on at the next. Transactions waiting at a server left behind
   * fail (their receipts would come from the server that took them).
   */
  private synchronized void moveOn(URI from) {
    if (servers.size() < 2 || !uri.equals(from)) {
      return; // one server only, or another thread moved on already
    }
    serverIndex = (serverIndex + 1) % servers.size();
    uri = servers.get(serverIndex);
    StreamCall stream = streamCall;
    if (stream != null && stream.server().equals(from)) {
      stream.call().cancel(); // the stream reconnects to the new server
    }
    // What a server left behind took fails; what that server answered for waits there, which
    // was left; a request still out is settled by its sender, which sees this move (see waitAt):
    // refused at connect, it goes to the new server.
    URI now = uri;
    failPending(moved(from, now), f -> !(f instanceof Waiting w)
        || (w.answeredBy != null && !w.answeredBy.equals(now)));
  }

  private static String moved(URI from, URI to) {
    return "the client moved from " + from + " to " + to + ", which cannot tell it the"
        + " transaction's block";
  }

  /**
   * The server that answered the request carrying {@code sent}: each that still waits waits for
   * its block there, and fails now if the client moved on from it while the request was out.
   */
  private synchronized void waitAt(URI server, List<Waiting> sent) {
    for (Waiting w : sent) {
      w.answeredBy = server;
      URI now = uri;
      if (!server.equals(now) && pending.remove(w.hash, w)) {
        settle(() -> fail(w, moved(server, now)));
      }
    }
  }

  /** The key that signs this client's requests (not its transactions). */
  public PeerId caller() {
    return signer.keypair().id();
  }

  /** True while the event stream is up. */
  public boolean isConnected() {
    return connected;
  }

  /** The number of the latest block this client has heard of (and told its listeners of). */
  public long latestBlock() {
    return lastBlock;
  }

  /**
   * Waits until this client has heard of block {@code number} and its listeners have run.
   *
   * @return true when it has, false if {@code timeout} passed first or the client closed
   * @throws InterruptedException if the waiting thread is interrupted
   */
  public boolean awaitBlock(long number, Duration timeout) throws InterruptedException {
    // May wrap past Long.MAX_VALUE: `left`, a difference, does not.
    long deadline = System.nanoTime() + Deadlines.saturatedNanos(timeout);
    synchronized (blockLock) {
      while (lastBlock < number && !closed) {
        long left = deadline - System.nanoTime();
        if (left <= 0) {
          return false;
        }
        TimeUnit.NANOSECONDS.timedWait(blockLock, left);
      }
      return lastBlock >= number;
    }
  }

  /**
   * The metagraph at block {@code number} if this client still caches it (the last few blocks
   * it heard of), without asking the server.
   */
  public Optional<Metagraph> cachedMetagraph(long number) {
    return Optional.ofNullable(cache.getIfPresent(number));
  }

  @Override
  public Hash256 chainId() {
    return chainId;
  }

  /**
   * The latest block's metagraph: from the cache while the event stream is connected (as of the
   * latest block heard of), else from the server.
   *
   * @throws LedgerException if the server cannot be reached or answers badly
   * @throws IllegalStateException if this client is closed
   */
  @Override
  public Metagraph metagraph() throws LedgerException {
    ensureOpen();
    if (connected) {
      // The newest metagraph the stream brought: from the moment its block's listeners are
      // told, so that one reading it while it hears the block reads that block's (the last
      // block heard moves on only once they all have).
      return current;
    }
    LedgerResponse r = call("metagraph", MetagraphRequest.getDefaultInstance());
    if (!r.hasMetagraph()) {
      throw new LedgerException(uri + " answered a metagraph request without a metagraph");
    }
    try {
      return LedgerWire.fromWire(r.getMetagraph());
    } catch (IllegalArgumentException e) {
      throw new LedgerException(uri + " sent a bad metagraph: " + e.getMessage(), e);
    }
  }

  /**
   * {@inheritDoc} Always asks the server.
   *
   * @throws LedgerException if the server cannot be reached or answers badly
   * @throws IllegalStateException if this client is closed
   */
  @Override
  public Optional<Account> account(PeerId id) throws LedgerException {
    Objects.requireNonNull(id, "id");
    ensureOpen();
    LedgerResponse r = call("account", AccountRequest.newBuilder()
        .setId(ByteString.copyFrom(id.toBytes())).build());
    try {
      return r.hasAccount() ? Optional.of(LedgerWire.fromWire(r.getAccount())) : Optional.empty();
    } catch (IllegalArgumentException e) {
      throw new LedgerException(uri + " sent a bad account: " + e.getMessage(), e);
    }
  }

  /**
   * Reads sealed blocks back from the server's ledger, in order, as {@link
   * io.bittensor.core.LocalLedger#readBlocks} gives them there: each with its transactions, the
   * epoch that ran after it and the metagraph after it. The server reads them from its ledger's
   * journal (and the archive of compacted ones) and sends them a page at a time (up to 1024
   * blocks or 4 MiB); this client checks that each block follows the one before. For indexers
   * and explorers on other machines.
   *
   * @param from the first block wanted, {@code >= 1}
   * @param to the last block wanted; blocks past the latest durable one are not read
   * @param visitor takes each block in turn, on the calling thread; false stops the read
   * @return the number of the last block the visitor took, or {@code from - 1} if none
   * @throws LedgerException if the server cannot read them (its ledger keeps no journal, or a
   *     compaction dropped them unarchived), cannot be reached, or sends a block that does not
   *     follow
   * @throws IllegalArgumentException if {@code from < 1}
   * @throws IllegalStateException if this client is closed
   */
  @Experimental
  @Override
  public long readBlocks(long from, long to, Predicate<BlockRecord> visitor)
      throws LedgerException {
    BlockHistory.checkArguments(from, visitor);
    ensureOpen();
    Metagraph[] previous = {null};
    // Epochs are run here, as the stream's are, until a replay fails: then that record and
    // the rest are asked for again with what their epochs changed, and so is every later read.
    boolean[] replay = {replayEpochs};
    return pages(from, to, false, replay, (next, w) -> {
      Block block = follows(w, next, previous[0] == null ? null : previous[0].block().hash());
      BlockRecord record;
      try {
        Metagraph after;
        if (w.hasMetagraph()) {
          after = LedgerWire.fromWire(w.getMetagraph());
        } else if (previous[0] != null) { // a delta is from the record before, of this page
          if (!w.hasDelta()) {
            after = LedgerWire.atBlock(previous[0], block);
          } else if (w.getDelta().getReplayedEpochDigest().isEmpty()) {
            after = MetagraphDeltas.apply(previous[0], w.getDelta(), block);
          } else {
            try {
              after = MetagraphDeltas.apply(previous[0], w.getDelta(), block, epochMechanism());
              epochsReplayed.incrementAndGet();
            } catch (IllegalStateException e) {
              replay[0] = false;
              replayEpochs = false; // and the stream, from its next connection on
              return Then.ASK_AGAIN;
            }
          }
        } else {
          throw new LedgerException(uri + " sent block " + next + " without its metagraph");
        }
        record = new BlockRecord(block, transactions(w), w.hasEpoch()
            ? Optional.of(LedgerWire.fromWire(w.getEpoch())) : Optional.empty(), after);
      } catch (IllegalArgumentException e) {
        throw new LedgerException(uri + " sent a bad block " + next + ": " + e.getMessage(), e);
      }
      previous[0] = record.after();
      return Then.of(visitor.test(record));
    });
  }

  /**
   * {@inheritDoc}
   *
   * <p>Asked of the server a page at a time (it reads them from its journal without replaying
   * it), each block checked to follow the one before.
   */
  @Experimental
  @Override
  public long readBlockBodies(long from, long to, Predicate<BlockBody> visitor)
      throws LedgerException {
    BlockHistory.checkArguments(from, visitor);
    ensureOpen();
    Hash256[] parent = {null};
    return pages(from, to, true, new boolean[] {false}, (next, w) -> {
      Block block = follows(w, next, parent[0]);
      BlockBody body;
      try {
        body = new BlockBody(block, transactions(w));
      } catch (IllegalArgumentException e) {
        throw new LedgerException(uri + " sent a bad block " + next + ": " + e.getMessage(), e);
      }
      parent[0] = block.hash();
      return Then.of(visitor.test(body));
    });
  }

  /** What a {@link PageVisitor} wants after a block. */
  private enum Then {
    /** The next block. */
    MORE,
    /** No more: the read ends. */
    STOP,
    /** This block again, in a page asked for anew (its epoch's replay failed). */
    ASK_AGAIN;

    static Then of(boolean more) {
      return more ? MORE : STOP;
    }
  }

  /** Takes one block of a page: the number it must have. */
  private interface PageVisitor {
    Then take(long next, io.bittensor.transport.internal.wire.BlockRecord w)
        throws LedgerException;
  }

  /**
   * Asks the server for blocks {@code from} to {@code to} a page at a time, handing each to
   * {@code visitor} until it stops.
   *
   * @return the number of the last block the visitor took, or {@code from - 1} if none
   */
  private long pages(long from, long to, boolean bodiesOnly, boolean[] replay,
      PageVisitor visitor) throws LedgerException {
    long next = from;
    pages:
    while (next <= to) {
      LedgerResponse r = call("blocks", BlocksRequest.newBuilder().setFromBlock(next)
          .setToBlock(to).setBodiesOnly(bodiesOnly).setDeltas(true).setReplayEpochs(replay[0])
          .build());
      if (r.getBlocksCount() == 0) {
        break; // past the latest block
      }
      for (var w : r.getBlocksList()) {
        Then then = visitor.take(next, w);
        if (then == Then.ASK_AGAIN) {
          continue pages;
        }
        if (then == Then.STOP) {
          return next;
        }
        next++;
      }
    }
    return next - 1;
  }

  /** A block sent as block {@code next}, checked to be it and to follow {@code parent}. */
  private Block follows(io.bittensor.transport.internal.wire.BlockRecord w, long next,
      Hash256 parent) throws LedgerException {
    Block block;
    try {
      block = LedgerWire.fromWire(w.getBlock());
    } catch (IllegalArgumentException e) {
      throw new LedgerException(uri + " sent a bad block " + next + ": " + e.getMessage(), e);
    }
    if (block.number() != next || (parent != null && !block.parent().equals(parent))) {
      throw new LedgerException(uri + " sent block " + block.number() + " with parent "
          + block.parent().toShortHex() + " where block " + next + " was due"
          + (parent == null ? "" : ", after " + parent.toShortHex()));
    }
    return block;
  }

  /** A sent block's transactions, decoded. */
  private static List<SignedTransaction> transactions(
      io.bittensor.transport.internal.wire.BlockRecord w) {
    List<SignedTransaction> txs = new ArrayList<>(w.getTransactionsCount());
    for (ByteString tx : w.getTransactionsList()) {
      txs.add(SignedTransaction.decode(tx.toByteArray()));
    }
    return txs;
  }

  /**
   * {@inheritDoc}
   *
   * <p>Asked of the server, and checked against the chain this client follows.
   *
   * @throws LedgerException also if the server cannot be reached, or sends another chain's
   */
  @Experimental
  @Override
  public byte[] genesisBlock() throws LedgerException {
    ensureOpen();
    byte[] genesis = call("genesis", GenesisRequest.getDefaultInstance()).getGenesisBlock()
        .toByteArray();
    Hash256 chain = chainId();
    if (!Hash256.of(genesis).equals(chain)) {
      throw new LedgerException(uri + " sent a genesis block of chain " + Hash256.of(genesis)
          + ", not of chain " + chain + " that it serves");
    }
    return genesis;
  }

  /**
   * {@inheritDoc} Blocks for one round trip while the server validates the transaction.
   *
   * @return fails with a {@link LedgerException} also when the server cannot be reached (the
   *     transaction may have arrived: check its nonce), or the stream was lost for too long
   * @throws IllegalStateException if this client is closed
   */
  @Override
  public CompletableFuture<Receipt> submit(SignedTransaction transaction) {
    Objects.requireNonNull(transaction, "transaction");
    ensureOpen();
    Hash256 hash = transaction.hash();
    Waiting f = new Waiting(hash);
    // Waiting before the request goes out: the block's event may come before the answer.
    boolean tracked = pending.putIfAbsent(hash, f) == null;
    Answer a;
    try {
      a = answer("submit", SubmitRequest.newBuilder()
          .setTransaction(ByteString.copyFrom(transaction.encode())).build());
      if (a.response().getStatus() != Status.SUCCESS.code()) {
        throw refused(a.response());
      }
    } catch (LedgerException e) {
      untrack(tracked, hash, f);
      f.completeExceptionally(new LedgerException(e.getMessage()
          + "; transaction " + hash.toShortHex() + " may or may not have arrived: check nonce "
          + transaction.nonce() + " of " + transaction.signer().toHex(), e.getCause()));
      return f;
    }
    LedgerResponse r = a.response();
    answered(hash, tracked, f, r.getRejectReason(), r.getMessage(),
        r.hasReceipt() ? r.getReceipt() : null);
    waitAt(a.server(), List.of(f));
    return f;
  }

  /**
   * Settles {@code f} as the server answered of its transaction: refused, or sealed already, or
   * accepted and waiting for its block (told on the event stream).
   *
   * @param receipt the receipt in the answer, or null
   */
  private void answered(Hash256 hash, boolean tracked, CompletableFuture<Receipt> f,
      int rejectReason, String message, io.bittensor.transport.internal.wire.Receipt receipt) {
    if (rejectReason != 0) {
      untrack(tracked, hash, f);
      f.completeExceptionally(rejection(rejectReason, message));
    } else if (receipt != null) {
      untrack(tracked, hash, f);
      f.complete(LedgerWire.fromWire(receipt));
    } else if (!tracked) {
      f.completeExceptionally(new LedgerException("transaction " + hash.toShortHex()
          + " is already waiting for its block through this client; use that future"));
    } else {
      acknowledged.add(hash);
    }
    if (closed) {
      fail(f, "the remote ledger client closed before the transaction's block was durable");
    }
    Error failure = eventThreadFailure;
    if (failure != null && pending.remove(hash, f)) {
      // No stream will bring its block: the thread that followed it failed.
      fail(f, "the client's event thread failed: " + failure);
    }
  }

  /**
   * {@inheritDoc} Sent in requests of up to {@value #SUBMIT_ALL_COUNT} transactions or about
   * {@value #SUBMIT_ALL_BYTES} bytes, each blocking for one round trip while the server validates
   * them; to a server that does not take many in one request (an older one), one at a time.
   *
   * @return as {@link #submit(SignedTransaction)}'s, one per transaction, in order
   * @throws IllegalStateException if this client is closed
   */
  @Override
  @Experimental
  public List<CompletableFuture<Receipt>> submitAll(List<SignedTransaction> transactions) {
    Objects.requireNonNull(transactions, "transactions");
    ensureOpen();
    List<CompletableFuture<Receipt>> futures = new ArrayList<>(transactions.size());
    int next = 0;
    while (next < transactions.size()) {
      if (submitAllRefusedBy.contains(uri)) {
        for (SignedTransaction tx : transactions.subList(next, transactions.size())) {
          futures.add(submit(tx));
        }
        break;
      }
      List<SignedTransaction> chunk = new ArrayList<>();
      List<ByteString> encoded = new ArrayList<>();
      long bytes = 0;
      while (next < transactions.size() && chunk.size() < SUBMIT_ALL_COUNT) {
        SignedTransaction tx = Objects.requireNonNull(transactions.get(next), "transaction");
        ByteString e = ByteString.copyFrom(tx.encode());
        if (!chunk.isEmpty() && bytes + e.size() > SUBMIT_ALL_BYTES) {
          break;
        }
        chunk.add(tx);
        encoded.add(e);
        bytes += e.size();
        next++;
      }
      futures.addAll(submitChunk(chunk, encoded));
    }
    return futures;
  }

  /** One {@code submit-all} request: each transaction's future as {@link #submit} makes it. */
  private List<CompletableFuture<Receipt>> submitChunk(List<SignedTransaction> chunk,
      List<ByteString> encoded) {
    List<Waiting> futures = new ArrayList<>(chunk.size());
    boolean[] tracked = new boolean[chunk.size()];
    for (int i = 0; i < chunk.size(); i++) {
      Waiting f = new Waiting(chunk.get(i).hash());
      // Waiting before the request goes out: a block's event may come before the answer.
      tracked[i] = pending.putIfAbsent(chunk.get(i).hash(), f) == null;
      futures.add(f);
    }
    LedgerResponse r;
    URI server;
    try {
      Answer a = answer("submit-all", SubmitAllRequest.newBuilder().addAllTransactions(encoded)
          .build());
      r = a.response();
      server = a.server();
    } catch (LedgerException e) {
      for (int i = 0; i < chunk.size(); i++) {
        SignedTransaction tx = chunk.get(i);
        untrack(tracked[i], tx.hash(), futures.get(i));
        futures.get(i).completeExceptionally(new LedgerException(e.getMessage()
            + "; transaction " + tx.hash().toShortHex() + " may or may not have arrived: check"
            + " nonce " + tx.nonce() + " of " + tx.signer().toHex(), e.getCause()));
      }
      return Collections.unmodifiableList(futures);
    }
    if (r.getStatus() == Status.BAD_REQUEST.code() && r.getField().equals("path")) {
      // A server that predates submit-all refused the path, and with it every transaction.
      submitAllRefusedBy.add(server);
      for (int i = 0; i < chunk.size(); i++) {
        untrack(tracked[i], chunk.get(i).hash(), futures.get(i));
      }
      List<CompletableFuture<Receipt>> oneByOne = new ArrayList<>(chunk.size());
      for (SignedTransaction tx : chunk) {
        oneByOne.add(submit(tx));
      }
      return oneByOne;
    }
    String wrong = r.getStatus() != Status.SUCCESS.code() ? refused(r).getMessage()
        : r.getResultsCount() != chunk.size() ? uri + " answered " + r.getResultsCount()
            + " results for " + chunk.size() + " transactions" : null;
    for (int i = 0; i < chunk.size(); i++) {
      Hash256 hash = chunk.get(i).hash();
      CompletableFuture<Receipt> f = futures.get(i);
      if (wrong != null) {
        untrack(tracked[i], hash, f);
        fail(f, wrong);
        continue;
      }
      SubmitResult result = r.getResults(i);
      if (result.getStatus() != Status.SUCCESS.code()) {
        untrack(tracked[i], hash, f);
        fail(f, "the ledger at " + uri + " failed transaction " + hash.toShortHex() + ": "
            + result.getMessage());
      } else {
        answered(hash, tracked[i], f, result.getRejectReason(), result.getMessage(),
            result.hasReceipt() ? result.getReceipt() : null);
      }
    }
    waitAt(server, futures);
    return Collections.unmodifiableList(futures);
  }

  private void untrack(boolean tracked, Hash256 hash, CompletableFuture<Receipt> f) {
    if (tracked) {
      pending.remove(hash, f);
    }
  }

  private LedgerException rejection(int code, String message) {
    return RejectReason.ofCode(code)
        .<LedgerException>map(reason -> new TransactionRejectedException(reason, message))
        .orElseGet(() -> new LedgerException(uri + " rejected the transaction with reason code "
            + Integer.toUnsignedString(code) + ", unknown to this client: " + message));
  }

  @Override
  public Subscription subscribe(LedgerListener listener) {
    Objects.requireNonNull(listener, "listener");
    ensureOpen();
    Sub s = new Sub(listener);
    listeners.add(s);
    return s;
  }

  /**
   * Shows the certificate chain in {@code certificateChain} with its key in {@code privateKey}
   * (PEM, as {@link Builder#clientCertificate}) from now on, without a restart: connections
   * made from now on show the new certificate, those open keep theirs. For client certificates
   * that are renewed while the client runs.
   *
   * @throws IllegalArgumentException if a file cannot be read or holds no key or certificate of
   *     a form {@link Builder#clientCertificate} takes, or the two do not match; the client goes
   *     on showing the certificate it had
   * @throws IllegalStateException if this client was built without {@link
   *     Builder#clientCertificate}
   */
  @Experimental
  public void reloadClientCertificate(Path privateKey, Path certificateChain) {
    ReloadableIdentity.reloadClient(identity, privateKey, certificateChain);
  }

  /**
   * Trusts the certificates in {@code pem} (PEM, as {@link Builder#trustedCertificates}) from
   * now on, in place of those it trusted, without a restart: connections made from now on check
   * the servers' certificates against them, those open stay. For a ledger server's authority
   * that is renewed or replaced while the client runs.
   *
   * @throws IllegalArgumentException if the file cannot be read or holds no certificate; the
   *     client goes on trusting what it trusted
   * @throws IllegalStateException if this client was built without {@link
   *     Builder#trustedCertificates} (it trusts the JDK's authorities)
   */
  @Experimental
  public void reloadTrustedCertificates(Path pem) {
    ReloadableTrust.reloadClient(trust, pem);
  }

  /** Ends the stream, fails waiting futures and frees the connections. Idempotent. */
  @Override
  public void close() {
    if (closed) {
      return;
    }
    closed = true;
    StreamCall c = streamCall;
    if (c != null) {
      c.call().cancel();
    }
    follower.interrupt();
    for (CompletableFuture<Receipt> f : pending.values()) {
      fail(f, "the remote ledger client closed before the transaction's block was durable");
    }
    pending.clear();
    listeners.clear();
    synchronized (blockLock) {
      blockLock.notifyAll();
    }
    completions.shutdown();
    http.dispatcher().cancelAll();
    http.dispatcher().executorService().shutdown();
    http.connectionPool().evictAll();
  }

  @Override
  public String toString() {
    return "RemoteLedger[" + uri + ", block " + lastBlock + (connected ? "" : ", disconnected")
        + "]";
  }

  private void ensureOpen() {
    if (closed) {
      throw new IllegalStateException("the remote ledger client is closed");
    }
  }

  private static void fail(CompletableFuture<Receipt> f, String message) {
    f.completeExceptionally(new LedgerException(message + "; it may or may not be in the "
        + "ledger: check the signer's nonce before resending"));
  }

  // ---------------------------------------------------------------------------------------
  // Requests

  private Request request(URI server, String op, MessageLite body) {
    LedgerRequest.Builder b = LedgerRequest.newBuilder()
        .setVersion(PeerInfo.PROTOCOL_VERSION)
        .setBody(body.toByteString());
    b.setCaller(signer.sign(c -> CanonicalDigest.ofLedger(op, b.setCaller(c).buildPartial())));
    return new Request.Builder()
        .url(urls.get(server).resolve("/v1/ledger/" + op))
        .post(RequestBody.create(b.build().toByteArray(), PROTOBUF))
        .build();
  }

  /**
   * Sends a request to the server in use, moving on to the next server when this one cannot be
   * reached: for any request that could not connect, and for reads also when the connection
   * broke (a submission that may have arrived is not sent twice).
   */
  private LedgerResponse call(String op, MessageLite body) throws LedgerException {
    LedgerResponse r = exchange(op, body);
    if (r.getStatus() != Status.SUCCESS.code()) {
      throw refused(r);
    }
    return r;
  }

  /** Sends a request and reads its answer, whatever its status. */
  private LedgerResponse exchange(String op, MessageLite body) throws LedgerException {
    return answer(op, body).response();
  }

  /** A server's answer, and which server gave it. */
  private record Answer(URI server, LedgerResponse response) {}

  /** As {@link #exchange}, saying which server answered (it moves on from those unreachable). */
  private Answer answer(String op, MessageLite body) throws LedgerException {
    for (int attempt = 1; ; attempt++) {
      URI server = uri;
      Request request = request(server, op, body);
      try (Response response = BlockingCalls.execute(
          (request.isHttps() ? https : http).newCall(request))) {
        return new Answer(server, readResponse(response));
      } catch (LedgerException e) {
        throw e;
      } catch (IOException e) {
        if (Thread.currentThread().isInterrupted()) {
          // The caller's doing, not the server's: no move, and the flag stays set.
          throw new LedgerException("interrupted while asking the ledger at " + server
              + " (" + op + ")", e);
        }
        boolean sent = !refusedAtConnect(e);
        // A submission that may have arrived is not sent again, to another server or this one.
        if (attempt >= servers.size() || (sent && op.startsWith("submit"))) {
          throw unreachable(server, e);
        }
        moveOn(server);
      }
    }
  }

  /**
   * Whether {@code e} says the request never went out: its connection was refused, and no
   * earlier try may have sent it. OkHttp follows a reused connection that broke (the request may
   * have gone out on it) with a new one, and throws the last failure, the earlier suppressed.
   */
  private static boolean refusedAtConnect(IOException e) {
    if (!(e instanceof java.net.ConnectException)) {
      return false;
    }
    for (Throwable earlier : e.getSuppressed()) {
      // OkHttp's own word that an HTTP/2 connection shut down before the request went out.
      boolean unsent = earlier instanceof java.net.ConnectException || earlier.getClass()
          .getName().equals("okhttp3.internal.http2.ConnectionShutdownException");
      if (!unsent) {
        return false;
      }
    }
    return true;
  }

  /** A transaction's future, and the server that answered its request: null until one did. */
  private static final class Waiting extends CompletableFuture<Receipt> {
    final Hash256 hash;
    URI answeredBy; // under the client's lock, as moves are

    Waiting(Hash256 hash) {
      this.hash = hash;
    }
  }

  /** {@code e} from {@code server}, which the client may have moved on from since. */
  private static LedgerException unreachable(URI server, IOException e) {
    if (e instanceof LedgerException l) {
      return l;
    }
    StringBuilder why = new StringBuilder();
    for (Throwable earlier : e.getSuppressed()) { // tries OkHttp made before, on reused connections
      why.append(reason(earlier)).append(", then ");
    }
    return new LedgerException("cannot reach the ledger at " + server + ": " + why + reason(e)
        + Tls.clientCertificateHint(server, e), e);
  }

  private static String reason(Throwable e) {
    return e.getMessage() == null ? e.getClass().getSimpleName() : e.getMessage();
  }

  private LedgerResponse readResponse(Response response) throws IOException {
    ResponseBody body = response.body();
    MediaType type = body.contentType();
    if (type == null || !PROTOBUF.type().equals(type.type())
        || !PROTOBUF.subtype().equals(type.subtype())) {
      throw new LedgerException(uri + " is not a ledger server: it answered HTTP "
          + response.code() + " with " + type);
    }
    try {
      return LedgerResponse.parseFrom(body.bytes());
    } catch (InvalidProtocolBufferException e) {
      throw new LedgerException(uri + " answered a body that is not a LedgerResponse: "
          + e.getMessage(), e);
    }
  }

  private LedgerException refused(LedgerResponse r) {
    String status = Status.ofCode(r.getStatus()).map(Status::name)
        .orElse("status " + Integer.toUnsignedString(r.getStatus())); // uint32 on the wire
    return new LedgerException("the ledger at " + uri + " refused the request: " + status
        + (r.getField().isEmpty() ? "" : " " + r.getField()) + ": " + r.getMessage());
  }

  // ---------------------------------------------------------------------------------------
  // The event stream

  /**
   * Names in {@code events} the transactions of {@code acknowledged}, at most {@link
   * LedgerWire#MAX_AWAITING}: a server refuses more. Those left out still hear their outcome in
   * the blocks the stream sends; only one the server lost, or decided before the block resumed
   * at, waits on (a client with more in flight than a server's default pending pool).
   */
  static void nameAwaiting(EventsRequest.Builder events, Collection<Hash256> acknowledged) {
    for (Hash256 tx : acknowledged) {
      if (events.getAwaitingCount() == LedgerWire.MAX_AWAITING) {
        break;
      }
      events.addAwaiting(LedgerWire.bytes(tx));
    }
  }

  /** Opens the stream to {@code server} at {@code fromBlock} (0: a snapshot first). */
  private InputStream openStream(URI server, long fromBlock) throws IOException {
    // Deltas: a block that sets a few weight rows sends those rows, not the whole metagraph.
    // And epochs, which change nearly every peer and bond row, are run here.
    EventsRequest.Builder events = EventsRequest.newBuilder().setFromBlock(fromBlock)
        .setDeltas(true).setReplayEpochs(replayEpochs);
    acknowledged.retainAll(pending.keySet());
    if (fromBlock > 0) {
      nameAwaiting(events, acknowledged);
    }
    // To the server given, not whichever a move made current meanwhile: the stream must be
    // where its caller will blame a failure, and where a move from that server cancels it.
    Request request = request(server, "events", events.build());
    Call call = (request.isHttps() ? streamHttps : streamHttp).newCall(request);
    streamCall = new StreamCall(call, server);
    // A move from that server since it was read here did not see this call: given up, it opens
    // again where the client is (the server in use tells the blocks of what was sent there).
    if (closed || !uri.equals(server)) {
      call.cancel();
    }
    Response response = BlockingCalls.execute(call);
    String status = response.header(HttpPeerHandler.STATUS_HEADER);
    if (!"0".equals(status)) {
      try (response) {
        throw refused(readResponse(response));
      }
    }
    return response.body().byteStream();
  }

  /**
   * The first connection: in the caller's thread, so that its failure is the caller's. Tries the
   * servers in order.
   */
  private void start() throws LedgerException {
    InputStream in = null;
    LedgerEvent first = null;
    List<LedgerException> failures = new ArrayList<>();
    for (int i = 0; i < servers.size() && in == null; i++) {
      serverIndex = i;
      uri = servers.get(i);
      try {
        InputStream opened = openStream(uri, 0);
        try {
          first = LedgerEvent.parseDelimitedFrom(opened);
        } catch (IOException e) {
          try (opened) { // else it keeps its connection, and the server its stream, for good
            throw e;
          }
        }
        in = opened;
      } catch (IOException e) {
        if (servers.size() == 1) {
          close();
          throw unreachable(uri, e);
        }
        failures.add(unreachable(uri, e));
      }
    }
    if (in == null) {
      close();
      LedgerException none = new LedgerException("cannot reach any of the ledger servers: "
          + String.join("; ", failures.stream().map(Throwable::getMessage).toList()));
      // Each server's own failure, its cause kept: a caller tells one that may pass from one
      // that will not (neuron run waits for a server that is down, not for a TLS failure).
      failures.forEach(none::addSuppressed);
      throw none;
    }
    if (first == null || !first.hasBlock() || !first.getBlock().getSnapshot()) {
      close();
      throw new LedgerException(uri + " did not start its event stream with a snapshot");
    }
    try {
      handle(first);
    } catch (RuntimeException e) {
      close();
      throw new LedgerException(uri + " sent a bad snapshot: " + e.getMessage(), e);
    }
    connected = true;
    firstStream = new FirstStream(in, uri);
    follower.start();
  }

  /** The event thread: reads the stream, and reconnects with resume when it breaks. */
  private void follow() {
    // Exact, as since it was written (no reason recorded): jitter would spread the reconnections
    // of the clients of a restarted server, but would change the timings its users know.
    Backoff backoff = Backoff.exact(50, 2000);
    long downSince = 0;
    while (!closed) {
      FirstStream first = firstStream;
      firstStream = null;
      InputStream in = first == null ? null : first.in();
      // Where this stream is (or is about to be) open. Not uri for the first: a move that came
      // before this thread ran would be blamed on the new server, and undone.
      URI server = first == null ? uri : first.server();
      try {
        if (in == null) {
          in = openStream(server, lastBlock + 1);
        }
        try (InputStream stream = in) {
          LedgerEvent e;
          while (!closed && (e = LedgerEvent.parseDelimitedFrom(stream)) != null) {
            handle(e);
            if (!connected) { // up once the server's first event was taken
              connected = true;
              downSince = 0;
              backoff.reset();
            }
          }
        }
      } catch (ResumeInstead resume) {
        continue; // at once, on the same server: it reads what was missed from its journal
      } catch (IOException | RuntimeException e) {
        // Lost or refused: try again below, at the next server if there is one. Down before
        // the move: a caller that sees the new server connected sees its stream.
        connected = false;
        if (!closed) {
          moveOn(server);
        }
      } catch (Error e) {
        // A listener's (or this thread's) Error ends the thread: say so, rather than go on
        // answering reads from a stream no one follows any more. Reads then ask the server.
        eventThreadFailure = e;
        connected = false;
        failPending("the client's event thread failed: " + e);
        throw e;
      }
      connected = false;
      if (closed) {
        return;
      }
      long now = System.nanoTime();
      if (downSince == 0) {
        downSince = now;
      } else if (now - downSince > reconnectTimeoutNanos) {
        Duration down = Duration.ofNanos(reconnectTimeoutNanos);
        // Whole seconds round down, and under one second they read "over 0 s": milliseconds.
        failPending("the event stream from " + uri + " has been down for over "
            + (down.toSeconds() > 0 ? down.toSeconds() + " s" : down.toMillis() + " ms"));
      }
      try {
        Thread.sleep(backoff.next());
      } catch (InterruptedException e) {
        return; // closing
      }
    }
  }

  /**
   * Block {@code block}'s metagraph from a delta to the state its epoch ran on: the epoch run
   * here with the chain's mechanism and checked against the server's digest. When that fails
   * (the chain runs a mechanism this client does not have, or another version of it), the
   * stream resumes at once, at the same server (no fault of its), asking for what epochs change.
   */
  private Metagraph replayEpoch(Metagraph before, BlockEvent ev, Block block) {
    try {
      Metagraph m = MetagraphDeltas.apply(before, ev.getDelta(), block, epochMechanism());
      epochsReplayed.incrementAndGet();
      return m;
    } catch (RuntimeException e) {
      replayEpochs = false;
      // Not a server's fault: moving on would fail the transactions waiting for this block.
      throw new ResumeInstead();
    }
  }

  /** The chain's mechanism: given to the builder, or read from the genesis block once. */
  private IncentiveMechanism epochMechanism() {
    IncentiveMechanism mechanism = epochMechanism;
    if (mechanism == null) {
      mechanism = genesisMechanism();
      epochMechanism = mechanism;
    }
    return mechanism;
  }

  /** The mechanism the chain's genesis block records: the paper's, with its parameters. */
  private IncentiveMechanism genesisMechanism() {
    BlockCodec.Decoded genesis;
    try {
      genesis = BlockCodec.decode(genesisBlock());
    } catch (LedgerException e) {
      throw new IllegalStateException("its genesis block: " + e.getMessage(), e);
    }
    return genesis.paperParams().map(IncentiveMechanism::paper).orElseThrow(
        () -> new IllegalStateException("the chain runs the mechanism \"" + genesis.mechanism()
            + "\" (give it to RemoteLedger.Builder.epochMechanism)"));
  }

  /**
   * How many epochs this client ran itself, rather than being sent what they changed (see
   * {@link Builder#replayEpochs(boolean)}): following the event stream, or reading blocks back
   * ({@link #readBlocks}).
   */
  @Experimental
  public long epochsReplayed() {
    return epochsReplayed.get();
  }

  /**
   * Completes a future taken out of {@code pending} on the completions thread, or here once
   * {@link #close()} has stopped that thread: taken out, it must not be left uncompleted.
   */
  private void settle(Runnable completion) {
    try {
      completions.execute(completion);
    } catch (java.util.concurrent.RejectedExecutionException closing) {
      completion.run();
    }
  }

  private void failPending(String why) {
    failPending(why, f -> true);
  }

  /** Fails the waiting transactions whose futures {@code which} accepts. */
  private void failPending(String why, Predicate<CompletableFuture<Receipt>> which) {
    for (Map.Entry<Hash256, CompletableFuture<Receipt>> e : pending.entrySet()) {
      if (which.test(e.getValue()) && pending.remove(e.getKey(), e.getValue())) {
        CompletableFuture<Receipt> f = e.getValue();
        settle(() -> fail(f, why));
      }
    }
  }

  private void handle(LedgerEvent e) {
    if (e.hasFailed()) {
      TransactionFailed t = e.getFailed();
      CompletableFuture<Receipt> f =
          pending.remove(LedgerWire.hash(t.getTransaction(), "failed.transaction"));
      if (f != null) {
        LedgerException error = t.getRejectReason() != 0
            ? rejection(t.getRejectReason(), t.getMessage())
            : new LedgerException("the ledger at " + uri + " failed the transaction after "
                + "accepting it: " + t.getMessage() + "; it may or may not be in the ledger: "
                + "check the signer's nonce before resending");
        settle(() -> f.completeExceptionally(error));
      }
      return;
    }
    if (e.hasReceipt()) {
      Receipt r = LedgerWire.fromWire(e.getReceipt());
      CompletableFuture<Receipt> f = pending.remove(r.transaction());
      if (f != null) {
        settle(() -> f.complete(r));
      }
      return;
    }
    if (!e.hasBlock()) {
      return; // a heartbeat
    }
    BlockEvent ev = e.getBlock();
    Block block = LedgerWire.fromWire(ev.getBlock());
    long n = block.number();
    if (!ev.getSnapshot() && n <= lastBlock) {
      return; // already heard
    }
    Block previous = current == null ? null : current.block();
    if (!ev.getSnapshot() && previous != null
        && (n != previous.number() + 1 || !block.parent().equals(previous.hash()))) {
      // Never follow another chain, nor skip a block, silently: the stream breaks and the
      // client keeps trying.
      throw new IllegalStateException(uri + " sent block " + n + " with parent "
          + block.parent().toShortHex() + " after block " + previous.number() + " "
          + previous.hash().toShortHex() + ": not the chain this client follows");
    }
    Metagraph m;
    if (ev.hasMetagraph()) {
      m = LedgerWire.fromWire(ev.getMetagraph());
    } else if (ev.hasDelta()) {
      if (ev.getSnapshot() || current == null) {
        throw new IllegalStateException(uri + " sent block " + n
            + " as a delta with no metagraph to apply it to");
      }
      m = ev.getDelta().getReplayedEpochDigest().isEmpty()
          ? MetagraphDeltas.apply(current, ev.getDelta(), block) // current is block n - 1's
          : replayEpoch(current, ev, block);
    } else if (current != null) {
      m = LedgerWire.atBlock(current, block);
    } else {
      throw new IllegalStateException("the first event of a stream carries no metagraph");
    }
    if (chainId != null && !m.chainId().equals(chainId)) {
      // As above.
      throw new IllegalStateException(uri + " now serves chain " + m.chainId()
          + ", not " + chainId);
    }
    if (ev.getSnapshot()) {
      if (ev.getResync() && lastBlock >= 0 && n > lastBlock) {
        if (lastBlock != resumedAfterResync && (!listeners.isEmpty() || !pending.isEmpty())) {
          // This client read too slowly (a slow listener) and the server's history moved past
          // it, or it is far behind and the server read back what it holds for one stream.
          // Resuming from the block after the last one heard, as after a lost connection, gets
          // the missed blocks from the server's journal if it has one, so that listeners and
          // waiting transactions miss nothing; a resync on that stream is taken as it is. With
          // no one to tell of the blocks, the latest state is all this client needs.
          resumedAfterResync = lastBlock;
          throw new ResumeInstead();
        }
        failPending("the client missed blocks " + (lastBlock + 1) + " to " + n
            + " that the server no longer holds");
      } else if (ev.getResync() && lastBlock >= 0 && n < lastBlock) {
        failPending("the server is at block " + n + ", behind block " + lastBlock
            + " that this client heard, and cannot tell it the transaction's block");
      }
      chainId = m.chainId();
      if (current == null || n >= current.block().number()) {
        current = m; // a server behind this client (another member) does not take it back
      }
      cache.put(n, m);
      advance(Math.max(lastBlock, n));
      return;
    }
    for (var w : ev.getReceiptsList()) {
      Receipt r = LedgerWire.fromWire(w);
      CompletableFuture<Receipt> f = pending.remove(r.transaction());
      if (f != null) {
        settle(() -> f.complete(r));
      }
    }
    current = m;
    cache.put(n, m);
    if (ev.hasEpoch()) {
      var epoch = LedgerWire.fromWire(ev.getEpoch());
      for (Sub s : listeners) {
        s.epoch(epoch, m);
      }
    }
    for (Sub s : listeners) {
      s.block(block, m);
    }
    advance(n);
  }

  private void advance(long n) {
    synchronized (blockLock) {
      lastBlock = n;
      blockLock.notifyAll();
    }
  }

  /** Ends the stream so that the event thread resumes it at once after the last block heard. */
  private static final class ResumeInstead extends RuntimeException {
    private static final long serialVersionUID = 1L;

    ResumeInstead() {
      super(null, null, false, false);
    }
  }

  /** One listener; closing it stops its callbacks. */
  private final class Sub implements Subscription {
    private final LedgerListener listener;
    /** Guarded by this, so that no callback starts once close has returned (the contract). */
    private boolean open = true;

    Sub(LedgerListener listener) {
      this.listener = listener;
    }

    synchronized void epoch(io.bittensor.core.Epoch epoch, Metagraph after) {
      if (open && !closed) { // close clears the list, not the copy a block's event iterates
        try {
          listener.onEpoch(epoch, after);
        } catch (RuntimeException | AssertionError ignored) {
          // A listener's bug must not stop the stream (LedgerListener's contract).
        }
      }
    }

    synchronized void block(Block block, Metagraph after) {
      if (open && !closed) { // as above
        try {
          listener.onBlock(block, after);
        } catch (RuntimeException | AssertionError ignored) {
          // As above.
        }
      }
    }

    @Override
    public synchronized void close() {
      open = false;
      listeners.remove(this);
    }
  }

  /** Configures a {@link RemoteLedger}. Not thread-safe. */
  public static final class Builder {
    private Keypair keypair;
    private HttpProtocol protocol = HttpProtocol.H2_PRIOR_KNOWLEDGE;
    private ReloadableTrust trust;
    private ReloadableIdentity clientCertificate;
    private Duration timeout = Duration.ofSeconds(10);
    private Duration connectTimeout = Duration.ofSeconds(5);
    private Duration streamTimeout = Duration.ofSeconds(20);
    private Duration reconnectTimeout = Duration.ofSeconds(30);
    private boolean replayEpochs = true;
    private IncentiveMechanism epochMechanism;
    private int cachedMetagraphs = 16;
    private Clock clock = Clock.systemUTC();
    private ThreadFactory eventThreads;

    private Builder() {}

    /**
     * Signs this client's requests with {@code keypair} (a server may admit only some keys);
     * default: a key generated for this client. Transactions are signed by their own keys.
     */
    public Builder keypair(Keypair keypair) {
      this.keypair = Objects.requireNonNull(keypair, "keypair");
      return this;
    }

    /** HTTP/2 with prior knowledge (default: one connection for requests and the stream). */
    public Builder protocol(HttpProtocol protocol) {
      this.protocol = Objects.requireNonNull(protocol, "protocol");
      return this;
    }

    /**
     * Trusts the certificates in {@code pem} (PEM: the authority that signs the servers'
     * certificates, or their own) for {@code https://} ledger servers, in place of the JDK's
     * default authorities ({@link LedgerServer.Builder#tls}).
     *
     * @throws IllegalArgumentException if the file cannot be read or holds no certificate
     */
    @Experimental
    public Builder trustedCertificates(Path pem) {
      this.trust = new ReloadableTrust(Objects.requireNonNull(pem, "pem"));
      return this;
    }

    /**
     * Mutual TLS: shows the certificate chain in {@code certificateChain} (PEM, the client's own
     * certificate first), with its private key in {@code privateKey} (PEM, unencrypted PKCS#8),
     * to {@code https://} ledger servers that ask for one ({@link
     * LedgerServer.Builder#requireClientCertificates}). Such a server refuses a client without a
     * certificate it trusts at the handshake, which the caller sees as UNAVAILABLE. The
     * certificate must allow client authentication (an extended key usage of {@code
     * clientAuth}, or none).
     *
     * @throws IllegalArgumentException if a file cannot be read or holds no key or certificate
     *     of a form this takes, or the two do not match
     */
    @Experimental
    public Builder clientCertificate(Path privateKey, Path certificateChain) {
      this.clientCertificate = new ReloadableIdentity(privateKey, certificateChain);
      return this;
    }

    /** The deadline of each request (submit, account, metagraph); default 10 s. */
    public Builder timeout(Duration timeout) {
      this.timeout = Args.positive(timeout, "timeout");
      return this;
    }

    /** How long to wait for a TCP connection; default 5 s. */
    public Builder connectTimeout(Duration timeout) {
      this.connectTimeout = Args.positive(timeout, "connectTimeout");
      return this;
    }

    /**
     * How long the event stream may stay silent (not even a heartbeat) before the client takes
     * the connection for dead and reconnects; default 20 s, above the server's heartbeat.
     */
    public Builder streamTimeout(Duration timeout) {
      this.streamTimeout = Args.positive(timeout, "streamTimeout");
      return this;
    }

    /**
     * How long submitted transactions wait for a lost event stream to come back before their
     * futures fail (the client keeps reconnecting after that); default 30 s.
     */
    public Builder reconnectTimeout(Duration timeout) {
      this.reconnectTimeout = Args.positive(timeout, "reconnectTimeout");
      return this;
    }

    /**
     * How many recent blocks' metagraphs the cache keeps; default 16.
     *
     * @throws IllegalArgumentException if below 1
     */
    public Builder cachedMetagraphs(int blocks) {
      this.cachedMetagraphs = Args.atLeast(blocks, 1, "cachedMetagraphs");
      return this;
    }

    /** The clock requests are stamped with; default UTC system clock. */
    public Builder clock(Clock clock) {
      this.clock = Objects.requireNonNull(clock, "clock");
      return this;
    }

    /**
     * Whether this client runs each epoch itself (true, the default) or is sent what it changed.
     * An epoch changes every peer's scores and nearly every bond row: for 4096 peers with rows
     * of 64, 3.4 MB of an epoch block's delta, where the state it ran on differs from the block
     * before by the block's transactions alone. The client is sent that, runs the chain's
     * mechanism on it, and checks the result against the server's digest of the epoch; should
     * that fail (a mechanism it lacks, another version of it), it is sent what epochs change
     * from then on, one reconnection later. A server that does not offer it sends it anyway.
     */
    @Experimental
    public Builder replayEpochs(boolean replay) {
      this.replayEpochs = replay;
      return this;
    }

    /**
     * The chain's mechanism, for running epochs ({@link #replayEpochs(boolean)}); by
     * default the one the genesis block records (the paper's, with its parameters), read from
     * the server at the first epoch. A chain that runs a mechanism of its own needs it here.
     */
    @Experimental
    public Builder epochMechanism(IncentiveMechanism mechanism) {
      this.epochMechanism = Objects.requireNonNull(mechanism, "mechanism");
      return this;
    }

    /** Makes the event thread (for tests that hold it back); default a daemon thread. */
    Builder eventThreads(ThreadFactory threads) {
      this.eventThreads = Objects.requireNonNull(threads, "threads");
      return this;
    }

    /**
     * Connects: opens the event stream and reads the server's latest metagraph.
     *
     * @param uri {@code http://host:port} or {@code https://host:port}; without a port, 80 or
     *     443
     * @throws LedgerException if the server cannot be reached or refuses the client, naming the
     *     address and the cause
     * @throws IllegalArgumentException if {@code uri} is not {@code http} or {@code https} with a
     *     host
     */
    public RemoteLedger connect(URI uri) throws LedgerException {
      return connect(List.of(Objects.requireNonNull(uri, "uri")));
    }

    /**
     * Connects to the first of {@code servers} that answers, and moves on between them as
     * {@link RemoteLedger#connect(List)} says.
     *
     * @throws LedgerException if none can be reached, naming each and its cause (each server's
     *     own failure, with its cause, suppressed in it)
     * @throws IllegalArgumentException if {@code servers} is empty or one is not {@code http} or
     *     {@code https} with a host
     */
    public RemoteLedger connect(List<URI> servers) throws LedgerException {
      if (servers.isEmpty()) {
        throw new IllegalArgumentException("give at least one ledger server");
      }
      for (URI uri : servers) {
        Objects.requireNonNull(uri, "servers");
        if (!("http".equals(uri.getScheme()) || "https".equals(uri.getScheme()))
            || uri.getHost() == null) {
          throw new IllegalArgumentException("a ledger server is at http://host:port or"
              + " https://host:port, was " + uri);
        }
      }
      RemoteLedger ledger = new RemoteLedger(this, servers);
      ledger.start();
      return ledger;
    }
  }
}
