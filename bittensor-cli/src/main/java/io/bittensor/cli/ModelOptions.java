package io.bittensor.cli;

import io.bittensor.core.Modality;
import io.bittensor.core.Tensor;
import io.bittensor.onnx.Device;
import io.bittensor.onnx.ImageInput;
import io.bittensor.onnx.InputAdapter;
import io.bittensor.onnx.OnnxModelException;
import io.bittensor.onnx.OnnxPeer;
import io.bittensor.onnx.OutputAdapter;
import io.bittensor.onnx.SpeechInput;
import io.bittensor.onnx.TensorInput;
import io.bittensor.onnx.TextInput;
import io.bittensor.onnx.TextTokenizer;
import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;
import picocli.CommandLine.ArgGroup;
import picocli.CommandLine.Option;

/**
 * The options of {@code peer serve} that pick an ONNX model and map onto {@link
 * OnnxPeer#builder()}, grouped in the help by what they configure. Without {@code --model} or
 * {@code --preset} none of them may be given (the built-in test peer has no model).
 *
 * <p>Models and tokenizers are files, or class-path resources written {@code classpath:/name}
 * (the CLI jar carries the presets' files).
 */
final class ModelOptions {
  /** The prefix that marks a class-path resource in {@code --model} and {@code --tokenizer}. */
  static final String CLASSPATH = "classpath:";

  @Option(names = "--model", paramLabel = "FILE", description = "Serve this ONNX model: a file, or "
      + "classpath:/name for a resource on the class path.")
  String model;

  @Option(
      names = "--preset",
      paramLabel = "NAME",
      description =
          "Serve a model the jar carries, with "
              + "its settings (options given beside it override them): ${COMPLETION-CANDIDATES}.",
      completionCandidates = PresetNames.class)
  String preset;

  @Option(
      names = "--modality",
      paramLabel = "M",
      description =
          "What the model takes: TEXT, IMAGE, SPEECH or TENSOR "
              + "(optional for models written by OnnxExport, which name theirs).")
  Modality modality;

  @Option(
      names = "--device",
      paramLabel = "cpu|cuda[:N]",
      defaultValue = "cpu",
      description =
          "cpu, cuda or cuda:N; CUDA falls back "
              + "to the CPU with a warning. Default: ${DEFAULT-VALUE}.")
  String device;

  @Option(names = "--threads", paramLabel = "N", description = "ONNX Runtime threads within an "
      + "operator (default: ONNX Runtime's choice).")
  Integer threads;

  @Option(names = "--spinning", negatable = true, description = "Let ONNX Runtime's idle threads "
      + "spin waiting for work (default: off, kind to shared machines).")
  boolean spinning;

  @Option(names = "--max-batch", paramLabel = "ROWS", description = "The most rows one model run "
      + "takes and one request may carry (default: 64).")
  Integer maxBatch;

  @Option(names = "--input-name", paramLabel = "NAME", description = "The model input that takes "
      + "an IMAGE, SPEECH or TENSOR request (default: the model's only input not fed otherwise).")
  String inputName;

  @Option(names = "--constant", paramLabel = "NAME=VALUE:TYPE", description = "Feed a model input "
      + "the same value on every run, e.g. sr=16000:int64 (TYPE int64 or float32; several values "
      + "comma-separated make a vector). Repeatable.")
  List<String> constants = new ArrayList<>();

  @ArgGroup(validate = false, heading = "%nTEXT models:%n")
  Text text;

  @ArgGroup(validate = false, heading = "%nIMAGE models:%n")
  Image image;

  @ArgGroup(validate = false, heading = "%nSPEECH models:%n")
  Speech speech;

  @ArgGroup(validate = false, heading = "%nThe answer:%n")
  Output output;

  /** TEXT adapter options. */
  static final class Text {
    @Option(names = "--max-length", paramLabel = "TOKENS", description = "The longest token "
        + "sequence served; longer requests are refused (default: 512).")
    Integer maxLength;

    @Option(names = "--vocab-size", paramLabel = "N", description = "Refuse token ids at or over N "
        + "(default: not checked).")
    Long vocabSize;
  }

  /** IMAGE adapter options. */
  static final class Image {
    @Option(
        names = "--image",
        paramLabel = "C,H,W",
        split = ",",
        hideParamSyntax = true,
        description = "Channels, height " + "and width of the pictures (default: the model's).")
    int[] size;

    @Option(names = "--mean", split = ",", paramLabel = "M", description = "Per-channel mean "
        + "subtracted after scaling pixels to [0, 1] (default: 0).")
    float[] mean;

    @Option(names = "--std", split = ",", paramLabel = "S", description = "Per-channel divisor "
        + "(default: 1).")
    float[] std;
  }

