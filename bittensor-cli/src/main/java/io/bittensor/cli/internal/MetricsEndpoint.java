package io.bittensor.cli.internal;

import io.bittensor.core.Block;
import io.bittensor.core.Epoch;
import io.bittensor.core.Ledger;
import io.bittensor.core.LedgerException;
import io.bittensor.core.LedgerListener;
import io.bittensor.core.Metagraph;
import io.bittensor.core.PeerId;
import io.bittensor.neuron.Neuron;
import io.bittensor.raft.RaftLedger;
import io.bittensor.transport.CallEvent;
import io.bittensor.transport.CallListener;
import io.bittensor.transport.LedgerServer;
import io.bittensor.transport.PeerServer;
import io.bittensor.transport.RemoteLedger;
import io.bittensor.transport.LedgerRequestListener;
import io.bittensor.transport.SubmissionListener;
import io.bittensor.transport.internal.JettyServers;
import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.FunctionCounter;
import io.micrometer.core.instrument.Gauge;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.binder.jvm.JvmMemoryMetrics;
import io.micrometer.core.instrument.binder.jvm.JvmThreadMetrics;
import io.micrometer.core.instrument.binder.system.ProcessorMetrics;
import io.micrometer.core.instrument.binder.system.UptimeMetrics;
import io.micrometer.prometheusmetrics.PrometheusConfig;
import io.micrometer.prometheusmetrics.PrometheusMeterRegistry;
import java.io.IOException;
import java.net.URI;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.util.OptionalInt;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicReference;
import java.util.function.Supplier;
import java.util.function.ToDoubleFunction;
import org.eclipse.jetty.http.HttpHeader;
import org.eclipse.jetty.http.HttpStatus;
import org.eclipse.jetty.server.Handler;
import org.eclipse.jetty.server.HttpConnectionFactory;
import org.eclipse.jetty.server.Request;
import org.eclipse.jetty.server.Response;
import org.eclipse.jetty.server.Server;
import org.eclipse.jetty.server.ServerConnector;
import org.eclipse.jetty.util.Callback;

/**
 * A command's metrics in Prometheus' text format at {@code http://host:port/metrics}, on a port
 * of its own: the JVM's (memory, threads, CPU, uptime) and what the command registers, such as
 * its peer server's calls ({@link #watch(PeerServer)} with {@link #calls()}).
 *
 * <p>Served by Jetty over HTTP/1.1 with a few daemon threads. A request is read without a
 * thread until it is whole, so a client that stalls mid-request holds none (the JDK's own HTTP
 * server read it on its one thread, and every later scrape waited), and a connection idle for
 * {@link #IDLE_TIMEOUT_MS} is closed.
 */
public final class MetricsEndpoint implements AutoCloseable {
  /** The content type of Prometheus' text exposition format. */
  static final String CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8";

  /** How long a connection may send nothing before it is closed. */
  static final long IDLE_TIMEOUT_MS = 30_000;

  private final PrometheusMeterRegistry registry;
  private final Server jetty;
  private final URI uri;
  /** Made at the first {@link #calls()}, so that only commands with calls show their gauges. */
  private CallListener.Factory calls;

  private MetricsEndpoint(PrometheusMeterRegistry registry, Server jetty, URI uri) {
    this.registry = registry;
    this.jetty = jetty;
    this.uri = uri;
  }

  /**
   * Binds {@code host:port} (0: any free port) and starts serving.
   *
   * @throws IOException if the port cannot be bound
   */
  public static MetricsEndpoint start(String host, int port) throws IOException {
    PrometheusMeterRegistry registry = new PrometheusMeterRegistry(PrometheusConfig.DEFAULT);
    new JvmMemoryMetrics().bindTo(registry);
    new JvmThreadMetrics().bindTo(registry);
    new ProcessorMetrics().bindTo(registry);
    new UptimeMetrics().bindTo(registry);
    // A scrape's gauges may wait briefly (a Raft member's group), so the handler may block.
    Server jetty = JettyServers.create("bittensor-metrics", 8);
    ServerConnector connector =
        JettyServers.connector(jetty, new HttpConnectionFactory(JettyServers.http()));
    connector.setHost(host);
    connector.setPort(port);
    connector.setIdleTimeout(IDLE_TIMEOUT_MS);
    jetty.addConnector(connector);
    jetty.setHandler(new Handler.Abstract() {
      @Override
      public boolean handle(Request request, Response response, Callback callback) {
        scrape(request, response, callback, registry);
        return true;
      }
    });
    URI base;
    try {
      base = JettyServers.start(jetty, connector, "metrics");
    } catch (IOException e) {
      registry.close();
      throw e;
    }
    return new MetricsEndpoint(registry, jetty, base.resolve("/metrics"));
  }

