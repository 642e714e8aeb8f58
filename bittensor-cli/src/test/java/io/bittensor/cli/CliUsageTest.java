package io.bittensor.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;
import picocli.CommandLine;

/**
 * Every command answers {@code --help} with its usage and exit code 0, and every bad invocation
 * exits non-zero with one line on stderr that says what is wrong. The commands are read from
 * the command line itself, so that a new one is covered without editing this test.
 */
class CliUsageTest {
  /** Every command's path from the root, e.g. ["ledger", "serve"]; the root is []. */
  static List<List<String>> commandPaths() {
    CommandLine root = Main.commandLine(new PrintWriter(new StringWriter()),
        new PrintWriter(new StringWriter()), false);
    List<List<String>> out = new ArrayList<>();
    walk(root, new ArrayList<>(), out);
    return out;
  }

  private static void walk(CommandLine cli, List<String> path, List<List<String>> out) {
    out.add(List.copyOf(path));
    cli.getSubcommands().forEach((name, sub) -> {
      if (sub.getCommandSpec().userObject() instanceof CommandLine.HelpCommand) {
        return;
      }
      path.add(name);
      walk(sub, path, out);
      path.remove(path.size() - 1);
    });
  }

  static Stream<Arguments> everyCommand() {
    return commandPaths().stream().map(p -> Arguments.of(String.join(" ", p), p));
  }

  static Stream<Arguments> everyLeafCommand() {
    List<List<String>> all = commandPaths();
    return all.stream()
        .filter(p -> all.stream().noneMatch(q -> q.size() == p.size() + 1
            && q.subList(0, p.size()).equals(p)))
        .map(p -> Arguments.of(String.join(" ", p), p));
  }

  static String[] args(List<String> path, String... more) {
    List<String> all = new ArrayList<>(path);
    all.addAll(Arrays.asList(more));
    return all.toArray(String[]::new);
  }

  @ParameterizedTest(name = "bittensor {0} --help")
  @MethodSource("everyCommand")
  void helpPrintsTheUsageAndExitsZero(String name, List<String> path) {
    CliRunner r = CliRunner.run(args(path, "--help"));
    assertEquals(0, r.exitCode(), r.err());
    assertTrue(r.out().startsWith("Usage: bittensor" + (name.isEmpty() ? "" : " " + name)),
        r.out());
    assertEquals("", r.err());
  }

  /** picocli labels a value by its field's name ({@code --port=<port>}) unless told better. */
  @ParameterizedTest(name = "bittensor {0} --help")
  @MethodSource("everyCommand")
  void everyOptionsValueHasALabel(String name, List<String> path) {
    Matcher m = Pattern.compile("--[a-z0-9-]+=<[A-Za-z]+>").matcher(
        CliRunner.run(args(path, "--help")).out());
    assertFalse(m.find(), () -> "give it a paramLabel (URL, FILE, N, ...): " + m.group());
  }

  @ParameterizedTest(name = "bittensor {0} --no-such-option")
  @MethodSource("everyLeafCommand")
  void anUnknownOptionIsBadInputNamedOnStderr(String name, List<String> path) {
    CliRunner r = CliRunner.run(args(path, "--no-such-option"));
    // picocli names a missing required option or parameter before an unknown one.
    assertBadInput(r, r.err().contains("Missing required") ? "Missing required"
        : "--no-such-option");
  }

