package io.bittensor.transport.internal;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;

import io.bittensor.core.testing.TestCertificates;
import java.security.PrivateKey;
import java.security.cert.X509Certificate;
import org.junit.jupiter.api.Test;

/** The client identity that a reload replaces: each alias keeps its own key and chain. */
class ReloadableIdentityTest {
  private static final String[] EC = {"EC"};

  @Test
  void aHandshakeThatChoseBeforeAReloadStillGetsTheKeyAndChainOfItsChoice() {
    ReloadableIdentity identity = new ReloadableIdentity(TestCertificates.file("client.key"),
        TestCertificates.file("client.pem"));
    String before = identity.chooseClientAlias(EC, null, null);
    X509Certificate[] chainBefore = identity.getCertificateChain(before);
    PrivateKey keyBefore = identity.getPrivateKey(before);
    assertEquals("CN=client", chainBefore[0].getSubjectX500Principal().getName());

    identity.reload(TestCertificates.file("stranger.key"), TestCertificates.file("stranger.pem"));
    String after = identity.chooseClientAlias(EC, null, null);
    assertNotEquals(before, after);
    assertEquals("CN=stranger",
        identity.getCertificateChain(after)[0].getSubjectX500Principal().getName());
    // The alias chosen before the reload still answers with its own pair, not a mix.
    assertArrayEquals(chainBefore, identity.getCertificateChain(before));
    assertEquals(keyBefore, identity.getPrivateKey(before));
    assertNotEquals(keyBefore, identity.getPrivateKey(after));

    identity.reload(TestCertificates.file("client.key"), TestCertificates.file("client.pem"));
    assertNull(identity.getPrivateKey(before), "only the pair before the current one is kept");
    assertNotNull(identity.getPrivateKey(after));
  }

  @Test
  void aCopyShowsTheSamePairAndReloadsOnItsOwn() {
    ReloadableIdentity identity = new ReloadableIdentity(TestCertificates.file("client.key"),
        TestCertificates.file("client.pem"));
    ReloadableIdentity copy = identity.copy();
    String alias = copy.chooseClientAlias(EC, null, null);
    assertEquals(identity.chooseClientAlias(EC, null, null), alias);
    assertEquals(identity.getPrivateKey(alias), copy.getPrivateKey(alias));
    copy.reload(TestCertificates.file("stranger.key"), TestCertificates.file("stranger.pem"));
    assertEquals("CN=client", identity.getCertificateChain(
        identity.chooseClientAlias(EC, null, null))[0].getSubjectX500Principal().getName());
    assertEquals("CN=stranger", copy.getCertificateChain(
        copy.chooseClientAlias(EC, null, null))[0].getSubjectX500Principal().getName());
  }

  @Test
  void aPairThatDoesNotReadLeavesTheOneShownSoFar() {
    ReloadableIdentity identity = new ReloadableIdentity(TestCertificates.file("client.key"),
        TestCertificates.file("client.pem"));
    String alias = identity.chooseClientAlias(EC, null, null);
    IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> identity
        .reload(TestCertificates.file("stranger.key"), TestCertificates.file("client.pem")));
    assertEquals(true, e.getMessage().contains("stranger.key"), e.getMessage());
    assertEquals(alias, identity.chooseClientAlias(EC, null, null));
  }

  @Test
  void itOffersItsKeyOnlyForTheKeyTypesItCanSignFor() {
    ReloadableIdentity identity = new ReloadableIdentity(TestCertificates.file("client.key"),
        TestCertificates.file("client.pem"));
    assertNull(identity.chooseClientAlias(new String[] {"RSA", "RSASSA-PSS"}, null, null));
    assertNotNull(identity.chooseClientAlias(new String[] {"RSA", "EC"}, null, null));
    assertNotNull(identity.chooseEngineClientAlias(new String[] {"EC_EC"}, null, null));
    assertNull(identity.chooseClientAlias(null, null, null));
    assertNull(identity.chooseServerAlias("EC", null, null), "a client's identity only");
    assertNull(identity.getServerAliases("EC", null));
    assertEquals(1, identity.getClientAliases("EC", null).length);
    assertNull(identity.getClientAliases("RSA", null));
  }
}
