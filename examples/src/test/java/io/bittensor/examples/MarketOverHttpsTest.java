package io.bittensor.examples;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.bittensor.core.ForwardResult;
import io.bittensor.core.Status;
import io.bittensor.core.testing.TestCertificates;
import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.util.List;
import org.junit.jupiter.api.Test;

class MarketOverHttpsTest {
  @Test
  void aPeerRegistersItsHttpsEndpointAndIsAskedThereBySignedAnswers() throws Exception {
    ByteArrayOutputStream bytes = new ByteArrayOutputStream();
    ForwardResult answer;
    try (PrintStream out = new PrintStream(bytes, true, StandardCharsets.UTF_8)) {
      answer = MarketOverHttps.run(TestCertificates.file("peer.key"),
          TestCertificates.file("peer.pem"), TestCertificates.file("ca.pem"), List.of(), out);
    }
    assertEquals(Status.SUCCESS, answer.status(), answer.message());
    assertArrayEquals(new int[] {1, 4, 16}, answer.output().orElseThrow().shape());
    List<String> lines = bytes.toString(StandardCharsets.UTF_8).lines().toList();
    assertEquals(3, lines.size(), lines.toString());
    assertTrue(lines.get(0).matches("ledger at https://127\\.0\\.0\\.1:\\d+, peer at "
        + "https://127\\.0\\.0\\.1:\\d+"), lines.get(0));
    assertTrue(lines.get(1).matches("registered: uid 0 at https://127\\.0\\.0\\.1:\\d+"),
        lines.get(1));
    assertEquals("asked over HTTPS: SUCCESS, shape [1, 4, 16]", lines.get(2));
  }

  @Test
  void overMutualTlsTheMarketsOwnClientsAreServedAndAStrangerIsNot() throws Exception {
    ByteArrayOutputStream bytes = new ByteArrayOutputStream();
    ForwardResult answer;
    try (PrintStream out = new PrintStream(bytes, true, StandardCharsets.UTF_8)) {
      answer = MarketOverHttps.run(TestCertificates.file("peer.key"),
          TestCertificates.file("peer.pem"), TestCertificates.file("ca.pem"),
          List.of(TestCertificates.file("client.key"), TestCertificates.file("client.pem")),
          out);
    }
    assertEquals(Status.SUCCESS, answer.status(), answer.message());
    List<String> lines = bytes.toString(StandardCharsets.UTF_8).lines().toList();
    assertEquals("asked over mutual TLS: SUCCESS, shape [1, 4, 16]", lines.get(2));
    // A client certificate the market's authority did not issue: the ledger server refuses it
    // at the handshake, so the peer never registers and nothing is asked.
    Exception refused = org.junit.jupiter.api.Assertions.assertThrows(Exception.class,
        () -> MarketOverHttps.run(TestCertificates.file("peer.key"),
            TestCertificates.file("peer.pem"), TestCertificates.file("ca.pem"),
            List.of(TestCertificates.file("stranger.key"), TestCertificates.file("stranger.pem")),
            new PrintStream(new ByteArrayOutputStream(), true, StandardCharsets.UTF_8)));
    assertTrue(refused instanceof io.bittensor.core.LedgerException, refused.toString());
  }
}
