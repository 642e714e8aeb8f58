package io.bittensor.raft;

import io.bittensor.core.Experimental;
import io.bittensor.core.Hash256;
import io.bittensor.core.LedgerException;
import io.bittensor.core.internal.Deadlines;
import io.bittensor.raft.internal.RatisExits;
import java.io.IOException;
import java.net.InetSocketAddress;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.concurrent.atomic.AtomicBoolean;
import org.apache.ratis.client.RaftClient;
import org.apache.ratis.client.RaftClientConfigKeys;
import org.apache.ratis.conf.Parameters;
import org.apache.ratis.conf.RaftProperties;
import org.apache.ratis.grpc.GrpcConfigKeys;
import org.apache.ratis.grpc.GrpcTlsConfig;
import org.apache.ratis.proto.RaftProtos.LogInfoProto;
import org.apache.ratis.proto.RaftProtos.RaftPeerProto;
import org.apache.ratis.proto.RaftProtos.RoleInfoProto;
import org.apache.ratis.protocol.GroupInfoReply;
import org.apache.ratis.protocol.RaftGroup;
import org.apache.ratis.protocol.RaftGroupId;
import org.apache.ratis.protocol.RaftPeerId;
import org.apache.ratis.protocol.exceptions.TimeoutIOException;
import org.apache.ratis.retry.RetryPolicies;
import org.apache.ratis.util.TimeDuration;

/**
 * Administers a running {@link RaftLedger} group from outside it: reads who its members are,
 * and where each stands ({@link #status}: which one leads), and changes them, through any member
 * that answers. For operators (the command line's {@code
 * bittensor ledger members}); a member's own process can call {@link
 * RaftLedger#changeMembers} instead.
 *
 * <pre>{@code
 * try (RaftAdmin admin = RaftAdmin.builder()
 *     .chainOf(Path.of("member-a"))                  // or chainId(...): which group
 *     .contact("a", new InetSocketAddress("10.0.0.1", 9871))   // any running member
 *     .build()) {
 *   admin.members();                                 // {a=10.0.0.1:9871, b=..., c=...}
 *   admin.status().leader();                         // a, in term 3, or none
 *   admin.changeMembers(Map.of("a", a, "b", b, "d", d));      // c replaced by d
 * }
 * }</pre>
 *
 * <p>A member being added must already run (opened with the genesis and the new member list);
 * it catches up before it counts toward a majority. A member removed stops taking part once the
 * change returns; stop it then.
 *
 * <p>Thread-safe. {@link #close()} releases the Raft client; it is idempotent.
 */
@Experimental
public final class RaftAdmin implements AutoCloseable {
  private final RaftGroupId groupId;
  private final Map<String, InetSocketAddress> contacts;
  private final RaftClient client;
  private final Parameters parameters;
  private final Duration timeout;
  /** How long {@link #members} waits between two rounds of its contacts. */
  private static final long RETRY_PAUSE_NANOS = TimeUnit.MILLISECONDS.toNanos(100);
  private final AtomicBoolean closed = new AtomicBoolean();
  private final boolean withTls;

  private RaftAdmin(Builder b, RaftGroupId groupId) {
    this.groupId = groupId;
    this.contacts = RaftLedger.checkedMembers(b.contacts);
    this.timeout = b.timeout;
    this.withTls = b.tls != null;
    this.parameters = new Parameters();
    if (b.tls != null) {
      GrpcConfigKeys.TLS.setConf(parameters, b.tls);
    }
    this.client = RaftLedger.newClient(group(), parameters, timeout);
  }

  private RaftGroup group() {
    return RaftGroup.valueOf(groupId, RaftLedger.peers(contacts));
  }

  /** A builder; a chain and at least one contact are required. */
  public static Builder builder() {
    return new Builder();
  }

