package io.bittensor.neuron;

import io.bittensor.core.Experimental;
import io.bittensor.core.Keypair;
import io.bittensor.core.Ledger;
import io.bittensor.core.LedgerException;
import io.bittensor.core.LedgerMembers;
import io.bittensor.core.Metagraph;
import io.bittensor.core.Modality;
import io.bittensor.core.Peer;
import io.bittensor.core.PeerId;
import io.bittensor.core.PeerInfo;
import io.bittensor.core.ForwardResult;
import io.bittensor.core.Receipt;
import io.bittensor.core.RejectReason;
import io.bittensor.core.Status;
import io.bittensor.core.TensorStandard;
import io.bittensor.core.Transaction;
import io.bittensor.core.internal.DurableFiles;
import io.bittensor.core.internal.StateFile;
import io.bittensor.learning.Evaluation;
import io.bittensor.learning.Learner;
import io.bittensor.learning.StepResult;
import io.bittensor.learning.WeightSource;
import io.bittensor.onnx.OnnxPeer;
import io.bittensor.core.internal.OutstandingCalls;
import io.bittensor.neuron.internal.Probes;
import io.bittensor.neuron.internal.Registrar;
import io.bittensor.neuron.internal.Slot;
import io.bittensor.transport.InProcessNetwork;
import io.bittensor.transport.CallListener;
import io.bittensor.transport.PeerClient;
import io.bittensor.transport.PeerServer;
import java.io.IOException;
import java.net.URI;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;
import java.util.OptionalInt;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.function.Function;
import java.util.function.Predicate;
import java.util.random.RandomGenerator;

/**
 * One participant of a market, wired from its parts: a key pair, the {@link Peer} it serves, the
 * transport's server and client, a {@link Ledger} (embedded or remote: any implementation), and,
 * for a neuron that learns, a {@link Learner} over the other peers and a {@link Dataset}. Started,
 * it serves its peer and registers on the ledger; then it follows the metagraph (new peers,
 * departed peers, changed endpoints), trains on its data through its peers, and sets its weight
 * row on the ledger at an interval.
 *
 * <pre>{@code
 * Ledger ledger = RemoteLedger.connect(URI.create("http://10.0.0.2:8092"));
 * OnnxPeer onnxPeer = OnnxPeer.builder().model(Path.of("model.onnx"))...build();
 * Dataset myBatches = ...;                                  // the neuron's own labelled data
 * try (Neuron neuron = Neuron.builder()
 *         .keypair(Keypair.generate())
 *         .ledger(ledger)                                   // LocalLedger, or a remote one
 *         .serve(onnxPeer, Modality.TEXT)                   // what this neuron answers with
 *         .outputDim(384)
 *         .learner(peers -> myLearner(peers))               // rebuilt when the peers change
 *         .dataset(myBatches)
 *         .weightInterval(Duration.ofSeconds(30))
 *         .start()) {
 *   neuron.runInBackground();                               // sync, train, set weights, repeat
 *   ...
 * }
 * }</pre>
 *
 * <p>Two ways to drive it. {@link #runInBackground()} starts a thread that loops: sync with the
 * metagraph every {@link Builder#syncInterval}, train one batch, and set weights once every
 * {@link Builder#weightInterval}. Or the caller drives it step by step with {@link #sync()},
 * {@link #train()} and {@link #setWeights()}, which is how a deterministic simulation (the CLI's
 * {@code bittensor demo}) runs a whole market in one thread.
 *
 * <p>Routing. The neuron routes over every registered peer of its modality except itself that
 * {@link Builder#routeTo} accepts, in uid order. When that set changes it builds a new learner
 * from the factory (the old one's scores are for other peers); when only endpoints change it
 * reconnects in place and keeps learning.
 *
 * <p>Weights. A learning neuron's row is {@link Learner#weights} from its {@link WeightSource},
 * honouring the ledger's {@code minAllowedWeights} (the consensus peg; when it asks for more
 * peers than there are others, the row names the neuron itself at {@link #SELF_WEIGHT}, the least
 * it can give); a neuron may instead vote with a function of the metagraph
 * ({@link Builder#votes}), as a cabal does. With a {@link Builder#warmUp} the background loop
 * sets its first row as soon as it has something to weigh.
 *
 * <p>Signed answers. The neuron's server signs every successful answer with its key, and its own
 * client takes a peer's answer only when it is signed with the key the ledger gives that peer
 * ({@link Builder#requireSignedAnswers}), so nobody on the path can change what the weights are
 * learned from.
 *
 * <p>Checkpoints. With {@link Builder#checkpoints}, the neuron keeps what it learned in a file
 * ({@link #CHECKPOINT_FILE} in that folder): its learner's state ({@link Learner#checkpoint()}),
 * for the peers it routed over, and each peer's probe. The background loop saves it at every
 * weight interval and {@link #close()} once more; {@link #saveCheckpoint()} saves it at once.
 * Started again with the same folder, the neuron restores it when it first builds its learner:
 * the learner's state if it routes over the same peers in the same order, the probes of every
 * peer it still routes over. A file that is damaged or does not fit is reported to the listener
 * and moved aside ({@code neuron.ckpt.refused}), not replaced by the next save; the neuron then
 * starts afresh.
 *
 * <p>Thread-safety: the step methods are for one thread at a time (the caller's or the
 * background loop's, not both); accessors and {@link #close()} may be called from any thread.
 * {@link #close()} cuts a step short (its calls to peers end at once), waits for the loop's
 * thread to end, saves the checkpoint once, and closes the server and the client it built; the
 * ledger, the served peer and a client passed in stay the caller's.
 */
@Experimental
public final class Neuron implements AutoCloseable {
  /**
   * A learning neuron's weight on itself, as a share of the row, when the consensus peg asks for
   * more non-zero weights than there are other peers.
   */
  public static final double SELF_WEIGHT = 1e-6;

  /** The file name of a neuron's checkpoint in its {@link Builder#checkpoints} folder. */
  public static final String CHECKPOINT_FILE = "neuron.ckpt";

  /** Added to the name of a checkpoint that could not be restored, kept aside. */
  private static final String REFUSED = ".refused";

  private static final String CHECKPOINT_MAGIC = "BTNEURON";

  /** The longest a registration refused by the ledger's cap waits for a block, at first. */
  private static final Duration FIRST_BACKOFF = Duration.ofSeconds(1);

  /** The longest it ever waits, as the back-off doubles. */
  private static final Duration MAX_BACKOFF = Duration.ofSeconds(30);

  private final Keypair keypair;
  private final Ledger ledger;
  private final Peer served;
  private final Modality modality;
  private final TensorStandard standard;
  private final PeerServer server;
  private final PeerClient client;
  private final boolean ownsClient;
  private final Function<List<Peer>, Learner> learnerFactory;
  private final Dataset dataset;
  private final WeightSource weightSource;
  private final Function<Metagraph, Map<PeerId, Double>> votes;
  private final Predicate<PeerInfo> routeTo;
  private final Duration weightInterval;
  private final Duration syncInterval;
  private final Duration timeout;
  private final Clock clock;
  private final NeuronListener listener;
  private final CompletableFuture<Receipt> registration;
  /** Reads the ledger and sends its registration until it is settled; set in the constructor. */
  private volatile Registrar registrar;
  private final int probeClasses;
  private final List<LabelledBatch> validation;
  private final int warmUp;
  /** Where the checkpoint is kept; null: no checkpoints. */
  private final Path checkpoint;
  /** True until a learner or probes were built and the checkpoint restored into them. */
  private boolean restorePending;
  private long trained;
  private Probes probes;

