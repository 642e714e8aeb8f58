package io.bittensor.cli.internal;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import io.bittensor.cli.JsonLines;
import io.bittensor.core.Hash256;
import io.bittensor.core.Keypair;
import io.bittensor.core.Receipt;
import io.bittensor.core.RejectReason;
import io.bittensor.core.SignedTransaction;
import io.bittensor.core.Transaction;
import io.bittensor.transport.SubmissionEvent;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Instant;
import java.time.ZoneOffset;
import java.util.List;
import java.util.Optional;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@link SubmissionLog}: one line of JSON per transaction the ledger decided, with where it was
 * sealed, why it was refused or what failed, who signed it and who sent it; nothing after it is
 * closed; a file that cannot be opened named. (How lines reach the file, appended, whole from
 * many threads, counted when a disk is full, {@link AccessLogTest} checks through the same
 * {@link JsonLinesFile}.)
 */
class SubmissionLogTest {
  private static final Clock FIXED =
      Clock.fixed(Instant.parse("2026-12-06T14:03:11.402Z"), ZoneOffset.UTC);
  private static final Keypair ALICE = Keypair.fromSeed(new byte[Keypair.SEED_LENGTH]);
  private static final Keypair WALLET = Keypair.fromSeed(filled((byte) 7));

  private static byte[] filled(byte b) {
    byte[] seed = new byte[Keypair.SEED_LENGTH];
    java.util.Arrays.fill(seed, b);
    return seed;
  }

  private static SignedTransaction weights(int nonce) {
    return SignedTransaction.sign(ALICE, Hash256.ZERO, nonce,
        Transaction.setWeights(new int[] {0, 3}, new double[] {0.25, 0.75}));
  }

  @Test
  void eachTransactionIsALineSayingWhatBecameOfIt(@TempDir Path dir) throws Exception {
    Path file = dir.resolve("submissions.jsonl");
    SignedTransaction sealed = weights(41);
    SignedTransaction reused = SignedTransaction.sign(ALICE, Hash256.ZERO, 2,
        Transaction.transfer(WALLET.id(), 5));
    try (SubmissionLog log = SubmissionLog.open(file, FIXED)) {
      log.submitted(new SubmissionEvent(Optional.of(sealed), Optional.empty(), Optional.empty(),
          Optional.of(new Receipt(sealed.hash(), 1207, 3)), Optional.of(WALLET.id()),
          Optional.empty()));
      log.submitted(new SubmissionEvent(Optional.of(reused),
          Optional.of(RejectReason.NONCE_REUSED), Optional.empty(), Optional.empty(),
          Optional.of(ALICE.id()), Optional.of("nonce 2 was used")));
      log.submitted(new SubmissionEvent(Optional.of(weights(42)), Optional.empty(),
          Optional.of("the ledger is closed"), Optional.empty(), Optional.empty(),
          Optional.empty()));
      log.submitted(new SubmissionEvent(Optional.empty(), Optional.of(RejectReason.MALFORMED),
          Optional.empty(), Optional.empty(), Optional.empty(),
          Optional.of("the transaction does not decode: 3 bytes")));
      assertEquals(file, log.file());
      assertEquals(0, log.lost());
    }
    List<String> raw = Files.readAllLines(file);
    assertEquals(4, raw.size());
    assertEquals("{\"time\":\"2026-12-06T14:03:11.402Z\",\"outcome\":\"sealed\",\"hash\":\""
        + sealed.hash().toHex() + "\",\"kind\":\"setWeights\",\"signer\":\"" + ALICE.id().toHex()
        + "\",\"nonce\":41,\"caller\":\"" + WALLET.id().toHex() + "\",\"block\":1207,"
        + "\"index\":3}", raw.get(0));
    List<JsonNode> lines = JsonLines.read(file);
    JsonNode refused = lines.get(1);
    assertEquals("refused", refused.get("outcome").asText());
    assertEquals("transfer", refused.get("kind").asText());
    assertEquals(reused.hash().toHex(), refused.get("hash").asText());
    assertEquals(2, refused.get("nonce").asLong());
    assertEquals(ALICE.id().toHex(), refused.get("caller").asText());
    assertEquals("NONCE_REUSED", refused.get("reason").asText());
    assertEquals(RejectReason.NONCE_REUSED.code(), refused.get("code").asInt());
    assertEquals("nonce 2 was used", refused.get("detail").asText());
    assertFalse(refused.has("block") || refused.has("failure"), refused::toString);
    JsonNode failed = lines.get(2);
    assertEquals("failed", failed.get("outcome").asText());
    assertEquals("the ledger is closed", failed.get("failure").asText());
    assertTrue(failed.get("caller").isNull(), "an unsigned request");
    assertFalse(failed.has("reason") || failed.has("block") || failed.has("detail"),
        failed::toString);
    JsonNode malformed = lines.get(3);
    assertEquals("refused", malformed.get("outcome").asText());
    assertEquals("MALFORMED", malformed.get("reason").asText());
    assertFalse(malformed.has("hash") || malformed.has("kind") || malformed.has("signer")
        || malformed.has("nonce"), "nothing decoded: " + malformed);
  }

  @Test
  void aClosedLogWritesNothingAndAFileThatCannotBeOpenedIsNamed(@TempDir Path dir)
      throws Exception {
    Path file = dir.resolve("submissions.jsonl");
    SubmissionLog log = SubmissionLog.open(file, FIXED);
    log.close();
    log.submitted(new SubmissionEvent(Optional.of(weights(0)), Optional.empty()));
    assertEquals(0, Files.size(file));
    IOException folder = assertThrows(IOException.class, () -> SubmissionLog.open(dir));
    assertTrue(folder.getMessage().contains("the submission log " + dir)
        && folder.getMessage().contains("directory"), folder.getMessage());
    Path missing = dir.resolve("no-such-folder").resolve("submissions.jsonl");
    IOException nowhere = assertThrows(IOException.class, () -> SubmissionLog.open(missing));
    assertTrue(nowhere.getMessage().contains(missing.toString()), nowhere.getMessage());
  }
}
