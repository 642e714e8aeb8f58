package io.bittensor.transport.internal;

import com.google.protobuf.ByteString;
import com.google.protobuf.InvalidProtocolBufferException;
import io.bittensor.core.BlockHistory;
import io.bittensor.core.Hash256;
import io.bittensor.core.Ledger;
import io.bittensor.core.LedgerException;
import io.bittensor.core.Metagraph;
import io.bittensor.core.PeerId;
import io.bittensor.core.PeerInfo;
import io.bittensor.core.Receipt;
import io.bittensor.core.RejectReason;
import io.bittensor.core.Rejection;
import io.bittensor.core.SignedTransaction;
import io.bittensor.core.Status;
import io.bittensor.core.TransactionRejectedException;
import io.bittensor.core.internal.Timer;
import io.bittensor.core.internal.ledger.EpochReplay;
import io.bittensor.core.internal.ledger.Journal;
import io.bittensor.transport.LedgerRequestListener;
import io.bittensor.transport.SubmissionEvent;
import io.bittensor.transport.SubmissionListener;
import io.bittensor.transport.internal.wire.AccountRequest;
import io.bittensor.transport.internal.wire.BlockRecord;
import io.bittensor.transport.internal.wire.BlocksRequest;
import io.bittensor.transport.internal.wire.EventsRequest;
import io.bittensor.transport.internal.wire.LedgerRequest;
import io.bittensor.transport.internal.wire.LedgerResponse;
import io.bittensor.transport.internal.wire.MetagraphDelta;
import io.bittensor.transport.internal.wire.SubmitAllRequest;
import io.bittensor.transport.internal.wire.SubmitRequest;
import io.bittensor.transport.internal.wire.SubmitResult;
import java.net.InetSocketAddress;
import java.net.SocketAddress;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.CancellationException;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.Executor;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.function.BiConsumer;
import org.eclipse.jetty.http.HttpHeader;
import org.eclipse.jetty.io.Content;
import org.eclipse.jetty.server.Handler;
import org.eclipse.jetty.server.Request;
import org.eclipse.jetty.server.Response;
import org.eclipse.jetty.util.Callback;

/**
 * The Jetty core handler of {@code POST /v1/ledger/*}: checks the HTTP envelope, reads the body
 * (bounded), authenticates the caller, and serves submit, account, metagraph, blocks (a page at
 * a time) and genesis with one {@code LedgerResponse}, events with a stream of length-delimited
 * {@code LedgerEvent}s that lasts until the client leaves or the server closes.
 *
 * <p>Thread-safe. Requests run on Jetty's threads and may block them briefly: a submit for its
 * validation. A body is read without holding a thread while it arrives. An event stream holds
 * no thread: it is written as events come ({@link EventStream}).
 */
public final class LedgerHandler extends Handler.Abstract {
  private static final String PREFIX = "/v1/ledger/";
  private static final List<String> OPS =
      List.of("submit", "account", "metagraph", "events", "blocks", "genesis", "submit-all");
  /** The most transactions one submit-all request may hold. */
  static final int MAX_SUBMIT_ALL = 4096;
  /** A page of blocks: at most this many, and about this many bytes. */
  static final int PAGE_BLOCKS = 1024;
  static final int PAGE_BYTES = 4 << 20;

  private final Ledger ledger;
  private final SubmissionListener submissions;
  private final LedgerRequestListener requests;
  private final LedgerHub hub;
  private final Authenticator auth;
  private final int maxPayloadBytes;
  private final Executor executor;
  private final long bodyDeadlineMillis;
  private final int maxStreamsPerAddress;
  /** The event streams open now, by client (an IPv6 client by its /64; none held: no entry). */
  private final ConcurrentHashMap<Object, Integer> streamsByAddress = new ConcurrentHashMap<>();
  /**
   * The awaited transactions of each client's streams whose answers are not all taken for
   * writing yet ({@link LedgerWire#MAX_AWAITING_PER_ADDRESS}); none: no entry.
   */
  private final ConcurrentHashMap<Object, Integer> awaitedByAddress = new ConcurrentHashMap<>();

  public LedgerHandler(Ledger ledger, LedgerHub hub, Authenticator auth, int maxPayloadBytes) {
    this(ledger, hub, auth, maxPayloadBytes, SubmissionListener.NONE);
  }

