package io.bittensor.raft;

import io.bittensor.core.Experimental;
import java.net.InetSocketAddress;
import java.util.Comparator;
import java.util.List;
import java.util.Objects;
import java.util.Optional;

/**
 * A replicated ledger's group as its members answer for themselves, each asked on its own
 * ({@link RaftAdmin#status}): each member's role, term and last applied log index, and which
 * member leads, if one does.
 *
 * <pre>{@code
 * RaftAdmin admin = ...;                             // the group's administrator
 * GroupStatus status = admin.status();
 * status.leader().ifPresentOrElse(
 *     m -> System.out.println(m.id() + " leads in term " + m.term()),
 *     () -> System.out.println("no member leads: an election, or no majority up"));
 * }</pre>
 *
 * <p>A snapshot: each member answered at a slightly different moment. Immutable and thread-safe.
 *
 * @param members every member of the group, in the group's order
 */
@Experimental
public record GroupStatus(List<Member> members) {
  /** Copies {@code members}. */
  public GroupStatus {
    members = List.copyOf(members);
  }

  /**
   * The member that answered as the leader; of two (one cut off from the others, not yet told
   * that a newer term began), the one of the highest term. Empty while no member leads: an
   * election in progress, or fewer than a majority of the members up, or the leader not
   * reachable from here (see {@link Member#leader}: whom the others follow).
   */
  public Optional<Member> leader() {
    return members.stream().filter(m -> m.role() == Role.LEADER)
        .max(Comparator.comparingLong(Member::term));
  }

  /** How many members answered. */
  public long answered() {
    return members.stream().filter(m -> m.role() != Role.UNREACHABLE).count();
  }

  /** A member's part in its group, as it says. */
  public enum Role {
    /** It leads: it orders the transactions and seals the blocks. */
    LEADER,
    /** It stands for election: the group has no leader it knows of. */
    CANDIDATE,
    /** It follows a leader, or waits to hear from one. */
    FOLLOWER,
    /** It copies the log without a vote. */
    LISTENER,
    /** It did not answer within the timeout: down, or not reachable from here. */
    UNREACHABLE
  }

  /**
   * One member as it answered.
   *
   * @param id the member's id
   * @param address its Raft address, as the group records it
   * @param role its role, or {@link Role#UNREACHABLE}
   * @param term on the leader, its term; on another member, the term of the latest entry in its
   *     log (Ratis tells a member's current term only of a leader), the leader's once it keeps
   *     up; -1 if unreachable
   * @param appliedIndex the index of the last entry of the group's Raft log that it applied to
   *     its copy of the ledger: a member that keeps up has the leader's; -1 if it applied none
   *     yet, or is unreachable
   * @param leader the member it takes for the leader: itself on the leader, the one it follows
   *     on a follower; empty on a candidate, or a follower that has not heard from one
   * @param failure why it did not answer; empty if it answered
   */
  public record Member(String id, InetSocketAddress address, Role role, long term,
      long appliedIndex, Optional<String> leader, Optional<String> failure) {
    /** Checks that none is null. */
    public Member {
      Objects.requireNonNull(id, "id");
      Objects.requireNonNull(address, "address");
      Objects.requireNonNull(role, "role");
      Objects.requireNonNull(leader, "leader");
      Objects.requireNonNull(failure, "failure");
    }
  }
}