  static Stream<Arguments> badInvocations() {
    return Stream.of(
        Arguments.of("no-such-command", "no-such-command"),
        Arguments.of("incentive step", "--state"),
        Arguments.of("incentive step --state no-such-state.json", "no such file"),
        Arguments.of("incentive step --state - --epochs 0", "--epochs must be >= 1"),
        Arguments.of("incentive step --state x.json --mechanism nope", "nope"),
        Arguments.of("incentive bench", "--n"),
        Arguments.of("incentive bench --n 10 --epochs 0", "--epochs must be >= 1"),
        Arguments.of("incentive bench --n many", "many"),
        Arguments.of("simulate collusion --honest-share 1.5", "honest share must be in (0, 1)"),
        Arguments.of("demo --epochs 0", "--epochs"),
        Arguments.of("demo --models NOPE", "NOPE"),
        Arguments.of("demo --per-era 2147483647 --test-per-era 1",
            "has 852 passages, fewer than 2147483647"),
        Arguments.of("neuron run", "--config"),
        Arguments.of("neuron run --config no-such.properties", "no such config file"),
        Arguments.of("ledger init", "--data"),
        Arguments.of("ledger serve --data no-such-dir --block-ms 0", "--block-ms must be >= 1"),
        Arguments.of("ledger serve --data no-such-dir --metrics-port 70000",
            "--metrics-port must be 0 to 65535, was 70000"),
        Arguments.of("ledger serve --data no-such-dir --tls-reload PT1M",
            "--tls-reload needs --tls KEY CERT"),
        Arguments.of("ledger serve --data no-such-dir --client-cert a.key a.pem --tls-reload PT1M",
            "--tls-reload needs --tls KEY CERT"),
        Arguments.of("ledger serve --upstream http://127.0.0.1:1 --client-cert a.key a.pem"
            + " --tls-reload PT0S", "--tls-reload must be positive, was PT0S"),
        Arguments.of("ledger serve --upstream http://127.0.0.1:1 --client-cert a.key a.pem"
            + " --tls-reload PT9999999999999999S", "--tls-reload must be at most"),
        Arguments.of("peer serve --port 0 --tls a.key a.pem --tls-reload PT9999999999999999S",
            "--tls-reload must be at most"),
        Arguments.of("peer serve --port 0 --tls-client-ca ca.pem",
            "--tls-client-ca needs --tls KEY CERT"),
        Arguments.of("ledger show --remote https://127.0.0.1:1 --client-cert no.key no.pem",
            "--client-cert no such file: no.key"),
        Arguments.of("ledger show", "--data DIR or --remote URL"),
        Arguments.of("ledger show --data no-such-dir", "is not a directory"),
        Arguments.of("ledger members --chain " + "ab".repeat(32) + " --via a=127.0.0.1:99999",
            "--via a=127.0.0.1:99999: the address must be HOST:PORT"),
        Arguments.of("ledger serve --data no-such-dir --raft-self a --raft-member"
            + " a=127.0.0.1:65536 --created-at 2026-01-01T00:00:00Z",
            "--raft-member a=127.0.0.1:65536: the address must be HOST:PORT"),
        Arguments.of("keys new", "FILE"),
        Arguments.of("keys show no-such.key", "no such key file"),
        Arguments.of("peer query", "--endpoint"),
        Arguments.of("peer query --endpoint 127.0.0.1:8091",
            "Invalid value for option '--endpoint': '127.0.0.1:8091' is not a URL (Illegal"
                + " character in scheme name at index 0); give one such as"
                + " http://127.0.0.1:8091"),
        Arguments.of("ledger show --remote 10.0.0.2:8092",
            "'10.0.0.2:8092' is not a URL (Illegal character in scheme name at index 0); give"
                + " one such as http://10.0.0.2:8092"),
        Arguments.of("peer serve --port 70000", "70000"),
        Arguments.of("peer serve --port 0 --host 127.0.0.1 --stop-after PT9999999999999999S",
            "--stop-after must be at most"));
  }

  @ParameterizedTest(name = "bittensor {0}")
  @MethodSource("badInvocations")
  void aBadInvocationExitsNonZeroWithOneLineThatSaysWhy(String line, String mention) {
    assertBadInput(CliRunner.run(line.split(" ")), mention);
  }

  /** A config that is a folder, not UTF-8 or badly escaped is named, with what is wrong. */
  @Test
  void aNeuronConfigThatDoesNotReadIsNamed(@TempDir Path dir) throws IOException {
    assertBadInput(CliRunner.run("neuron", "run", "--config", dir.toString()),
        "cannot read the config file " + dir + ": ");
    Path latin1 = Files.write(dir.resolve("latin1.properties"),
        new byte[] {'k', 'e', 'y', '=', 'c', 'a', 'f', (byte) 0xe9, '\n'});
    assertBadInput(CliRunner.run("neuron", "run", "--config", latin1.toString()),
        latin1 + " is not UTF-8 text");
    Path escape = Files.writeString(dir.resolve("escape.properties"), "key=\\u00zz\n");
    assertBadInput(CliRunner.run("neuron", "run", "--config", escape.toString()),
        escape + ": Malformed \\uxxxx encoding");
  }

