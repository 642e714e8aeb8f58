package io.bittensor.transport;

import io.bittensor.transport.internal.Serving;
import java.net.URI;
import java.net.URISyntaxException;
import java.util.Objects;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ConcurrentMap;

/**
 * A namespace of peers served inside one JVM, for tests and single-process simulations: requests
 * go through the same signing, checks, admission and status codes as over HTTP, without sockets
 * or serialization (tensors are passed by reference).
 *
 * <pre>{@code
 * Peer myPeer = ...;
 * Keypair me = Keypair.generate();
 * InProcessNetwork net = new InProcessNetwork();
 * try (PeerServer server = PeerServer.newBuilder(myPeer).startInProcess(net, "alice");
 *      PeerClient client = PeerClient.newBuilder().inProcess(net).keypair(me).build()) {
 *   Peer alice = client.connect(URI.create("inproc://alice"));
 *   ForwardRequest request = ...;
 *   ForwardResult r = alice.forward(request).join();
 * }
 * }</pre>
 *
 * <p>Thread-safe. It holds no threads or sockets; servers leave it when closed. A call runs on the
 * caller's thread up to the peer's own future.
 */
public final class InProcessNetwork {
  /** The URI scheme of in-process endpoints. */
  public static final String SCHEME = "inproc";

  private final ConcurrentMap<String, Serving> servers = new ConcurrentHashMap<>();

  /** An empty network. */
  public InProcessNetwork() {}

  /** The names served now, for diagnostics. */
  public java.util.Set<String> names() {
    return java.util.Set.copyOf(servers.keySet());
  }

  void bind(String name, Serving serving) {
    if (servers.putIfAbsent(name, serving) != null) {
      throw new IllegalArgumentException("inproc://" + name + " is already served");
    }
  }

  void unbind(String name, Serving serving) {
    servers.remove(name, serving);
  }

  /** The server bound to {@code name}, or null. */
  Serving lookup(String name) {
    return servers.get(name);
  }

  static URI endpoint(String name) {
    Objects.requireNonNull(name, "name");
    try {
      URI uri = new URI(SCHEME, name, null, null, null);
      if (name.isEmpty() || !name.equals(uri.getAuthority())) {
        throw new URISyntaxException(name, "not a plain authority");
      }
      return uri;
    } catch (URISyntaxException e) {
      throw new IllegalArgumentException(
          "an in-process name is a URI authority such as \"alice\" or \"peer-7\", was \""
              + name + "\"", e);
    }
  }
}