  /** SPEECH adapter options. */
  static final class Speech {
    @Option(names = "--frame", paramLabel = "SAMPLES", description = "Samples per step (default: "
        + "any; each step whole).")
    Integer frame;

    @Option(names = "--context", paramLabel = "SAMPLES", description = "Samples of the previous "
        + "frame put before each (needs --frame).")
    Integer context;

    @Option(names = "--state", paramLabel = "IN=OUT", description = "Carry recurrent state from "
        + "model output OUT to input IN across steps (needs --frame). Repeatable.")
    List<String> state = new ArrayList<>();
  }

  /** Output adapter options. */
  static final class Output {
    @Option(
        names = "--output-name",
        paramLabel = "NAME",
        description = "The model output to answer " + "with (default: the first).")
    String name;

    @Option(names = "--pool", paramLabel = "none|mean|first", description = "Pool a TEXT model's "
        + "per-token output (default: none, one row per token).")
    String pool;

    @Option(names = "--normalize", negatable = true, description = "Scale each answer row to unit "
        + "length (default: off).")
    Boolean normalize;

    @Option(
        names = "--fit",
        paramLabel = "pad|project",
        description =
            "Fit the model's features to --output-dim: keep the first ones and pad with zeros, or a"
                + " fixed seeded random projection (default: pad).")
    String fit;

    @Option(
        names = "--seed",
        paramLabel = "N",
        description = "The projection's seed (with --fit project).")
    Long seed;
  }

  /** Lists the presets in the help. */
  static final class PresetNames implements Iterable<String> {
    @Override
    public java.util.Iterator<String> iterator() {
      return ModelPreset.ALL.stream().map(ModelPreset::name).iterator();
    }
  }

  /** True when a model was asked for ({@code --model} or {@code --preset}). */
  boolean hasModel() {
    return model != null || preset != null;
  }

  /**
   * Refuses model options given without a model, for the built-in test peer.
   *
   * @throws IllegalArgumentException naming the first such option
   */
  void requireNone() {
    String given = modality != null ? "--modality" : inputName != null ? "--input-name"
        : threads != null ? "--threads" : maxBatch != null ? "--max-batch"
        : !constants.isEmpty() ? "--constant" : !"cpu".equals(device) ? "--device"
        : spinning ? "--spinning" : text != null ? "--max-length/--vocab-size"
        : image != null ? "--image/--mean/--std" : speech != null ? "--frame/--context/--state"
        : output != null ? "the answer's options" : null;
    if (given != null) {
      throw new IllegalArgumentException(
          given + " applies to a model: give --model FILE or --preset NAME");
    }
  }

  /** What is served, for the command's first line: the preset, file or resource. */
  String describe() {
    return preset != null ? ModelPreset.named(preset).name() + " (" + CLASSPATH
        + ModelPreset.named(preset).model() + ")" : model;
  }

  /**
   * Builds the peer these options describe.
   *
   * @param outputDim {@code --output-dim}, or null when not given
   * @throws IllegalArgumentException for options that are malformed or do not fit together
   * @throws OnnxModelException if the model cannot be loaded or does not fit the adapter
   */
  OnnxPeer build(Integer outputDim) throws OnnxModelException {
    if (model != null && preset != null) {
      throw new IllegalArgumentException("give --model or --preset, not both");
    }
    ModelPreset p = preset == null ? null : ModelPreset.named(preset);
    Modality m = modality != null ? modality : p != null ? p.modality() : null;
    checkAdapterOptions(m);

    OnnxPeer.Builder b = OnnxPeer.builder();
    String source = p != null ? CLASSPATH + p.model() : model;
    if (source.startsWith(CLASSPATH)) {
      b.modelResource(source.substring(CLASSPATH.length()));
    } else {
      b.model(Path.of(source));
    }
    InputAdapter in = inputAdapter(m, p);
    if (in != null) {
      b.input(in);
    }
    b.output(outputAdapter(p));
    Integer dim = outputDim != null ? outputDim : p != null ? Integer.valueOf(p.outputDim()) : null;
    if (dim != null) {
      b.outputDim(dim);
    }
    for (String c : constants) {
      int eq = c.indexOf('=');
      if (eq < 1) {
        throw badConstant(c);
      }
      b.constantInput(c.substring(0, eq), constant(c, c.substring(eq + 1)));
    }
    b.device(Device.parse(device)).spinning(spinning);
    if (threads != null) {
      if (threads < 0) {
        throw new IllegalArgumentException(
            "--threads must be >= 0 (0: ONNX Runtime's choice), was " + threads);
      }
      b.intraOpThreads(threads);
    }
    if (maxBatch != null) {
      if (maxBatch < 1) {
        throw new IllegalArgumentException("--max-batch must be >= 1, was " + maxBatch);
      }
      b.maxBatch(maxBatch);
    }
    try {
      return b.build();
    } catch (IllegalStateException e) {
      // The builder names its own methods; say it in options.
      String why = e.getMessage() == null ? "" : e.getMessage();
      if (why.startsWith("no modality")) {
        throw new IllegalArgumentException(
            "--modality is required: " + source + " does not name its modality");
      }
      if (why.startsWith("no outputDim")) {
        throw new IllegalArgumentException(
            "--output-dim is required: " + source + " does not name its output size");
      }
      throw e;
    }
  }