  /** A --report that is a file is refused before the market runs, and left as it was. */
  @Test
  void aDemoReportThatIsAFileIsRefusedFirst(@TempDir Path dir) throws IOException {
    Path file = Files.writeString(dir.resolve("report"), "mine");
    assertBadInput(CliRunner.run("demo", "--models", ",", "--epochs", "1", "--steps", "1",
        "--per-era", "1", "--test-per-era", "1", "--no-cache", "--report", file.toString()),
        "--report " + file + " is a file, not a folder");
    assertEquals("mine", Files.readString(file));
  }

  /**
   * A --cache that is a file is refused before a model embeds a passage, and left as it was: it
   * failed once the first model's answers were to be written, exit code 1 and a line naming
   * only the file.
   */
  @Test
  void aDemoCacheThatIsAFileIsRefusedFirst(@TempDir Path dir) throws IOException {
    Path file = Files.writeString(dir.resolve("cache"), "mine");
    assertBadInput(CliRunner.run("demo", "--models", "MINILM", "--epochs", "1", "--steps", "1",
        "--per-era", "1", "--test-per-era", "1", "--cache", file.toString(), "--report",
        dir.resolve("report").toString()), "--cache " + file + " is a file, not a folder");
    assertEquals("mine", Files.readString(file));
  }

  /**
   * Each command is shown in this module's README as it is typed, in a synopsis ({@code
   * bittensor.jar ledger audit ...}) or under a heading of its own ({@code ## `bittensor ledger
   * transfer|register|...`}): a command found only in {@code --help} or in another document is
   * easily missed, as {@code ledger blocks} and {@code ledger audit} were.
   */
  @Test
  void theReadmeShowsEveryCommand() throws IOException {
    String readme = Files.readString(Path.of("README.md"));
    Matcher headings =
        Pattern.compile("(?m)^#+ `bittensor ((?:[a-z]+ )*)([a-z|]+)`").matcher(readme);
    List<String> headed = new ArrayList<>();
    while (headings.find()) {
      for (String name : headings.group(2).split("\\|")) {
        headed.add(headings.group(1) + name);
      }
    }
    List<String> missing = everyLeafCommand().map(a -> (String) a.get()[0])
        .filter(c -> !readme.contains("bittensor.jar " + c + " ") && !headed.contains(c))
        .toList();
    assertEquals(List.of(), missing, "commands bittensor-cli/README.md does not show");
  }

  /**
   * The README's config template, copied as it is: each comment on a line of its own (a
   * properties file has no comments after a value; "probes   # or ..." was the value), and the
   * keys it leaves empty taken as their defaults. Only the ledger, which nothing serves here, is
   * missing.
   */
  @Test
  void theReadmesNeuronConfigReadsAsWritten(@TempDir Path dir) throws IOException {
    String readme = Files.readString(Path.of("README.md"));
    int start = readme.indexOf("```properties\n") + "```properties\n".length();
    String template = readme.substring(start, readme.indexOf("```", start));
    assertTrue(template.contains("\nkey=neuron-1.key\n") && template.contains(
        "\nledger=http://127.0.0.1:8092\n") && template.contains("\ncheckpoint-dir=\n"),
        template);
    assertEquals(0, CliRunner.run("keys", "new", dir.resolve("neuron-1.key").toString())
        .exitCode());
    Path config = Files.writeString(dir.resolve("neuron.properties"), template
        .replace("\nkey=neuron-1.key\n", "\nkey=" + dir.resolve("neuron-1.key") + "\n")
        .replace("\nledger=http://127.0.0.1:8092\n", "\nledger=http://127.0.0.1:1\n"));
    CliRunner r = CliRunner.run("neuron", "run", "--config", config.toString(),
        "--ledger-wait", "PT0S");
    assertEquals(1, r.exitCode(), r.err());
    assertTrue(r.err().startsWith("bittensor: cannot reach the ledger at http://127.0.0.1:1"),
        r.err());
  }

