package io.bittensor.cli.internal;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.bittensor.cli.JsonLines;
import io.bittensor.core.Keypair;
import io.bittensor.core.PeerId;
import io.bittensor.core.Status;
import io.bittensor.core.testing.TestCertificates;
import io.bittensor.transport.CallEvent;
import io.bittensor.transport.LedgerRequestEvent;
import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.cert.CertificateFactory;
import java.security.cert.X509Certificate;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.time.ZoneOffset;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Optional;
import java.util.Random;
import java.util.Set;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@link AccessLog}: one line of JSON per call, with what the call's event says; appended to
 * what the file held; whole lines from many threads at once; nothing after it is closed; and a
 * line it cannot write counted, not thrown.
 */
class AccessLogTest {
  private static final Clock FIXED =
      Clock.fixed(Instant.parse("2026-12-06T14:03:11.402Z"), ZoneOffset.UTC);
  private static final PeerId ALICE = Keypair.fromSeed(new byte[Keypair.SEED_LENGTH]).id();

  private static CallEvent event(CallEvent.Side side, Optional<PeerId> peer, boolean verified,
      Status status, Duration took, Optional<X509Certificate> cert) {
    return new CallEvent(side, CallEvent.Kind.FORWARD, peer, status, took, cert,
        verified ? peer : Optional.empty());
  }

  @Test
  void eachCallIsALineOfJsonSayingWhatItsEventSays(@TempDir Path dir) throws Exception {
    X509Certificate cert;
    try (InputStream in = Files.newInputStream(TestCertificates.file("client.pem"))) {
      cert = (X509Certificate) CertificateFactory.getInstance("X.509").generateCertificate(in);
    }
    Path file = dir.resolve("calls.jsonl");
    try (AccessLog log = AccessLog.open(file, FIXED)) {
      log.callEnd(event(CallEvent.Side.SERVER, Optional.of(ALICE), true, Status.SUCCESS,
          Duration.ofNanos(412_345), Optional.of(cert)));
      log.callEnd(event(CallEvent.Side.SERVER, Optional.of(ALICE), false, Status.BAD_SIGNATURE,
          Duration.ofMillis(2), Optional.empty()));
      log.callEnd(new CallEvent(CallEvent.Side.CLIENT, CallEvent.Kind.BACKWARD, Optional.empty(),
          Status.TIMEOUT, Duration.ofSeconds(5)));
      // Signed, with no caller header: the proof names the caller.
      log.callEnd(new CallEvent(CallEvent.Side.SERVER, CallEvent.Kind.FORWARD, Optional.empty(),
          Status.SUCCESS, Duration.ofMillis(1), Optional.empty(), Optional.of(ALICE)));
      assertEquals(file, log.file());
      assertEquals(0, log.lost());
    }
    List<String> raw = Files.readAllLines(file);
    assertEquals(4, raw.size());
    assertEquals("{\"time\":\"2026-12-06T14:03:11.402Z\",\"side\":\"server\",\"kind\":\"forward\","
        + "\"peer\":\"" + ALICE.toHex() + "\",\"verified\":true,\"status\":\"SUCCESS\",\"code\":0,"
        + "\"ms\":0.412,\"certificate\":\"CN=client\"}", raw.get(0));
    List<JsonNode> lines = JsonLines.read(file);
    JsonNode claimed = lines.get(1);
    assertEquals(ALICE.toHex(), claimed.get("peer").asText());
    assertFalse(claimed.get("verified").asBoolean(), "named, not proved");
    assertEquals("BAD_SIGNATURE", claimed.get("status").asText());
    assertEquals(Status.BAD_SIGNATURE.code(), claimed.get("code").asInt());
    assertEquals(2.0, claimed.get("ms").asDouble());
    assertFalse(claimed.has("certificate"));
    JsonNode client = lines.get(2);
    assertEquals("client", client.get("side").asText());
    assertEquals("backward", client.get("kind").asText());
    assertTrue(client.get("peer").isNull());
    assertEquals(5000.0, client.get("ms").asDouble());
    JsonNode unnamed = lines.get(3);
    assertEquals(ALICE.toHex(), unnamed.get("peer").asText());
    assertTrue(unnamed.get("verified").asBoolean());
  }

  @Test
  void aLedgerServersRequestIsALineOfTheSameShapeWithItsBytes(@TempDir Path dir)
      throws Exception {
    Path file = dir.resolve("requests.jsonl");
    try (AccessLog log = AccessLog.open(file, FIXED)) {
      log.requestEnd(new LedgerRequestEvent(LedgerRequestEvent.Operation.EVENTS,
          Optional.of(ALICE), Optional.of(ALICE), Status.SUCCESS, Duration.ofSeconds(90),
          5_750_000, Optional.empty()));
      log.requestEnd(new LedgerRequestEvent(LedgerRequestEvent.Operation.OTHER,
          Optional.of(ALICE), Optional.empty(), Status.BAD_SIGNATURE, Duration.ofNanos(250_000),
          61, Optional.empty()));
      // Its caller gone before an answer: cancelled, nothing sent, and that said.
      log.requestEnd(new LedgerRequestEvent(LedgerRequestEvent.Operation.SUBMIT,
          Optional.empty(), Optional.empty(), Status.CANCELLED, Duration.ZERO, 0,
          Optional.empty()));
    }
    List<String> raw = Files.readAllLines(file);
    assertEquals("{\"time\":\"2026-12-06T14:03:11.402Z\",\"side\":\"server\",\"kind\":\"events\","
        + "\"peer\":\"" + ALICE.toHex() + "\",\"verified\":true,\"status\":\"SUCCESS\",\"code\":0,"
        + "\"ms\":90000.0,\"bytes\":5750000}", raw.get(0));
    JsonNode refused = JsonLines.read(file).get(1);
    assertEquals("other", refused.get("kind").asText());
    assertEquals(ALICE.toHex(), refused.get("peer").asText(), "named");
    assertFalse(refused.get("verified").asBoolean(), "not proved");
    assertEquals(0.25, refused.get("ms").asDouble());
    assertEquals(61, refused.get("bytes").asLong());
    assertFalse(JsonLines.read(file).stream().anyMatch(l -> l.has("certificate")));
    JsonNode cancelled = JsonLines.read(file).get(2);
    assertEquals("CANCELLED", cancelled.get("status").asText());
    assertTrue(cancelled.has("bytes") && cancelled.get("bytes").asLong() == 0,
        cancelled::toString);
  }