  /**
   * The tokenizer at {@code spec} (a file or {@code classpath:/name}), truncating to {@code
   * maxLength} tokens.
   *
   * @throws IOException if it cannot be read or is not a tokenizer
   */
  static TextTokenizer tokenizer(String spec, int maxLength) throws IOException {
    return spec.startsWith(CLASSPATH)
        ? TextTokenizer.fromResource(spec.substring(CLASSPATH.length()), maxLength)
        : TextTokenizer.fromFile(Path.of(spec), maxLength);
  }

  private void checkAdapterOptions(Modality m) {
    if (inputName != null && (m == null || m == Modality.TEXT)) {
      throw new IllegalArgumentException(
          "--input-name applies to IMAGE, SPEECH and TENSOR models, and the "
              + "modality is "
              + (m == null ? "not given (--modality)" : m));
    }
    requireModality(text, Modality.TEXT, "--max-length/--vocab-size", m);
    requireModality(image, Modality.IMAGE, "--image/--mean/--std", m);
    requireModality(speech, Modality.SPEECH, "--frame/--context/--state", m);
  }

  private static void requireModality(Object group, Modality wanted, String options, Modality m) {
    if (group != null && m != wanted) {
      throw new IllegalArgumentException(
          options
              + " apply to "
              + wanted
              + " models, and the modality is "
              + (m == null ? "not given (--modality)" : m));
    }
  }

  private InputAdapter inputAdapter(Modality m, ModelPreset p) {
    if (m == null) {
      return null; // the model's metadata names it, or build() says --modality is required
    }
    return switch (m) {
      case TEXT -> {
        TextInput t = TextInput.bert();
        Integer max = text != null && text.maxLength != null ? text.maxLength
            : p != null ? Integer.valueOf(p.maxLength()) : null;
        // Checked here too: the adapters' own messages name their builder methods.
        if (max != null) {
          if (max < 1) {
            throw new IllegalArgumentException("--max-length must be >= 1, was " + max);
          }
          t = t.withMaxLength(max);
        }
        if (text != null && text.vocabSize != null) {
          if (text.vocabSize < 0) {
            throw new IllegalArgumentException("--vocab-size must be >= 0 (0: not checked), was "
                + text.vocabSize);
          }
          t = t.withVocabularySize(text.vocabSize);
        }
        yield t;
      }
      case IMAGE -> inputName == null ? imageAdapter() : imageAdapter().withInputName(inputName);
      case SPEECH -> inputName == null ? speechAdapter() : speechAdapter().withInputName(inputName);
      case TENSOR -> new TensorInput(inputName == null ? "" : inputName);
    };
  }

  private ImageInput imageAdapter() {
    ImageInput in = ImageInput.any();
    if (image == null) {
      return in;
    }
    if (image.size != null) {
      if (image.size.length != 3) {
        throw new IllegalArgumentException("--image must be C,H,W (three numbers), was "
            + Arrays.toString(image.size));
      }
      if (Arrays.stream(image.size).anyMatch(v -> v < 0)) {
        throw new IllegalArgumentException("--image sizes must be >= 0 (0: the model's), was "
            + image.size[0] + "," + image.size[1] + "," + image.size[2]);
      }
      in = ImageInput.of(image.size[0], image.size[1], image.size[2]);
    }
    if (image.mean != null || image.std != null) {
      int n = image.mean != null ? image.mean.length : image.std.length;
      float[] mean = image.mean != null ? image.mean : new float[n];
      float[] std = image.std;
      if (std == null) {
        std = new float[n];
        Arrays.fill(std, 1f);
      }
      if (mean.length != std.length) {
        throw new IllegalArgumentException("--mean and --std need the same number of values"
            + " (one per channel), were " + mean.length + " and " + std.length);
      }
      int channels = image.size == null ? 0 : image.size[0];
      if (channels > 0 && n != 1 && n != channels) {
        // ImageInput refuses it too, in its builder's words: here in the options'.
        throw new IllegalArgumentException((image.mean == null ? "--std has "
            : image.std == null ? "--mean has " : "--mean and --std have ") + n
            + " values for the " + channels + (channels == 1 ? " channel" : " channels")
            + " of --image " + image.size[0] + "," + image.size[1] + "," + image.size[2]
            + ": give one" + (channels == 1 ? "" : " (for every channel) or " + channels));
      }
      for (float v : std) {
        if (!(v > 0) || Float.isInfinite(v)) {
          throw new IllegalArgumentException("--std values must be finite and > 0, was "
              + Arrays.toString(std));
        }
      }
      for (float v : mean) {
        if (!Float.isFinite(v)) {
          throw new IllegalArgumentException("--mean values must be finite, was "
              + Arrays.toString(mean));
        }
      }
      in = in.withNormalization(mean, std);
    }
    return in;
  }

