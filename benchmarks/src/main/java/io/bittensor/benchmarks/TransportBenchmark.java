package io.bittensor.benchmarks;

import com.google.protobuf.UnsafeByteOperations;
import io.bittensor.core.DType;
import io.bittensor.core.FanOut;
import io.bittensor.core.ForwardRequest;
import io.bittensor.core.ForwardResult;
import io.bittensor.core.Keypair;
import io.bittensor.core.Modality;
import io.bittensor.core.Peer;
import io.bittensor.core.QueryResult;
import io.bittensor.core.Tensor;
import io.bittensor.core.TensorStandard;
import io.bittensor.transport.BuiltinPeers;
import io.bittensor.transport.CallListener;
import io.bittensor.transport.HttpProtocol;
import io.bittensor.transport.PeerClient;
import io.bittensor.transport.PeerServer;
import io.bittensor.transport.SignatureScope;
import io.bittensor.transport.internal.CanonicalDigest;
import io.bittensor.transport.internal.ClientCore;
import io.bittensor.transport.internal.wire.Response;
import io.grpc.CallOptions;
import io.grpc.Grpc;
import io.grpc.InsecureChannelCredentials;
import io.grpc.InsecureServerCredentials;
import io.grpc.ManagedChannel;
import io.grpc.MethodDescriptor;
import io.grpc.Server;
import io.grpc.ServerServiceDefinition;
import io.grpc.protobuf.ProtoUtils;
import io.grpc.stub.ClientCalls;
import io.grpc.stub.ServerCalls;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.time.Clock;
import java.time.Duration;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Random;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;

/**
 * How fast is the peer transport next to gRPC-java doing the same exchange? A harness (not JMH:
 * it needs servers, concurrency and latency percentiles) that runs, in one JVM and interleaved
 * round by round, a forward request of a float32 {@code [b, s, d]} tensor answered with a tensor
 * of the same shape by an echo peer, over:
 *
 * <ul>
 *   <li>{@code grpc}: gRPC-java 1.85 (Netty, plaintext, default settings but a 256 MiB message
 *       limit), a unary call carrying the same protobuf messages;
 *   <li>{@code h2}, {@code h1}: this transport over HTTP/2 prior knowledge and HTTP/1.1,
 *       unsigned (the server admits anonymous callers), answers checked against the standard;
 *   <li>{@code h2-signed}, {@code h1-signed}: the same with Ed25519-signed requests verified by the
 *       server (digest, timestamp window, replay cache);
 *   <li>{@code h1-signed-meta}: signed as {@code h1-signed} but over the metadata only ({@code
 *       SignatureScope.METADATA_ONLY}: the tensor bytes are not hashed);
 *   <li>{@code tcp}: no protocol, a length-prefixed echo of the tensor's bytes over blocking NIO
 *       sockets with direct buffers ({@link LoopbackFloor}): the ceiling this machine's loopback
 *       sets for any transport.
 * </ul>
 *
 * <p>Callers block, on both sides: gRPC through its blocking stub, ours through {@code
 * Peer.forwardAndWait}, each making the call on the caller's thread. A transport name ending in
 * {@code -async} ({@code h1-async}) calls {@code forward(...).join()} instead, through OkHttp's
 * dispatcher threads.
 *
 * <p>It reports requests/s, tensor MB/s (one direction: the request's tensor bytes times
 * requests/s; the answer carries as many back), p50 and p99 latency, the median of each over the
 * rounds, and the ratio to gRPC. Then a fan-out of 16 peers with seeded delays, and the cost of
 * signing and verifying.
 *
 * <p>Run: {@code mvn -B -q -Pbench -pl benchmarks -am package -DskipTests && java -Xmx4g -cp
 * benchmarks/target/benchmarks.jar io.bittensor.benchmarks.TransportBenchmark [--rounds 3]
 * [--warmup-s 2] [--measure-s 4] [--transports grpc,h2,h1,h2-signed] [--concurrency 1,16]
 * [--payloads 1x16x64,16x64x256,32x128x1024] [--extras false]}. A transport ending in
 * {@code -timed} ({@code h1-timed}, {@code h2-timed}) is the same one with a {@code CallListener}
 * on its server and its client, each timing every call in a Micrometer registry (what a service
 * with metrics runs); one ending in {@code -tls} ({@code h1-tls}, {@code h2-tls}) reaches the
 * same echo peer over HTTPS (a self-signed certificate, HTTP/2 or HTTP/1.1 chosen by ALPN), and
 * one ending in {@code -mtls} over mutual TLS (the server asks for the client's certificate);
 * {@code --extras false} skips the fan-out and signing measurements.
 */