  private static void scrape(Request request, Response response, Callback callback,
      PrometheusMeterRegistry registry) {
    if (!"/metrics".equals(Request.getPathInContext(request))) {
      Response.writeError(request, response, callback, HttpStatus.NOT_FOUND_404);
      return;
    }
    if (!"GET".equals(request.getMethod())) {
      response.getHeaders().put(HttpHeader.ALLOW, "GET");
      Response.writeError(request, response, callback, HttpStatus.METHOD_NOT_ALLOWED_405);
      return;
    }
    byte[] body = registry.scrape().getBytes(StandardCharsets.UTF_8);
    response.setStatus(HttpStatus.OK_200);
    response.getHeaders().put(HttpHeader.CONTENT_TYPE, CONTENT_TYPE);
    response.getHeaders().put(HttpHeader.CONTENT_LENGTH, body.length);
    response.write(true, ByteBuffer.wrap(body), callback);
  }

  /** Where the metrics are served. */
  public URI uri() {
    return uri;
  }

  /** The registry, for a command's own meters. */
  public MeterRegistry registry() {
    return registry;
  }

  /**
   * Times every call it hears as {@code bittensor_peer_calls_seconds}, tagged with the call's
   * side (server or client), kind and status, and counts the calls in flight on each side as
   * {@code bittensor_peer_calls_in_flight}: give it to a server, a client or a neuron
   * ({@code callListenerFactory}). Each call it makes a listener for counts from its start to its
   * end, the refused and the failed included. The same factory at every call of this method.
   */
  public synchronized CallListener.Factory calls() {
    if (calls != null) {
      return calls;
    }
    AtomicInteger server = inFlight(CallEvent.Side.SERVER);
    AtomicInteger client = inFlight(CallEvent.Side.CLIENT);
    calls = start -> {
      AtomicInteger side = start.side() == CallEvent.Side.SERVER ? server : client;
      side.incrementAndGet();
      return call -> {
        side.decrementAndGet();
        registry.timer("bittensor.peer.calls", "side", tag(call.side()), "kind",
            call.kind().name(), "status", call.status().name()).record(call.duration());
      };
    };
    return calls;
  }

  /** The count of one side's calls in flight, registered as a gauge (once per side). */
  private AtomicInteger inFlight(CallEvent.Side side) {
    AtomicInteger count = new AtomicInteger();
    Gauge.builder("bittensor.peer.calls.in.flight", count, AtomicInteger::get)
        .description("calls started and not yet over").tag("side", tag(side))
        .strongReference(true).register(registry);
    return count;
  }

  private static String tag(CallEvent.Side side) {
    return side.name().toLowerCase(java.util.Locale.ROOT);
  }

  /**
   * Times every request a ledger server is done with as {@code bittensor_ledger_requests_seconds},
   * tagged with its operation and status (an event stream's time is its life), and counts the
   * bytes its answers sent as {@code bittensor_ledger_sent_bytes_total}, by operation: give it
   * to the server ({@code requestListener}).
   */
  public LedgerRequestListener ledgerRequests() {
    return r -> {
      String operation = r.operation().name();
      registry.timer("bittensor.ledger.requests", "operation", operation, "status",
          r.status().name()).record(r.duration());
      registry.counter("bittensor.ledger.sent.bytes", "operation", operation)
          .increment(r.bytesSent());
    };
  }

