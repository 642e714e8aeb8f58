package io.bittensor.cli.demo;

import io.bittensor.onnx.OnnxModelException;
import io.bittensor.onnx.OnnxPeer;
import io.bittensor.onnx.OutputAdapter;
import io.bittensor.onnx.TextInput;
import io.bittensor.onnx.TextTokenizer;
import java.io.IOException;
import java.util.ArrayList;
import java.util.List;

/**
 * The demo's three pretrained text encoders, int8 ONNX files from Maven Central (the langchain4j
 * embedding artifacts, whose jars hold the model and its {@code tokenizer.json} at their root):
 * all-MiniLM-L6-v2 (Apache-2.0), e5-small-v2 and bge-small-en-v1.5 (MIT). All three read BERT's
 * uncased WordPiece vocabulary, so one tokenizer serves the market, and all answer 384 features.
 */
public final class TextModels {
  /** The market's answer size: the three encoders' hidden size. */
  public static final int DIM = 384;

  /** A model the demo can serve. */
  public enum Model {
    /** all-MiniLM-L6-v2, 6 layers, mean pooling. */
    MINILM("all-MiniLM-L6-v2", "/all-minilm-l6-v2-q.onnx", OutputAdapter.Pooling.MEAN),
    /** e5-small-v2, 12 layers, mean pooling. */
    E5("e5-small-v2", "/e5-small-v2-q.onnx", OutputAdapter.Pooling.MEAN),
    /** bge-small-en-v1.5, 12 layers, its [CLS] token. */
    BGE("bge-small-en-v1.5", "/bge-small-en-v1.5-q.onnx", OutputAdapter.Pooling.FIRST);

    private final String title;
    private final String resource;
    private final OutputAdapter.Pooling pooling;

    Model(String title, String resource, OutputAdapter.Pooling pooling) {
      this.title = title;
      this.resource = resource;
      this.pooling = pooling;
    }

    /** Its usual name. */
    public String title() {
      return title;
    }

    /**
     * The model as a TEXT peer: pooled, unit-length 384-feature answers at every position.
     *
     * @throws OnnxModelException if the model cannot be loaded
     */
    public OnnxPeer open(int maxTokens, int threads) throws OnnxModelException {
      return OnnxPeer.builder()
          .modelResource(resource)
          .input(TextInput.bert().withMaxLength(maxTokens).withVocabularySize(30522))
          .output(OutputAdapter.first().withPooling(pooling).withL2Normalize(true))
          .outputDim(DIM)
          .intraOpThreads(threads)
          .maxBatch(64)
          .build();
    }
  }

  private TextModels() {}

  /**
   * The tokenizer (all-MiniLM-L6-v2's {@code tokenizer.json}).
   *
   * @throws IOException if it cannot be read
   */
  public static TextTokenizer tokenizer(int maxTokens) throws IOException {
    return TextTokenizer.fromResource("/all-minilm-l6-v2-q-tokenizer.json", maxTokens);
  }

  /**
   * Token ids of each text, cut or padded (id 0) to exactly {@code length}, so that the same
   * passage is the same row in every batch.
   */
  public static long[][] tokenize(TextTokenizer tokenizer, List<String> texts, int length) {
    long[][] out = new long[texts.size()][];
    int chunk = 64;
    for (int from = 0; from < texts.size(); from += chunk) {
      List<String> part =
          new ArrayList<>(texts.subList(from, Math.min(texts.size(), from + chunk)));
      var ids = tokenizer.encode(part);
      int seq = ids.dim(1);
      for (int i = 0; i < part.size(); i++) {
        long[] row = new long[length];
        for (int t = 0; t < Math.min(seq, length); t++) {
          row[t] = ids.longAt(i * seq + t);
        }
        if (seq > length && row[length - 1] != 0) {
          row[length - 1] = SEP;
        }
        out[from + i] = row;
      }
    }
    return out;
  }

  /** BERT's [SEP] id, which ends every sequence, also a cut one. */
  private static final long SEP = 102;
}