public final class TransportBenchmark {
  private static final MethodDescriptor<io.bittensor.transport.internal.wire.ForwardRequest,
      Response> GRPC_FORWARD =
      MethodDescriptor.<io.bittensor.transport.internal.wire.ForwardRequest, Response>newBuilder()
          .setType(MethodDescriptor.MethodType.UNARY)
          .setFullMethodName("bittensor.bench.GrpcPeer/Forward")
          .setRequestMarshaller(ProtoUtils.marshaller(
              io.bittensor.transport.internal.wire.ForwardRequest.getDefaultInstance()))
          .setResponseMarshaller(ProtoUtils.marshaller(Response.getDefaultInstance()))
          .build();

  private TransportBenchmark() {}

  /**
   * A TLS context with a new self-signed EC certificate for 127.0.0.1, made by the JDK's own
   * {@code keytool}; the certificate is written to {@code dir/peer.pem} for the clients to trust.
   */
  static javax.net.ssl.SSLContext selfSigned(Path dir) throws Exception {
    Path store = dir.resolve("peer.p12");
    String keytool = Path.of(System.getProperty("java.home"), "bin", "keytool").toString();
    for (List<String> command : List.of(
        List.of(keytool, "-genkeypair", "-alias", "peer", "-keyalg", "EC", "-groupname",
            "secp256r1", "-dname", "CN=127.0.0.1", "-ext", "SAN=ip:127.0.0.1", "-validity", "2",
            "-keystore", store.toString(), "-storetype", "PKCS12", "-storepass", "benchmark"),
        List.of(keytool, "-exportcert", "-rfc", "-alias", "peer", "-keystore", store.toString(),
            "-storepass", "benchmark", "-file", dir.resolve("peer.pem").toString()))) {
      Process p = new ProcessBuilder(command).redirectErrorStream(true).start();
      String output = new String(p.getInputStream().readAllBytes());
      if (p.waitFor() != 0) {
        throw new IllegalStateException("keytool failed: " + output);
      }
    }
    java.security.KeyStore keys = java.security.KeyStore.getInstance("PKCS12");
    try (var in = Files.newInputStream(store)) {
      keys.load(in, "benchmark".toCharArray());
    }
    // The key as PEM (PKCS#8) beside the certificate, for the builders that take files.
    java.security.Key key = keys.getKey("peer", "benchmark".toCharArray());
    Files.writeString(dir.resolve("peer.key"), "-----BEGIN PRIVATE KEY-----\n"
        + java.util.Base64.getMimeEncoder(64, new byte[] {'\n'}).encodeToString(key.getEncoded())
        + "\n-----END PRIVATE KEY-----\n");
    javax.net.ssl.KeyManagerFactory kmf = javax.net.ssl.KeyManagerFactory.getInstance(
        javax.net.ssl.KeyManagerFactory.getDefaultAlgorithm());
    kmf.init(keys, "benchmark".toCharArray());
    javax.net.ssl.SSLContext context = javax.net.ssl.SSLContext.getInstance("TLS");
    context.init(kmf.getKeyManagers(), null, null);
    return context;
  }

  /** One blocking exchange; throws if the answer is not the expected one. */
  interface Exchange {
    void call() throws Exception;
  }

  /** Median over rounds of one configuration's measurements. */
  record Result(String transport, int[] shape, int concurrency, double rps, double mbps,
      double p50ms, double p99ms) {}

