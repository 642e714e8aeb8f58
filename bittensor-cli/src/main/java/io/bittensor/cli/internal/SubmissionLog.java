package io.bittensor.cli.internal;

import io.bittensor.core.PeerId;
import io.bittensor.core.Receipt;
import io.bittensor.core.SignedTransaction;
import io.bittensor.transport.SubmissionEvent;
import io.bittensor.transport.SubmissionListener;
import java.io.IOException;
import java.nio.file.Path;
import java.time.Clock;

/**
 * Every transaction a ledger server was sent, one line of JSON each (JSON Lines), appended to a
 * file once the ledger decided it:
 *
 * <pre>{@code
 * {"time":"2026-12-06T14:03:11.402Z","outcome":"sealed","hash":"5be0...","kind":"setWeights",
 *  "signer":"9a1f...","nonce":41,"caller":"9a1f...","block":1207,"index":3}
 * {"time":"2026-12-06T14:03:12.016Z","outcome":"refused","hash":"77c2...","kind":"transfer",
 *  "signer":"03d8...","nonce":2,"caller":"03d8...","reason":"NONCE_REUSED","code":4,
 *  "detail":"nonce 2 was used; the next nonce of 03d8... is 5"}
 * }</pre>
 *
 * <p>(each object one line in the file). {@code outcome} is {@code sealed} (with the
 * {@code block} and the {@code index} in it), {@code refused} (with the ledger's {@code reason},
 * its {@code code} and its {@code detail}) or {@code failed} (the ledger decided nothing: it
 * closed with the transaction in its pool, a write failed; {@code failure} says why, and the
 * transaction may be sent again). {@code hash}, {@code kind}, {@code signer} and {@code nonce}
 * are the transaction's, absent for bytes that did not decode (refused as {@code MALFORMED});
 * {@code kind} is named as {@code ledger blocks --json} names it. {@code caller} is who sent it
 * to the server, the key that signed the request, which need not be the transaction's signer (a
 * relay, a wallet service); null for an unsigned request.
 *
 * <p>Lines are written as {@link JsonLinesFile} writes them: one write each, nothing buffered.
 * A line that cannot be written is counted in {@link #lost()}; the ledger goes on.
 *
 * <p>Thread-safe: the ledger's sealing thread and the server's threads write to it.
 */
public final class SubmissionLog extends JsonLinesLog implements SubmissionListener {
  private SubmissionLog(Path file, Clock clock) throws IOException {
    super(file, "the submission log", clock);
  }

  /**
   * Opens {@code file} for appending, creating it if it does not exist (its directory must).
   *
   * @throws IOException when it cannot be opened for writing, naming it
   */
  public static SubmissionLog open(Path file) throws IOException {
    return open(file, Clock.systemUTC());
  }

  static SubmissionLog open(Path file, Clock clock) throws IOException {
    return new SubmissionLog(file, clock);
  }

  @Override
  public void submitted(SubmissionEvent s) {
    append(json -> {
      json.writeStringField("outcome",
          s.sealed() ? "sealed" : s.failed() ? "failed" : "refused");
      if (s.transaction().isPresent()) {
        SignedTransaction tx = s.transaction().get();
        json.writeStringField("hash", tx.hash().toHex());
        json.writeStringField("kind", kind(tx));
        json.writeStringField("signer", tx.signer().toHex());
        json.writeNumberField("nonce", tx.nonce());
      }
      json.writeStringField("caller", s.caller().map(PeerId::toHex).orElse(null));
      if (s.receipt().isPresent()) {
        Receipt r = s.receipt().get();
        json.writeNumberField("block", r.block());
        json.writeNumberField("index", r.index());
      }
      if (s.refused().isPresent()) {
        json.writeStringField("reason", s.refused().get().name());
        json.writeNumberField("code", s.refused().get().code());
      }
      if (s.detail().isPresent()) {
        json.writeStringField("detail", s.detail().get());
      }
      if (s.failure().isPresent()) {
        json.writeStringField("failure", s.failure().get());
      }
    });
  }

  /** {@code SetWeights} as {@code setWeights}: the names of {@code ledger blocks --json}. */
  private static String kind(SignedTransaction tx) {
    String name = tx.body().getClass().getSimpleName();
    return Character.toLowerCase(name.charAt(0)) + name.substring(1);
  }
}