  private volatile Metagraph metagraph;
  /** The keys its server answers, with {@link Builder#servesMembersOnly}; else null. */
  private final LedgerMembers members;
  private final Map<PeerId, Slot> slots = new LinkedHashMap<>();
  private List<PeerId> routed = List.of();
  private Learner learner;
  /** The background loop's thread; set under this neuron's monitor. */
  private volatile Thread loop;
  /** Set once, as {@link #close} begins: from then on no step starts. */
  private final AtomicBoolean closed = new AtomicBoolean();
  /** The peer calls in flight, which {@link #close} ends at once. */
  private final OutstandingCalls calls = new OutstandingCalls();
  /**
   * Held while the loop writes the checkpoint, and by {@link #close} to interrupt the loop, so
   * that the interrupt never lands in the write (an interrupted thread's file channel closes).
   * Taken after this neuron's monitor, never before it.
   */
  private final Object fileLock = new Object();
  /**
   * Draws how many blocks a registration refused by the cap waits, and its back-off's jitter;
   * guarded by itself.
   */
  private final RandomGenerator retryRandom;
  /** The registration's back-off, should no block come: at first, and at most. */
  private final long firstBackoffMs;
  private final long maxBackoffMs;
  /** The thread running {@link #close}, once one does. */
  private volatile Thread closer;
  /** Counted down when {@link #close} has released everything. */
  private final CountDownLatch released = new CountDownLatch(1);

  private Neuron(Builder b) throws IOException {
    this.keypair = b.keypair;
    this.ledger = b.ledger;
    this.served = b.peer;
    this.modality = b.modality;
    this.standard = TensorStandard.of(b.outputDim);
    this.learnerFactory = b.learner;
    this.dataset = b.dataset;
    this.weightSource = b.weightSource;
    this.votes = b.votes;
    this.routeTo = b.routeTo;
    this.weightInterval = b.weightInterval;
    this.syncInterval = b.syncInterval;
    this.timeout = b.timeout;
    this.clock = b.clock;
    this.listener = b.listener;
    this.retryRandom = b.retryRandom != null ? b.retryRandom : new java.util.SplittableRandom();
    this.firstBackoffMs = b.firstBackoff.toMillis();
    this.maxBackoffMs = b.maxBackoff.toMillis();
    this.probeClasses = b.probeClasses;
    this.validation = b.validation;
    this.warmUp = b.warmUp;
    if (b.checkpoints != null) {
      try {
        DurableFiles.createDirectories(b.checkpoints); // the folder survives a power cut too
      } catch (IOException e) {
        throw new IOException("cannot create the checkpoint folder " + b.checkpoints + ": " + e,
            e);
      }
      this.checkpoint = b.checkpoints.resolve(CHECKPOINT_FILE);
      this.restorePending = Files.exists(checkpoint);
    } else {
      this.checkpoint = null;
    }
    // The client's settings first: a trust file that does not read fails before the server
    // binds its port.
    PeerClient.Builder cb = null;
    if (b.client == null) {
      cb = PeerClient.newBuilder().keypair(keypair).standard(standard)
          .timeout(timeout).requireSignedAnswers(b.requireSignedAnswers)
          .callListenerFactory(b.calls);
      if (b.network != null) {
        cb.inProcess(b.network);
      }
      if (b.trustedCertificates != null) {
        cb.trustedCertificates(b.trustedCertificates);
      }
      if (b.clientKey != null) {
        cb.clientCertificate(b.clientKey, b.clientCertificates);
      }
    }
    PeerServer.Builder sb = PeerServer.newBuilder(served)
        .modalities(modality)
        .standard(standard)
        .stakeSource(this::stakeOf)
        .signAnswers(keypair)
        .callListenerFactory(b.calls);
    // Members by the ledger's latest block (its events), not by the neuron's last sync.
    this.members = b.membersOnly ? LedgerMembers.follow(ledger) : null;
    if (members != null) {
      sb.callers(members);
    }
    try {
      if (b.network != null) {
        this.server = sb.startInProcess(b.network, keypair.id().toHex().substring(0, 16));
      } else {
        if (b.tlsKey != null) {
          sb.tls(b.tlsKey, b.tlsCertificates);
        }
        if (b.clientTrust != null) {
          sb.requireClientCertificates(b.clientTrust);
        }
        this.server = sb.host(b.host).port(b.port).start();
      }
    } catch (IOException | RuntimeException e) {
      if (members != null) {
        members.close();
      }
      throw e;
    }
    if (cb == null) {
      this.client = b.client;
      this.ownsClient = false;
    } else {
      this.client = cb.build();
      this.ownsClient = true;
    }
    URI endpoint = b.advertise != null ? b.advertise : server.endpoint();
    try {
      this.registration = register(endpoint, b.stake);
    } catch (RuntimeException e) {
      // A ledger closed under it, say: what was started here is not left running.
      closeWhatItStarted();
      throw e;
    }
  }

  /**
   * A builder; {@link Builder#keypair}, {@link Builder#ledger} and {@link Builder#serve} are
   * required.
   */
  public static Builder builder() {
    return new Builder();
  }

  private CompletableFuture<Receipt> register(URI endpoint, long stake) {
    // Through the registrar even for a key registered before: a ledger that cannot be read yet
    // is read again after its back-off, on its thread, until the neuron closes.
    Registrar r = new Registrar(ledger, keypair, modality, endpoint, stake, closed::get,
        () -> registeredBefore(endpoint), event -> listener.onEvent(this, event), retryRandom,
        firstBackoffMs, maxBackoffMs);
    registrar = r;
    r.attempt();
    return r.result();
  }

  /**
   * Null if the key is not registered yet; else, for a restart, what settles its registration:
   * nothing to do, or a move of the peer to where it serves now.
   */
  private CompletableFuture<Receipt> registeredBefore(URI endpoint) throws LedgerException {
    Metagraph m = ledger.metagraph();
    OptionalInt uid = m.uid(keypair.id());
    if (uid.isEmpty()) {
      return null;
    }
    // A restart: the key is registered already; keep its uid and stake, and move the peer
    // where it serves now so that the others reach it there.
    PeerInfo was = m.info(uid.getAsInt());
    if (was.endpoint().equals(endpoint) && was.modality() == modality
        && was.version() == PeerInfo.PROTOCOL_VERSION) {
      return CompletableFuture.completedFuture(null);
    }
    listener.onEvent(this, "registered at " + was.endpoint() + " (" + was.modality()
        + "), now serving at " + endpoint + " (" + modality + "): moving the peer there");
    // A refused move (a ledger that predates Serve) leaves the peer registered where it
    // was: the neuron still runs, as it did before moves existed.
    return ledger.submit(keypair, Transaction.serve(endpoint, modality))
        .handle((receipt, error) -> {
          if (error != null) {
            listener.onEvent(this, "the move was refused, the ledger keeps "
                + was.endpoint() + ": " + error.getMessage());
          }
          return receipt;
        });
  }

  /** This neuron's key. */
  public PeerId id() {
    return keypair.id();
  }

  /**
   * Where its peer is served: {@code http://host:port}, {@code https://host:port} with {@link
   * Builder#tls}, or {@code inproc://name}.
   */
  public URI endpoint() {
    return server.endpoint();
  }

  /**
   * Serves new connections with a renewed TLS key and certificate chain, without a restart, as
   * {@link PeerServer#reloadTls}.
   *
   * @throws IllegalArgumentException if a file cannot be read or holds no key or certificate of
   *     a form {@link Builder#tls} takes, or the two do not match; the old pair stays
   * @throws IllegalStateException if this neuron does not serve TLS
   */
  @Experimental
  public void reloadTls(Path privateKey, Path certificateChain) {
    server.reloadTls(privateKey, certificateChain);
  }

  /**
   * Trusts a new set of client certificates for its server without a restart, as {@link
   * PeerServer#reloadClientCertificates}.
   *
   * @throws IllegalArgumentException if the file cannot be read or holds no certificate; the
   *     certificates trusted so far stay
   * @throws IllegalStateException if its server does not ask for client certificates
   */
  @Experimental
  public void reloadClientCertificates(Path trustedCertificates) {
    server.reloadClientCertificates(trustedCertificates);
  }

  /**
   * The TLS handshakes its server's port has refused, as {@link PeerServer#failedTlsHandshakes}:
   * callers without a certificate it trusts ({@link Builder#requireClientCertificates}) among
   * them.
   */
  @Experimental
  public long failedTlsHandshakes() {
    return server.failedTlsHandshakes();
  }