  public static void main(String[] args) throws Exception {
    Map<String, String> opt = options(args);
    int rounds = Integer.parseInt(opt.getOrDefault("rounds", "3"));
    double warmupS = Double.parseDouble(opt.getOrDefault("warmup-s", "2"));
    double measureS = Double.parseDouble(opt.getOrDefault("measure-s", "4"));
    List<String> transports = List.of(opt.getOrDefault("transports",
        "grpc,h2,h1,h2-signed").split(","));
    int[] concurrencies = Arrays.stream(opt.getOrDefault("concurrency", "1,16").split(","))
        .mapToInt(Integer::parseInt).toArray();
    List<int[]> payloads = new ArrayList<>();
    for (String p : opt.getOrDefault("payloads", "1x16x64,16x64x256,32x128x1024").split(",")) {
      payloads.add(Arrays.stream(p.split("x")).mapToInt(Integer::parseInt).toArray());
    }
    System.out.printf(
        Locale.ROOT,
        "# Transport benchmark: %s, %d cores, %s, rounds %d, warmup %.1f s," + " measure %.1f s%n",
        System.getProperty("java.vm.name") + " " + System.getProperty("java.version"),
        Runtime.getRuntime().availableProcessors(),
        "max heap " + Runtime.getRuntime().maxMemory() / (1 << 20) + " MiB",
        rounds,
        warmupS,
        measureS);
    System.out.println("# MALLOC_ARENA_MAX=" + System.getenv("MALLOC_ARENA_MAX")
        + " MALLOC_TRIM_THRESHOLD_=" + System.getenv("MALLOC_TRIM_THRESHOLD_")
        + " MALLOC_MMAP_THRESHOLD_=" + System.getenv("MALLOC_MMAP_THRESHOLD_")
        + " (the same for every transport: one JVM)");

    Keypair key = Keypair.fromSeed(new byte[Keypair.SEED_LENGTH]);
    Server grpc = Grpc.newServerBuilderForPort(0, InsecureServerCredentials.create())
        .maxInboundMessageSize(256 << 20)
        .addService(ServerServiceDefinition.builder("bittensor.bench.GrpcPeer")
            .addMethod(GRPC_FORWARD, ServerCalls.asyncUnaryCall((req, out) -> {
              out.onNext(Response.newBuilder().setVersion(1).setOutput(req.getInput()).build());
              out.onCompleted();
            })).build())
        .build().start();
    ManagedChannel channel = Grpc.newChannelBuilderForAddress("127.0.0.1", grpc.getPort(),
        InsecureChannelCredentials.create()).maxInboundMessageSize(256 << 20).build();
    PeerServer ours = PeerServer.newBuilder(BuiltinPeers.echo()).host("127.0.0.1").port(0)
        .allowAnonymous(true).acceptMetadataOnlySignatures(true).maxPayloadBytes(256L << 20)
        .maxConcurrentCalls(64).modalities(Modality.TENSOR).start();
    // The same server and clients, each call timed as a service with metrics would.
    MeterRegistry registry = new SimpleMeterRegistry();
    CallListener timedCalls = call -> registry.timer("bittensor.peer.calls",
            "side", call.side().name(), "kind", call.kind().name(), "status", call.status().name())
        .record(call.duration());
    PeerServer timed = PeerServer.newBuilder(BuiltinPeers.echo()).host("127.0.0.1").port(0)
        .allowAnonymous(true).maxPayloadBytes(256L << 20).maxConcurrentCalls(64)
        .modalities(Modality.TENSOR).callListener(timedCalls).start();
    // The same over TLS: a self-signed certificate for 127.0.0.1, made by the JDK's keytool.
    Path tlsDir = Files.createTempDirectory("bittensor-bench-tls");
    PeerServer secure = PeerServer.newBuilder(BuiltinPeers.echo()).host("127.0.0.1").port(0)
        .allowAnonymous(true).maxPayloadBytes(256L << 20).maxConcurrentCalls(64)
        .modalities(Modality.TENSOR).tls(selfSigned(tlsDir)).start();
    Path certificate = tlsDir.resolve("peer.pem");
    // Mutual TLS: the server asks every client for a certificate (the same self-signed one).
    PeerServer mutual = PeerServer.newBuilder(BuiltinPeers.echo()).host("127.0.0.1").port(0)
        .allowAnonymous(true).maxPayloadBytes(256L << 20).maxConcurrentCalls(64)
        .modalities(Modality.TENSOR).tls(tlsDir.resolve("peer.key"), certificate)
        .requireClientCertificates(certificate).start();
    Map<String, PeerClient> clients = new LinkedHashMap<>();
    clients.put("h2-tls", PeerClient.newBuilder().protocol(HttpProtocol.H2_PRIOR_KNOWLEDGE)
        .trustedCertificates(certificate).build());
    clients.put("h1-tls", PeerClient.newBuilder().protocol(HttpProtocol.HTTP_1_1)
        .trustedCertificates(certificate).build());
    clients.put("h2-mtls", PeerClient.newBuilder().protocol(HttpProtocol.H2_PRIOR_KNOWLEDGE)
        .trustedCertificates(certificate).clientCertificate(tlsDir.resolve("peer.key"),
            certificate).build());
    clients.put("h1-mtls", PeerClient.newBuilder().protocol(HttpProtocol.HTTP_1_1)
        .trustedCertificates(certificate).clientCertificate(tlsDir.resolve("peer.key"),
            certificate).build());
    clients.put("h2", PeerClient.newBuilder().protocol(HttpProtocol.H2_PRIOR_KNOWLEDGE).build());
    clients.put("h1", PeerClient.newBuilder().protocol(HttpProtocol.HTTP_1_1).build());
    clients.put("h2-signed", PeerClient.newBuilder().protocol(HttpProtocol.H2_PRIOR_KNOWLEDGE)
        .keypair(key).build());
    clients.put("h1-signed", PeerClient.newBuilder().protocol(HttpProtocol.HTTP_1_1)
        .keypair(key).build());
    clients.put("h1-signed-meta", PeerClient.newBuilder().protocol(HttpProtocol.HTTP_1_1)
        .keypair(key).signatureScope(SignatureScope.METADATA_ONLY).build());
    clients.put("h2-timed", PeerClient.newBuilder().protocol(HttpProtocol.H2_PRIOR_KNOWLEDGE)
        .callListener(timedCalls).build());
    clients.put("h1-timed", PeerClient.newBuilder().protocol(HttpProtocol.HTTP_1_1)
        .callListener(timedCalls).build());

    LoopbackFloor floor = new LoopbackFloor();

    Map<String, List<double[]>> samples = new LinkedHashMap<>();
    try {
      for (int round = 0; round < rounds; round++) {
        for (int[] shape : payloads) {
          Tensor x = randomTensor(shape, new Random(42));
          for (int c : concurrencies) {
            List<String> order = new ArrayList<>(transports);
            java.util.Collections.rotate(order, round); // no transport always goes first
            for (String t : order) {
              String client = t.replace("-async", "");
              Exchange ex = t.equals("grpc") ? grpcExchange(channel, x)
                  : t.equals("tcp") ? floor.exchange(x.byteSize())
                  : oursExchange(clients.get(client).connect(
                      (client.endsWith("-timed") ? timed : client.endsWith("-tls") ? secure
                          : client.endsWith("-mtls") ? mutual : ours).endpoint()), x,
                      t.endsWith("-async"));
              double[] m = measure(ex, c, warmupS, measureS, (long) x.byteSize());
              if (ex instanceof AutoCloseable closeable) {
                closeable.close();
              }
              samples.computeIfAbsent(key(t, shape, c), k -> new ArrayList<>()).add(m);
              System.out.printf(Locale.ROOT, "round %d %-14s %-16s c=%-3d %9.0f req/s %8.1f MB/s"
                  + " p50 %8.3f ms p99 %8.3f ms CPU %7.3f ms/call%n", round + 1, t,
                  Arrays.toString(shape), c, m[0], m[1], m[2], m[3], m[4]);
            }
          }
        }
      }
      report(samples, transports, payloads, concurrencies);
      if (Boolean.parseBoolean(opt.getOrDefault("extras", "true"))) {
        fanOut();
        signingCost(key);
      }
    } finally {
      clients.values().forEach(PeerClient::close);
      ours.close();
      timed.close();
      secure.close();
      mutual.close();
      floor.close();
      channel.shutdownNow().awaitTermination(5, TimeUnit.SECONDS);
      grpc.shutdownNow().awaitTermination(5, TimeUnit.SECONDS);
    }
  }

