package io.bittensor.core;

import io.bittensor.core.testing.TestCertificates;
import io.bittensor.transport.LedgerServer;
import io.bittensor.transport.RemoteLedger;

/**
 * The ledger contract on a {@link RemoteLedger} reaching its {@link LedgerServer} over HTTPS
 * ({@link LedgerServer.Builder#tls}), trusting the test authority.
 */
class RemoteLedgerOverHttpsContractTest extends RemoteLedgerContractTest {
  @Override
  LedgerServer.Builder serverBuilder(LedgerServer.Builder b) {
    return b.tls(TestCertificates.file("peer.key"), TestCertificates.file("peer.pem"));
  }

  @Override
  RemoteLedger.Builder clientBuilder(RemoteLedger.Builder b) {
    return b.trustedCertificates(TestCertificates.file("ca.pem"));
  }
}
