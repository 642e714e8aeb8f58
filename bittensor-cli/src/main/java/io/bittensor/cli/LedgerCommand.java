package io.bittensor.cli;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.bittensor.cli.internal.AccessLog;
import io.bittensor.cli.internal.JsonLinesLog;
import io.bittensor.cli.internal.MetricsEndpoint;
import io.bittensor.cli.internal.SubmissionLog;
import io.bittensor.cli.internal.TlsReloader;
import io.bittensor.core.AuditedLedger;
import io.bittensor.core.BlockPolicy;
import io.bittensor.core.Epoch;
import io.bittensor.core.Hash256;
import io.bittensor.core.Ledger;
import io.bittensor.core.LedgerException;
import io.bittensor.core.LedgerParams;
import io.bittensor.core.LocalLedger;
import io.bittensor.core.Metagraph;
import io.bittensor.core.PeerState;
import io.bittensor.core.internal.DurableFiles;
import io.bittensor.core.internal.HostPorts;
import io.bittensor.raft.GroupStatus;
import io.bittensor.raft.RaftAdmin;
import io.bittensor.raft.RaftLedger;
import io.bittensor.transport.LedgerRequestListener;
import io.bittensor.transport.LedgerServer;
import io.bittensor.transport.SubmissionListener;
import io.bittensor.transport.RemoteLedger;
import java.io.IOException;
import java.io.PrintWriter;
import java.net.InetSocketAddress;
import java.net.StandardSocketOptions;
import java.net.URI;
import java.net.URISyntaxException;
import java.nio.channels.ServerSocketChannel;
import java.nio.channels.UnresolvedAddressException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.TreeSet;
import java.util.concurrent.Callable;
import java.util.stream.Stream;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