  /** @param submissions hears each transaction once the ledger sealed or refused it */
  public LedgerHandler(Ledger ledger, LedgerHub hub, Authenticator auth, int maxPayloadBytes,
      SubmissionListener submissions) {
    this(ledger, hub, auth, maxPayloadBytes, submissions, LedgerRequestListener.NONE);
  }

  /** @param requests hears each request once it is over */
  public LedgerHandler(Ledger ledger, LedgerHub hub, Authenticator auth, int maxPayloadBytes,
      SubmissionListener submissions, LedgerRequestListener requests) {
    this(ledger, hub, auth, maxPayloadBytes, submissions, requests, null);
  }

  /** @param executor serves a request whose body came after it arrived; null: where it came */
  public LedgerHandler(Ledger ledger, LedgerHub hub, Authenticator auth, int maxPayloadBytes,
      SubmissionListener submissions, LedgerRequestListener requests, Executor executor) {
    this(ledger, hub, auth, maxPayloadBytes, submissions, requests, executor, Long.MAX_VALUE,
        Integer.MAX_VALUE);
  }

  /**
   * @param bodyDeadlineMillis how long a request's body may take to arrive, from its head, before
   *     it is answered TIMEOUT; {@link Long#MAX_VALUE} for no limit
   * @param maxStreamsPerAddress the most event streams one client address (an IPv6 client's /64)
   *     holds at once; more are answered BACKOFF
   */
  public LedgerHandler(Ledger ledger, LedgerHub hub, Authenticator auth, int maxPayloadBytes,
      SubmissionListener submissions, LedgerRequestListener requests, Executor executor,
      long bodyDeadlineMillis, int maxStreamsPerAddress) {
    this.bodyDeadlineMillis = bodyDeadlineMillis;
    this.maxStreamsPerAddress = maxStreamsPerAddress;
    this.executor = executor;
    this.submissions = submissions;
    this.requests = requests;
    this.ledger = ledger;
    this.hub = hub;
    this.auth = auth;
    this.maxPayloadBytes = maxPayloadBytes;
  }

  @Override
  public boolean handle(Request request, Response response, Callback callback) {
    String path = Request.getPathInContext(request);
    String op = path.startsWith(PREFIX) ? path.substring(PREFIX.length()) : "";
    LedgerCall call = requests == LedgerRequestListener.NONE ? null
        : new LedgerCall(op, request, requests);
    serve(op, path, request, response, call == null ? callback : call.heardWhenDone(callback),
        call);
    return true;
  }

  /** Serves the request; {@code call} (null when nobody listens) learns its caller and answer. */
  private void serve(String op, String path, Request request, Response response,
      Callback callback, LedgerCall call) {
    if (!OPS.contains(op)) {
      send(response, callback, 404, Rejection.badRequest("path",
          "no such path " + path + "; POST " + PREFIX + String.join("|", OPS)));
      return;
    }
    if (!"POST".equals(request.getMethod())) {
      response.getHeaders().put(HttpHeader.ALLOW, "POST");
      send(response, callback, 405, Rejection.badRequest("method",
          path + " takes POST, not " + request.getMethod()));
      return;
    }
    String type = request.getHeaders().get(HttpHeader.CONTENT_TYPE);
    if (type == null || !type.regionMatches(true, 0, HttpPeerHandler.PROTOBUF, 0,
        HttpPeerHandler.PROTOBUF.length())) {
      send(response, callback, 415, Rejection.badRequest("content-type",
          "the body must be " + HttpPeerHandler.PROTOBUF + ", was " + type));
      return;
    }
    long length = request.getHeaders().getLongField(HttpHeader.CONTENT_LENGTH);
    if (length > maxPayloadBytes) {
      send(response, callback, tooLarge(length));
      return;
    }
    // Read without holding a thread: a body that trickles in must not tie up the server's pool.
    // One that came whole is served on this thread; one that came later on the pool's, not on
    // the thread that read its last bytes (which may be the connection's own).
    CompletableFuture<byte[]> read = Content.Source.asByteArrayAsync(request, maxPayloadBytes);
    if (!read.isDone() && bodyDeadlineMillis != Long.MAX_VALUE) {
      // Jetty's idle timeout counts from the last byte: a body sent a byte now and then would
      // hold its stream and what it sent for good. (A timer only for a body waited for.)
      Timer.Timeout late = Timer.SHARED.schedule(bodyDeadlineMillis, TimeUnit.MILLISECONDS,
          () -> read.completeExceptionally(new BodyLate()));
      read.whenComplete((body, failure) -> late.cancel());
    }
    BiConsumer<byte[], Throwable> serveBody = (body, failure) -> {
      if (failure == null) {
        try {
          serve(op, body, request, response, callback, call);
        } catch (RuntimeException | Error e) { // the request must end either way
          callback.failed(e);
        }
        return;
      }
      Throwable cause = failure instanceof CompletionException && failure.getCause() != null
          ? failure.getCause() : failure;
      if (cause instanceof BodyLate) {
        send(response, callback, Rejection.of(Status.TIMEOUT,
            "the request's body did not arrive within " + bodyDeadlineMillis + " ms"));
      } else if (cause instanceof IllegalStateException) { // Jetty's word: over the limit
        send(response, callback, tooLarge(-1));
      } else {
        callback.failed(cause); // the body broke off: the caller went away
      }
    };
    if (read.isDone() || executor == null) {
      read.whenComplete(serveBody);
    } else {
      read.whenCompleteAsync(serveBody, executor);
    }
  }