  /**
   * Shows a renewed client certificate to the peers it calls from now on, without a restart, as
   * {@link PeerClient#reloadClientCertificate}.
   *
   * @throws IllegalArgumentException if a file cannot be read or holds no key or certificate of
   *     a form {@link Builder#clientCertificate} takes, or the two do not match; the old pair
   *     stays
   * @throws IllegalStateException if its client shows no certificate ({@link
   *     Builder#clientCertificate}), or is the caller's own ({@link Builder#client}: reload it
   *     there)
   */
  @Experimental
  public void reloadClientCertificate(Path privateKey, Path certificateChain) {
    if (!ownsClient) {
      throw new IllegalStateException("this neuron calls through a client of the caller's:"
          + " reload its certificate there");
    }
    client.reloadClientCertificate(privateKey, certificateChain);
  }

  /** The peer it serves. */
  public Peer served() {
    return served;
  }

  /**
   * Completes once its registration (and initial stake) are in a durable block. When the key
   * was registered before (a restart), with a null receipt, or with the receipt of the
   * {@link Transaction#serve} that moved the peer to where it serves now (null too if the
   * ledger refused the move: the listener hears why).
   *
   * <p>A registration the ledger refuses because the block being built holds its {@code
   * maxRegistrationsPerBlock} ({@link RejectReason#TOO_MANY_REGISTRATIONS}: several neurons
   * started together) is sent again, with the stake, for a later block, until it lands: after
   * its k-th refusal, once a number of the ledger's blocks drawn at random from 1 to {@code
   * 2^(k-1)} (at most 64) has arrived, so that neurons refused together spread over later
   * blocks rather than all resending at each (or at once, should no block come for a back-off
   * of 1 s doubling to 30 s, each wait drawn at random from half of it to all of it); the
   * listener hears of each refusal, and of the block it lands in.
   *
   * <p>A ledger that cannot be read as the neuron starts (a {@link LedgerException} from its
   * metagraph or its nonce: a remote ledger's server down or restarting) is read again, from
   * the top, after the same back-off (1 s doubling to 30 s, each wait drawn from half of it to
   * all of it), until it can be; the listener hears the 1st, 2nd, 4th, 8th ... such failure in
   * a row, and the block the registration lands in. Meanwhile the neuron serves, and its
   * background loop waits for the registration.
   *
   * <p>A submission whose outcome is unknown (a {@link LedgerException} that is not a refusal:
   * a remote ledger's connection broke, and its message says the transaction may or may not
   * have arrived) is settled by reading the ledger, with the same back-off while it cannot be
   * read: the key in the metagraph (a durable block) has landed, and the registration completes
   * with a null receipt (its stake, if the key's nonce shows it was not taken, is sent again
   * first, and completes it with its receipt); the key not in it but its nonce moved on is in a
   * block not yet durable, read again after the back-off; its nonce not moved on, it was lost,
   * and is sent again with that nonce. So it is never registered twice, and a nonce is never
   * used twice (a lost one that arrives late, refused as {@code NONCE_REUSED}, is read again).
   * The listener hears each step.
   *
   * <p>Fails with the ledger's reason on any other refusal ({@code INSUFFICIENT_BALANCE}, {@code
   * NETWORK_FULL}, ...), and with a {@link LedgerException} saying the neuron closed if it
   * closes while the registration waits to be sent or read again (close ends that wait at once;
   * a registration already sent is left to its block; one whose outcome it was reading for may
   * or may not be in the ledger, as the message says).
   */
  public CompletableFuture<Receipt> registration() {
    return registration;
  }

  /** Its uid in the latest metagraph it synced to, or empty before it appears there. */
  public OptionalInt uid() {
    Metagraph m = metagraph;
    return m == null ? OptionalInt.empty() : m.uid(keypair.id());
  }

  /** The latest metagraph it synced to, if any. */
  public Optional<Metagraph> metagraph() {
    return Optional.ofNullable(metagraph);
  }

  /** The ids of the peers it routes over, in order (the learner's peer {@code j} is entry j). */
  public synchronized List<PeerId> routed() {
    return routed;
  }

  /** Its current learner, if it learns and has peers to route over. */
  public synchronized Optional<Learner> learner() {
    return Optional.ofNullable(learner);
  }

  /**
   * Fetches the metagraph and follows it: reconnects peers whose endpoint changed, and when the
   * set of peers to route over changed (a peer joined or left), builds a new learner over them.
   *
   * @return true if the set of routed peers changed
   * @throws LedgerException if the metagraph cannot be fetched
   * @throws IllegalStateException if the neuron is closed
   */
  public synchronized boolean sync() throws LedgerException {
    requireOpen();
    Metagraph m = ledger.metagraph();
    metagraph = m;
    List<PeerId> now = new ArrayList<>();
    for (int uid = 0; uid < m.size(); uid++) {
      PeerInfo info = m.info(uid);
      if (info.id().equals(keypair.id()) || info.modality() != modality || !routeTo.test(info)) {
        continue;
      }
      Slot slot = slots.get(info.id());
      boolean moved = slot != null && !slot.info().endpoint().equals(info.endpoint());
      Peer target = null;
      if (slot == null || moved) {
        try {
          target = client.connect(info);
        } catch (IllegalArgumentException e) {
          // Anyone may register an endpoint of another scheme: it must not stop the routing.
          listener.onEvent(this, "peer " + uid + " left out: " + e.getMessage());
          continue;
        }
      }
      now.add(info.id());
      if (slot == null) {
        slots.put(info.id(), new Slot(info, target, calls));
      } else if (moved) {
        slot.rebind(info, target);
        listener.onEvent(this, "peer " + uid + " moved to " + info.endpoint());
      }
    }
    slots.keySet().retainAll(now);
    // A learner factory that threw left the routing without a learner: ask it again.
    if (now.equals(routed) && (learner != null || learnerFactory == null || now.isEmpty())) {
      return false;
    }
    List<PeerId> before = routed;
    Probes learned = probes;
    routed = List.copyOf(now);
    learner = null;
    probes = probeClasses == 0 || now.isEmpty() ? null
        : new Probes(now.size(), standard.outputDim(), probeClasses, 0.5, 1e-3,
            keypair.id().hashCode());
    if (probes != null && learned != null) {
      // A peer joining or leaving says nothing about the others: their probes carry over, so
      // that a market whose neurons start one after another does not unlearn at every join.
      for (int j = 0; j < now.size(); j++) {
        int was = before.indexOf(now.get(j));
        if (was >= 0) {
          probes.copyPeer(learned, was, j);
        }
      }
    }
    if (learnerFactory != null && !now.isEmpty()) {
      List<Peer> peers = new ArrayList<>();
      for (PeerId id : now) {
        peers.add(slots.get(id));
      }
      learner = Objects.requireNonNull(learnerFactory.apply(List.copyOf(peers)),
          "the learner factory returned null");
    }
    listener.onEvent(this, "routing over " + now.size() + " peers");
    if (restorePending && (learner != null || probes != null)) {
      restorePending = false;
      restoreCheckpoint();
    }
    return true;
  }

  /**
   * Restores the checkpoint into the learner and probes just built: the learner's state if the
   * routed peers are those it was saved with, the probes of every routed peer it has. All or
   * nothing; a file that cannot be used is reported and left out.
   */
  private void restoreCheckpoint() {
    try {
      StateFile.Reader r = StateFile.Reader.decode(Files.readAllBytes(checkpoint),
          CHECKPOINT_MAGIC, "neuron");
      List<PeerId> saved = ids(r.bytes("routed"));
      int restoredProbes = 0;
      for (PeerId id : saved) {
        String prefix = "probes/" + id.toHex() + "/";
        int j = routed.indexOf(id);
        if (probes != null && j >= 0 && r.has(prefix + "steps")) {
          probes.restore(r, prefix, j);
          restoredProbes++;
        } else {
          r.skip(prefix);
        }
      }
      boolean sameRouting = saved.equals(routed);
      byte[] learned = r.has("learner") ? r.bytes("learner") : null;
      r.requireAllRead();
      if (learner != null && learned != null && sameRouting) {
        learner.restoreCheckpoint(learned);
      }
      r.apply();
      String learnerPart = learner == null || learned == null ? "no learner state"
          : sameRouting ? "the learner's state (" + learner.trainedSteps() + " steps)"
          : "not the learner's state (saved over other peers)";
      listener.onEvent(this, "restored " + checkpoint + ": " + learnerPart + ", "
          + restoredProbes + " of " + routed.size() + " peers' probes");
    } catch (IOException | RuntimeException e) {
      listener.onEvent(this, "checkpoint " + checkpoint + " not restored, starting afresh: "
          + e.getMessage() + moveAside());
    }
  }

