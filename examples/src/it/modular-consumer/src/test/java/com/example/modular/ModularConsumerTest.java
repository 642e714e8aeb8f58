package com.example.modular;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.bittensor.core.ForwardResult;
import io.bittensor.core.LocalLedger;
import io.bittensor.core.Tensor;
import io.bittensor.incentive.IncentiveMechanism;
import io.bittensor.onnx.Mlp;
import io.bittensor.onnx.OnnxPeer;
import io.bittensor.transport.PeerServer;
import java.lang.invoke.MethodHandles;
import java.lang.module.ModuleDescriptor;
import java.lang.reflect.Modifier;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.stream.Collectors;
import org.junit.jupiter.api.Test;

/** The consumer's module on the module path: what our descriptors let it reach, and what runs. */
class ModularConsumerTest {
  private static final Module CONSUMER = HttpsModelMarket.class.getModule();

  @Test
  void theConsumerRunsAsANamedModule() {
    assertEquals("com.example.modular", CONSUMER.getName());
  }

  /** Each jar is an explicit module that exports its top package and nothing else to all. */
  @Test
  void ourJarsAreExplicitModulesExportingOnlyTheirApi() {
    Map<Class<?>, String> modules = Map.of(
        IncentiveMechanism.class, "io.bittensor.incentive",
        LocalLedger.class, "io.bittensor.core",
        PeerServer.class, "io.bittensor.transport",
        OnnxPeer.class, "io.bittensor.onnx");
    modules.forEach((type, name) -> {
      Module module = type.getModule();
      assertTrue(module.isNamed(), type + " is in the unnamed module");
      ModuleDescriptor descriptor = module.getDescriptor();
      assertEquals(name, descriptor.name());
      assertFalse(descriptor.isAutomatic(), name + " is automatic");
      Set<String> exportedToAll = descriptor.exports().stream()
          .filter(e -> !e.isQualified())
          .map(ModuleDescriptor.Exports::source)
          .collect(Collectors.toSet());
      assertEquals(Set.of(name), exportedToAll, name);
      assertTrue(module.isExported(name, CONSUMER), name);
      assertFalse(module.isExported(name + ".internal", CONSUMER), name + ".internal");
    });
  }

  /** A public class of an internal package is out of reach here; a sibling reaches core's. */
  @Test
  void theInternalPackagesAreClosedToTheConsumer() throws Exception {
    for (String name : List.of("io.bittensor.core.internal.DurableFiles",
        "io.bittensor.transport.internal.Admission", "io.bittensor.onnx.internal.ModelSource")) {
      Class<?> internal = Class.forName(name);
      assertTrue(Modifier.isPublic(internal.getModifiers()), name + " is public");
      assertThrows(IllegalAccessException.class,
          () -> MethodHandles.lookup().accessClass(internal), name);
    }
    Module core = LocalLedger.class.getModule();
    assertTrue(core.isExported("io.bittensor.core.internal", PeerServer.class.getModule()),
        "core's internal package is exported to the transport");
    assertFalse(core.isExported("io.bittensor.core.internal", CONSUMER));
  }

  /**
   * Protobuf reads generated messages by reflection (their text form, {@code toString}): without
   * these opens it throws "Couldn't use Java reflection to implement protocol message reflection"
   * on the module path.
   */
  @Test
  void theGeneratedMessagesAreOpenToProtobufOnly() {
    Module protobuf = ModuleLayer.boot().findModule("com.google.protobuf").orElseThrow();
    Module transport = PeerServer.class.getModule();
    Module onnx = OnnxPeer.class.getModule();
    assertTrue(transport.isOpen("io.bittensor.transport.internal.wire", protobuf));
    assertTrue(onnx.isOpen("io.bittensor.onnx.internal.ir", protobuf));
    assertFalse(transport.isOpen("io.bittensor.transport.internal.wire", CONSUMER));
    assertFalse(onnx.isOpen("io.bittensor.onnx.internal.ir", CONSUMER));
  }

  /**
   * ONNX Runtime, protobuf, Jetty (with ALPN, found as a service) and OkHttp over TLS run on the
   * module path: a model served over HTTPS through a ledger served over HTTPS answers what it
   * computes.
   */
  @Test
  void anOnnxModelRegisteredAndAskedOverHttpsAnswersWhatItComputes() throws Exception {
    Path tls = Path.of(System.getProperty("tls.dir"));
    Mlp mlp = Mlp.random(new int[] {4, 8, 3}, Mlp.Activation.TANH, 7);
    float[][] rows = {{0.1f, -0.2f, 0.3f, 0.4f}, {1f, 0f, -1f, 0.5f}};
    Tensor input = Tensor.ofFloats(new float[] {0.1f, -0.2f, 0.3f, 0.4f, 1f, 0f, -1f, 0.5f},
        2, 1, 4);
    ForwardResult answer = HttpsModelMarket.ask(mlp, 3, input, tls.resolve("peer.key"),
        tls.resolve("peer.pem"), tls.resolve("ca.pem"));
    assertTrue(answer.isSuccess(), answer.status() + ": " + answer.message());
    Tensor output = answer.output().orElseThrow();
    assertArrayEquals(new int[] {2, 1, 3}, output.shape());
    float[][] expected = mlp.forward(rows);
    for (int r = 0; r < rows.length; r++) {
      assertArrayEquals(expected[r], Arrays.copyOfRange(output.toFloatArray(), 3 * r, 3 * r + 3),
          1e-5f, "row " + r);
    }
  }
}
