/**
 * How peers talk: the wire format, the peer server and client over HTTP/2, HTTP/1.1 and HTTPS,
 * the in-process transport, and the ledger served over the network.
 *
 * <p>Exports {@code io.bittensor.transport}; its {@code internal} packages are not exported.
 * The wire's generated messages are opened to protobuf, whose reflective accessors (text format,
 * {@code toString}) read them.
 */
// Protobuf and okio are automatic modules, with stable Automatic-Module-Names.
@SuppressWarnings("requires-automatic")
module io.bittensor.transport {
  requires transitive io.bittensor.core;
  requires com.google.protobuf;
  requires com.github.benmanes.caffeine;
  requires okhttp3;
  requires okio;
  requires org.eclipse.jetty.server;
  requires org.eclipse.jetty.http2.server;
  requires org.eclipse.jetty.alpn.server;
  // Jetty finds ALPN's JDK implementation as a service; required so that it is always resolved.
  requires org.eclipse.jetty.alpn.java.server;

  exports io.bittensor.transport;
  opens io.bittensor.transport.internal.wire to com.google.protobuf;
}