  /**
   * Moves the checkpoint that could not be restored aside, to {@code neuron.ckpt.refused} (then
   * {@code .2} and on if taken), before the next save replaces it: one written by a learner of
   * another shape is still whole, and damage is kept for inspection. Returns what it did, for
   * the event; a move that fails leaves the file, which the next save then replaces. Only a
   * regular file is moved: anything else in its place is left, and blocks each save.
   */
  private String moveAside() {
    if (!Files.isRegularFile(checkpoint, LinkOption.NOFOLLOW_LINKS)) {
      // A folder or link in the file's place is not a checkpoint: left as found, and each save
      // that it blocks is told (a user's folder is not moved behind their back).
      return "";
    }
    Path aside = checkpoint.resolveSibling(checkpoint.getFileName() + REFUSED);
    for (int n = 2; Files.exists(aside, LinkOption.NOFOLLOW_LINKS); n++) {
      aside = checkpoint.resolveSibling(checkpoint.getFileName() + REFUSED + "." + n);
    }
    try {
      Files.move(checkpoint, aside, StandardCopyOption.ATOMIC_MOVE);
    } catch (IOException | RuntimeException e) {
      return "; could not move it aside (" + e + "): the next save replaces it";
    }
    try {
      DurableFiles.syncDirectory(checkpoint.toAbsolutePath().getParent());
    } catch (IOException e) {
      return "; kept as " + aside + " (the move may not survive a crash: " + e + ")";
    }
    return "; kept as " + aside;
  }

  private static List<PeerId> ids(byte[] concatenated) {
    if (concatenated.length % PeerId.LENGTH != 0) {
      throw new IllegalArgumentException("the checkpoint's routed peers are "
          + concatenated.length + " bytes, not a multiple of " + PeerId.LENGTH);
    }
    List<PeerId> out = new ArrayList<>();
    for (int i = 0; i < concatenated.length; i += PeerId.LENGTH) {
      out.add(PeerId.fromBytes(java.util.Arrays.copyOfRange(concatenated, i, i + PeerId.LENGTH)));
    }
    return out;
  }

  /**
   * Saves what it learned now (see {@link Builder#checkpoints}): whole or not at all, so a crash
   * while saving leaves the previous checkpoint.
   *
   * @return the file written; empty without checkpoints, or with nothing learned yet (no learner
   *     and no probes)
   * @throws IOException if the file cannot be written
   * @throws UnsupportedOperationException if its learner's gate or student cannot be saved
   *     ({@link Learner#checkpoint()})
   */
  public synchronized Optional<Path> saveCheckpoint() throws IOException {
    if (checkpoint == null || (learner == null && probes == null) || restorePending) {
      return Optional.empty();
    }
    StateFile.Writer w = new StateFile.Writer(CHECKPOINT_MAGIC);
    byte[] ids = new byte[routed.size() * PeerId.LENGTH];
    for (int j = 0; j < routed.size(); j++) {
      System.arraycopy(routed.get(j).toBytes(), 0, ids, j * PeerId.LENGTH, PeerId.LENGTH);
    }
    w.bytes("routed", ids);
    if (learner != null) {
      w.bytes("learner", learner.checkpoint());
    }
    if (probes != null) {
      for (int j = 0; j < routed.size(); j++) {
        probes.save(w, "probes/" + routed.get(j).toHex() + "/", j);
      }
    }
    DurableFiles.replace(checkpoint, w.toBytes());
    return Optional.of(checkpoint);
  }

  /**
   * One training step on the next batch of its dataset.
   *
   * @return what the step did, or empty if the neuron does not learn or has no peers yet
   * @throws IllegalStateException if the neuron is closed
   * @throws IllegalArgumentException if it scores by probes and a label of the batch is not in
   *     {@code [0, classes)} of {@link Builder#scoreByProbes} (nothing trains); or as {@link
   *     Learner#train}
   */
  public synchronized Optional<StepResult> train() {
    requireOpen();
    if (learner == null || dataset == null) {
      return Optional.empty();
    }
    LabelledBatch b = dataset.next();
    if (probes != null) {
      // Before anything trains: the learner's head may take labels its probes cannot.
      requireClasses(b.labels(), probeClasses, "the training batch");
    }
    StepResult step = learner.train(b.request(), b.labels());
    trained++;
    if (probes != null) {
      List<ForwardResult> answers = askAll(b);
      for (int j = 0; j < answers.size(); j++) {
        ForwardResult r = answers.get(j);
        if (r.isSuccess()) {
          probes.train(j, r.output().orElseThrow().toFloatArray(), b.labels().length, b.labels());
        }
      }
    }
    return Optional.of(step);
  }

  /** Refuses a label outside {@code [0, classes)}, naming {@code what} holds it. */
  private static void requireClasses(int[] labels, int classes, String what) {
    for (int i = 0; i < labels.length; i++) {
      if (labels[i] < 0 || labels[i] >= classes) {
        throw new IllegalArgumentException(what + "'s labels[" + i + "] is " + labels[i]
            + ", not in [0, " + classes + ") (the classes its probes score)");
      }
    }
  }

  /** Asks every routed peer about a batch, in parallel; a failure is a failed result. */
  private List<ForwardResult> askAll(LabelledBatch b) {
    List<CompletableFuture<ForwardResult>> calls = new ArrayList<>();
    for (PeerId id : routed) {
      calls.add(slots.get(id).forward(b.request(), timeout)
          .exceptionally(e -> ForwardResult.failure(Status.INTERNAL_ERROR, String.valueOf(e))));
    }
    List<ForwardResult> out = new ArrayList<>();
    for (CompletableFuture<ForwardResult> c : calls) {
      ForwardResult r = c.join();
      boolean fits = r.isSuccess()
          && standard.checkOutput(b.request().input(), r.output().orElseThrow()).isEmpty();
      out.add(fits ? r : r.isSuccess()
          ? ForwardResult.failure(Status.BAD_RESPONSE, "the answer breaks the tensor standard")
          : r);
    }
    return out;
  }

  /**
   * Each routed peer's score from its probe, when the neuron scores by probes: the information
   * its answers alone carry about the validation labels, {@code max(0, ln(classes) - loss)} in
   * nats, where {@code loss} is the probe's cross-entropy on the validation batches (a peer that
   * fails scores 0, as does one whose answers are too large for its probe: a value beyond
   * {@code 1e6} in magnitude, where the standard's answers are embeddings of about unit length).
   * A probe does not train on a batch of such answers either, so that a peer scores again as it
   * did once its answers are sane again.
   *
   * @return by peer, in routing order; empty if the neuron does not score by probes
   * @throws IllegalStateException if the neuron is closed
   */
  public synchronized Map<PeerId, Double> probeScores() {
    requireOpen();
    Map<PeerId, Double> out = new LinkedHashMap<>();
    if (probes == null) {
      return out;
    }
    double[] loss = new double[routed.size()];
    boolean[] failed = new boolean[routed.size()];
    int rows = 0;
    for (LabelledBatch b : validation) {
      List<ForwardResult> answers = askAll(b);
      int n = b.labels().length;
      for (int j = 0; j < answers.size(); j++) {
        ForwardResult r = answers.get(j);
        float[] x = r.isSuccess() ? r.output().orElseThrow().toFloatArray() : null;
        if (x != null && probes.usable(x, n)) {
          loss[j] += n * probes.loss(j, x, n, b.labels());
        } else {
          failed[j] = true;
        }
      }
      rows += n;
    }
    double chance = Math.log(probeClasses);
    for (int j = 0; j < routed.size(); j++) {
      double score = chance - loss[j] / rows;
      // A loss still not a number (a probe restored from a damaged file): nothing to use.
      out.put(routed.get(j), failed[j] || Double.isNaN(score) ? 0.0 : Math.max(0, score));
    }
    return out;
  }