  /**
   * Whom a stream is counted against: the client's {@link ClientBucket} (its IPv4 address, its
   * IPv6 /64), or its socket address.
   */
  private static Object clientAddress(Request request) {
    SocketAddress remote = request.getConnectionMetaData().getRemoteSocketAddress();
    if (remote instanceof InetSocketAddress inet && inet.getAddress() != null) {
      return ClientBucket.of(inet.getAddress());
    }
    return remote == null ? "" : remote;
  }

  /** Takes one of {@code from}'s stream slots; false when it holds them all. */
  private boolean takeStream(Object from) {
    boolean[] taken = new boolean[1];
    streamsByAddress.compute(from, (k, held) -> {
      int n = held == null ? 0 : held;
      if (n >= maxStreamsPerAddress) {
        return held;
      }
      taken[0] = true;
      return n + 1;
    });
    return taken[0];
  }

  private void releaseStream(Object from) {
    streamsByAddress.computeIfPresent(from, (k, held) -> held <= 1 ? null : held - 1);
  }

  /**
   * Counts {@code n} awaited transactions against {@code from} unless that takes it past {@link
   * LedgerWire#MAX_AWAITING_PER_ADDRESS}: -1 when counted, else the number it holds already.
   */
  private int takeAwaited(Object from, int n) {
    int[] refused = {-1};
    awaitedByAddress.compute(from, (k, held) -> {
      int h = held == null ? 0 : held;
      if (h + n > LedgerWire.MAX_AWAITING_PER_ADDRESS) {
        refused[0] = h;
        return held;
      }
      return h + n == 0 ? null : h + n;
    });
    return refused[0];
  }

  private void releaseAwaited(Object from, int n) {
    awaitedByAddress.computeIfPresent(from, (k, held) -> held <= n ? null : held - n);
  }

  /** {@code done}, running {@code release} first however it ends. */
  private static Callback releasing(Runnable release, Callback done) {
    return new Callback() {
      @Override
      public void succeeded() {
        release.run();
        done.succeeded();
      }

      @Override
      public void failed(Throwable x) {
        release.run();
        done.failed(x);
      }

      @Override
      public InvocationType getInvocationType() {
        return done.getInvocationType();
      }
    };
  }

  /** A body that did not arrive within its deadline. */
  private static final class BodyLate extends RuntimeException {
    BodyLate() {
      super(null, null, false, false);
    }
  }