  @Test
  void aNeuronConfigNamesAnUnknownWeightSource(@TempDir Path dir) throws IOException {
    Path config = dir.resolve("neuron.properties");
    Files.writeString(config, "weight-source=nope\n");
    assertBadInput(CliRunner.run("neuron", "run", "--config", config.toString()),
        "weight-source must be probes, gate-importance, pruning-score,"
            + " compensated-pruning-score, stand-in-pruning-score or rerouted-loss, was \"nope\"");
  }

  @Test
  void aNeuronConfigRefusesACheckpointDirThatIsAFile(@TempDir Path dir) throws IOException {
    Path file = Files.writeString(dir.resolve("state"), "not a folder");
    Path config = dir.resolve("neuron.properties");
    Files.writeString(config, "checkpoint-dir=" + file + "\n");
    assertBadInput(CliRunner.run("neuron", "run", "--config", config.toString()),
        "checkpoint-dir " + file + " is a file, not a folder");
  }

  @Test
  void aNeuronConfigRefusesAnAccessLogItCannotOpen(@TempDir Path dir) throws IOException {
    Path config = neuronConfig(dir, "ledger=http://127.0.0.1:1\naccess-log=" + dir + "\n");
    assertBadInput(CliRunner.run("neuron", "run", "--config", config.toString()),
        "access-log: the access log " + dir + " is a directory");
    Path missing = dir.resolve("no-such-folder").resolve("calls.jsonl");
    config = neuronConfig(Files.createDirectory(dir.resolve("second")),
        "ledger=http://127.0.0.1:1\naccess-log=" + missing + "\n");
    assertBadInput(CliRunner.run("neuron", "run", "--config", config.toString()),
        "cannot open the access log " + missing);
  }

  @Test
  void ledgerServeRefusesALogItCannotOpenBeforeOpeningTheLedger(@TempDir Path dir) {
    Path data = dir.resolve("ledger");
    assertBadInput(CliRunner.run("ledger", "serve", "--data", data.toString(), "--port", "0",
        "--submission-log", dir.toString()),
        "--submission-log: the submission log " + dir + " is a directory");
    Path missing = dir.resolve("no-such-folder").resolve("submissions.jsonl");
    assertBadInput(CliRunner.run("ledger", "serve", "--data", data.toString(), "--port", "0",
        "--submission-log", missing.toString()), "cannot open the submission log " + missing);
    assertFalse(Files.exists(data), "no ledger was made for a command line that is wrong");
    assertBadInput(CliRunner.run("ledger", "serve", "--data", data.toString(), "--port", "0",
        "--submission-log", dir.resolve("fine.jsonl").toString(), "--access-log",
        dir.toString()), "--access-log: the access log " + dir + " is a directory");
    assertFalse(Files.exists(data));
  }

  /** A neuron config with a new key, a noise peer and {@code more} lines. */
  private static Path neuronConfig(Path dir, String more) throws IOException {
    Path key = dir.resolve("n.key");
    io.bittensor.core.Keypair.generate().save(key);
    return Files.writeString(dir.resolve("neuron.properties"),
        "key=" + key + "\npeer=noise\n" + more);
  }