  /** How many batches it has trained on since it started (over every learner it had). */
  public synchronized long trainedBatches() {
    return trained;
  }

  /**
   * Its accuracy on a held-out batch, routing without noise; nothing trains.
   *
   * @return empty if the neuron does not learn or has no peers yet
   * @throws IllegalStateException if the neuron is closed
   */
  public synchronized Optional<Evaluation> evaluate(LabelledBatch batch) {
    requireOpen();
    Objects.requireNonNull(batch, "batch");
    if (learner == null) {
      return Optional.empty();
    }
    return Optional.of(learner.evaluate(batch.request(), batch.labels()));
  }

  /**
   * The weight row it would set now, by peer: from its learner, or its {@link Builder#votes}.
   * A neuron that scores by probes asks its peers for their scores; once closed it cannot, and
   * answers an empty row (it never throws for being closed, as the step methods do).
   *
   * @return empty if it has nothing to weigh (no learner and no votes, or no peers), or it
   *     scores by probes and is closed
   */
  public synchronized Map<PeerId, Double> weights() {
    Metagraph m = metagraph;
    return m == null ? Map.of() : row(m).weights();
  }

  /**
   * A weight row, and whether it is empty because the probes scored every routed peer 0 (the
   * loop words why it set no row from this, rather than ask the peers again).
   */
  private record Row(Map<PeerId, Double> weights, boolean peersSilent) {}

  /** {@link #weights()} in {@code m}. */
  private synchronized Row row(Metagraph m) {
    if (votes != null) {
      return new Row(Map.copyOf(votes.apply(m)), false);
    }
    if (learner == null) {
      return new Row(Map.of(), false);
    }
    int min = Math.min(m.params().minAllowedWeights(), routed.size());
    double[] row;
    if (probes != null && closed.get()) {
      return new Row(Map.of(), false); // its calls to peers end at once: nothing to score
    } else if (probes != null) {
      double[] scores = probeScores().values().stream().mapToDouble(Double::doubleValue)
          .toArray();
      if (java.util.Arrays.stream(scores).allMatch(x -> x == 0)) {
        // No peer told it anything (all failed, or carry no information): a uniform row would
        // pay them all, so it sets none and its last row stands.
        return new Row(Map.of(), true);
      }
      row = Learner.weightRow(scores, min);
    } else {
      row = learner.weights(weightSource, min).toArray();
    }
    Map<PeerId, Double> out = new LinkedHashMap<>();
    double sum = 0;
    for (int j = 0; j < row.length; j++) {
      out.put(routed.get(j), row[j]);
      sum += row[j];
    }
    if (m.params().minAllowedWeights() > routed.size() && m.uid(keypair.id()).isPresent()) {
      // The consensus peg counts every peer, this one included, and rises to their number; in
      // a market of n it may ask for n entries where there are n - 1 others. The paper's W has
      // a diagonal, so the row complies by naming itself, at the least it can give.
      out.put(keypair.id(), SELF_WEIGHT * sum);
    }
    return new Row(out, false);
  }

  /**
   * Submits its weight row ({@link #weights()}) to the ledger, by uid in the latest metagraph,
   * made as of that metagraph's block: should a peer it names be replaced before the row lands,
   * the ledger drops that entry rather than give the newcomer its vote.
   *
   * @return completes with the receipt once the row is in a durable block, or fails with the
   *     ledger's reason; empty if there is nothing to weigh or the neuron is not registered yet
   * @throws IllegalStateException if the neuron is closed
   */
  public synchronized Optional<CompletableFuture<Receipt>> setWeights() {
    return Optional.ofNullable(sendWeights().receipt());
  }

  /** A row sent (its receipt), or why none was (in words for the listener). */
  private record Sent(CompletableFuture<Receipt> receipt, String whyNone) {}

  /** {@link #setWeights()}, saying why it sent no row. */
  private synchronized Sent sendWeights() {
    requireOpen();
    Metagraph m = metagraph;
    if (m == null || m.uid(keypair.id()).isEmpty()) {
      return new Sent(null, nothingToWeigh(false)); // no row to send: no peer is asked
    }
    Row row = row(m);
    List<Integer> uids = new ArrayList<>();
    List<Double> values = new ArrayList<>();
    for (var e : row.weights().entrySet()) {
      OptionalInt uid = m.uid(e.getKey());
      if (uid.isPresent() && e.getValue() > 0) {
        uids.add(uid.getAsInt());
        values.add(e.getValue());
      }
    }
    if (uids.isEmpty()) {
      return new Sent(null, nothingToWeigh(row.peersSilent()));
    }
    int[] u = uids.stream().mapToInt(Integer::intValue).toArray();
    double[] v = values.stream().mapToDouble(Double::doubleValue).toArray();
    return new Sent(ledger.submit(keypair, Transaction.setWeights(u, v, m.block().number())),
        null);
  }

  /**
   * Starts the background loop: waits for the registration, then syncs every sync interval,
   * trains a batch at a time, and sets weights every weight interval. Failures (a ledger that
   * cannot be reached, a rejected row) go to the listener and the loop goes on (a registration
   * that cannot read the ledger is tried again: see {@link #registration()}; one the ledger
   * refuses ends the loop, telling {@code registration failed: <reason>}): a failure that
   * repeats alike is told at its 1st, 2nd, 4th, 8th ... time in a row, and the first step that
   * succeeds after failures says how many failed.
   *
   * @return this neuron
   * @throws IllegalStateException if the loop runs already or the neuron is closed
   */
  public synchronized Neuron runInBackground() {
    requireOpen();
    if (loop != null) {
      throw new IllegalStateException("the loop runs already");
    }
    Thread t = new Thread(this::loop, "neuron-" + keypair.id().toHex().substring(0, 8));
    t.setDaemon(true);
    t.start();
    loop = t; // started first: a close that sees it can interrupt and join it
    return this;
  }

  private void loop() {
    Instant lastSync = Instant.MIN;
    Instant lastWeights = clock.instant();
    // The last save at a weight interval: a warm-up's try after each batch moves lastWeights on.
    Instant lastSaved = lastWeights;
    // With a warm-up, the first row goes in as soon as the neuron has trained that many
    // batches and has something to weigh, not a whole interval after it started.
    boolean firstRowPending = warmUp > 0;
    // A row not set is said once, until a row goes in again: else the weight lines just stop.
    boolean quietSaid = false;
    // Steps failed in a row; of them, the latest that failed alike, and how.
    long failedInARow = 0;
    long failedAlike = 0;
    String lastFailure = null;
    try {
      registration.get();
    } catch (Exception e) {
      if (!closed.get()) { // closed while waiting: nothing failed
        listener.onEvent(this, "registration failed: " + e.getMessage());
      }
      return;
    }
    while (!closed.get()) {
      try {
        Instant now = clock.instant();
        if (lastSync == Instant.MIN || due(lastSync, now, syncInterval)) {
          sync();
          lastSync = now;
        }
        Optional<StepResult> step = train();
        boolean warm = firstRowPending && warmedUp();
        if (warm || due(lastWeights, now, weightInterval)) {
          lastWeights = now;
          try {
            Sent sent = sendWeights();
            if (sent.receipt() != null) {
              boolean first = firstRowPending;
              // Sent: the warm-up is over, whether the ledger takes the row or refuses it (a
              // refused row is not sent again after every batch, but at the interval).
              firstRowPending = false;
              Receipt receipt = sent.receipt().get(
                  millisAtMost(weightInterval, Long.MAX_VALUE - 30_000) + 30_000,
                  TimeUnit.MILLISECONDS);
              listener.onEvent(this, (first ? "first weights set in block "
                  : "weights set in block ") + receipt.block());
              quietSaid = false;
            } else if (!quietSaid) {
              quietSaid = true;
              listener.onEvent(this, "no weights set: " + sent.whyNone());
            }
          } finally {
            // Whether the ledger took the row or not: what was learned is kept each interval,
            // not after each batch of a warm-up that finds nothing to weigh.
            // lastSaved is never after lastWeights: an interval due for one is due for both.
            if (due(lastSaved, now, weightInterval)) {
              lastSaved = now;
              saveFromTheLoop();
            }
          }
        }
        if (failedInARow > 0) {
          listener.onEvent(this, "steps succeed again after " + failedInARow + " failed in a row");
          failedInARow = 0;
          failedAlike = 0;
          lastFailure = null;
        }
        if (step.isEmpty()) {
          Thread.sleep(millisAtMost(syncInterval, 200));
        }
      } catch (InterruptedException e) {
        return;
      } catch (Exception e) {
        if (closed.get()) {
          return;
        }
        String failure = String.valueOf(e);
        failedInARow++;
        failedAlike = failure.equals(lastFailure) ? failedAlike + 1 : 1;
        lastFailure = failure;
        // A failure that lasts (a ledger down for an hour) is told at its 1st, 2nd, 4th, 8th ...
        // time in a row, not at every retry: the log thins out while the cause stays.
        if (Long.bitCount(failedAlike) == 1) {
          listener.onEvent(this, "step failed"
              + (failedAlike == 1 ? "" : " (" + failedAlike + " times in a row)") + ": " + e);
        }
        try {
          Thread.sleep(millisAtMost(syncInterval, 1000));
        } catch (InterruptedException ie) {
          return;
        }
      }
    }
  }