  /** Serves a request whose body has been read. */
  private void serve(String op, byte[] body, Request request, Response response,
      Callback callback, LedgerCall call) {
    try {
      LedgerRequest req = LedgerRequest.parseFrom(body);
      if (req.getVersion() != PeerInfo.PROTOCOL_VERSION) {
        throw new Rejected(Status.UNSUPPORTED_VERSION, "version", "this server speaks version "
            + PeerInfo.PROTOCOL_VERSION + ", the request was version "
            + Integer.toUnsignedString(req.getVersion())); // uint32 on the wire
      }
      if (call != null) {
        call.named(req.getCaller().getPublicKey());
      }
      PeerId caller = auth.authenticate(req.getCaller(), () -> CanonicalDigest.ofLedger(op, req));
      if (call != null) {
        call.proved(caller);
      }
      switch (op) {
        case "submit" -> send(response, callback, submit(SubmitRequest.parseFrom(req.getBody()),
            caller));
        case "submit-all" -> send(response, callback,
            submitAll(SubmitAllRequest.parseFrom(req.getBody()), caller));
        case "account" -> send(response, callback, account(AccountRequest.parseFrom(
            req.getBody())));
        case "metagraph" -> send(response, callback, ok()
            .setMetagraph(LedgerWire.toWire(ledger.metagraph())).build());
        case "blocks" -> send(response, callback, blocks(BlocksRequest.parseFrom(
            req.getBody())));
        case "genesis" -> send(response, callback, genesis());
        default -> {
          EventsRequest events = EventsRequest.parseFrom(req.getBody());
          // Each hash may become an event held for the stream: bounded before any is read.
          if (events.getAwaitingCount() > LedgerWire.MAX_AWAITING) {
            throw new Rejected(Status.BAD_REQUEST, "awaiting", "an event stream awaits "
                + LedgerWire.MAX_AWAITING + " transactions at most, the request named "
                + events.getAwaitingCount());
          }
          List<Hash256> awaiting = new ArrayList<>(events.getAwaitingCount());
          for (int i = 0; i < events.getAwaitingCount(); i++) {
            try {
              awaiting.add(LedgerWire.hash(events.getAwaiting(i), "awaiting[" + i + "]"));
            } catch (IllegalArgumentException e) {
              throw new Rejected(Status.BAD_REQUEST, "awaiting", e.getMessage());
            }
          }
          Object from = clientAddress(request);
          String who = from instanceof ClientBucket b && b.isNetwork()
              ? "this address's /64 (" + b + ", one client's)" : "this address";
          if (!takeStream(from)) {
            throw new Rejected(Rejection.of(Status.BACKOFF, who + " holds " + maxStreamsPerAddress
                + " event streams already, the most this server serves one address: close one"
                + " first"));
          }
          // Each awaited hash may become an event the stream holds until it is written: bounded
          // over the address's streams too, or 256 of them could hold 6 GB for a slow reader.
          int n = awaiting.size();
          int held = takeAwaited(from, n);
          if (held >= 0) {
            releaseStream(from);
            throw new Rejected(Status.BACKOFF, "awaiting", "the event streams of " + who
                + " await " + held + " transactions whose events are not sent yet; this one"
                + " names " + n + ", over the " + LedgerWire.MAX_AWAITING_PER_ADDRESS + " this"
                + " server holds for one address: read those streams, or close one, first");
          }
          AtomicBoolean answered = new AtomicBoolean();
          Runnable awaitedOut = () -> {
            if (answered.compareAndSet(false, true)) {
              releaseAwaited(from, n);
            }
          };
          AtomicBoolean ended = new AtomicBoolean();
          Runnable release = () -> {
            awaitedOut.run(); // a stream that ends before its first events went out
            if (ended.compareAndSet(false, true)) {
              releaseStream(from);
            }
          };
          try {
            EventStream.start(hub, events.getFromBlock(), awaiting, events.getDeltas(),
                events.getReplayEpochs(), request, response, releasing(release, callback),
                call == null ? null : call::sent, awaitedOut);
          } catch (RuntimeException | Error e) {
            release.run(); // not started: the answer below goes to callback
            throw e;
          }
        }
      }
    } catch (InvalidProtocolBufferException e) {
      send(response, callback, Rejection.badRequest("body",
          "not a valid protobuf message: " + e.getMessage()));
    } catch (Rejected e) {
      send(response, callback, e.rejection());
    } catch (IllegalStateException e) { // the ledger is closed (or read-only)
      send(response, callback, Rejection.of(Status.UNAVAILABLE,
          "the ledger cannot serve: " + e.getMessage()));
    } catch (LedgerException e) {
      send(response, callback, Rejection.of(Status.UNAVAILABLE,
          "the ledger failed: " + e.getMessage()));
    } catch (RuntimeException e) {
      send(response, callback, Rejection.of(Status.INTERNAL_ERROR,
          "the ledger server failed: " + e));
    }
  }