  /**
   * The group's members now, id to Raft address, as the first contact that answers knows them
   * (the last configuration it applied). The contacts are asked in turn, each within what is
   * left of the timeout, and again from the first while time is left (a member restarting
   * answers once it is up), so the timeout bounds the whole call.
   *
   * <p>Without {@link Builder#tls}, contacts that have not answered after a quarter of the
   * timeout (at most a second) are sent a TLS hello on a connection of its own, so that the
   * failure can say the group may use TLS; a cleartext member logs that connection as failed.
   *
   * @throws LedgerException if no contact answers within the timeout, or if this administrator
   *     is closed
   */
  public Map<String, InetSocketAddress> members() throws LedgerException {
    checkOpen();
    LedgerException last = null;
    // Counted from the start, not to a deadline: a timeout of "forever" would overflow one.
    long start = System.nanoTime();
    long budget = Deadlines.saturatedNanos(timeout);
    AtomicBoolean done = new AtomicBoolean();
    CompletableFuture<Boolean> tls = tlsProbe(budget, done);
    try {
      while (true) {
        for (String id : contacts.keySet()) {
          long left = budget - (System.nanoTime() - start);
          if (left <= 0 && last != null) {
            throw new LedgerException("no member of " + contacts.keySet() + " answered within "
                + timeout.toMillis() + " ms: " + last.getMessage()
                + tlsHint(last, tls.getNow(false)), last);
          }
          try {
            return membersKnownTo(id, left);
          } catch (LedgerException e) {
            last = kept(last, id, e);
          }
        }
        // Every contact failed: a pause, not a busy loop, before the next round.
        long left = budget - (System.nanoTime() - start);
        if (left > 0) {
          try {
            TimeUnit.NANOSECONDS.sleep(Math.min(left, RETRY_PAUSE_NANOS));
          } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new LedgerException("interrupted while asking " + contacts.keySet()
                + " for the group's members", e);
          }
        }
      }
    } finally {
      done.set(true); // a probe not started by now is not needed
    }
  }

  /**
   * What {@link #members} keeps of contact {@code id}'s failure {@code e}, {@code last} the
   * failure kept before (or null). A refused connection fails at once, a Ratis request within
   * its own bound. A request out of time ({@link #outOfTime}: the wait for it ended, or gRPC or
   * Ratis ended it at the same deadline) says less than why an earlier one failed: that stays;
   * else it reads as {@link #status} words it, not as gRPC's words or a majority's absence.
   */
  static LedgerException kept(LedgerException last, String id, LedgerException e) {
    if (!outOfTime(e.getCause())) {
      return e;
    }
    return last != null ? last : new LedgerException("asking member " + id
        + " for the group's members: " + NO_ANSWER, e.getCause());
  }

  /** How a member that did not answer in time reads, in {@link #members} and {@link #status}. */
  static final String NO_ANSWER = "no answer within the timeout";

  /**
   * A hint for a cleartext contact of a group that uses TLS: its members close the connection,
   * which gRPC reports only as "Network closed for unknown reason", or, on a loaded machine, not
   * before the deadline, when a contact that speaks TLS ({@code speaksTls}) says so.
   */
  private String tlsHint(LedgerException e, boolean speaksTls) {
    return withTls || !(speaksTls || String.valueOf(e.getMessage()).contains("Network closed"))
        ? "" : " (the group's members may use TLS, which closes the connection of a contact"
            + " without it: give tls(...), on the command line --raft-tls KEY CERT CA)";
  }

  /**
   * Whether a contact speaks TLS ({@link TlsProbe}), for a cleartext administrator whose contacts
   * are not {@code done} after a quarter of the {@code budget} (at most a second): a call
   * answered at once opens no other connection. Without TLS of its own, false at once.
   */
  private CompletableFuture<Boolean> tlsProbe(long budget, AtomicBoolean done) {
    if (withTls) {
      return CompletableFuture.completedFuture(false);
    }
    long delay = Math.min(budget / 4, TimeUnit.SECONDS.toNanos(1));
    // Bounded apart from the budget, which may be "forever": a contact that hangs holds a
    // thread only so long.
    long bound = Math.min(budget - delay, TimeUnit.SECONDS.toNanos(30));
    return TlsProbe.anySpeaksTls(contacts.values(), delay, bound, done);
  }

  /** The members as contact {@code id} knows them, asked within {@code left} ns. */
  private Map<String, InetSocketAddress> membersKnownTo(String id, long left)
      throws LedgerException {
    GroupInfoReply reply = RaftLedger.await(
        java.util.concurrent.CompletableFuture.supplyAsync(() -> {
          try {
            return client.getGroupManagementApi(
                org.apache.ratis.protocol.RaftPeerId.valueOf(id)).info(groupId);
          } catch (IOException e) {
            throw new java.util.concurrent.CompletionException(e);
          }
        }, RaftLedger.BLOCKING_CALLS),
        "asking member " + id + " for the group's members",
        Duration.ofNanos(Math.max(1_000_000, left)));
    Map<String, InetSocketAddress> out = new LinkedHashMap<>();
    if (reply.getConf().isPresent()) {
      for (RaftPeerProto p : reply.getConf().get().getPeersList()) {
        out.put(p.getId().toStringUtf8(), RaftLedger.address(p.getAddress()));
      }
    } else {
      // This version's servers send their group: the peers of the configuration in use.
      for (org.apache.ratis.protocol.RaftPeer p : reply.getGroup().getPeers()) {
        out.put(p.getId().toString(), RaftLedger.address(p.getAddress()));
      }
    }
    return out;
  }

  /**
   * The group's members ({@link #members}) and where each stands: every member is asked for its
   * own role, term and last applied log index, all at once, within what is left of the timeout
   * (at least {@value #LEAST_STATUS_MILLIS} ms), and is {@link GroupStatus.Role#UNREACHABLE}
   * if it does not answer by then. {@link GroupStatus#leader()} names the member that leads, or
   * none (an election in progress, no majority up, or a leader that does not answer here).
   *
   * <p>Each member is asked once, not again: a member down answers nothing, at once where its
   * port refuses the connection.
   *
   * @throws LedgerException if no contact answers within the timeout, for the members, or if
   *     this administrator is closed
   */
  @Experimental
  public GroupStatus status() throws LedgerException {
    long start = System.nanoTime();
    Map<String, InetSocketAddress> members = members();
    long left = Math.max(TimeUnit.MILLISECONDS.toNanos(LEAST_STATUS_MILLIS),
        Deadlines.saturatedNanos(timeout) - (System.nanoTime() - start));
    RaftProperties props = new RaftProperties();
    RaftClientConfigKeys.Rpc.setRequestTimeout(props,
        TimeDuration.valueOf(left, TimeUnit.NANOSECONDS));
    // A client of its own, to every member (the contacts may be fewer), that tries once: a
    // member that does not answer is told as such, not waited for until the timeout.
    RaftClient asking = RaftClient.newBuilder()
        .setProperties(props)
        .setParameters(parameters)
        .setRaftGroup(RaftGroup.valueOf(groupId, RaftLedger.peers(members)))
        .setRetryPolicy(RetryPolicies.noRetry())
        .build();
    try {
      Map<String, CompletableFuture<GroupInfoReply>> asked = new LinkedHashMap<>();
      for (String id : members.keySet()) {
        asked.put(id, CompletableFuture.supplyAsync(() -> {
          try {
            return asking.getGroupManagementApi(RaftPeerId.valueOf(id)).info(groupId);
          } catch (IOException e) {
            throw new CompletionException(e);
          }
        }, RaftLedger.BLOCKING_CALLS));
      }
      long deadline = System.nanoTime() + left;
      List<GroupStatus.Member> out = new ArrayList<>();
      for (Map.Entry<String, InetSocketAddress> m : members.entrySet()) {
        out.add(member(m.getKey(), m.getValue(), asked.get(m.getKey()),
            deadline - System.nanoTime()));
      }
      return new GroupStatus(out);
    } finally {
      // Apart: the channel of a member that hangs may take a while to close, and the answers
      // are in.
      RaftLedger.BLOCKING_CALLS.execute(() -> {
        try {
          asking.close();
        } catch (IOException ignored) {
          // Nothing held but the client's channels.
        }
      });
    }
  }

  /** The least time {@link #status} gives the members to answer. */
  static final long LEAST_STATUS_MILLIS = 1000;

  /** Member {@code id} as its answer, {@code asked}, says within {@code left} ns. */
  private static GroupStatus.Member member(String id, InetSocketAddress address,
      CompletableFuture<GroupInfoReply> asked, long left) throws LedgerException {
    GroupInfoReply reply;
    try {
      reply = asked.get(Math.max(0, left), TimeUnit.NANOSECONDS);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new LedgerException("interrupted while asking member " + id + " where it stands", e);
    } catch (ExecutionException | TimeoutException e) {
      return unreachable(id, address, e instanceof TimeoutException || outOfTime(e.getCause())
          ? NO_ANSWER : RatisExits.reasons(e.getCause()));
    }
    if (!reply.isSuccess()) {
      return unreachable(id, address, String.valueOf(reply.getException()));
    }
    RoleInfoProto info = reply.getRoleInfoProto();
    GroupStatus.Role role = switch (info.getRole()) {
      case LEADER -> GroupStatus.Role.LEADER;
      case CANDIDATE -> GroupStatus.Role.CANDIDATE;
      case FOLLOWER -> GroupStatus.Role.FOLLOWER;
      case LISTENER -> GroupStatus.Role.LISTENER;
      default -> GroupStatus.Role.UNREACHABLE; // a role this version does not know
    };
    LogInfoProto log = reply.getLogInfoProto();
    // Ratis tells the current term of a leader only; a log's latest entry has the term it was
    // written in, the leader's once a member keeps up.
    long term = info.hasLeaderInfo() ? info.getLeaderInfo().getTerm()
        : log.hasLastEntry() ? log.getLastEntry().getTerm() : 0;
    long applied = log.hasApplied() ? log.getApplied().getIndex() : -1;
    Optional<String> leader = role == GroupStatus.Role.LEADER ? Optional.of(id)
        : info.hasFollowerInfo() && info.getFollowerInfo().hasLeaderInfo()
            && !info.getFollowerInfo().getLeaderInfo().getId().getId().isEmpty()
            ? Optional.of(info.getFollowerInfo().getLeaderInfo().getId().getId().toStringUtf8())
            : Optional.empty();
    return new GroupStatus.Member(id, address, role, term, applied, leader,
        role == GroupStatus.Role.UNREACHABLE
            ? Optional.of("answered with role " + info.getRole()) : Optional.empty());
  }

  /**
   * Whether {@code t} says the request ran out of time: the request's own bound is the same
   * deadline as the wait for it, and either may end first (gRPC's DEADLINE_EXCEEDED).
   */
  static boolean outOfTime(Throwable t) {
    return RatisExits.chain(t).stream().anyMatch(c -> c instanceof TimeoutException
        || c instanceof TimeoutIOException
        || String.valueOf(c.getMessage()).startsWith("DEADLINE_EXCEEDED"));
  }

  private static GroupStatus.Member unreachable(String id, InetSocketAddress address,
      String why) {
    return new GroupStatus.Member(id, address, GroupStatus.Role.UNREACHABLE, -1, -1,
        Optional.empty(), Optional.of(why));
  }

  /**
   * Changes who the group's members are, through the leader (Raft's joint consensus: the group
   * stays available throughout).
   *
   * @param members every member of the new group, id to Raft address, at least one
   * @throws IllegalArgumentException if {@code members} is empty, an id is not valid, or two
   *     members have one address
   * @throws LedgerException if the group does not make the change within the timeout (a
   *     member being added is not running, or no majority is up); it is not tried again; or if
   *     this administrator is closed
   */
  public void changeMembers(Map<String, InetSocketAddress> members) throws LedgerException {
    Map<String, InetSocketAddress> checked = RaftLedger.checkedMembers(members);
    // Each change has a client of its own: without this, a closed administrator would go on.
    checkOpen();
    RaftLedger.setConfiguration(RaftLedger.newClient(group(), parameters, timeout), checked,
        timeout);
  }

  /**
   * Refuses a call once closed: a read would go to the closed client, which answers nothing, and
   * fail only at the timeout, blaming the contacts.
   */
  private void checkOpen() throws LedgerException {
    if (closed.get()) {
      throw new LedgerException("this RaftAdmin is closed");
    }
  }

  @Override
  public void close() {
    closed.set(true);
    try {
      client.close();
    } catch (IOException ignored) {
      // Nothing held but the client's channels.
    }
  }

  /** Configures a {@link RaftAdmin}. Not thread-safe. */
  public static final class Builder {
    private Hash256 chainId;
    private final Map<String, InetSocketAddress> contacts = new LinkedHashMap<>();
    private GrpcTlsConfig tls;
    private Duration timeout = Duration.ofSeconds(10);

    private Builder() {}

    /** The chain whose group to administer. */
    public Builder chainId(Hash256 chainId) {
      this.chainId = Objects.requireNonNull(chainId, "chainId");
      return this;
    }

    /**
     * The chain of the member in {@code memberDir} (its recorded genesis), whose group to
     * administer. Reads only that file: the member may be running.
     *
     * @throws IOException if the folder holds no member, or its genesis cannot be read
     */
    public Builder chainOf(Path memberDir) throws IOException {
      Path file = memberDir.resolve(RaftLedger.GENESIS_FILE);
      if (!Files.isRegularFile(file)) {
        throw new LedgerException(memberDir + " holds no ledger member (no "
            + RaftLedger.GENESIS_FILE + ")");
      }
      this.chainId = Hash256.of(Files.readAllBytes(file));
      return this;
    }

    /**
     * A running member to reach the group through, and the address of its Raft port; give one
     * or more. Requests go to whichever leads.
     *
     * @throws IllegalArgumentException for a bad or repeated id, or an address without a port
     */
    public Builder contact(String id, InetSocketAddress raftAddress) {
      RaftLedger.checkedMembers(Map.of(id, raftAddress)); // the id and the port
      if (contacts.putIfAbsent(id, raftAddress) != null) {
        throw new IllegalArgumentException("member " + id + " is listed twice");
      }
      return this;
    }

    /**
     * Mutual TLS, as the group's members use it ({@link RaftLedger.Builder#tls}): a key and
     * certificate of the group's authority.
     *
     * @throws IllegalArgumentException if a file does not exist
     */
    public Builder tls(Path privateKey, Path certificate, Path trustedCertificates) {
      this.tls = RaftLedger.tlsConfig(privateKey, certificate, trustedCertificates);
      return this;
    }

    /** How long a request may take; default 10 s. */
    public Builder timeout(Duration timeout) {
      this.timeout = RaftLedger.positive(timeout);
      return this;
    }

    /**
     * Builds the administrator; it connects on its first request.
     *
     * @throws IllegalStateException without a chain or a contact
     */
    public RaftAdmin build() {
      if (chainId == null) {
        throw new IllegalStateException("say which chain's group: chainId(...) or chainOf(...)");
      }
      if (contacts.isEmpty()) {
        throw new IllegalStateException("give a running member to reach the group through:"
            + " contact(...)");
      }
      return new RaftAdmin(this, RaftLedger.groupId(chainId));
    }
  }
}