  /**
   * Why {@link #setWeights()} sent no row, in words for the listener; {@code peersSilent}: its
   * probes scored every routed peer 0 (told by the row, not asked again).
   */
  private synchronized String nothingToWeigh(boolean peersSilent) {
    if (metagraph == null || routed.isEmpty()) {
      return "it routes over no peers yet";
    }
    if (metagraph.uid(keypair.id()).isEmpty()) {
      return "its key is not in the latest metagraph (was its uid given to another peer?)";
    }
    if (peersSilent) {
      return "none of the " + routed.size() + " peers it routes over told it anything (their"
          + " answers failed or carried nothing), so its last row stands";
    }
    return "nothing to weigh yet";
  }

  /**
   * Whether {@code interval} has passed from {@code last} to {@code now}; without overflow, for
   * intervals as long as {@link java.time.temporal.ChronoUnit#FOREVER}.
   */
  private static boolean due(Instant last, Instant now, Duration interval) {
    return Duration.between(last, now).compareTo(interval) >= 0;
  }

  /** {@code d} in milliseconds, at most {@code cap}; without overflow. */
  private static long millisAtMost(Duration d, long cap) {
    return d.compareTo(Duration.ofMillis(cap)) >= 0 ? cap : d.toMillis();
  }

  /** Whether it has trained its warm-up's batches, here or in a learner it restored. */
  private synchronized boolean warmedUp() {
    return trained >= warmUp || (learner != null && learner.trainedSteps() >= warmUp);
  }

  /**
   * The loop's save at a weight interval, unless close began: close saves once the loop has
   * stopped. Under {@link #fileLock}, so that close's interrupt does not land in the write.
   */
  private void saveFromTheLoop() {
    if (checkpoint == null) {
      return;
    }
    Exception failed;
    synchronized (this) {
      synchronized (fileLock) {
        if (closed.get()) {
          return;
        }
        failed = trySave();
      }
    }
    reportUnsaved(failed); // outside the locks: the listener may close the neuron
  }

  private void saveCheckpointOrReport() {
    if (checkpoint != null) {
      reportUnsaved(trySave());
    }
  }

  /** Saves the checkpoint; why it was not saved, or null. */
  private Exception trySave() {
    try {
      saveCheckpoint();
      return null;
    } catch (IOException | RuntimeException e) {
      return e;
    }
  }

  private void reportUnsaved(Exception failed) {
    if (failed != null) {
      listener.onEvent(this, "checkpoint not saved: " + failed);
    }
  }

  private double stakeOf(PeerId caller) {
    Metagraph m = metagraph;
    if (m == null) {
      return 0;
    }
    OptionalInt uid = m.uid(caller);
    return uid.isPresent() ? m.stake(uid.getAsInt()) : 0;
  }

  private void requireOpen() {
    if (closed.get()) {
      throw new IllegalStateException("the neuron is closed");
    }
  }

  /**
   * Stops the neuron and releases what it started; idempotent. In this order: no step starts any
   * more (the step methods throw {@link IllegalStateException}); its calls to peers still in
   * flight end at once with {@link Status#CANCELLED} (and are cancelled underneath), as does any
   * later one, without being made; the background loop is interrupted, which ends its waits for
   * the registration, for a weight row's receipt or before its next step; and close waits for
   * the loop's thread to end (a training step cut short learns from what it got: the peers whose
   * calls it ended count as failing for that batch). Then, with {@link Builder#checkpoints}, it
   * saves the checkpoint, once: the loop saves none once close began, so the file is never
   * written by both at once, nor after close returned. Last it closes the server, the members'
   * follower and the client it built; the ledger, the served peer and a client passed in stay
   * the caller's.
   *
   * <p>When close returns, the loop's thread has ended: nothing of the neuron runs on, or uses
   * what close released. The wait has no time limit. What close cannot cut short is the
   * caller's own code on the loop's thread (the listener, the dataset, the learner factory, the
   * learner's computing) and a ledger read in progress (bounded by the ledger's own timeouts);
   * close waits for them. A closing thread that is interrupted goes on waiting; its interrupt is
   * set again when close returns (and is cleared while it saves, so that the file channel stays
   * open).
   *
   * <p>Called from the loop's own thread (by a listener), close cannot wait for that thread: it
   * neither interrupts nor waits for it, saves and releases at once, and the loop ends when the
   * listener returns, starting no step and saving nothing more. A close while another thread is
   * closing the neuron waits for that one to finish, unless it runs on the loop's thread or the
   * closing thread itself (a listener told of the save).
   */
  @Override
  public void close() {
    Thread me = Thread.currentThread();
    if (!closed.compareAndSet(false, true)) {
      if (me != loop && me != closer && uninterruptibly(released::await)) {
        me.interrupt();
      }
      return;
    }
    closer = me;
    boolean interrupted = Thread.interrupted();
    try {
      calls.cancelAll();
      Registrar r = registrar;
      if (r != null) {
        r.stop();
      }
      Thread t = loop;
      if (t == null) {
        synchronized (this) { // a runInBackground under way has started its thread
          t = loop;
        }
      }
      if (t != null && t != me) {
        synchronized (fileLock) { // not in the middle of writing the checkpoint
          t.interrupt();
        }
        interrupted |= uninterruptibly(t::join);
      }
      saveCheckpointOrReport();
      closeWhatItStarted();
    } finally {
      released.countDown();
      if (interrupted) {
        me.interrupt();
      }
    }
  }

  /** A wait that an interrupt ends early. */
  private interface Wait {
    void await() throws InterruptedException;
  }

  /** Waits to the end, interrupted or not; whether this thread was interrupted meanwhile. */
  private static boolean uninterruptibly(Wait wait) {
    boolean interrupted = false;
    while (true) {
      try {
        wait.await();
        return interrupted;
      } catch (InterruptedException e) {
        interrupted = true;
      }
    }
  }

  /** The server, the members' follower and the client, if this neuron made them. */
  private void closeWhatItStarted() {
    server.close();
    if (members != null) {
      members.close();
    }
    if (ownsClient) {
      client.close();
    }
  }

  @Override
  public String toString() {
    return "Neuron[" + keypair.id().toHex().substring(0, 8) + " serving " + served + " at "
        + server.endpoint() + "]";
  }