  /**
   * A sealed key opens with key-passphrase-file (the neuron goes on to its ledger), not without.
   */
  @Test
  void aNeuronConfigOpensASealedKeyWithItsPassphraseFile(@TempDir Path dir) throws Exception {
    Path key = dir.resolve("sealed.key");
    io.bittensor.core.Keypair.generate().save(key, "neuron pass".toCharArray(),
        io.bittensor.core.KeyProtection.argon2id(64, 1, 1));
    Path pass = KeysCommandTest.passphraseFile(dir, "neuron pass\n");
    Path config = dir.resolve("neuron.properties");
    String lines = "key=" + key + "\npeer=noise\nledger=http://127.0.0.1:1\n";
    Files.writeString(config, lines);
    assertBadInput(CliRunner.run("neuron", "run", "--config", config.toString()),
        "key: " + key + " is sealed under a passphrase: give key-passphrase-file= FILE");
    Files.writeString(config, lines + "key-passphrase-file=" + pass + "\n");
    CliRunner r = CliRunner.run("neuron", "run", "--config", config.toString(),
        "--ledger-wait", "PT0S");
    assertEquals(Main.EXIT_FAILURE, r.exitCode(), r.err());
    assertTrue(r.err().contains("cannot reach the ledger at http://127.0.0.1:1"), r.err());
    assertEquals(1, r.err().split("cannot reach", -1).length - 1, "said once: " + r.err());
  }

  @Test
  void aNeuronConfigNamesALearnThatIsNeitherTrueNorFalse(@TempDir Path dir) throws IOException {
    Path config = neuronConfig(dir, "ledger=http://127.0.0.1:1\nlearn=yes\n");
    assertBadInput(CliRunner.run("neuron", "run", "--config", config.toString()),
        "learn must be true or false, was \"yes\"");
  }

  /** Said before the model loads and the ledger is reached: not "cannot reach the ledger". */
  @Test
  void aLearningNeuronOfAnotherOutputDimIsRefusedBeforeItReachesTheLedger(@TempDir Path dir)
      throws IOException {
    Path config = neuronConfig(dir, "ledger=http://127.0.0.1:1\nlearn=true\noutput-dim=16\n");
    assertBadInput(CliRunner.run("neuron", "run", "--config", config.toString()),
        "learn=true needs output-dim 384");
  }

  /** A number past an int is refused, not narrowed to another (4294967296 to port 0). */
  @Test
  void aNeuronConfigRefusesNumbersThatWouldWrapAround(@TempDir Path dir) throws IOException {
    for (String line : List.of("port=4294967296", "port=-4294967295", "per-era=4294967297",
        "max-tokens=4294967328", "output-dim=4294967312")) {
      Path config = neuronConfig(Files.createDirectories(dir.resolve(line.replace('=', '_'))),
          "ledger=http://127.0.0.1:1\n" + line + "\n");
      assertBadInput(CliRunner.run("neuron", "run", "--config", config.toString()),
          line.substring(0, line.indexOf('=')));
    }
  }

  /**
   * A model that does not load is the config's mistake, as for peer serve (exit 2), and the
   * access log opened before it is closed again.
   */
  @Test
  void aNeuronWhoseModelDoesNotLoadNamesItAndClosesItsAccessLog(@TempDir Path dir)
      throws IOException {
    Path model = dir.resolve("no-such.onnx");
    Path calls = dir.resolve("calls.jsonl");
    Path config = neuronConfig(dir, "ledger=http://127.0.0.1:1\naccess-log=" + calls + "\n");
    Files.writeString(config, Files.readString(config).replace("peer=noise",
        "peer=onnx:" + model));
    assertBadInput(CliRunner.run("neuron", "run", "--config", config.toString()),
        "peer: model file " + model);
    Path fds = Path.of("/proc/self/fd");
    org.junit.jupiter.api.Assumptions.assumeTrue(Files.isDirectory(fds), "no /proc here");
    List<Path> open = new ArrayList<>();
    try (Stream<Path> each = Files.list(fds)) {
      for (Path fd : each.toList()) {
        try {
          open.add(Files.readSymbolicLink(fd));
        } catch (IOException e) {
          // closed while listed
        }
      }
    }
    assertFalse(open.contains(calls.toAbsolutePath()), "still open: " + calls);
  }

  @Test
  void aNeuronConfigNamesALedgerAddressThatIsNotAServer(@TempDir Path dir) throws IOException {
    Path config = neuronConfig(dir, "ledger=http://127.0.0.1:1,ftp://x:2\n");
    assertBadInput(CliRunner.run("neuron", "run", "--config", config.toString()),
        "ledger: a ledger server is at http://host:port or https://host:port, was ftp://x:2");
  }