  private static Exchange grpcExchange(ManagedChannel channel, Tensor x) {
    io.bittensor.transport.internal.wire.ForwardRequest req =
        io.bittensor.transport.internal.wire.ForwardRequest.newBuilder().setVersion(1)
            .setModalityValue(Modality.TENSOR.code())
            .setInput(io.bittensor.transport.internal.WireTensors.toWire(x)).build();
    int bytes = x.byteSize();
    return () -> {
      Response r = ClientCalls.blockingUnaryCall(channel, GRPC_FORWARD, CallOptions.DEFAULT, req);
      if (r.getOutput().getData().size() != bytes) {
        throw new IllegalStateException("gRPC answered " + r.getOutput().getData().size()
            + " bytes, expected " + bytes);
      }
    };
  }

  private static Exchange oursExchange(Peer peer, Tensor x, boolean async) {
    ForwardRequest req = new ForwardRequest(Modality.TENSOR, x);
    Duration timeout = Duration.ofSeconds(60);
    return () -> {
      ForwardResult r = async ? peer.forward(req, timeout).join()
          : peer.forwardAndWait(req, timeout);
      if (!r.isSuccess() || r.output().orElseThrow().byteSize() != x.byteSize()) {
        throw new IllegalStateException("the peer answered " + r);
      }
    };
  }