  /** @param caller who signed the request, or null for an anonymous one */
  private LedgerResponse submit(SubmitRequest r, PeerId caller) {
    SubmitResult result = submitOne(r.getTransaction(), caller);
    LedgerResponse.Builder b = ok().setStatus(result.getStatus())
        .setRejectReason(result.getRejectReason()).setMessage(result.getMessage());
    if (result.hasReceipt()) {
      b.setReceipt(result.getReceipt());
    }
    return b.build();
  }

  /**
   * Each transaction as {@link #submit} would decide it, in order, one result each: submitted
   * together ({@link Ledger#submitAll}), so a relay sends them upstream in one request too.
   */
  private LedgerResponse submitAll(SubmitAllRequest r, PeerId caller) {
    int count = r.getTransactionsCount();
    if (count > MAX_SUBMIT_ALL) {
      throw new Rejected(Status.BAD_REQUEST, "transactions", "at most " + MAX_SUBMIT_ALL
          + " transactions a request, had " + count);
    }
    SubmitResult[] results = new SubmitResult[count];
    List<SignedTransaction> decoded = new ArrayList<>(count);
    List<Integer> at = new ArrayList<>(count);
    for (int i = 0; i < count; i++) {
      try {
        decoded.add(SignedTransaction.decode(r.getTransactions(i).toByteArray()));
        at.add(i);
      } catch (IllegalArgumentException e) {
        results[i] = malformed(e, caller);
      }
    }
    List<CompletableFuture<Receipt>> futures =
        decoded.isEmpty() ? List.of() : ledger.submitAll(decoded);
    for (int j = 0; j < decoded.size(); j++) {
      results[at.get(j)] = answer(decoded.get(j), caller, futures.get(j));
    }
    return ok().addAllResults(List.of(results)).build();
  }

  /** @param caller who signed the request, or null for an anonymous one */
  private SubmitResult submitOne(ByteString encoded, PeerId caller) {
    SignedTransaction tx;
    try {
      tx = SignedTransaction.decode(encoded.toByteArray());
    } catch (IllegalArgumentException e) {
      return malformed(e, caller);
    }
    return answer(tx, caller, ledger.submit(tx));
  }

  /** Bytes that are no transaction: refused as MALFORMED, and heard so. */
  private SubmitResult malformed(IllegalArgumentException e, PeerId caller) {
    String why = "the transaction does not decode: " + e.getMessage();
    heard(new SubmissionEvent(Optional.empty(), Optional.of(RejectReason.MALFORMED),
        Optional.empty(), Optional.empty(), Optional.ofNullable(caller), Optional.of(why)));
    return SubmitResult.newBuilder().setRejectReason(RejectReason.MALFORMED.code())
        .setMessage(why).build();
  }

  /**
   * What to answer of {@code tx}, submitted as {@code f}: its receipt or refusal when the ledger
   * decided at once, else that it was accepted, its outcome to go out on the event stream. The
   * listener hears the outcome once it comes.
   */
  private SubmitResult answer(SignedTransaction tx, PeerId caller, CompletableFuture<Receipt> f) {
    if (submissions != SubmissionListener.NONE) {
      // Heard once its future completes: sealed in a block, refused (at once, or later by a
      // ledger that decides through a log, as a replicated one does), or failed, the ledger's own
      // failure, which is no verdict on the transaction.
      f.whenComplete((receipt, error) -> heard(outcome(tx, caller, receipt, error)));
    }
    if (!f.isDone()) {
      hub.accepted(tx.hash()); // before its outcome can be told
      // Its outcome goes out on the event stream. If it completes before this callback is
      // registered, the block's event may have gone out already: this answer carries it then.
      f.whenComplete((receipt, error) -> {
        if (receipt != null) {
          hub.receipt(receipt);
        } else {
          hub.failure(tx.hash(), error instanceof CompletionException c && c.getCause() != null
              ? c.getCause() : error);
        }
      });
    }
    SubmitResult.Builder b = SubmitResult.newBuilder();
    if (f.isDone()) {
      try {
        b.setReceipt(LedgerWire.toWire(f.join()));
      } catch (CompletionException | CancellationException e) { // cancelled: no cause
        Throwable cause = e instanceof CompletionException && e.getCause() != null
            ? e.getCause() : e;
        if (cause instanceof TransactionRejectedException rej) {
          return b.setRejectReason(rej.reason().code()).setMessage(rej.detail()).build();
        }
        // A cancellation's message is the JDK's own wording (none on 17, "join" on 25).
        String why = cause instanceof CancellationException || cause.getMessage() == null
            ? cause.getClass().getSimpleName() : cause.getMessage();
        return SubmitResult.newBuilder().setStatus(Status.UNAVAILABLE.code())
            .setMessage("the ledger failed the transaction: " + why).build();
      }
    }
    return b.build();
  }

