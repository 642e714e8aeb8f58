package io.bittensor.examples;

import io.bittensor.core.BackwardRequest;
import io.bittensor.core.BlockPolicy;
import io.bittensor.core.ForwardRequest;
import io.bittensor.core.Genesis;
import io.bittensor.core.Keypair;
import io.bittensor.core.LedgerMembers;
import io.bittensor.core.LedgerParams;
import io.bittensor.core.LocalLedger;
import io.bittensor.core.Modality;
import io.bittensor.core.Peer;
import io.bittensor.core.Status;
import io.bittensor.core.Tensor;
import io.bittensor.core.Transaction;
import io.bittensor.learning.TrainableMlp;
import io.bittensor.learning.TrainablePeer;
import io.bittensor.onnx.Mlp;
import io.bittensor.transport.PeerClient;
import io.bittensor.transport.PeerServer;
import java.io.PrintStream;
import java.net.URI;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;

/**
 * A peer for the market's members only: it answers the keys registered on the ledger
 * ({@link PeerServer.Builder#callers} with {@link LedgerMembers}) and learns only from those that
 * also hold stake ({@link TrainablePeer.Builder#gradientsFrom}). A stranger, a member without
 * stake and the same member once staked call it in turn; each line printed is a call and its
 * status.
 *
 * <pre>
 * mvn -B -q -pl examples -am package -DskipTests
 * java -cp "examples/target/classes:bittensor-cli/target/bittensor.jar" \
 *     io.bittensor.examples.MembersOnly
 * </pre>
 */
public final class MembersOnly {
  private MembersOnly() {}

  public static void main(String[] args) throws Exception {
    run(System.out);
  }

  /** A call made and the status it got. */
  record Call(String who, String what, Status status) {}

  /** Runs the example, printing each call and what the model learned; returns the calls. */
  static List<Call> run(PrintStream out) throws Exception {
    Keypair member = Keypair.generate();
    Keypair stranger = Keypair.generate();
    Genesis genesis = Genesis.builder().params(LedgerParams.defaults())
        .allocate(member.id(), 1_000).allocate(stranger.id(), 1_000).build();
    List<Call> calls = new ArrayList<>();
    try (LocalLedger ledger = LocalLedger.builder().genesis(genesis)
            .blocks(BlockPolicy.manual()).openInMemory();
        LedgerMembers members = LedgerMembers.follow(ledger);            // registered keys
        LedgerMembers stakers = LedgerMembers.follow(ledger, 1)) {       // ... holding stake
      TrainablePeer model = TrainablePeer.builder()
          .network(TrainableMlp.random(new int[] {8, 16, 4}, Mlp.Activation.RELU, 1))
          .gradientsFrom(stakers)
          .build();
      try (PeerServer server = PeerServer.newBuilder(model).host("127.0.0.1").port(0)
              .callers(members).start();
          PeerClient asMember = PeerClient.newBuilder().keypair(member).build();
          PeerClient asStranger = PeerClient.newBuilder().keypair(stranger).build()) {
        Peer fromMember = asMember.connect(server.endpoint());
        Peer fromStranger = asStranger.connect(server.endpoint());
        call(calls, out, "stranger", fromStranger);
        ledger.submit(member, Transaction.register(URI.create("http://127.0.0.1:9"),
            Modality.TENSOR));
        ledger.produceBlock();                                          // a member from here on
        call(calls, out, "member", fromMember);
        ledger.submit(member, Transaction.addStake(100));
        ledger.produceBlock();                                          // and a staker
        call(calls, out, "staked member", fromMember);
        out.println("the model learned from " + model.steps() + " gradient(s)");
      }
    }
    return calls;
  }

  /** Asks {@code peer} for an answer, then sends it a gradient, and prints both statuses. */
  private static void call(List<Call> calls, PrintStream out, String who, Peer peer) {
    Tensor x = Tensor.ofFloats(new float[] {1, 0, 0, 1, 0, 1, 1, 0}, 1, 1, 8);
    Status answer = peer.forwardAndWait(new ForwardRequest(Modality.TENSOR, x),
        Duration.ofSeconds(10)).status();
    Tensor gradient = Tensor.ofFloats(new float[] {0.5f, -0.5f, 0.5f, -0.5f}, 1, 1, 4);
    Status learned = peer.backwardAndWait(new BackwardRequest(Modality.TENSOR, x, gradient),
        Duration.ofSeconds(10)).status();
    calls.add(new Call(who, "forward", answer));
    calls.add(new Call(who, "backward", learned));
    out.printf("%-14s forward %-16s backward %s%n", who, answer, learned);
  }
}
