package io.bittensor.onnx.internal;

import ai.onnxruntime.OrtEnvironment;
import ai.onnxruntime.OrtException;
import ai.onnxruntime.OrtSession;
import io.bittensor.onnx.OnnxModelException;
import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Objects;
import java.util.stream.Stream;

/** Where a model's bytes come from: a file, an array, or a class-path resource. */
public abstract sealed class ModelSource {
  private ModelSource() {}

  /** A model file. */
  public static ModelSource of(Path path) {
    return new FromFile(Objects.requireNonNull(path, "path"));
  }

  /** Model bytes; the array is copied. */
  public static ModelSource of(byte[] bytes) {
    return new FromBytes(bytes.clone());
  }

  /** A class-path resource, looked up through {@code loader}. */
  public static ModelSource ofResource(String name, ClassLoader loader) {
    return new FromResource(
        Objects.requireNonNull(name, "name"), Objects.requireNonNull(loader, "loader"));
  }

  /** Creates a session over the model. */
  abstract OrtSession open(OrtEnvironment env, OrtSession.SessionOptions options)
      throws OrtException, OnnxModelException;

  /** For messages: the file, resource or array size. */
  @Override
  public abstract String toString();

  private static final class FromFile extends ModelSource {
    private final Path path;

    FromFile(Path path) {
      this.path = path;
    }

    @Override
    OrtSession open(OrtEnvironment env, OrtSession.SessionOptions options)
        throws OrtException, OnnxModelException {
      if (Files.isDirectory(path)) {
        throw new OnnxModelException("model file " + path
            + " is a folder; give the .onnx file in it" + modelsIn(path));
      }
      if (!Files.isRegularFile(path) || !Files.isReadable(path)) {
        throw new OnnxModelException("model file " + path + " does not exist or cannot be read");
      }
      return env.createSession(path.toString(), options);
    }

    /** " (it holds a.onnx, b.onnx)", the first few models in {@code folder}; or "". */
    private static String modelsIn(Path folder) {
      try (Stream<Path> files = Files.list(folder)) {
        List<String> names = files.map(p -> p.getFileName().toString())
            .filter(n -> n.endsWith(".onnx")).sorted().toList();
        return names.isEmpty() ? "" : " (it holds "
            + String.join(", ", names.subList(0, Math.min(3, names.size())))
            + (names.size() > 3 ? ", ..." : "") + ")";
      } catch (IOException | UncheckedIOException e) {
        return ""; // a folder it cannot list: the message says what matters
      }
    }

    @Override
    public String toString() {
      return "file " + path;
    }
  }

  private static final class FromBytes extends ModelSource {
    private final byte[] bytes;

    FromBytes(byte[] bytes) {
      this.bytes = bytes;
    }

    @Override
    OrtSession open(OrtEnvironment env, OrtSession.SessionOptions options) throws OrtException {
      return env.createSession(bytes, options);
    }

    @Override
    public String toString() {
      return "model of " + bytes.length + " bytes";
    }
  }

  private static final class FromResource extends ModelSource {
    private final String name;
    private final ClassLoader loader;

    FromResource(String name, ClassLoader loader) {
      this.name = name;
      this.loader = loader;
    }

    @Override
    OrtSession open(OrtEnvironment env, OrtSession.SessionOptions options)
        throws OrtException, OnnxModelException {
      String n = name.startsWith("/") ? name.substring(1) : name;
      byte[] bytes;
      try (InputStream in = loader.getResourceAsStream(n)) {
        if (in == null) {
          throw new OnnxModelException("model resource " + name + " is not on the class path");
        }
        bytes = in.readAllBytes();
      } catch (IOException e) {
        if (e instanceof OnnxModelException m) {
          throw m;
        }
        throw new OnnxModelException(
            "model resource " + name + " could not be read: " + e.getMessage(), e);
      }
      return env.createSession(bytes, options);
    }

    @Override
    public String toString() {
      return "resource " + name;
    }
  }
}