  /** What became of {@code tx}: its receipt, or the error its future failed with. */
  private static SubmissionEvent outcome(SignedTransaction tx, PeerId caller, Receipt receipt,
      Throwable error) {
    Optional<PeerId> by = Optional.ofNullable(caller);
    if (receipt != null) {
      return new SubmissionEvent(Optional.of(tx), Optional.empty(), Optional.empty(),
          Optional.of(receipt), by, Optional.empty());
    }
    Throwable cause = error instanceof CompletionException c && c.getCause() != null
        ? c.getCause() : error;
    if (cause instanceof TransactionRejectedException rej) {
      return new SubmissionEvent(Optional.of(tx), Optional.of(rej.reason()), Optional.empty(),
          Optional.empty(), by, Optional.of(rej.detail()));
    }
    return new SubmissionEvent(Optional.of(tx), Optional.empty(),
        Optional.of(String.valueOf(cause.getMessage() == null ? cause : cause.getMessage())),
        Optional.empty(), by, Optional.empty());
  }

  /** Tells the listener what became of a transaction; what it throws is ignored. */
  private void heard(SubmissionEvent event) {
    if (submissions == SubmissionListener.NONE) {
      return;
    }
    try {
      submissions.submitted(event);
    } catch (RuntimeException | Error ignored) { // an Error too: the answer must still go out
      // A listener must not throw; one that does must not stop the server.
    }
  }

  private LedgerResponse account(AccountRequest r) throws LedgerException {
    PeerId id;
    try {
      id = PeerId.fromBytes(r.getId().toByteArray());
    } catch (IllegalArgumentException e) {
      throw new Rejected(Status.BAD_REQUEST, "id", e.getMessage());
    }
    LedgerResponse.Builder b = ok();
    ledger.account(id).ifPresent(a -> b.setAccount(LedgerWire.toWire(a)));
    return b.build();
  }

  /** A page of sealed blocks read back from the ledger's journal (and its archive). */
  private LedgerResponse blocks(BlocksRequest r) throws LedgerException {
    long from = r.getFromBlock();
    if (from < 1) {
      throw new Rejected(Status.BAD_REQUEST, "from_block", "must be >= 1, was " + from);
    }
    if (r.getToBlock() < from) {
      throw new Rejected(Status.BAD_REQUEST, "to_block", "must be >= from_block " + from
          + ", was " + r.getToBlock());
    }
    BlockHistory history = history(ledger);
    if (history == null) {
      throw new Rejected(Status.NOT_IMPLEMENTED, "", "this server's ledger keeps no journal"
          + " to read blocks back from (a LocalLedger on disk does, and a RaftLedger member"
          + " opened with keepBlocks)");
    }
    LedgerResponse.Builder b = ok();
    long[] bytes = {0};
    try {
      if (r.getBodiesOnly()) {
        history.readBlockBodies(from, r.getToBlock(), body -> {
          BlockRecord.Builder w = BlockRecord.newBuilder()
              .setBlock(LedgerWire.toWire(body.block()));
          body.transactions().forEach(tx -> w.addTransactions(ByteString.copyFrom(tx.encode())));
          return addToPage(b, w.build(), bytes);
        });
        return b.build();
      }
      Metagraph[] previous = {null}; // the page's record before, for deltas
      history.readBlocks(from, r.getToBlock(), rec -> {
        BlockRecord.Builder w = BlockRecord.newBuilder()
            .setBlock(LedgerWire.toWire(rec.block()));
        rec.transactions().forEach(tx -> w.addTransactions(ByteString.copyFrom(tx.encode())));
        rec.epoch().ifPresent(e -> w.setEpoch(LedgerWire.toWire(e)));
        if (b.getBlocksCount() == 0) {
          w.setMetagraph(LedgerWire.toWire(rec.after()));
        } else if (rec.block().transactions() > 0 || rec.block().epoch()) {
          if (r.getDeltas()) {
            w.setDelta(r.getReplayEpochs() ? replayedOrNot(previous[0], rec.after())
                : MetagraphDeltas.between(previous[0], rec.after()));
          } else {
            w.setMetagraph(LedgerWire.toWire(rec.after()));
          }
        }
        previous[0] = rec.after();
        return addToPage(b, w.build(), bytes);
      });
    } catch (LedgerException e) {
      if (serversOwn(e)) {
        throw e; // UNAVAILABLE: a retry, or another member, may read them
      }
      throw new Rejected(Status.BAD_REQUEST, "from_block", e.getMessage());
    }
    return b.build();
  }

