package io.bittensor.onnx.internal;

import ai.onnxruntime.OrtException;
import ai.onnxruntime.OrtSession;

/**
 * The run options of one model run, with a terminate switch that is safe to flip from a timer
 * thread at any time: after the run ended and the options were closed it does nothing, instead of
 * touching freed native memory.
 */
public final class RunGuard implements AutoCloseable {
  private final OrtSession.RunOptions options;
  private boolean closed;
  private boolean terminated;

  /** New run options. */
  public RunGuard() throws OrtException {
    this.options = new OrtSession.RunOptions();
  }

  /** The options to pass to {@code OrtSession.run}. */
  public OrtSession.RunOptions options() {
    return options;
  }

  /** Asks the run to stop (its deadline passed); no effect once closed. */
  public synchronized void terminate() {
    if (closed || terminated) {
      return;
    }
    terminated = true;
    try {
      options.setTerminate(true);
    } catch (OrtException e) {
      // Nothing more to do: the run will end on its own.
    }
  }

  /** True once {@link #terminate} took effect. */
  public synchronized boolean terminated() {
    return terminated;
  }

  /** Frees the options; idempotent. */
  @Override
  public synchronized void close() {
    if (!closed) {
      closed = true;
      options.close();
    }
  }
}