  /**
   * Settings of a {@link Neuron}. Not thread-safe.
   */
  public static final class Builder {
    private Keypair keypair;
    private Ledger ledger;
    private Peer peer;
    private Modality modality;
    private int outputDim;
    private String host = "127.0.0.1";
    private int port;
    private URI advertise;
    private InProcessNetwork network;
    private PeerClient client;
    private boolean requireSignedAnswers = true;
    private Path tlsKey;
    private Path tlsCertificates;
    private Path trustedCertificates;
    private Path clientTrust;
    private Path clientKey;
    private Path clientCertificates;
    private long stake;
    private Function<List<Peer>, Learner> learner;
    private Dataset dataset;
    private WeightSource weightSource = WeightSource.PRUNING_SCORE;
    private Function<Metagraph, Map<PeerId, Double>> votes;
    private Predicate<PeerInfo> routeTo = info -> true;
    private Duration weightInterval = Duration.ofSeconds(30);
    private Duration syncInterval = Duration.ofSeconds(5);
    private Duration timeout = Duration.ofSeconds(5);
    private Clock clock = Clock.systemUTC();
    private NeuronListener listener = NeuronListener.NONE;
    private CallListener.Factory calls = CallListener.Factory.NONE;
    private int probeClasses;
    private List<LabelledBatch> validation = List.of();
    private int warmUp;
    private Path checkpoints;
    private boolean membersOnly;
    private RandomGenerator retryRandom;
    private Duration firstBackoff = FIRST_BACKOFF;
    private Duration maxBackoff = MAX_BACKOFF;

    private Builder() {}

    /** Its identity (required): it signs requests and transactions with it. */
    public Builder keypair(Keypair keypair) {
      this.keypair = Objects.requireNonNull(keypair, "keypair");
      return this;
    }

    /** The ledger it registers on and reads the metagraph from (required); stays the caller's. */
    public Builder ledger(Ledger ledger) {
      this.ledger = Objects.requireNonNull(ledger, "ledger");
      return this;
    }

    /**
     * The peer it serves and the modality it takes (required); the peer stays the caller's. A
     * neuron that only validates may serve {@link Peers#failing}.
     */
    public Builder serve(Peer peer, Modality modality) {
      this.peer = Objects.requireNonNull(peer, "peer");
      this.modality = Objects.requireNonNull(modality, "modality");
      return this;
    }

    /**
     * The network's answer size (required).
     *
     * @throws IllegalArgumentException if {@code dim < 1}
     */
    public Builder outputDim(int dim) {
      if (dim < 1) {
        throw new IllegalArgumentException("outputDim must be >= 1, was " + dim);
      }
      this.outputDim = dim;
      return this;
    }

    /** The interface the HTTP server binds (default 127.0.0.1). */
    public Builder host(String host) {
      this.host = Objects.requireNonNull(host, "host");
      return this;
    }

    /**
     * The server's port (default 0: any free one).
     *
     * @throws IllegalArgumentException unless {@code 0 <= port <= 65535}
     */
    public Builder port(int port) {
      if (port < 0 || port > 65535) {
        throw new IllegalArgumentException("port must be in [0, 65535], was " + port);
      }
      this.port = port;
      return this;
    }

    /** The endpoint to register, when others reach it by another address than it binds. */
    public Builder advertise(URI endpoint) {
      this.advertise = Objects.requireNonNull(endpoint, "endpoint");
      return this;
    }

    /** Serve and call over an in-process network instead of HTTP (for tests and simulations). */
    public Builder inProcess(InProcessNetwork network) {
      this.network = Objects.requireNonNull(network, "network");
      return this;
    }

    /**
     * Whether the neuron's own client counts a peer's answer only when the peer signed it with
     * the key the ledger gives it ({@link PeerClient.Builder#requireSignedAnswers}). Default true:
     * nobody on the path can change the answers that the neuron's weights come from. Turn it off
     * only to call peers whose servers do not sign (a {@code PeerServer} without {@code
     * signAnswers}); a neuron's own server always signs. Not used with {@link #client}.
     */
    public Builder requireSignedAnswers(boolean require) {
      this.requireSignedAnswers = require;
      return this;
    }

    /**
     * Serves HTTPS: its server's TLS key and certificate chain (PEM; see {@link
     * PeerServer.Builder#tls(Path, Path)}), whose certificate names the host or address it
     * registers. Its endpoint on the ledger is then {@code https://}. Checked when the neuron
     * starts. Not used with {@link #inProcess}.
     */
    @Experimental
    public Builder tls(Path privateKey, Path certificateChain) {
      this.tlsKey = Objects.requireNonNull(privateKey, "privateKey");
      this.tlsCertificates = Objects.requireNonNull(certificateChain, "certificateChain");
      return this;
    }

    /**
     * The certificates its own client trusts for peers served over HTTPS (PEM; see {@link
     * PeerClient.Builder#trustedCertificates}); by default the JDK's authorities. Not used with
     * {@link #client}.
     */
    @Experimental
    public Builder trustedCertificates(Path pem) {
      this.trustedCertificates = Objects.requireNonNull(pem, "pem");
      return this;
    }

    /**
     * Mutual TLS for its server: serves only callers that show a certificate issued by one in
     * {@code trustedCertificates} (PEM; see {@link PeerServer.Builder#requireClientCertificates}).
     * Needs {@link #tls}; checked when the neuron starts. Not used with {@link #inProcess}.
     */
    @Experimental
    public Builder requireClientCertificates(Path trustedCertificates) {
      this.clientTrust = Objects.requireNonNull(trustedCertificates, "trustedCertificates");
      return this;
    }

    /**
     * Mutual TLS for its own client: the certificate it shows to peers that ask for one (PEM;
     * see {@link PeerClient.Builder#clientCertificate}). Checked when the neuron starts. Not
     * used with {@link #client}.
     */
    @Experimental
    public Builder clientCertificate(Path privateKey, Path certificateChain) {
      this.clientKey = Objects.requireNonNull(privateKey, "privateKey");
      this.clientCertificates = Objects.requireNonNull(certificateChain, "certificateChain");
      return this;
    }

    /** A client to call peers with (default: one of its own, signing with the key pair). */
    public Builder client(PeerClient client) {
      this.client = Objects.requireNonNull(client, "client");
      return this;
    }

    /**
     * Tokens to move from its balance to its stake when it registers (default 0).
     *
     * @throws IllegalArgumentException if negative
     */
    public Builder stake(long tokens) {
      if (tokens < 0) {
        throw new IllegalArgumentException("stake must be >= 0, was " + tokens);
      }
      this.stake = tokens;
      return this;
    }

    /**
     * How to build its learner over a list of peers (default: it does not learn). Called again
     * whenever the routed peers change; the factory may reuse a head it keeps.
     */
    public Builder learner(Function<List<Peer>, Learner> factory) {
      this.learner = Objects.requireNonNull(factory, "factory");
      return this;
    }

    /** Its labelled training data (needed to learn). */
    public Builder dataset(Dataset dataset) {
      this.dataset = Objects.requireNonNull(dataset, "dataset");
      return this;
    }

    /**
     * Score peers by probes instead of the learner's {@link WeightSource}: besides training its
     * learner, the neuron asks every routed peer about each training batch and trains a small
     * linear classifier per peer on that peer's answers alone; its weight row is each peer's
     * information about the labels of {@code validation} ({@link Neuron#probeScores()}), which
     * nothing trains on. Frozen peers whose answers live in different spaces blur into one sum
     * under the gate, so that its importance and pruning score rank them poorly; a probe per peer
     * measures each one on its own, and scores a peer that carries no information (noise) 0.
     * This asks every peer twice per batch.
     *
     * @param classes labels are in {@code [0, classes)}, {@code >= 2}
     * @param validation held-out labelled batches, at least one; not modified
     * @throws IllegalArgumentException if {@code classes < 2}, there is no batch, or a batch
     *     holds a label outside {@code [0, classes)}
     */
    public Builder scoreByProbes(int classes, List<LabelledBatch> validation) {
      if (classes < 2) {
        throw new IllegalArgumentException("classes must be >= 2, was " + classes);
      }
      if (validation.isEmpty()) {
        throw new IllegalArgumentException("scoring by probes needs at least one validation batch");
      }
      for (int v = 0; v < validation.size(); v++) {
        requireClasses(validation.get(v).labels(), classes, "validation batch " + v);
      }
      this.probeClasses = classes;
      this.validation = List.copyOf(validation);
      return this;
    }