  /** {req/s, MB/s, p50 ms, p99 ms} of a closed loop with {@code c} callers. */
  private static double[] measure(Exchange ex, int c, double warmupS, double measureS,
      long bytes) throws Exception {
    AtomicBoolean recording = new AtomicBoolean();
    AtomicBoolean stop = new AtomicBoolean();
    List<long[]> perThread = new ArrayList<>();
    List<int[]> counts = new ArrayList<>();
    List<Thread> threads = new ArrayList<>();
    CountDownLatch done = new CountDownLatch(c);
    Throwable[] failure = new Throwable[1];
    for (int i = 0; i < c; i++) {
      long[][] lat = {new long[1 << 16]};
      int[] n = new int[1];
      perThread.add(null);
      counts.add(n);
      int slot = i;
      Thread t = new Thread(() -> {
        try {
          while (!stop.get()) {
            long t0 = System.nanoTime();
            ex.call();
            long dt = System.nanoTime() - t0;
            if (recording.get()) {
              if (n[0] == lat[0].length) {
                lat[0] = Arrays.copyOf(lat[0], 2 * n[0]);
              }
              lat[0][n[0]++] = dt;
            }
          }
        } catch (Throwable e) {
          failure[0] = e;
          stop.set(true);
        } finally {
          synchronized (perThread) {
            perThread.set(slot, lat[0]);
          }
          done.countDown();
        }
      }, "bench-caller-" + i);
      t.setDaemon(true);
      threads.add(t);
      t.start();
    }
    Thread.sleep((long) (warmupS * 1000));
    recording.set(true);
    long cpuStart = CPU.getProcessCpuTime();
    long start = System.nanoTime();
    Thread.sleep((long) (measureS * 1000));
    // Large payloads at high concurrency take seconds per call: measure until every caller has
    // finished a few, so that the rates and percentiles rest on more than a handful of calls.
    long cap = start + TimeUnit.SECONDS.toNanos(60);
    while (counts.stream().mapToInt(a -> a[0]).sum() < 3 * c && System.nanoTime() < cap
        && failure[0] == null) {
      Thread.sleep(50);
    }
    recording.set(false);
    double seconds = (System.nanoTime() - start) / 1e9;
    long cpu = CPU.getProcessCpuTime() - cpuStart;
    stop.set(true);
    if (!done.await(120, TimeUnit.SECONDS)) {
      throw new IllegalStateException("callers did not stop");
    }
    if (failure[0] != null) {
      throw new IllegalStateException("an exchange failed", failure[0]);
    }
    int total = counts.stream().mapToInt(a -> a[0]).sum();
    long[] all = new long[total];
    int k = 0;
    for (int i = 0; i < c; i++) {
      System.arraycopy(perThread.get(i), 0, all, k, counts.get(i)[0]);
      k += counts.get(i)[0];
    }
    Arrays.sort(all);
    double rps = total / seconds;
    // CPU per call: both ends and the callers, one JVM. Unlike the rates, it hardly moves with
    // what else the machine runs, so it compares transports on a busy machine too.
    double cpuMsPerCall = total == 0 ? Double.NaN : cpu / 1e6 / total;
    return new double[] {rps, rps * bytes / 1e6, pct(all, 0.50), pct(all, 0.99), cpuMsPerCall};
  }