  private SpeechInput speechAdapter() {
    if (speech == null) {
      return SpeechInput.samples();
    }
    if (speech.frame == null) {
      if (speech.context != null || !speech.state.isEmpty()) {
        throw new IllegalArgumentException("--context and --state need --frame");
      }
      return SpeechInput.samples();
    }
    if (speech.frame < 1) {
      throw new IllegalArgumentException("--frame must be >= 1, was " + speech.frame);
    }
    SpeechInput in = SpeechInput.frames(speech.frame);
    if (speech.context != null) {
      if (speech.context < 0) {
        throw new IllegalArgumentException("--context must be >= 0, was " + speech.context);
      }
      in = in.withContext(speech.context);
    }
    for (String s : speech.state) {
      int eq = s.indexOf('=');
      if (eq < 1 || eq == s.length() - 1) {
        throw new IllegalArgumentException(
            "--state must be IN=OUT (model input and output names), was \"" + s + "\"");
      }
      in = in.withState(s.substring(0, eq), s.substring(eq + 1));
    }
    return in;
  }

  private OutputAdapter outputAdapter(ModelPreset p) {
    OutputAdapter out = OutputAdapter.first();
    if (p != null) {
      out = out.withPooling(p.pooling()).withL2Normalize(p.normalize());
    }
    if (output == null) {
      return out;
    }
    if (output.name != null) {
      out =
          OutputAdapter.named(output.name)
              .withPooling(out.pooling())
              .withL2Normalize(out.l2Normalize());
    }
    if (output.pool != null) {
      out = out.withPooling(switch (output.pool.trim().toLowerCase(Locale.ROOT)) {
        case "none" -> OutputAdapter.Pooling.NONE;
        case "mean" -> OutputAdapter.Pooling.MEAN;
        case "first", "cls" -> OutputAdapter.Pooling.FIRST;
        default -> throw new IllegalArgumentException("--pool must be none, mean or first, was \""
            + output.pool + "\"");
      });
    }
    if (output.normalize != null) {
      out = out.withL2Normalize(output.normalize);
    }
    if (output.fit != null) {
      out =
          out.withFit(
              switch (output.fit.trim().toLowerCase(Locale.ROOT)) {
                case "pad", "truncate", "pad-or-truncate" -> OutputAdapter.Fit.PAD_OR_TRUNCATE;
                case "project" -> OutputAdapter.Fit.PROJECT;
                default ->
                    throw new IllegalArgumentException(
                        "--fit must be pad or project, was \"" + output.fit + "\"");
              });
    }
    if (output.seed != null) {
      if (out.fit() != OutputAdapter.Fit.PROJECT) {
        throw new IllegalArgumentException("--seed applies to --fit project");
      }
      out = out.withProjection(output.seed);
    }
    return out;
  }

  /** {@code VALUE[,VALUE...]:TYPE}: one value makes a scalar, several a vector. */
  private static Tensor constant(String option, String valueAndType) {
    int colon = valueAndType.lastIndexOf(':');
    if (colon < 1) {
      throw badConstant(option);
    }
    String[] values = valueAndType.substring(0, colon).split(",", -1);
    String type = valueAndType.substring(colon + 1).trim().toLowerCase(Locale.ROOT);
    int[] shape = values.length == 1 ? new int[0] : new int[] {values.length};
    try {
      switch (type) {
        case "int64", "long" -> {
          long[] v = new long[values.length];
          for (int i = 0; i < v.length; i++) {
            v[i] = Long.parseLong(values[i].trim());
          }
          return Tensor.ofLongs(v, shape);
        }
        case "float32", "float" -> {
          float[] v = new float[values.length];
          for (int i = 0; i < v.length; i++) {
            v[i] = Float.parseFloat(values[i].trim());
            if (!Float.isFinite(v[i])) {
              throw badConstant(option);
            }
          }
          return Tensor.ofFloats(v, shape);
        }
        default -> throw badConstant(option);
      }
    } catch (NumberFormatException e) {
      throw badConstant(option);
    }
  }

  private static IllegalArgumentException badConstant(String option) {
    return new IllegalArgumentException(
        "--constant must be NAME=VALUE[,VALUE...]:int64|float32, was \"" + option + "\"");
  }
}