  @Test
  void aNeuronThatReachesNoneOfItsLedgerServersNamesEach(@TempDir Path dir) throws IOException {
    Path config = neuronConfig(dir, "ledger=http://127.0.0.1:1, http://127.0.0.1:2\n");
    CliRunner r = CliRunner.run("neuron", "run", "--config", config.toString(),
        "--ledger-wait", "PT0S");
    assertEquals(Main.EXIT_FAILURE, r.exitCode(), r.err());
    assertTrue(r.err().contains("cannot reach any of the ledger servers")
        && r.err().contains("127.0.0.1:1") && r.err().contains("127.0.0.1:2"), r.err());
  }

  @Test
  void aNeuronConfigWithATlsKeyNeedsItsCertificate(@TempDir Path dir) throws IOException {
    Path config = neuronConfig(dir, "ledger=http://127.0.0.1:1\ntls-key=peer.key\n");
    assertBadInput(CliRunner.run("neuron", "run", "--config", config.toString()),
        "tls-key and tls-cert go together (the server's key and its certificate chain), but"
            + " only tls-key is set");
  }

  @Test
  void aNeuronConfigAsksForClientCertificatesOnlyWithTlsFiles(@TempDir Path dir)
      throws IOException {
    Path config = neuronConfig(dir, "ledger=http://127.0.0.1:1\ntls-client-ca=ca.pem\n");
    assertBadInput(CliRunner.run("neuron", "run", "--config", config.toString()),
        "tls-client-ca (mutual TLS) needs tls-key and tls-cert");
  }

  @Test
  void aNeuronConfigShowsAClientCertificateOnlyWithItsKey(@TempDir Path dir) throws IOException {
    Path config = neuronConfig(dir, "ledger=http://127.0.0.1:1\ntls-client-cert=client.pem\n");
    assertBadInput(CliRunner.run("neuron", "run", "--config", config.toString()),
        "tls-client-key and tls-client-cert go together (the certificate shown to servers that"
            + " ask for one), but only tls-client-cert is set");
    config = neuronConfig(Files.createDirectories(dir.resolve("files")),
        "ledger=http://127.0.0.1:1\ntls-client-key=no.key\ntls-client-cert=no.pem\n");
    assertBadInput(CliRunner.run("neuron", "run", "--config", config.toString()),
        "tls-client-key/tls-client-cert: no such file: ");
  }

  @Test
  void aNeuronConfigReloadsTlsOnlyWithTlsFiles(@TempDir Path dir) throws IOException {
    Path config = neuronConfig(dir, "ledger=http://127.0.0.1:1\ntls-reload-ms=60000\n");
    assertBadInput(CliRunner.run("neuron", "run", "--config", config.toString()),
        "tls-reload-ms must be >= 1 and needs tls-key and tls-cert or tls-client-key and"
            + " tls-client-cert, was 60000 without them");
  }

  @Test
  void aNeuronConfigNamesALedgerChainThatIsNotOne(@TempDir Path dir) throws IOException {
    Path config = neuronConfig(dir, "ledger=http://127.0.0.1:1\nledger-chain=xyz\n");
    assertBadInput(CliRunner.run("neuron", "run", "--config", config.toString()),
        "ledger-chain: ");
  }

  /** With ledger-chain, a neuron audits its ledger before it starts: another chain is refused. */
  @Test
  void aNeuronRefusesALedgerThatFailsItsAudit(@TempDir Path dir) throws IOException {
    try (io.bittensor.core.LocalLedger ledger = io.bittensor.core.LocalLedger.builder()
            .genesis(io.bittensor.core.Genesis.builder().chainName("audited")
                .createdAt(java.time.Instant.parse("2026-12-05T00:00:00Z"))
                .params(io.bittensor.core.LedgerParams.defaults()).build())
            .blocks(io.bittensor.core.BlockPolicy.manual()).openInMemory();
        io.bittensor.transport.LedgerServer server = io.bittensor.transport.LedgerServer
            .builder().ledger(ledger).host("127.0.0.1").port(0).start()) {
      Path config = neuronConfig(dir, "ledger=" + server.uri() + "\nledger-chain="
          + "ab".repeat(32) + "\n");
      CliRunner r = CliRunner.run("neuron", "run", "--config", config.toString());
      assertEquals(Main.EXIT_FAILURE, r.exitCode(), r.err());
      assertTrue(r.err().contains("fails its audit against chain " + "ab".repeat(32))
          && r.err().contains("not chain"), r.err());
    }
  }

