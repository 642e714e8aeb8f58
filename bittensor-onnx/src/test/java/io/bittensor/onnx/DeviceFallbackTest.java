package io.bittensor.onnx;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.onnxruntime.OrtException;
import io.bittensor.core.Modality;
import io.bittensor.core.Tensor;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.logging.Handler;
import java.util.logging.Level;
import java.util.logging.LogRecord;
import java.util.logging.Logger;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * Asking for CUDA where it cannot be loaded. No GPU is present where these tests run: the real
 * {@code addCUDA} fails on the CPU build of ONNX Runtime (and, under -Pcuda, on a machine without
 * a driver), and injected installers fail the way a missing provider library does.
 */
@Timeout(value = 60, unit = TimeUnit.SECONDS)
class DeviceFallbackTest {
  private final Logger logger = Logger.getLogger("io.bittensor.onnx");
  private final List<LogRecord> warnings = new ArrayList<>();
  private final Handler capture = new Handler() {
    @Override
    public void publish(LogRecord r) {
      if (r.getLevel().intValue() >= Level.WARNING.intValue()) {
        warnings.add(r);
      }
    }

    @Override
    public void flush() {}

    @Override
    public void close() {}
  };
  private boolean parentHandlers;

  @BeforeEach
  void listen() {
    parentHandlers = logger.getUseParentHandlers();
    logger.setUseParentHandlers(false); // keep the expected warning off stderr
    logger.addHandler(capture);
  }

  @AfterEach
  void stop() {
    logger.removeHandler(capture);
    logger.setUseParentHandlers(parentHandlers);
  }

  private OnnxPeer.Builder mlp() {
    Mlp mlp = Mlp.random(new int[] {3, 2}, Mlp.Activation.TANH, 2);
    return OnnxPeer.builder().model(OnnxExport.toBytes(mlp, OnnxExport.Options.defaults()))
        .modality(Modality.TENSOR).outputDim(2);
  }

  private void assertRunsOnTheCpuWithOneWarning(OnnxPeer peer) {
    assertEquals(Device.cpu(), peer.device());
    assertFalse(peer.deviceFallbackReason().isEmpty());
    assertEquals(1, warnings.size(), () -> "warnings: " + warnings.stream().map(LogRecord::getMessage).toList());
    assertTrue(warnings.get(0).getMessage().contains("CUDA device 0"), warnings.get(0).getMessage());
    assertTrue(TestModels.forward(peer, Modality.TENSOR, Tensor.ofFloats(new float[3], 1, 1, 3)).isSuccess());
  }

  @Test
  void cudaThatCannotBeLoadedFallsBackToTheCpuWithOneWarning() throws Exception {
    try (OnnxPeer peer = mlp().device(Device.cuda(0)).build()) {
      assertRunsOnTheCpuWithOneWarning(peer);
    }
  }

  @Test
  void aProviderThatFailsToLoadFallsBack() throws Exception {
    try (OnnxPeer peer = mlp().device(Device.cuda(0)).cudaInstaller((o, i) -> {
      throw new OrtException(OrtException.OrtErrorCode.ORT_FAIL, "libonnxruntime_providers_cuda.so: cannot open");
    }).build()) {
      assertRunsOnTheCpuWithOneWarning(peer);
      assertTrue(peer.deviceFallbackReason().contains("providers_cuda"), peer.deviceFallbackReason());
    }
  }

  @Test
  void aMissingNativeLibraryFallsBack() throws Exception {
    try (OnnxPeer peer = mlp().device(Device.cuda(0)).cudaInstaller((o, i) -> {
      throw new UnsatisfiedLinkError("libcudart.so.12: cannot open shared object file");
    }).build()) {
      assertRunsOnTheCpuWithOneWarning(peer);
    }
  }

  @Test
  void aVariantAskedForCudaTriesItInsteadOfSharingTheCpuSession() throws Exception {
    try (OnnxPeer cpu = mlp().build();
        OnnxPeer variant = cpu.toBuilder().device(Device.cuda(0)).build()) {
      assertRunsOnTheCpuWithOneWarning(variant);
    }
  }

  @Test
  void theCpuAskedForGivesNoWarning() throws Exception {
    try (OnnxPeer peer = mlp().build()) {
      assertEquals(Device.cpu(), peer.device());
      assertTrue(peer.deviceFallbackReason().isEmpty());
      assertTrue(warnings.isEmpty());
    }
  }

  @Test
  void aBrokenModelOnCudaReportsTheModelErrorWithTheCudaOneSuppressed() {
    OnnxModelException e = assertThrows(OnnxModelException.class, () -> OnnxPeer.builder()
        .model(new byte[] {1, 2, 3}).modality(Modality.TENSOR).outputDim(1).device(Device.cuda(0)).build());
    assertEquals(1, e.getSuppressed().length);
    assertTrue(warnings.isEmpty(), "no fallback warning when nothing was built");
  }

  @Test
  void devicesParseAndPrint() {
    assertEquals(Device.cuda(1), Device.parse("CUDA:1"));
    assertEquals("cuda:1", Device.cuda(1).toString());
    assertEquals(Device.cpu(), Device.parse("cpu"));
  }
}
