package io.bittensor.onnx.internal;

import ai.onnxruntime.OrtException;
import ai.onnxruntime.OrtLoggingLevel;
import ai.onnxruntime.OrtSession;
import io.bittensor.onnx.Optimization;

/**
 * The session options a peer asked for.
 *
 * @param intraOpThreads threads within an operator; 0 for ONNX Runtime's default
 * @param interOpThreads threads across operators; 0 for the default
 * @param sharedThreadPool use the environment's global pool instead of the session's own
 * @param optimization the graph optimisation level
 * @param deterministic ask for deterministic kernels (for tests)
 * @param spinning let idle pool threads spin waiting for work (ONNX Runtime's default)
 */
public record SessionSettings(
    int intraOpThreads, int interOpThreads, boolean sharedThreadPool, Optimization optimization,
    boolean deterministic, boolean spinning) {
  /** ONNX Runtime's session configuration keys for pool threads' spin-waiting. */
  private static final String[] SPIN_KEYS = {
      "session.intra_op.allow_spinning", "session.inter_op.allow_spinning"};

  /** New ONNX Runtime options carrying these settings; the caller closes them. */
  public OrtSession.SessionOptions toOptions() throws OrtException {
    OrtSession.SessionOptions o = new OrtSession.SessionOptions();
    try {
      // Failures reach the caller as exceptions (and statuses); ONNX Runtime need not print them
      // too.
      o.setSessionLogLevel(OrtLoggingLevel.ORT_LOGGING_LEVEL_FATAL);
      if (sharedThreadPool) {
        if (!Ort.hasGlobalPool()) {
          throw new IllegalStateException(
              "a shared thread pool needs the ONNX Runtime environment to be created by"
                  + " bittensor-onnx, but something else in this JVM created it first; build a peer"
                  + " before other ONNX Runtime users, or give each peer its own threads");
        }
        o.disablePerSessionThreads();
      } else {
        if (intraOpThreads > 0) {
          o.setIntraOpNumThreads(intraOpThreads);
        }
        if (interOpThreads > 0) {
          o.setInterOpNumThreads(interOpThreads);
        }
      }
      o.setOptimizationLevel(switch (optimization) {
        case NONE -> OrtSession.SessionOptions.OptLevel.NO_OPT;
        case BASIC -> OrtSession.SessionOptions.OptLevel.BASIC_OPT;
        case EXTENDED -> OrtSession.SessionOptions.OptLevel.EXTENDED_OPT;
        case ALL -> OrtSession.SessionOptions.OptLevel.ALL_OPT;
      });
      if (!spinning) {
        for (String key : SPIN_KEYS) {
          o.addConfigEntry(key, "0");
        }
      }
      if (deterministic) {
        o.setDeterministicCompute(true);
      }
      return o;
    } catch (OrtException | RuntimeException e) {
      o.close();
      throw e;
    }
  }
}