  @CommandLine.Command(name = "fail")
  private record Failing(Error error) implements Runnable {
    @Override
    public void run() {
      throw error;
    }
  }

  /** An Error in a command is one line naming it, exit code 1, not a stack trace. */
  @Test
  void anErrorInACommandIsOneLineNamingIt() {
    for (Error error : List.of(new OutOfMemoryError("Java heap space"), new StackOverflowError(),
        new NoClassDefFoundError("org/example/Missing"))) {
      StringWriter out = new StringWriter();
      StringWriter err = new StringWriter();
      CommandLine cli = Main.commandLine(new PrintWriter(out, true), new PrintWriter(err, true),
          false);
      cli.addSubcommand("fail", new Failing(error));
      int code = Main.execute(cli, "fail");
      assertEquals(Main.EXIT_FAILURE, code, err.toString());
      assertEquals(1, err.toString().lines().count(), err.toString());
      assertTrue(err.toString().startsWith("bittensor: "), err.toString());
      String named = error instanceof OutOfMemoryError ? "-Xmx"
          : error instanceof StackOverflowError ? "stack overflow" : "org/example/Missing";
      assertTrue(err.toString().contains(named), err.toString());
    }
  }

  /**
   * An Error while picocli builds the command line, before any command runs: here the ONNX
   * module missing from the class path, so that reading the peer commands' options fails. It
   * ended in a stack trace; it is one line naming it now, exit code 1, as in a command.
   */
  @Test
  void anErrorSettingUpTheCommandLineIsOneLineNamingIt() throws Exception {
    try (WithoutOnnx withoutOnnx = new WithoutOnnx()) {
      StringWriter out = new StringWriter();
      StringWriter err = new StringWriter();
      Object code = Class.forName(Main.class.getName(), true, withoutOnnx)
          .getMethod("run", String[].class, PrintWriter.class, PrintWriter.class)
          .invoke(null, new String[] {"--version"}, new PrintWriter(out, true),
              new PrintWriter(err, true));
      assertEquals(Main.EXIT_FAILURE, code, err.toString());
      assertEquals(1, err.toString().lines().count(), err.toString());
      assertTrue(err.toString().startsWith("bittensor: NoClassDefFoundError: io/bittensor/onnx/"),
          err.toString());
    }
  }

  /** The test's class path less the ONNX module: its classes are not found. */
  private static final class WithoutOnnx extends java.net.URLClassLoader {
    WithoutOnnx() throws IOException {
      super(classPath(), ClassLoader.getPlatformClassLoader());
    }

    private static java.net.URL[] classPath() throws IOException {
      List<java.net.URL> urls = new ArrayList<>();
      for (String entry : System.getProperty("java.class.path").split(java.io.File.pathSeparator)) {
        urls.add(Path.of(entry).toUri().toURL());
      }
      return urls.toArray(new java.net.URL[0]);
    }

    @Override
    protected Class<?> findClass(String name) throws ClassNotFoundException {
      if (name.startsWith("io.bittensor.onnx.")) {
        throw new ClassNotFoundException(name);
      }
      return super.findClass(name);
    }
  }

  private static void assertBadInput(CliRunner r, String mention) {
    assertEquals(Main.EXIT_BAD_INPUT, r.exitCode(), "stderr: " + r.err() + " stdout: " + r.out());
    assertTrue(r.err().startsWith("bittensor: ") && r.err().contains(mention),
        "stderr names the problem (" + mention + "): " + r.err());
    assertEquals(1, r.err().strip().lines().count(), "one line: " + r.err());
  }
}
