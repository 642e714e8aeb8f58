package io.bittensor.transport.internal;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.google.protobuf.ByteString;
import io.bittensor.core.LedgerParams;
import io.bittensor.core.Modality;
import io.bittensor.transport.internal.wire.PeerState;
import java.util.HexFormat;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/**
 * A peer's entry off the wire that does not read is refused naming the entry and its field; the
 * rules' bytes are pinned.
 */
class LedgerWireTest {
  @ParameterizedTest(name = "{0}")
  @CsvSource({
      "a short key, 31, http://10.0.0.7:8091, peers[3].public_key",
      "a bad endpoint, 32, http://10.0.0.7:8091/a b, peers[3].endpoint"})
  void aPeerEntryThatDoesNotReadIsRefusedNamingItsField(String what, int keyBytes,
      String endpoint, String field) {
    PeerState wire = PeerState.newBuilder()
        .setPublicKey(ByteString.copyFrom(new byte[keyBytes]))
        .setEndpoint(endpoint)
        .setModalityValue(Modality.TEXT.code())
        .setVersion(1)
        .build();
    IllegalArgumentException e =
        assertThrows(IllegalArgumentException.class, () -> LedgerWire.fromWire(3, wire));
    assertTrue(e.getMessage().contains(field), e.getMessage());
  }

  /** The default rules' bytes as written before the registration rules existed. */
  private static final String DEFAULT_PARAMS = "086410802018c8012001280a";

  @Test
  void theRulesWriteTheBytesTheyWroteBeforeTheRegistrationRules() {
    String hex = HexFormat.of().formatHex(LedgerWire.toWire(LedgerParams.defaults()).toByteArray());
    assertEquals(DEFAULT_PARAMS, hex);
  }

  @Test
  void theRegistrationRulesRoundTripAndReadAsZeroFromAnOlderServer() {
    LedgerParams rules = LedgerParams.defaults().withRegistrationBurn(1L << 40)
        .withMaxRegistrationsPerBlock(3);
    assertEquals(rules, LedgerWire.fromWire(LedgerWire.toWire(rules)));
    String hex = HexFormat.of().formatHex(LedgerWire.toWire(rules).toByteArray());
    assertTrue(hex.startsWith(DEFAULT_PARAMS), "the old fields first, as before: " + hex);
    io.bittensor.transport.internal.wire.Params old =
        io.bittensor.transport.internal.wire.Params.newBuilder().setEpochLength(100)
            .setMaxPeers(4096).setImmunityPeriod(200).setMinAllowedWeights(1)
            .setWeightsRateLimit(10).build();
    assertEquals(LedgerParams.defaults(), LedgerWire.fromWire(old));
  }
}