  private static final com.sun.management.OperatingSystemMXBean CPU =
      (com.sun.management.OperatingSystemMXBean) java.lang.management.ManagementFactory
          .getOperatingSystemMXBean();

  private static double pct(long[] sorted, double q) {
    if (sorted.length == 0) {
      return Double.NaN;
    }
    return sorted[Math.min(sorted.length - 1, (int) Math.ceil(q * sorted.length) - 1)] / 1e6;
  }

  private static void report(Map<String, List<double[]>> samples, List<String> transports,
      List<int[]> payloads, int[] concurrencies) {
    System.out.println();
    System.out.println("| payload | conc | transport | req/s | MB/s | p50 ms | p99 ms | CPU ms/call"
        + " | req/s vs gRPC | p99 vs gRPC | CPU vs gRPC |");
    System.out.println("|---|---|---|---|---|---|---|---|---|---|---|");
    for (int[] shape : payloads) {
      for (int c : concurrencies) {
        double[] base = median(samples.get(key("grpc", shape, c)));
        for (String t : transports) {
          double[] m = median(samples.get(key(t, shape, c)));
          System.out.printf(Locale.ROOT,
              "| %s | %d | %s | %.0f | %.1f | %.3f | %.3f | %.3f | %s | %s | %s |%n",
              Arrays.toString(shape), c, t, m[0], m[1], m[2], m[3], m[4],
              base == null ? "-" : String.format(Locale.ROOT, "%.2f", m[0] / base[0]),
              base == null ? "-" : String.format(Locale.ROOT, "%.2f", m[3] / base[3]),
              base == null ? "-" : String.format(Locale.ROOT, "%.2f", m[4] / base[4]));
        }
      }
    }
  }

  private static double[] median(List<double[]> runs) {
    if (runs == null) {
      return null;
    }
    double[] out = new double[runs.get(0).length];
    for (int j = 0; j < out.length; j++) {
      int col = j;
      double[] v = runs.stream().mapToDouble(r -> r[col]).sorted().toArray();
      out[j] = v.length % 2 == 1 ? v[v.length / 2] : (v[v.length / 2 - 1] + v[v.length / 2]) / 2;
    }
    return out;
  }

  /** 16 peers with seeded delays of 10..150 ms: the query costs the slowest, not the sum. */
  private static void fanOut() throws Exception {
    Random random = new Random(7);
    TensorStandard std = TensorStandard.of(16);
    List<PeerServer> servers = new ArrayList<>();
    long slowest = 0;
    long sum = 0;
    try (PeerClient client = PeerClient.newBuilder().standard(std).build()) {
      List<Peer> peers = new ArrayList<>();
      for (int i = 0; i < 16; i++) {
        long delay = 10 + random.nextInt(141);
        slowest = Math.max(slowest, delay);
        sum += delay;
        java.util.concurrent.Executor later =
            CompletableFuture.delayedExecutor(delay, TimeUnit.MILLISECONDS);
        Peer slow = r -> CompletableFuture.supplyAsync(
            () -> ForwardResult.success(std.zeros(r.input())), later);
        PeerServer s = PeerServer.newBuilder(slow).host("127.0.0.1").port(0)
            .allowAnonymous(true).start();
        servers.add(s);
        peers.add(client.connect(s.endpoint()));
      }
      FanOut fan = FanOut.of(std);
      ForwardRequest req = new ForwardRequest(Modality.TENSOR,
          randomTensor(new int[] {4, 16, 64}, new Random(1)));
      for (int i = 0; i < 5; i++) {
        fan.queryAndWait(peers, req, Duration.ofSeconds(5)); // warm connections and JIT
      }
      double[] totals = new double[21];
      for (int i = 0; i < totals.length; i++) {
        long t0 = System.nanoTime();
        List<QueryResult> rs = fan.queryAndWait(peers, req, Duration.ofSeconds(5));
        totals[i] = (System.nanoTime() - t0) / 1e6;
        if (!rs.stream().allMatch(QueryResult::isSuccess)) {
          throw new IllegalStateException("a fan-out peer failed: " + rs);
        }
      }
      Arrays.sort(totals);
      System.out.printf(
          Locale.ROOT,
          "%nfan-out of 16 peers, [4, 16, 64]: median %.1f ms, max %.1f ms"
              + " over %d queries; slowest peer %d ms, sum of delays %d ms%n",
          totals[totals.length / 2],
          totals[totals.length - 1],
          totals.length,
          slowest,
          sum);
    } finally {
      servers.forEach(PeerServer::close);
    }
  }

