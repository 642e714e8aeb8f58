package io.bittensor.onnx.internal;

import ai.onnxruntime.NodeInfo;
import ai.onnxruntime.OnnxModelMetadata;
import ai.onnxruntime.OrtEnvironment;
import ai.onnxruntime.OrtException;
import ai.onnxruntime.OrtSession;
import ai.onnxruntime.TensorInfo;
import ai.onnxruntime.ValueInfo;
import io.bittensor.onnx.Device;
import io.bittensor.onnx.ModelInfo;
import io.bittensor.onnx.OnnxModelException;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;

/**
 * One ONNX Runtime session shared by the peers derived from one build, closed when the last of
 * them releases it. ONNX Runtime sessions accept concurrent runs, so sharing needs no lock.
 */
public final class SharedSession {
  private static final System.Logger LOG = System.getLogger("io.bittensor.onnx");

  /** Adds an execution provider to session options; replaceable in tests to make it fail. */
  @FunctionalInterface
  public interface CudaInstaller {
    /** Adds CUDA device {@code index} to {@code options}, or throws. */
    void install(OrtSession.SessionOptions options, int index) throws OrtException;

    /** ONNX Runtime's own {@code addCUDA}. */
    CudaInstaller ORT = OrtSession.SessionOptions::addCUDA;
  }

  private final OrtEnvironment env;
  private final OrtSession session;
  private final Device device;
  private final String fallback;
  private final ModelInfo info;
  private final String source;
  private int references = 1;

  private SharedSession(OrtEnvironment env, OrtSession session, Device device, String fallback,
      ModelInfo info, String source) {
    this.env = env;
    this.session = session;
    this.device = device;
    this.fallback = fallback;
    this.info = info;
    this.source = source;
  }

  /**
   * Opens a session on {@code requested}, falling back from CUDA to the CPU with one warning.
   *
   * @throws OnnxModelException if the model cannot be loaded on the CPU either
   */
  public static SharedSession open(ModelSource source, SessionSettings settings, Device requested,
      CudaInstaller cuda) throws OnnxModelException {
    OrtEnvironment env = Ort.environment();
    Throwable cudaFailure = null;
    if (requested.kind() == Device.Kind.CUDA) {
      try (OrtSession.SessionOptions o = settings.toOptions()) {
        cuda.install(o, requested.index());
        OrtSession s = source.open(env, o);
        return create(env, s, requested, "", source);
      } catch (OrtException | RuntimeException | LinkageError e) {
        cudaFailure = e;
      }
    }
    OrtSession s;
    try (OrtSession.SessionOptions o = settings.toOptions()) {
      s = source.open(env, o);
    } catch (OrtException e) {
      OnnxModelException x =
          new OnnxModelException(
              source
                  + " could not be loaded by ONNX Runtime ("
                  + e.getCode()
                  + "): "
                  + e.getMessage(),
              e);
      if (cudaFailure != null) {
        x.addSuppressed(cudaFailure);
      }
      throw x;
    } catch (OnnxModelException e) {
      if (cudaFailure != null) {
        e.addSuppressed(cudaFailure);
      }
      throw e;
    }
    String reason = "";
    if (cudaFailure != null) {
      reason =
          "CUDA device "
              + requested.index()
              + " could not be used ("
              + cudaFailure.getMessage()
              + "); running on the CPU";
      LOG.log(System.Logger.Level.WARNING, source + ": " + reason);
    }
    return create(env, s, Device.cpu(), reason, source);
  }

  private static SharedSession create(
      OrtEnvironment env, OrtSession s, Device device, String reason, ModelSource source)
      throws OnnxModelException {
    try {
      return new SharedSession(env, s, device, reason, describe(s), source.toString());
    } catch (OrtException | RuntimeException e) {
      try {
        s.close();
      } catch (OrtException ignored) {
        e.addSuppressed(ignored);
      }
      throw new OnnxModelException(
          source + ": its inputs and outputs could not be read: " + e.getMessage(), e);
    }
  }

  private static ModelInfo describe(OrtSession s) throws OrtException {
    OnnxModelMetadata m = s.getMetadata();
    // ONNX Runtime marks a file without model_version with Long.MAX_VALUE; ONNX's default is 0.
    long version = m.getVersion() == Long.MAX_VALUE ? 0 : m.getVersion();
    return new ModelInfo(ports(s.getInputInfo()), ports(s.getOutputInfo()), m.getProducerName(),
        version, m.getCustomMetadata());
  }

  private static List<ModelInfo.Port> ports(Map<String, NodeInfo> nodes) {
    List<ModelInfo.Port> out = new ArrayList<>();
    for (NodeInfo n : nodes.values()) {
      ValueInfo v = n.getInfo();
      if (v instanceof TensorInfo t) {
        String[] names = t.getDimensionNames();
        out.add(new ModelInfo.Port(n.getName(), t.type.name(), t.getShape(),
            names == null ? List.of() : Arrays.asList(names)));
      } else {
        out.add(
            new ModelInfo.Port(n.getName(), v.getClass().getSimpleName(), new long[0], List.of()));
      }
    }
    return out;
  }

  /** Another user of this session, or null once the last user released it. */
  public synchronized SharedSession tryRetain() {
    if (references == 0) {
      return null;
    }
    references++;
    return this;
  }

  /** One user less; the last closes the session. */
  public void release() {
    synchronized (this) {
      if (references == 0 || --references > 0) {
        return;
      }
    }
    try {
      session.close();
    } catch (OrtException e) {
      LOG.log(System.Logger.Level.DEBUG, "closing the session of " + source + " failed", e);
    }
  }

  public OrtEnvironment env() {
    return env;
  }

  public OrtSession session() {
    return session;
  }

  public Device device() {
    return device;
  }

  /** Why CUDA was not used, or empty. */
  public String fallback() {
    return fallback;
  }

  public ModelInfo info() {
    return info;
  }

  /** The model's source, for messages. */
  public String source() {
    return source;
  }
}