  @Test
  void aLogAppendsToWhatTheFileHeld(@TempDir Path dir) throws Exception {
    Path file = dir.resolve("calls.jsonl");
    Files.writeString(file, "{\"earlier\":true}\n");
    for (int run = 0; run < 2; run++) {
      try (AccessLog log = AccessLog.open(file, FIXED)) {
        log.callEnd(event(CallEvent.Side.SERVER, Optional.empty(), false, Status.SUCCESS,
            Duration.ofMillis(run), Optional.empty()));
      }
    }
    List<JsonNode> lines = JsonLines.read(file);
    assertEquals(3, lines.size());
    assertTrue(lines.get(0).get("earlier").asBoolean());
    assertEquals(0.0, lines.get(1).get("ms").asDouble());
    assertEquals(1.0, lines.get(2).get("ms").asDouble());
  }

  @Test
  void aLineTornByACrashStaysOnItsOwnLine(@TempDir Path dir) throws Exception {
    Path file = dir.resolve("calls.jsonl");
    Files.writeString(file, "{\"earlier\":true}\n{\"torn\":"); // the crash cut this short
    try (AccessLog log = AccessLog.open(file, FIXED)) {
      log.callEnd(event(CallEvent.Side.SERVER, Optional.empty(), false, Status.SUCCESS,
          Duration.ofMillis(2), Optional.empty()));
    }
    List<String> lines = Files.readAllLines(file);
    assertEquals(List.of("{\"earlier\":true}", "{\"torn\":"), lines.subList(0, 2));
    assertEquals(3, lines.size(), lines::toString);
    assertEquals(2.0, new ObjectMapper().readTree(lines.get(2)).get("ms").asDouble());
  }

  @Test
  void callsEndingOnManyThreadsAtOnceAreWholeLinesEach(@TempDir Path dir) throws Exception {
    Path file = dir.resolve("calls.jsonl");
    int threads = 4;
    int each = 2_000;
    ExecutorService pool = Executors.newFixedThreadPool(threads);
    try (AccessLog log = AccessLog.open(file)) {
      List<Future<?>> done = new ArrayList<>();
      for (int t = 0; t < threads; t++) {
        long seed = t;
        done.add(pool.submit(() -> {
          Random random = new Random(seed);
          for (int i = 0; i < each; i++) {
            // Each line says which thread and call it is, in its duration's microseconds.
            log.callEnd(event(CallEvent.Side.SERVER, Optional.of(ALICE), random.nextBoolean(),
                Status.SUCCESS, Duration.ofNanos(1_000L * (seed * each + i)), Optional.empty()));
          }
        }));
      }
      for (Future<?> f : done) {
        f.get();
      }
    } finally {
      pool.shutdownNow();
    }
    List<JsonNode> lines = JsonLines.read(file);
    assertEquals(threads * each, lines.size());
    Set<Long> calls = new HashSet<>();
    for (JsonNode line : lines) {
      calls.add(Math.round(line.get("ms").asDouble() * 1000));
      assertEquals(ALICE.toHex(), line.get("peer").asText());
    }
    assertEquals(threads * each, calls.size(), "every call once");
  }

  @Test
  void aClosedLogWritesNothingAndALineThatCannotBeWrittenIsCounted(@TempDir Path dir)
      throws Exception {
    Path file = dir.resolve("calls.jsonl");
    AccessLog log = AccessLog.open(file, FIXED);
    log.close();
    log.close(); // twice is once
    log.callEnd(event(CallEvent.Side.SERVER, Optional.empty(), false, Status.SUCCESS,
        Duration.ZERO, Optional.empty()));
    assertEquals(0, Files.size(file));
    Path full = Path.of("/dev/full"); // Linux: every write fails with "no space left"
    if (Files.isWritable(full)) {
      try (AccessLog nowhere = AccessLog.open(full, FIXED)) {
        for (int i = 0; i < 3; i++) {
          nowhere.callEnd(event(CallEvent.Side.SERVER, Optional.empty(), false, Status.SUCCESS,
              Duration.ZERO, Optional.empty()));
        }
        assertEquals(3, nowhere.lost());
      }
    }
  }

  @Test
  void aFileThatCannotBeOpenedIsNamed(@TempDir Path dir) {
    IOException folder = assertThrows(IOException.class, () -> AccessLog.open(dir));
    assertTrue(folder.getMessage().contains(dir.toString())
        && folder.getMessage().contains("directory"), folder.getMessage());
    Path missing = dir.resolve("no-such-folder").resolve("calls.jsonl");
    IOException nowhere = assertThrows(IOException.class, () -> AccessLog.open(missing));
    assertTrue(nowhere.getMessage().contains(missing.toString()), nowhere.getMessage());
  }
}