  /**
   * The time of the canonical digest, Ed25519 signing and verification for each payload, in each
   * signature scope.
   */
  private static void signingCost(Keypair key) {
    System.out.println();
    for (var scope : io.bittensor.transport.internal.wire.SignatureScope.values()) {
      if (scope != io.bittensor.transport.internal.wire.SignatureScope.UNRECOGNIZED) {
        signingCost(key, scope);
      }
    }
  }

  private static void signingCost(Keypair key,
      io.bittensor.transport.internal.wire.SignatureScope scope) {
    ClientCore signer = new ClientCore(key, Clock.systemUTC(), TensorStandard.anyOutputDim(),
        scope);
    for (int[] shape : List.of(new int[] {1, 16, 64}, new int[] {16, 64, 256},
        new int[] {32, 128, 1024})) {
      Tensor x = randomTensor(shape, new Random(3));
      ForwardRequest req = new ForwardRequest(Modality.TENSOR, x);
      var msg = signer.message(req, 1000);
      byte[] sig = msg.getCaller().getSignature().toByteArray();
      int n = shape[2] >= 1024 ? 20 : 200;
      for (int i = 0; i < n; i++) { // warm up
        key.id().verify(CanonicalDigest.of(signer.message(req, 1000)), sig);
      }
      long t0 = System.nanoTime();
      for (int i = 0; i < n; i++) {
        CanonicalDigest.of(msg);
      }
      double digest = (System.nanoTime() - t0) / 1e6 / n;
      byte[] d = CanonicalDigest.of(msg);
      t0 = System.nanoTime();
      for (int i = 0; i < n; i++) {
        key.sign(d);
      }
      double sign = (System.nanoTime() - t0) / 1e6 / n;
      t0 = System.nanoTime();
      for (int i = 0; i < n; i++) {
        key.id().verify(d, sig);
      }
      double verify = (System.nanoTime() - t0) / 1e6 / n;
      System.out.printf(Locale.ROOT, "signing %s, %s: digest %.3f ms (done twice: caller and"
          + " server), Ed25519 sign %.3f ms, verify %.3f ms; total per request %.3f ms%n",
          Arrays.toString(shape), scope, digest, sign, verify, 2 * digest + sign + verify);
    }
  }

  static Tensor randomTensor(int[] shape, Random random) {
    int n = 1;
    for (int s : shape) {
      n *= s;
    }
    ByteBuffer b = ByteBuffer.allocate(4 * n).order(ByteOrder.LITTLE_ENDIAN);
    for (int i = 0; i < n; i++) {
      b.putFloat((float) random.nextGaussian());
    }
    return Tensor.wrap(DType.FLOAT32, b.flip(), shape);
  }

  private static String key(String t, int[] shape, int c) {
    return t + " " + Arrays.toString(shape) + " " + c;
  }

  /** {@code --name value} pairs; shared with the other harnesses. */
  static Map<String, String> options(String[] args) {
    Map<String, String> m = new LinkedHashMap<>();
    for (int i = 0; i < args.length; i++) {
      if (!args[i].startsWith("--") || i + 1 >= args.length) {
        throw new IllegalArgumentException("options are --name value pairs, got "
            + Arrays.toString(args));
      }
      m.put(args[i].substring(2), args[++i]);
    }
    return m;
  }

  static {
    UnsafeByteOperations.unsafeWrap(new byte[0]); // fail fast if protobuf is missing
  }
}