  /**
   * Counts every transaction a ledger server decided as {@code bittensor_ledger_submissions},
   * tagged with its kind ({@code Register}, {@code SetWeights}, ...; {@code unknown} when it did
   * not decode) and its outcome ({@code sealed}, the reason it was refused, or {@code failed}
   * when the ledger decided nothing): give it to the server ({@code submissionListener}).
   */
  public SubmissionListener submissions() {
    return s -> registry.counter("bittensor.ledger.submissions",
        "kind", s.transaction().map(t -> t.body().getClass().getSimpleName()).orElse("unknown"),
        "outcome", s.failed() ? "failed" : s.refused().map(Enum::name).orElse("sealed"))
        .increment();
  }

  /**
   * The calls {@code server} is serving and those waiting for a slot, as gauges, and the TLS
   * handshakes its port refused, as a counter.
   */
  public void watch(PeerServer server) {
    Gauge.builder("bittensor.peer.calls.active", server, PeerServer::activeCalls)
        .description("calls holding a slot now").register(registry);
    Gauge.builder("bittensor.peer.calls.queued", server, PeerServer::queuedCalls)
        .description("calls waiting for a slot now").register(registry);
    failedHandshakes(server, PeerServer::failedTlsHandshakes);
  }

  /**
   * The TLS handshakes {@code server}'s port refused, as a counter, and its event streams open
   * now ({@code bittensor_ledger_event_streams}), as a gauge.
   */
  public void watch(LedgerServer server) {
    failedHandshakes(server, LedgerServer::failedTlsHandshakes);
    Gauge.builder("bittensor.ledger.event.streams", server, LedgerServer::eventStreams)
        .description("clients following the ledger through this server now")
        .register(registry);
  }

  /**
   * {@code bittensor_ledger_epochs_replayed_total}: the epochs {@code remote} ran itself rather
   * than being sent what they changed ({@link RemoteLedger#epochsReplayed()}); one that stops
   * rising while epochs go on says its replays failed and it fell back.
   */
  public void watchReplays(RemoteLedger remote) {
    FunctionCounter.builder("bittensor.ledger.epochs.replayed", remote,
            RemoteLedger::epochsReplayed)
        .description("epochs this client ran itself from the state they ran on")
        .register(registry);
  }

  /**
   * {@code bittensor_tls_handshakes_failed_total}: clients refused before any request (no
   * certificate the server trusts, a certificate of ours they do not trust, cleartext).
   */
  private <T> void failedHandshakes(T server, java.util.function.ToDoubleFunction<T> count) {
    FunctionCounter.builder("bittensor.tls.handshakes.failed", server, count)
        .description("TLS handshakes that failed: clients refused before any request")
        .register(registry);
  }

  /**
   * What {@code neuron} knows of its market, from the metagraph it synced to last (no call to
   * the ledger per scrape): the ledger's block and peers, and the neuron's own stake, rank,
   * trust, consensus, incentive and dividends (NaN before it appears in a metagraph).
   */
  public void watch(Neuron neuron) {
    Supplier<Metagraph> synced = () -> neuron.metagraph().orElse(null);
    gauge("bittensor.ledger.block", "the latest block the neuron synced to", synced,
        m -> m.block().number());
    gauge("bittensor.ledger.peers", "peers registered", synced, Metagraph::size);
    // Its uid read from the same metagraph as the value, never from a later sync.
    PeerId self = neuron.id();
    own("bittensor.neuron.stake", "the neuron's stake, in tokens", synced, self, Metagraph::stake);
    own("bittensor.neuron.rank", "the neuron's rank", synced, self, (m, u) -> m.ranks().get(u));
    own("bittensor.neuron.trust", "the neuron's trust", synced, self,
        (m, u) -> m.trust().get(u));
    own("bittensor.neuron.consensus", "the neuron's consensus", synced, self,
        (m, u) -> m.consensus().get(u));
    own("bittensor.neuron.incentive", "the neuron's incentive", synced, self,
        (m, u) -> m.incentive().get(u));
    own("bittensor.neuron.dividends", "the neuron's dividends", synced, self,
        (m, u) -> m.dividends().get(u));
    Gauge.builder("bittensor.neuron.routed", neuron, n -> n.routed().size())
        .description("peers the neuron routes over").register(registry);
    failedHandshakes(neuron, Neuron::failedTlsHandshakes);
  }