    /**
     * Where a learning neuron's weight row comes from (default the pruning score). {@link
     * WeightSource#REROUTED_LOSS} and {@link WeightSource#STAND_IN_PRUNING_SCORE} need learners
     * that probe ({@code Learner.Builder.probeEvery}, on by default).
     */
    public Builder weightSource(WeightSource source) {
      this.weightSource = Objects.requireNonNull(source, "source");
      return this;
    }

    /**
     * Vote with a function of the metagraph instead of a learner's scores: it returns the weight
     * per peer (non-negative; the ledger normalises the row).
     */
    public Builder votes(Function<Metagraph, Map<PeerId, Double>> votes) {
      this.votes = Objects.requireNonNull(votes, "votes");
      return this;
    }

    /** Which registered peers to route over (default: all of its modality but itself). */
    public Builder routeTo(Predicate<PeerInfo> filter) {
      this.routeTo = Objects.requireNonNull(filter, "filter");
      return this;
    }

    /**
     * How often the background loop sets weights (default 30 s).
     *
     * @throws IllegalArgumentException if not positive
     */
    public Builder weightInterval(Duration interval) {
      this.weightInterval = positive(interval, "weightInterval");
      return this;
    }

    /**
     * Set the first weight row early: the background loop sets it as soon as the neuron has
     * trained {@code batches} batches and has something to weigh (trying again after each
     * batch until then), instead of a whole {@link #weightInterval} after it started; later rows
     * follow at the interval (after a first row the ledger refused too). A learner restored from
     * a {@link #checkpoints} checkpoint counts the batches it trained before. A neuron that joins
     * a running market thus counts in the next epoch rather than an interval later. Default 0: no
     * warm-up, the first row waits the interval.
     *
     * @throws IllegalArgumentException if negative
     */
    public Builder warmUp(int batches) {
      if (batches < 0) {
        throw new IllegalArgumentException("warmUp must be >= 0 batches, was " + batches);
      }
      this.warmUp = batches;
      return this;
    }

    /**
     * How often the background loop reads the metagraph (default 5 s).
     *
     * @throws IllegalArgumentException if not positive
     */
    public Builder syncInterval(Duration interval) {
      this.syncInterval = positive(interval, "syncInterval");
      return this;
    }

    /**
     * How long its own client waits for a peer (default 5 s).
     *
     * @throws IllegalArgumentException if not positive
     */
    public Builder timeout(Duration timeout) {
      this.timeout = positive(timeout, "timeout");
      return this;
    }

    /** The clock of the background loop's intervals (default the system clock). */
    public Builder clock(Clock clock) {
      this.clock = Objects.requireNonNull(clock, "clock");
      return this;
    }

    /**
     * Keep what it learns in {@code folder} ({@link Neuron#CHECKPOINT_FILE}, created if need be),
     * so that a restart, or a crash, costs it at most one weight interval of learning: saved at
     * every weight interval and on {@link Neuron#close()}, restored when it first builds its
     * learner (see the class comment). Default: none. One neuron per folder.
     */
    public Builder checkpoints(Path folder) {
      this.checkpoints = Objects.requireNonNull(folder, "folder");
      return this;
    }

    /**
     * Whether its server answers only keys registered on the ledger ({@link LedgerMembers}, which
     * follows the ledger's blocks); the others, anonymous callers included, get UNAUTHENTICATED
     * and never reach its peer, nor teach it with their gradients. A key that registers is served
     * from the block that registers it, as the neuron hears of it. Default false: every signed
     * caller.
     */
    @Experimental
    public Builder servesMembersOnly(boolean on) {
      this.membersOnly = on;
      return this;
    }

    /** Told what the neuron does (default: nothing). */
    public Builder listener(NeuronListener listener) {
      this.listener = Objects.requireNonNull(listener, "listener");
      return this;
    }

    /**
     * Hears every call the neuron's server answers and every call it makes to its peers
     * ({@link CallListener}, for metrics; default none). Not the calls of a {@link #client}
     * given to it, which has its own. Replaces a {@link #callListenerFactory} set before.
     */
    @Experimental
    public Builder callListener(CallListener listener) {
      this.calls = CallListener.Factory.of(listener);
      return this;
    }

    /**
     * Makes a listener for every call the neuron's server answers and every call it makes to
     * its peers, as the call starts ({@link CallListener.Factory}: for state of each call's own,
     * such as a tracing span; default none). Not the calls of a {@link #client} given to it.
     * Replaces a {@link #callListener} set before.
     */
    @Experimental
    public Builder callListenerFactory(CallListener.Factory factory) {
      this.calls = Objects.requireNonNull(factory, "factory");
      return this;
    }

    /**
     * Draws how many blocks a registration refused by the ledger's cap waits before it is sent
     * again, and how long, within its back-off, should no block come; default a {@link
     * java.util.SplittableRandom} of its own. For tests that need the
     * draws to repeat. Used under the neuron's own lock: it need not be thread-safe.
     */
    Builder retryRandom(RandomGenerator random) {
      this.retryRandom = Objects.requireNonNull(random, "random");
      return this;
    }

    /**
     * The back-off of a registration refused by the ledger's cap, should no block come, and of
     * one that could not read the ledger: {@code first}, doubling to {@code max} (default 1 s to
     * 30 s). For tests that cannot wait seconds.
     *
     * @throws IllegalArgumentException if {@code first} is under 1 ms or {@code max} under it
     */
    Builder registrationBackoff(Duration first, Duration max) {
      if (first.toMillis() < 1 || max.compareTo(first) < 0) {
        throw new IllegalArgumentException("registrationBackoff: first " + first + " and max "
            + max + ", expected first at least 1 ms and max at least first");
      }
      this.firstBackoff = first;
      this.maxBackoff = max;
      return this;
    }

    /**
     * Starts its server and submits its registration (and stake): see
     * {@link Neuron#registration()} for when they are in the ledger.
     *
     * @throws IllegalStateException if the key pair, ledger, served peer or outputDim is missing,
     *     the served peer is an {@code OnnxPeer} of another output size, {@link #learner} was
     *     called without {@link #dataset} or {@link #scoreByProbes} without {@link #learner}, or
     *     {@link #requireClientCertificates} was called without {@link #tls}
     * @throws IllegalArgumentException if the {@link #tls}, {@link #trustedCertificates}, {@link
     *     #requireClientCertificates} or {@link #clientCertificate} files cannot be read or hold
     *     no key or certificate of a form they take (nothing is started)
     * @throws IOException if the server cannot bind its port, or the {@link #checkpoints} folder
     *     cannot be created; a {@link io.bittensor.core.LedgerException} if, with {@link
     *     #servesMembersOnly}, the ledger's members cannot be read
     */
    public Neuron start() throws IOException {
      List<String> missing = new ArrayList<>();
      if (keypair == null) {
        missing.add("keypair(...)");
      }
      if (ledger == null) {
        missing.add("ledger(...)");
      }
      if (peer == null) {
        missing.add("serve(peer, modality)");
      }
      if (outputDim == 0) {
        missing.add("outputDim(...)");
      }
      if (!missing.isEmpty()) {
        throw new IllegalStateException("a neuron needs a keypair, a ledger, a peer to serve and"
            + " an outputDim; call " + String.join(", ", missing) + " before start()");
      }
      if (learner != null && dataset == null) {
        throw new IllegalStateException("a neuron that learns needs a dataset");
      }
      if (probeClasses > 0 && learner == null) { // else it never scores, and says nothing of why
        throw new IllegalStateException("scoring by probes needs a learner (learner(...)) and a"
            + " dataset: its probes train on the batches its learner trains on");
      }
      if (peer instanceof OnnxPeer model && model.outputDim() != outputDim) {
        // Else it would serve, and every call to it would fail BAD_SHAPE on output.shape.
        throw new IllegalStateException("the served OnnxPeer answers " + model.outputDim()
            + " values a position, but the neuron's outputDim is " + outputDim + "; give"
            + " outputDim(" + model.outputDim() + "), or serve a model of " + outputDim);
      }
      return new Neuron(this);
    }

    private static Duration positive(Duration d, String name) {
      Objects.requireNonNull(d, name);
      if (d.isNegative() || d.isZero()) {
        throw new IllegalArgumentException(name + " must be positive, was " + d);
      }
      return d;
    }
  }
}