/** {@code bittensor ledger}: create, serve and inspect a ledger. */
@Command(
    name = "ledger",
    mixinStandardHelpOptions = true,
    description = "Create, serve and inspect a ledger (a LocalLedger data directory, or a"
        + " ledger server).",
    subcommands = {LedgerCommand.Init.class, LedgerCommand.Serve.class, LedgerCommand.Show.class,
        LedgerBlocksCommand.class, LedgerAuditCommand.class, LedgerCommand.Compact.class,
        LedgerCommand.Members.class, LedgerAccountCommand.class,
        LedgerTransactionCommands.Transfer.class, LedgerTransactionCommands.Register.class,
        LedgerTransactionCommands.Stake.class, LedgerTransactionCommands.Unstake.class,
        LedgerTransactionCommands.Weights.class, LedgerTransactionCommands.Params.class})
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

    @Mixin GenesisOptions genesis = new GenesisOptions();

    @Override
    public Integer call() {
      requireFolderOrNothing(data, "--data");
      refuseMembersFolder(data);
      if (Files.exists(data.resolve("journal.btl"))) {
        throw CliException.badInput("--data " + data + " already holds a ledger", null);
      }
      try (LocalLedger ledger = LocalLedger.builder()
          .genesis(genesis.genesis())
          .mechanism(genesis.mechanism())
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
  }

  /** {@code bittensor ledger serve}. */
  @Command(
      name = "serve",
      mixinStandardHelpOptions = true,
      description = {
        "Serve the ledger in --data over HTTP/2 (a LedgerServer) until SIGINT or SIGTERM, sealing"
            + " a block every --block-ms. Creates the ledger first when --data holds none, from"
            + " the genesis options (as ledger init). On shutdown, closes the server and then the"
            + " ledger, sealing what is pending.",
        "With --raft-self and --raft-member, serves one member of a ledger replicated over"
            + " several machines with Raft: start one on each, with the same members and, the"
            + " first time, the same genesis options and --created-at. The ledger goes on while"
            + " a majority of them runs.",
        "With --upstream instead of --data, relays the ledger another server serves to clients"
            + " of its own: submissions go upstream, blocks and receipts come back."
      })
  static final class Serve implements Callable<Integer> {
    @Spec CommandSpec spec;

    @Option(names = "--data", paramLabel = "DIR",
        description = "The data directory; a new ledger is created there if it holds none.")
    Path data;

    @Option(names = "--upstream", paramLabel = "URL", split = ",",
        description = "Relay the ledger server at URL instead of serving a ledger of this"
            + " process's own; several, comma-separated, for the members of a replicated"
            + " ledger (the first that answers, then the next when it goes).")
    List<URI> upstream;

    @Option(names = "--chain", paramLabel = "HEX",
        description = "With --upstream: audit every block against this chain id (64 hex digits)"
            + " before relaying it (an AuditedLedger); clients hear only blocks that check out.")
    String chain;

    @Option(names = "--replica", paramLabel = "DIR",
        description = "With --upstream --chain: keep the audit's replica in DIR, so that a"
            + " restart replays only new blocks and clients that fell behind are sent the blocks"
            + " they missed from it.")
    Path replica;

    @Option(names = "--host", defaultValue = "0.0.0.0", paramLabel = "HOST",
        description = "The address to bind (default ${DEFAULT-VALUE}: all interfaces).")
    String host;

    @Option(names = "--port", defaultValue = "8092", paramLabel = "PORT",
        description = "The TCP port; 0 picks a free one (default ${DEFAULT-VALUE}).")
    int port;

    @Option(names = "--block-ms", defaultValue = "1000", paramLabel = "MS",
        description = "Milliseconds between blocks (default ${DEFAULT-VALUE}).")
    long blockMillis;

    @Option(names = "--metrics-port", paramLabel = "PORT", description = "Serve Prometheus "
        + "metrics at http://HOST:PORT/metrics (0: any free port): blocks, transactions and "
        + "epochs sealed, the transactions sent here by kind and outcome (sealed or why "
        + "refused), the latest block's number, peers, supply and stake, for a Raft member"
        + " whether it leads, whether it knows a leader and its group's size, and the JVM's.")
    Integer metricsPort;

    @Option(names = "--access-log", paramLabel = "FILE", description = "Append a line of JSON"
        + " to FILE for every request answered, refused or turned away (an event stream when it"
        + " ends): time, operation, the caller named, whether its signature proved it, status,"
        + " milliseconds and bytes sent.")
    Path accessLogFile;

    @Option(names = "--submission-log", paramLabel = "FILE", description = "Append a line of"
        + " JSON to FILE for every transaction sent to this server once the ledger decided it:"
        + " sealed (block and position), refused (the reason and the ledger's words) or failed;"
        + " its hash, kind, signer and nonce, and who sent it.")
    Path submissionLogFile;

    @Option(names = "--allow-anonymous",
        description = "Serve unsigned requests too (for curl); transactions stay signed.")
    boolean allowAnonymous;

    @Option(names = "--max-event-streams-per-address", paramLabel = "N", defaultValue = "256",
        description = "The most event streams one client address holds at once (an IPv6"
            + " client's /64 counts as one address; clients behind one proxy or NAT share an"
            + " address); past it, BACKOFF. Default: ${DEFAULT-VALUE}.")
    int maxEventStreamsPerAddress;

    @Mixin ServeTlsOptions tls = new ServeTlsOptions();

    @Option(names = "--trust", paramLabel = "FILE", description = "With an https:// --upstream: "
        + "trust the certificates in this PEM file instead of the JDK's authorities; a changed "
        + "file is trusted without a restart with --tls-reload.")
    Path trust;

    @Mixin ClientCertOption clientCert = new ClientCertOption();

    @Option(names = "--raft-self", paramLabel = "ID",
        description = "Serve member ID of a ledger replicated with Raft (a RaftLedger) instead;"
            + " --data is then the member's folder, and the leader seals every --block-ms.")
    String raftSelf;

    @Option(names = "--raft-member", paramLabel = "ID=HOST:PORT",
        description = "A member of the replicated ledger and its Raft address. List every"
            + " member, this one too, the same on each. Repeatable.")
    List<String> raftMembers = new ArrayList<>();

    @Option(names = "--raft-timeout", paramLabel = "MS",
        description = "With --raft-self: how long a submission, an account read or a seal waits"
            + " for the group before it fails, saying a majority may be down (default"
            + " 5000: shorter than a client's 10 s, so that the client hears why).")
    Long raftTimeoutMillis;

    @Option(names = "--raft-tls", arity = "3", paramLabel = "FILE",
        description = "Mutual TLS on the Raft port: this member's private key (PEM, PKCS#8), its"
            + " certificate (PEM) and the group's authority (PEM). Every member needs one of the"
            + " same authority.")
    List<Path> raftTls;

    @Option(names = "--keep-blocks", description = "With --raft-self: keep this member's"
        + " blocks in DIR/ledger (a journal, as a ledger on one machine keeps), so that ledger"
        + " blocks, ledger audit and clients that fell behind can read them. Costs a write and"
        + " an fsync of each block.")
    boolean keepBlocks;

    @Option(names = "--compact-journal", description = "Compact the journal at every snapshot"
        + " (every 1000 blocks): the directory stays near three times the state's size, and the"
        + " blocks before the latest snapshot are dropped (see ledger compact). For a replicated"
        + " member, with --keep-blocks and --archive: its kept journal.")
    boolean compactJournal;

    @Option(names = "--archive", description = "With --compact-journal: keep each replaced"
        + " journal in DIR/archive, so that ledger blocks and returning clients still read the"
        + " blocks before the checkpoint.")
    boolean archive;

    @Mixin GenesisOptions genesis = new GenesisOptions();

    @Override
    public Integer call() throws InterruptedException {
      if ((data == null) == (upstream == null)) {
        throw CliException.badInput("give --data DIR (a ledger of its own, or a replicated"
            + " member) or --upstream URL (a relay), one of them", null);
      }
      if (upstream != null && (raftSelf != null || !raftMembers.isEmpty() || raftTls != null
          || keepBlocks || compactJournal || archive || genesis.anyGiven())) {
        throw CliException.badInput("--upstream relays a ledger served elsewhere: the ledger"
            + " and Raft options are that server's", null);
      }
      if (upstream == null && (chain != null || replica != null)) {
        throw CliException.badInput("--chain and --replica are for a relay: give --upstream URL",
            null);
      }
      if (replica != null && chain == null) {
        throw CliException.badInput("--replica keeps the audit's replica: give --chain HEX too",
            null);
      }
      // A relay's client certificate upstream and the authority it trusts there are renewed by
      // --tls-reload too, served over HTTPS or not.
      tls.check(upstream == null ? null : clientCert.files != null ? "--client-cert"
          : trust != null ? "--trust" : null);
      if (blockMillis < 1) {
        throw CliException.badInput("--block-ms must be >= 1, was " + blockMillis, null);
      }
      if (maxEventStreamsPerAddress < 1) {
        throw CliException.badInput("--max-event-streams-per-address must be >= 1, was "
            + maxEventStreamsPerAddress, null);
      }
      if (raftSelf == null && raftTimeoutMillis != null) {
        throw CliException.badInput("--raft-timeout is for a replicated ledger: give --raft-self"
            + " and --raft-member too", null);
      }
      if (raftTimeoutMillis != null && raftTimeoutMillis < 1) {
        throw CliException.badInput("--raft-timeout must be >= 1, was " + raftTimeoutMillis,
            null);
      }
      if (archive && !compactJournal) {
        throw CliException.badInput("--archive keeps what --compact-journal replaces: give both",
            null);
      }
      if (raftSelf != null && compactJournal && !(keepBlocks && archive)) {
        throw CliException.badInput("a replicated member's Raft log is compacted at its"
            + " snapshots already; --compact-journal --archive is for the blocks it keeps, with"
            + " --keep-blocks", null);
      }
      if (raftSelf == null && keepBlocks) {
        throw CliException.badInput("--keep-blocks is for a replicated member: a ledger on one"
            + " machine keeps its blocks in its journal already", null);
      }
      if (raftSelf == null && raftTls != null) {
        throw CliException.badInput("--raft-tls is for a replicated ledger: give --raft-self"
            + " and --raft-member too", null);
      }
      if (raftSelf == null && !raftMembers.isEmpty()) {
        throw CliException.badInput("--raft-member needs --raft-self: which member this is",
            null);
      }
      if (raftSelf != null && raftMembers.isEmpty()) {
        throw CliException.badInput("--raft-self needs the members: --raft-member ID=HOST:PORT"
            + " for each, this one too", null);
      }
      if (port < 0 || port > 65535) {
        // Before the ledger opens: closing it again would seal a block.
        throw CliException.badInput("--port must be 0 to 65535, was " + port, null);
      }
      if (metricsPort != null && (metricsPort < 0 || metricsPort > 65535)) {
        throw CliException.badInput("--metrics-port must be 0 to 65535, was " + metricsPort,
            null);
      }
      if (data != null) {
        requireFolderOrNothing(data, "--data");
        // Before the logs, the ports or the ledger open: a refused folder leaves nothing made.
        if (raftSelf == null) {
          refuseMembersFolder(data);
        } else {
          refuseMembersBlocks(data);
          refuseLedgerOfOneMachine(data);
        }
      }
      if (replica != null) {
        requireFolderOrNothing(replica, "--replica");
      }
      // Opened first: a file that cannot be written is the command line's mistake, found
      // before a ledger is opened or joined.
      SubmissionLog submissionLog = null;
      if (submissionLogFile != null) {
        try {
          submissionLog = SubmissionLog.open(submissionLogFile);
        } catch (IOException e) {
          throw CliException.badInput("--submission-log: " + e.getMessage(), e);
        }
      }
      AccessLog accessLog = null;
      if (accessLogFile != null) {
        try {
          accessLog = AccessLog.open(accessLogFile);
        } catch (IOException e) {
          closeQuietly(submissionLog);
          throw CliException.badInput("--access-log: " + e.getMessage(), e);
        }
      }
      // The TLS files are read and the ports bound before the ledger opens: closing an
      // existing ledger again seals a block.
      LedgerServer.Builder b = LedgerServer.builder().host(host).port(port)
          .allowAnonymous(allowAnonymous).maxEventStreamsPerAddress(maxEventStreamsPerAddress);
      MetricsEndpoint metrics = null;
      ServerSocketChannel held = null;
      try {
        if (tls.given()) {
          b.tls(tls.key(), tls.chain());
        }
        if (tls.clientCa != null) {
          b.requireClientCertificates(tls.clientCa);
        }
        if (metricsPort != null) {
          metrics = MetricsEndpoint.start(host, metricsPort);
        }
        held = holdPort(host, port);
      } catch (IOException | RuntimeException e) {
        if (metrics != null) {
          metrics.close();
        }
        closeQuietly(submissionLog);
        closeQuietly(accessLog);
        throw e instanceof IllegalArgumentException // TLS files that do not read
            ? CliException.badInput(e.getMessage(), e) : CliException.failure(e.getMessage(), e);
      }
      // A ledger of its own created by this run is removed again if it cannot be served: no
      // one could have used it, and the same command, run again, creates it anew.
      Runnable removeCreated = upstream == null && raftSelf == null ? createdHere(data) : null;
      Ledger ledger;
      try {
        ledger = upstream != null ? openUpstream()
            : raftSelf != null ? openMember() : openLocal();
      } catch (RuntimeException e) {
        closeQuietly(held);
        if (metrics != null) {
          metrics.close();
        }
        closeQuietly(submissionLog);
        closeQuietly(accessLog);
        throw e;
      }
      LedgerServer server;
      SubmissionListener heard = SubmissionListener.NONE;
      LedgerRequestListener requests = LedgerRequestListener.NONE;
      try {
        b.ledger(ledger);
        if (metrics != null) {
          metrics.watch(ledger);
          if (upstreamClient != null) {
            metrics.watchReplays(upstreamClient); // a relay's own client of the upstream
          }
          if (ledger instanceof RaftLedger member) {
            metrics.watchMember(member);
          }
          heard = metrics.submissions();
          requests = metrics.ledgerRequests();
        }
        if (submissionLog != null) {
          heard = heard.andThen(submissionLog);
        }
        if (accessLog != null) {
          requests = requests.andThen(accessLog);
        }
        // The server accepts on the port held since before the ledger opened: never free.
        server = b.channel(held).submissionListener(heard).requestListener(requests).start();
      } catch (IOException | RuntimeException e) {
        closeQuietly(held);
        if (metrics != null) {
          metrics.close();
        }
        ledger.close();
        if (removeCreated != null) {
          removeCreated.run();
        }
        closeQuietly(submissionLog);
        closeQuietly(accessLog);
        throw e instanceof IllegalArgumentException // the server's options, refused
            ? CliException.badInput(e.getMessage(), e) : CliException.failure(e.getMessage(), e);
      }
      if (metrics != null) {
        metrics.watch(server);
      }
      ServeTlsOptions.Watch reloader = tls.watch(server::reloadTls,
          server::reloadClientCertificates, spec.commandLine().getOut());
      // A relay's own client certificate for the upstream server is renewed the same way.
      TlsReloader upstreamReloader = upstreamClient == null ? null : clientCert.watch(tls.reload,
          upstreamClient::reloadClientCertificate, spec.commandLine().getOut());
      // And the authority it trusts the upstream server by, from the file as the client read it.
      TlsReloader upstreamTrustReloader = upstreamClient == null || trust == null
          || tls.reload == null ? null
          : TlsReloader.watchServerTrust(trust, tls.reload,
              upstreamClient::reloadTrustedCertificates, spec.commandLine().getOut(), trustSeen);
      MetricsEndpoint metricsToClose = metrics;
      SubmissionLog submissionLogToClose = submissionLog;
      AccessLog accessLogToClose = accessLog;
      PrintWriter out = spec.commandLine().getOut();
      // SIGINT and SIGTERM run shutdown hooks: stop serving, then seal and close the ledger so
      // that the journal ends on a whole block and the directory's lock is released. An
      // interrupt (an embedding program's way of saying stop) does the same on this thread;
      // whoever comes second waits until the first is done.
      Runnable stop = Stopping.once(() -> {
        if (reloader != null) {
          reloader.close();
        }
        if (upstreamReloader != null) {
          upstreamReloader.close();
        }
        if (upstreamTrustReloader != null) {
          upstreamTrustReloader.close();
        }
        server.close();
        // After the server: the requests it finished, event streams included, are in it.
        if (accessLogToClose != null) {
          closeQuietly(accessLogToClose);
          if (accessLogToClose.lost() > 0) {
            out.println("the access log missed " + accessLogToClose.lost() + " requests: "
                + accessLogToClose.file() + " could not be written");
          }
        }
        if (metricsToClose != null) {
          metricsToClose.close();
        }
        ledger.close();
        // After the ledger: what it failed as it closed (its pool) is in the log.
        if (submissionLogToClose != null) {
          closeQuietly(submissionLogToClose);
          if (submissionLogToClose.lost() > 0) {
            out.println("the submission log missed " + submissionLogToClose.lost()
                + " transactions: " + submissionLogToClose.file() + " could not be written");
          }
        }
        out.println(upstream != null ? "stopped relaying " + upstream
            : "closed the ledger in " + data);
        out.flush();
      });
      Thread hook = new Thread(stop, "bittensor-ledger-serve-shutdown");
      Runtime.getRuntime().addShutdownHook(hook);
      long block;
      try {
        block = ledger.metagraph().block().number();
      } catch (LedgerException | IllegalStateException e) {
        block = -1; // already shutting down
      }
      out.println("serving ledger " + ledger.chainId() + " from "
          + (upstream != null ? "upstream " + upstream + (chain != null ? ", audited" : "")
          : data) + " at " + server.uri() + " (block " + block + ")");
      if (ledger instanceof RaftLedger member) {
        // Ratis replays the member's log after it opens: the block above is where its copy
        // starts, not the group's, which a restarted member reaches seconds later.
        try {
          out.println("member " + member.memberId() + " of " + member.members().keySet()
              + ": it catches up with the group from block " + block
              + " (its own log, then the leader's)");
        } catch (IllegalStateException e) {
          // Already stopping: the shutdown hook says so.
        }
      }
      if (metrics != null) {
        out.println("metrics on " + metrics.uri());
      }
      if (submissionLog != null) {
        out.println("transactions logged to " + submissionLog.file());
      }
      if (accessLog != null) {
        out.println("requests logged to " + accessLog.file());
      }
      out.flush();
      Stopping.await(server::awaitClose, stop, hook);
      return 0;
    }

    /**
     * What undoes the creation of a ledger in {@code data}: removes what is in the folder now
     * and was not before (the folder too, if it did not exist), or nothing if the folder already
     * holds a ledger. A member of a replicated ledger is never removed: once it has started, the
     * group may count on what it acknowledged.
     */
    private static Runnable createdHere(Path data) {
      if (Files.exists(data.resolve("journal.btl"))) {
        return () -> { };
      }
      boolean folderExisted = Files.isDirectory(data);
      Set<Path> before = new HashSet<>();
      if (folderExisted) {
        try (Stream<Path> entries = Files.list(data)) {
          entries.forEach(before::add);
        } catch (IOException e) {
          return () -> { }; // a folder it cannot list: leave whatever is made there alone
        }
      }
      return () -> {
        try {
          if (!folderExisted) {
            DurableFiles.deleteTree(data);
            return;
          }
          List<Path> made;
          try (Stream<Path> entries = Files.list(data)) {
            made = entries.filter(p -> !before.contains(p)).toList();
          }
          for (Path p : made) {
            DurableFiles.deleteTree(p);
          }
        } catch (IOException e) {
          // The failure to serve is what the caller hears; a leftover ledger is told there too.
        }
      };
    }

    /**
     * Binds {@code host:port} as Jetty would (address reuse on, the default backlog), and holds
     * it while the ledger opens, so that a port in use is found before then; the server then
     * serves on it ({@link LedgerServer.Builder#channel}), so no other process can take the
     * port in between. Port 0 picks a free one.
     */
    private static ServerSocketChannel holdPort(String host, int port) throws IOException {
      ServerSocketChannel channel = ServerSocketChannel.open();
      try {
        channel.setOption(StandardSocketOptions.SO_REUSEADDR, true);
        channel.bind(new InetSocketAddress(host, port));
        return channel;
      } catch (IOException | RuntimeException e) {
        channel.close();
        String why = e instanceof UnresolvedAddressException ? "unknown host" : e.getMessage();
        throw new IOException("cannot serve the ledger on " + HostPorts.of(host, port)
            + ": " + why, e);
      }
    }

    private static void closeQuietly(ServerSocketChannel channel) {
      if (channel != null) {
        try {
          channel.close();
        } catch (IOException e) {
          // Closing a listening socket frees the port whatever it reports.
        }
      }
    }

    private static void closeQuietly(JsonLinesLog log) {
      if (log != null) {
        try {
          log.close();
        } catch (IOException e) {
          // Its lines were each written whole as they came; closing flushes nothing.
        }
      }
    }

    /** A relay's client of the upstream server, whose certificate --tls-reload renews too. */
    private RemoteLedger upstreamClient;

    /** The --trust file as the relay's client read it: what --tls-reload watches from. */
    private TlsReloader.Snapshot trustSeen;

    private Ledger openUpstream() {
      Hash256 trusted = chainId("--chain", chain);
      RemoteLedger remote;
      try {
        RemoteLedger.Builder rb = clientCert.apply(RemoteLedger.builder());
        if (trust != null) {
          // Taken before the client reads the file: one changed meanwhile is reloaded.
          trustSeen = TlsReloader.snapshot(trust, trust);
          rb.trustedCertificates(trust);
        }
        remote = rb.connect(upstream);
        upstreamClient = remote;
      } catch (LedgerException e) {
        throw CliException.failure("cannot reach the upstream ledger: " + e.getMessage(), e);
      } catch (IllegalArgumentException e) {
        throw CliException.badInput("--upstream " + e.getMessage(), e);
      }
      if (trusted == null) {
        return remote;
      }
      try {
        return AuditedLedger.over(remote, trusted, null, replica);
      } catch (IOException e) { // the replica's folder, not the upstream's chain
        remote.close();
        throw CliException.failure("cannot keep the replica in " + replica + ": "
            + CliException.why(e), e);
      } catch (RuntimeException e) {
        remote.close();
        throw CliException.failure("the upstream ledger fails its audit against chain "
            + trusted + ": " + e.getMessage(), e);
      }
    }

    private LocalLedger openLocal() {
      boolean exists = Files.exists(data.resolve("journal.btl"));
      if (exists && genesis.anyGiven()) {
        throw CliException.badInput("--data " + data + " already holds a ledger; the genesis"
            + " options (--allocate, --tau, ...) only apply when creating one", null);
      }
      LocalLedger.Builder builder = LocalLedger.builder()
          .blocks(BlockPolicy.every(Duration.ofMillis(blockMillis)))
          .compactAtSnapshots(compactJournal)
          .archiveCompacted(archive);
      if (!exists) {
        builder.genesis(genesis.genesis()).mechanism(genesis.mechanism());
      }
      try {
        return builder.open(data);
      } catch (IOException e) {
        throw CliException.failure("cannot open the ledger in " + data + ": " + e.getMessage(),
            e);
      }
    }

    private RaftLedger openMember() {
      boolean exists = RaftLedger.holdsMember(data);
      if (exists && genesis.anyGiven() && genesis.createdAt == null) {
        throw CliException.badInput("--data " + data + " already holds a member; the genesis"
            + " options (--allocate, --tau, ...) only apply when creating one, or give the same"
            + " ones with the same --created-at", null);
      }
      if (!exists && genesis.createdAt == null) {
        throw CliException.badInput("a new member needs --created-at, the same instant on every"
            + " member, so that all make the same genesis", null);
      }
      RaftLedger.Builder builder = RaftLedger.builder()
          .blocks(BlockPolicy.every(Duration.ofMillis(blockMillis)))
          .keepBlocks(keepBlocks)
          .archiveKeptBlocks(compactJournal && archive)
          .timeout(Duration.ofMillis(raftTimeoutMillis != null ? raftTimeoutMillis : 5000))
          .self(raftSelf);
      try {
        members(raftMembers, "--raft-member").forEach(builder::member);
        // A member's folder records its chain: the same genesis options (a member's first
        // command run again) reopen it, other ones are refused with both chains named.
        if (!exists || genesis.anyGiven()) {
          builder.genesis(genesis.genesis()).mechanism(genesis.mechanism());
        }
        if (raftTls != null) {
          builder.tls(raftTls.get(0), raftTls.get(1), raftTls.get(2));
        }
        return builder.open(data);
      } catch (IllegalArgumentException | IllegalStateException e) {
        throw CliException.badInput(e.getMessage(), e);
      } catch (IOException e) {
        throw CliException.failure("cannot open the member in " + data + ": " + e.getMessage(),
            e);
      }
    }

  }

  /**
   * Refuses a replicated ledger's member folder where a ledger of one machine is asked for: one
   * would be made there, a new chain that the group's clients could reach at the member's port.
   */
  static void refuseMembersFolder(Path data) {
    if (RaftLedger.holdsMember(data)) {
      throw CliException.badInput("--data " + data + " holds a replicated ledger's member"
          + " (genesis.btg): serve it with --raft-self and the --raft-member list it was"
          + " started with, or give a ledger of one machine another folder", null);
    }
    refuseMembersBlocks(data);
  }

  /** Refuses the folder where a replicated ledger's member keeps its blocks, for any ledger. */
  static void refuseMembersBlocks(Path data) {
    refuseMembersBlocks(data, "");
  }

  /**
   * Refuses the folder where a replicated ledger's member keeps its blocks, the message ending
   * with {@code otherwise} (what to do instead, from ", " on, or nothing).
   */
  static void refuseMembersBlocks(Path data, String otherwise) {
    // The blocks a member keeps are its copy of the ledger: a ledger of one machine there
    // sealed blocks of its own into it, which the group never agreed on.
    Path folder = data.toAbsolutePath().normalize();
    Path member = folder.getParent();
    if (member != null && RaftLedger.holdsMember(member)
        && RaftLedger.blocksFolder(member).equals(folder)) {
      throw CliException.badInput("--data " + data + " holds the blocks that the replicated"
          + " ledger's member in " + member + " keeps, which only that member writes: serve"
          + " the member (--data " + member + " with --raft-self), or read its blocks with"
          + " ledger blocks --data " + member + otherwise, null);
    }
  }

  /**
   * Refuses a folder holding a ledger of one machine where a replicated ledger's member is asked
   * for: a member made there would be a new chain beside the ledger, without its state.
   */
  static void refuseLedgerOfOneMachine(Path data) {
    if (!RaftLedger.holdsMember(data) && Files.exists(data.resolve("journal.btl"))) {
      throw CliException.badInput("--data " + data + " holds a ledger of one machine"
          + " (journal.btl), not a member: give each member a new folder (with the genesis"
          + " options and --created-at), or serve this one without --raft-self", null);
    }
  }

  /**
   * Refuses a folder {@code option} that names a file: else opening it fails with the JDK's
   * words, which name only the path.
   */
  static void requireFolderOrNothing(Path folder, String option) {
    if (Files.exists(folder) && !Files.isDirectory(folder)) {
      throw CliException.badInput(option + " " + folder + " is a file, not a folder", null);
    }
  }

  /**
   * A chain id given as 64 hex digits, or null when none was given.
   *
   * @throws CliException (bad input) naming the option and the value that is not one
   */
  static Hash256 chainId(String option, String hex) {
    if (hex == null) {
      return null;
    }
    try {
      return Hash256.fromHex(hex);
    } catch (IllegalArgumentException e) {
      throw CliException.badInput(option + " " + hex + ": " + e.getMessage(), e);
    }
  }

  /**
   * Members given as {@code ID=HOST:PORT}, in order.
   *
   * @throws CliException (bad input) naming the option and the value that is not one
   */
  static Map<String, InetSocketAddress> members(List<String> specs, String option) {
    Map<String, InetSocketAddress> out = new LinkedHashMap<>();
    for (String member : specs) {
      int eq = member.indexOf('=');
      if (eq < 1) {
        throw CliException.badInput(option + " takes ID=HOST:PORT, was " + member, null);
      }
      URI uri;
      try {
        uri = new URI("raft://" + member.substring(eq + 1));
      } catch (URISyntaxException e) {
        uri = null;
      }
      if (uri == null || uri.getHost() == null || uri.getPort() < 1 || uri.getPort() > 65535) {
        throw CliException.badInput(option + " " + member + ": the address must be HOST:PORT",
            null);
      }
      if (out.put(member.substring(0, eq), new InetSocketAddress(uri.getHost(), uri.getPort()))
          != null) {
        throw CliException.badInput(option + ": member " + member.substring(0, eq)
            + " is listed twice", null);
      }
    }
    return out;
  }


  /**
   * The registration rules to append to a printed line of rules, or nothing when neither is set
   * (the line a ledger without them printed before they existed).
   */
  static String registrationRules(LedgerParams p) {
    if (p.registrationBurn() == 0 && p.maxRegistrationsPerBlock() == 0) {
      return "";
    }
    return String.format(Locale.ROOT, "  registrationBurn %d  maxRegistrationsPerBlock %d",
        p.registrationBurn(), p.maxRegistrationsPerBlock());
  }

  /** {@code bittensor ledger members}. */
  @Command(
      name = "members",
      mixinStandardHelpOptions = true,
      description = {
        "Print the members of a replicated ledger's group, asking it through --via (any running"
            + " member); with --raft-member, change them to exactly that list first (Raft's joint"
            + " consensus: the group stays available). A member being added must already run,"
            + " started with the new list; stop a member removed once this returns.",
        "Each member's line says what it answered: its role (leader, follower, candidate), term"
            + " and last applied log index, or that it is unreachable and why; the last line"
            + " names the member that leads, or says why none does."
      })
  static final class Members implements Callable<Integer> {
    @Spec CommandSpec spec;

    @Option(names = "--data", paramLabel = "DIR",
        description = "A member's folder on this machine, to read the chain from (the member"
            + " may be running).")
    Path data;

    @Option(names = "--chain", paramLabel = "HEX",
        description = "The chain id instead of --data (ledger show prints it).")
    String chain;

    @Option(names = "--via", required = true, paramLabel = "ID=HOST:PORT",
        description = "A running member and its Raft address, to reach the group through."
            + " Repeatable: the first that answers is used.")
    List<String> via = new ArrayList<>();

    @Option(names = "--raft-member", paramLabel = "ID=HOST:PORT",
        description = "A member of the new group. List every one. Repeatable.")
    List<String> raftMembers = new ArrayList<>();

    @Option(names = "--raft-tls", arity = "3", paramLabel = "FILE",
        description = "Mutual TLS, as the members use it: a private key, its certificate and"
            + " the group's authority (PEM).")
    List<Path> raftTls;

    @Option(names = "--timeout-ms", defaultValue = "10000", paramLabel = "MS",
        description = "How long to wait for the group. Default: ${DEFAULT-VALUE}.")
    long timeoutMs;

    @Override
    public Integer call() {
      if ((data == null) == (chain == null)) {
        throw CliException.badInput("give the chain: --data DIR (a member's folder) or --chain"
            + " HEX, one of them", null);
      }
      if (timeoutMs < 1) {
        throw CliException.badInput("--timeout-ms must be >= 1, was " + timeoutMs, null);
      }
      Map<String, InetSocketAddress> contacts = members(via, "--via");
      Map<String, InetSocketAddress> change = members(raftMembers, "--raft-member");
      RaftAdmin.Builder b = RaftAdmin.builder().timeout(Duration.ofMillis(timeoutMs));
      try {
        if (data != null) {
          b.chainOf(data);
        } else {
          b.chainId(Hash256.fromHex(chain));
        }
        contacts.forEach(b::contact);
        if (raftTls != null) {
          b.tls(raftTls.get(0), raftTls.get(1), raftTls.get(2));
        }
      } catch (IllegalArgumentException | IOException e) {
        throw CliException.badInput(e.getMessage(), e);
      }
      PrintWriter out = spec.commandLine().getOut();
      try (RaftAdmin admin = b.build()) {
        if (!change.isEmpty()) {
          admin.changeMembers(change);
          out.println("changed the members to " + change.keySet());
        }
        GroupStatus status = admin.status();
        for (GroupStatus.Member m : status.members()) {
          out.println(m.id() + "=" + HostPorts.of(m.address()) + "  " + standing(m));
        }
        out.println(leadership(status));
        out.flush();
      } catch (IllegalArgumentException e) {
        throw CliException.badInput(e.getMessage(), e);
      } catch (LedgerException e) {
        throw CliException.failure(e.getMessage(), e);
      }
      return 0;
    }
  }

  /** What member {@code m} said of itself, for its line of {@code ledger members}. */
  static String standing(GroupStatus.Member m) {
    if (m.role() == GroupStatus.Role.UNREACHABLE) {
      return "unreachable: " + m.failure().orElse("no answer");
    }
    return m.role().name().toLowerCase(Locale.ROOT) + "  term " + m.term() + "  applied "
        + m.appliedIndex();
  }

  /** The last line of {@code ledger members}: who leads, or why none does. */
  static String leadership(GroupStatus status) {
    Optional<GroupStatus.Member> leader = status.leader();
    if (leader.isPresent()) {
      return leader.get().id() + " leads, in term " + leader.get().term();
    }
    // A leader that did not answer here, that members still follow: out of this machine's
    // reach, or stopped a moment ago (its followers stand for election soon).
    Set<String> followed = new TreeSet<>();
    status.members().forEach(m -> m.leader().ifPresent(followed::add));
    if (!followed.isEmpty()) {
      return "no member that answered leads: members follow " + String.join(", ", followed)
          + ", which did not answer here: it may lead out of this machine's reach, or have"
          + " stopped a moment ago";
    }
    int size = status.members().size();
    long answered = status.answered();
    int majority = size / 2 + 1;
    if (answered < majority) {
      return "no member leads: only " + answered + " of " + size + " members answered, fewer"
          + " than the " + majority + " a leader needs: start the members that are down, and"
          + " check that they reach each other's Raft ports";
    }
    return "no member leads: an election is in progress (" + answered + " of " + size
        + " members answered); ask again in a moment";
  }

  /** {@code bittensor ledger compact}. */
  @Command(
      name = "compact",
      mixinStandardHelpOptions = true,
      description = {
        "Compact the journal of the ledger in --data, which no process may have open: rewrite it"
            + " as its genesis block and a checkpoint of the state after its latest block,"
            + " dropping the blocks before it (whole or not at all). The ledger then reopens"
            + " from the checkpoint. Give --archive (or copy the directory first) if its"
            + " history matters."
      })
  static final class Compact implements Callable<Integer> {
    @Spec CommandSpec spec;

    @Option(names = "--data", required = true, paramLabel = "DIR",
        description = "The data directory of a ledger that is not open.")
    Path data;

    @Option(names = "--archive", description = "Keep the replaced journal in DIR/archive, so"
        + " that ledger blocks still reads the blocks before the checkpoint.")
    boolean archive;

    @Override
    public Integer call() {
      // Before the ledger opens: compacting a member's kept blocks rewrote its copy of the
      // ledger behind it, as serve and init there did.
      refuseMembersBlocks(data, "; the member compacts them itself when served with"
          + " --keep-blocks --compact-journal --archive");
      Path journal = data.resolve("journal.btl");
      if (!Files.exists(journal)) {
        throw CliException.badInput("--data " + data + " holds no ledger (no journal.btl)", null);
      }
      try {
        long before = Files.size(journal);
        long block;
        try (LocalLedger ledger = LocalLedger.builder().blocks(BlockPolicy.manual())
            .archiveCompacted(archive).open(data)) {
          block = ledger.metagraph().block().number();
          ledger.compactJournal();
        }
        long after = Files.size(journal);
        PrintWriter out = spec.commandLine().getOut();
        out.printf(java.util.Locale.ROOT, "compacted %s: %,d bytes, now %,d, from block %d on%n",
            journal, before, after, block);
        out.flush();
      } catch (IOException e) {
        String message = "cannot compact the ledger in --data " + data + ": "
            + CliException.why(e);
        throw CliException.aboutTheFile(e) ? CliException.badInput(message, e)
            : CliException.failure(message, e);
      }
      return 0;
    }
  }

  /** {@code bittensor ledger show}. */
  @Command(
      name = "show",
      mixinStandardHelpOptions = true,
      description = {
        "Print the metagraph of the ledger in --data, or of the ledger server at --remote, at"
            + " its latest durable block: one row per peer (uid, key, stake, rank, trust,"
            + " consensus, incentive, dividends, emission, registration, last update, endpoint)."
            + " --data reads without locking or changing the files, so it works while the ledger"
            + " runs."
      })
  static final class Show implements Callable<Integer> {
    @Spec CommandSpec spec;

    @Mixin LedgerSourceOptions source = new LedgerSourceOptions();

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
      try (Ledger ledger = source.open()) {
        m = ledger.metagraph();
      } catch (LedgerException e) {
        throw CliException.failure(e.getMessage(), e);
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
          + "  weightsRateLimit %d%s%n", p.epochLength(), p.immunityPeriod(),
          p.minAllowedWeights(), p.weightsRateLimit(), registrationRules(p));
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
      params.put("registrationBurn", p.registrationBurn());
      params.put("maxRegistrationsPerBlock", p.maxRegistrationsPerBlock());
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
