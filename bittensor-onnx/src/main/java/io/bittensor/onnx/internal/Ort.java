package io.bittensor.onnx.internal;

import ai.onnxruntime.OrtEnvironment;
import ai.onnxruntime.OrtException;
import ai.onnxruntime.OrtLoggingLevel;

/**
 * The process's one ONNX Runtime environment. When this module creates it, it comes with a global
 * intra-op thread pool (one thread per core, no spinning) that peers built with a shared thread
 * pool use; peers with their own threads ignore it. If something else in the JVM created the
 * environment first, there is no global pool and asking for one fails with a clear message.
 */
public final class Ort {
  private static OrtEnvironment env;
  private static boolean globalPool;

  private Ort() {}

  /** The environment, created on first use. */
  public static synchronized OrtEnvironment environment() {
    if (env == null) {
      try (OrtEnvironment.ThreadingOptions threads = new OrtEnvironment.ThreadingOptions()) {
        threads.setGlobalIntraOpNumThreads(Runtime.getRuntime().availableProcessors());
        threads.setGlobalInterOpNumThreads(1);
        threads.setGlobalSpinControl(false);
        env =
            OrtEnvironment.getEnvironment(
                OrtLoggingLevel.ORT_LOGGING_LEVEL_FATAL, "bittensor", threads);
        globalPool = true;
      } catch (IllegalStateException | OrtException e) {
        // Created elsewhere first (or the pool was refused): use it as it is, without a global
        // pool.
        env = OrtEnvironment.getEnvironment();
        globalPool = false;
      }
    }
    return env;
  }

  /** True when the environment has the global thread pool that shared-pool sessions need. */
  public static synchronized boolean hasGlobalPool() {
    environment();
    return globalPool;
  }
}