  /** A gauge of the metagraph {@code latest} gives, NaN while there is none. */
  private void gauge(String name, String description, Supplier<Metagraph> latest,
      ToDoubleFunction<Metagraph> value) {
    Gauge.builder(name, latest, l -> {
      Metagraph m = l.get();
      return m == null ? Double.NaN : value.applyAsDouble(m);
    }).description(description).strongReference(true).register(registry);
  }

  /** A gauge of peer {@code self}'s entry in that metagraph, NaN while it has none. */
  private void own(String name, String description, Supplier<Metagraph> latest, PeerId self,
      ObjIntToDouble value) {
    gauge(name, description, latest, m -> {
      OptionalInt uid = m.uid(self);
      return uid.isEmpty() ? Double.NaN : value.apply(m, uid.getAsInt());
    });
  }

  /** A value read from a metagraph at a uid. */
  private interface ObjIntToDouble {
    double apply(Metagraph m, int uid);
  }

  /**
   * A replicated ledger member's place in its group, read at each scrape: whether it leads (1 on
   * exactly one member of a healthy group; 0 on every member, or 1 on two, while it elects),
   * whether it knows a leader, and how many members the group has.
   */
  public void watchMember(RaftLedger member) {
    Gauge.builder("bittensor.raft.leader", member, m -> m.isLeader() ? 1 : 0)
        .description("1 while this member leads its group, else 0").register(registry);
    Gauge.builder("bittensor.raft.leader.known", member, m -> m.leader().isPresent() ? 1 : 0)
        .description("1 while this member knows which member leads, else 0")
        .register(registry);
    Gauge.builder("bittensor.raft.members", member, m -> {
      try {
        return m.members().size();
      } catch (IllegalStateException e) {
        return Double.NaN; // left its group, or closing
      }
    }).description("the members of its group, itself included").register(registry);
  }

  /**
   * What {@code ledger} seals, as it seals it (one listener; no call to the ledger per scrape):
   * blocks, transactions and epochs counted, and after the latest block its number, peers,
   * supply and total stake, the latest epoch's loss, and the tokens minted.
   *
   * @return how to stop listening
   */
  public Ledger.Subscription watch(Ledger ledger) {
    Counter blocks = Counter.builder("bittensor.ledger.blocks")
        .description("blocks sealed while watched").register(registry);
    Counter transactions = Counter.builder("bittensor.ledger.transactions")
        .description("transactions in those blocks").register(registry);
    Counter epochs = Counter.builder("bittensor.ledger.epochs")
        .description("epochs run while watched").register(registry);
    Counter minted = Counter.builder("bittensor.ledger.minted")
        .description("tokens those epochs minted").register(registry);
    AtomicReference<Metagraph> latest = new AtomicReference<>();
    AtomicReference<Double> loss = new AtomicReference<>(Double.NaN);
    try {
      latest.set(ledger.metagraph());
    } catch (LedgerException | RuntimeException e) {
      // Unknown until the first block.
    }
    gauge("bittensor.ledger.block", "the latest block", latest::get, m -> m.block().number());
    gauge("bittensor.ledger.peers", "peers registered", latest::get, Metagraph::size);
    gauge("bittensor.ledger.supply", "tokens in existence", latest::get, Metagraph::supply);
    gauge("bittensor.ledger.stake", "tokens staked", latest::get, Metagraph::totalStake);
    Gauge.builder("bittensor.ledger.epoch.loss", loss, AtomicReference::get)
        .description("the latest epoch's loss (negative: most rank has consensus)")
        .register(registry);
    return ledger.subscribe(new LedgerListener() {
      @Override
      public void onBlock(Block block, Metagraph after) {
        blocks.increment();
        transactions.increment(block.transactions());
        latest.set(after);
      }

      @Override
      public void onEpoch(Epoch epoch, Metagraph after) {
        epochs.increment();
        minted.increment(epoch.minted());
        loss.set(epoch.loss());
      }
    });
  }

  @Override
  public void close() {
    try {
      JettyServers.stop(jetty, JettyServers.STOP_BOUND);
    } finally {
      registry.close();
    }
  }
}
