package io.bittensor.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/** Options of {@code peer serve} and {@code peer query} that are refused before any model loads. */
@Timeout(30)
class PeerServeOptionsTest {
  @TempDir Path dir;

  @ParameterizedTest(name = "{0}")
  @CsvSource(delimiter = '|', value = {
    "--pool mean|applies to a model",
    "--modality TEXT|--modality applies to a model",
    "--preset bert|--preset must be one of minilm",
    "--preset minilm --model m.onnx|not both",
    "--model m.onnx --modality TEXT --image 3,8,8|apply to IMAGE models",
    "--model m.onnx --max-length 64|modality is not given",
    "--model m.onnx --modality IMAGE --image 3,8|C,H,W",
    "--model m.onnx --modality SPEECH --context 64|--context and --state need --frame",
    "--model m.onnx --modality SPEECH --frame 512 --state state|--state must be IN=OUT",
    "--model m.onnx --modality TEXT --constant sr=abc:int64|--constant must be",
    "--model m.onnx --modality TEXT --constant sr=1:int8|--constant must be",
    "--model m.onnx --modality TEXT --constant 16000|--constant must be",
    "--model m.onnx --modality TEXT --device gpu|device must be cpu, cuda or cuda:N",
    "--model m.onnx --modality TEXT --pool max|--pool must be none, mean or first",
    "--model m.onnx --modality TEXT --fit squeeze|--fit must be pad or project",
    "--model m.onnx --modality TEXT --seed 3|--seed applies to --fit project",
    "--model m.onnx --modality TEXT --output-dim 0|--output-dim must be >= 1",
    "--model m.onnx --modality TEXT --max-batch 0|--max-batch must be >= 1",
    "--model m.onnx --modality TEXT --threads -1|--threads must be >= 0",
    "--stop-after PT0S|--stop-after must be positive",
    "--min-stake 5|--min-stake needs --members-of",
    "--members-of http://127.0.0.1:9 --min-stake -1|--min-stake must be >= 0",
    "--input-name x|--input-name applies to a model",
    "--model m.onnx --modality TEXT --input-name x|--input-name applies to IMAGE, SPEECH and TENSOR",
  })
  void badServeOptionsExitTwoWithOneLine(String args, String message) {
    assertBadInput(message, ("peer serve --port 0 " + args).split(" "));
  }

  /** The ONNX adapters' own checks, in the words of the CLI's options, not builder methods. */
  @ParameterizedTest(name = "{0}")
  @CsvSource(delimiter = '|', value = {
    "--modality TEXT --max-length 0|--max-length must be >= 1, was 0",
    "--modality TEXT --vocab-size -1|--vocab-size must be >= 0",
    "--modality IMAGE --image -1,2,2|--image sizes must be >= 0",
    "--modality IMAGE --mean 0.5,0.5 --std 1|--mean and --std need the same number",
    "--modality IMAGE --std 0|--std values must be finite and > 0",
    "--modality IMAGE --mean NaN|--mean values must be finite",
    "--modality IMAGE --image 3,48,192 --mean 0.5,0.5 --std 0.5,0.5|--mean and --std have 2"
        + " values for the 3 channels of --image 3,48,192: give one (for every channel) or 3",
    "--modality IMAGE --image 1,48,192 --std 0.5,0.5|--std has 2 values for the 1 channel of"
        + " --image 1,48,192: give one",
    "--modality SPEECH --frame 0|--frame must be >= 1, was 0",
    "--modality SPEECH --frame 512 --context -1|--context must be >= 0, was -1",
  })
  void adapterOptionsAreNamedAsTheCliNamesThem(String args, String message) {
    assertBadInput(message, ("peer serve --port 0 --model m.onnx " + args).split(" "));
  }

  @ParameterizedTest(name = "{0}")
  @CsvSource(delimiter = '|', value = {
    "--text hello|--text needs --tokenizer FILE or --preset NAME (minilm)",
    "--tokenizer t.json|--tokenizer applies to --text",
    "--preset minilm|--preset applies to --text",
    "--preset minilm --text hello --shape 1,2|--shape applies to random inputs",
    "--preset minilm --text hello --modality IMAGE|--text sends TEXT, not IMAGE",
    "--preset nope --text hello|--preset must be one of minilm",
    "--repeat 0|--repeat must be in [1, 10000]",
    "--tokenizer classpath:/nope.json --text hello|/nope.json is not on the class path",
    "--peer-key abc|--peer-key: ",
  })
  void badQueryOptionsExitTwoWithOneLine(String args, String message) {
    assertBadInput(message, ("peer query --endpoint http://127.0.0.1:9 " + args).split(" "));
  }

  @Test
  void unreadableTokenizerIsBadInput() throws IOException {
    Path bad = Files.writeString(dir.resolve("tokenizer.json"), "{ not json");
    assertBadInput("not a usable tokenizer.json", "peer", "query", "--endpoint", "http://127.0.0.1:9",
        "--tokenizer", bad.toString(), "--text", "hello");
  }

  /**
   * A folder given as the tokenizer is named with its option, and the tokenizer's own words say
   * what to give instead (the JDK's "Is a directory" named neither).
   */
  @Test
  void aTokenizerThatIsAFolderIsNamedWithItsOption() {
    CliRunner r = CliRunner.run("peer", "query", "--endpoint", "http://127.0.0.1:9",
        "--tokenizer", dir.toString(), "--text", "hello");
    assertEquals(2, r.exitCode(), r.out() + r.err());
    assertEquals("bittensor: --tokenizer " + dir + ": tokenizer file " + dir + " is a folder;"
        + " give the tokenizer.json in it", r.err().trim());
  }

  @Test
  void helpListsTheModelOptionsByModality() {
    CliRunner r = CliRunner.run("peer", "serve", "--help");
    assertEquals(0, r.exitCode());
    for (String s : new String[] {"--preset=NAME", "minilm", "TEXT models:", "IMAGE models:", "SPEECH models:",
        "The answer:", "--constant=NAME=VALUE:TYPE", "--image=C,H,W "}) {
      assertTrue(r.out().contains(s), s + " in " + r.out());
    }
  }

  private static void assertBadInput(String message, String... args) {
    CliRunner r = CliRunner.run(args);
    assertEquals(2, r.exitCode(), r.out() + r.err());
    assertEquals(1, r.err().lines().count(), r.err());
    assertTrue(r.err().startsWith("bittensor: ") && r.err().contains(message), r.err());
  }
}