  /**
   * Whether a failed read of blocks is the server's failure (its journal could not be read: an
   * I/O error, a damaged record) rather than blocks it does not hold (compacted away), which
   * come without a cause.
   */
  private static boolean serversOwn(LedgerException e) {
    return e.getCause() != null || e instanceof Journal.CorruptJournalException;
  }

  /**
   * The delta to the state the epoch of {@code after}'s block ran on, for a client that runs
   * epochs itself, when that block's epoch minted; else (or should that fail) the delta.
   */
  private static MetagraphDelta replayedOrNot(Metagraph before, Metagraph after) {
    if (EpochReplay.ranEpoch(after) && before.block().number() == after.block().number() - 1) {
      try {
        return MetagraphDeltas.forEpochReplay(before, after);
      } catch (RuntimeException e) {
        // the page goes on with the delta as it is
      }
    }
    return MetagraphDeltas.between(before, after);
  }

  /**
   * Adds a record to the page unless the page is full: {@value #PAGE_BLOCKS} records, or about
   * {@code PAGE_BYTES} (the first record always goes in).
   *
   * @param bytes the page's bytes so far, updated
   * @return whether the page takes more
   */
  private static boolean addToPage(LedgerResponse.Builder page, BlockRecord record,
      long[] bytes) {
    bytes[0] += record.getSerializedSize();
    if (page.getBlocksCount() > 0 && bytes[0] > PAGE_BYTES) {
      return false; // the next page starts with it
    }
    page.addBlocks(record);
    return page.getBlocksCount() < PAGE_BLOCKS;
  }

  /** The chain's genesis block, for clients that replay the chain themselves. */
  private LedgerResponse genesis() throws LedgerException {
    if (!(ledger instanceof BlockHistory history)) {
      throw new Rejected(Status.NOT_IMPLEMENTED, "", "this server's ledger does not give its"
          + " genesis block (a LocalLedger does)");
    }
    return ok().setGenesisBlock(ByteString.copyFrom(history.genesisBlock())).build();
  }

  /** The served ledger's block history, or null when it keeps none (an in-memory ledger). */
  static BlockHistory history(Ledger ledger) {
    return ledger instanceof BlockHistory history && history.keepsBlocks() ? history : null;
  }

  private static LedgerResponse.Builder ok() {
    return LedgerResponse.newBuilder().setVersion(PeerInfo.PROTOCOL_VERSION);
  }

  private Rejection tooLarge(long length) {
    return Rejection.of(Status.PAYLOAD_TOO_LARGE, "a ledger request may have at most "
        + maxPayloadBytes + " bytes" + (length >= 0 ? ", had " + length : ""));
  }

  private static void send(Response response, Callback callback, Rejection r) {
    send(response, callback, Responses.httpStatus(r.status().code()), r);
  }

  private static void send(Response response, Callback callback, int httpStatus, Rejection r) {
    write(response, callback, httpStatus, LedgerResponse.newBuilder()
        .setVersion(PeerInfo.PROTOCOL_VERSION)
        .setStatus(r.status().code())
        .setField(r.field())
        .setMessage(r.message())
        .build());
  }

  private static void send(Response response, Callback callback, LedgerResponse r) {
    write(response, callback, Responses.httpStatus(r.getStatus()), r);
  }

  private static void write(Response response, Callback callback, int httpStatus,
      LedgerResponse r) {
    if (callback instanceof LedgerCall.Heard heard) {
      heard.answered(r.getStatus(), r.getSerializedSize());
    }
    HttpPeerHandler.write(response, callback, httpStatus, r.getStatus(), r);
  }
}
