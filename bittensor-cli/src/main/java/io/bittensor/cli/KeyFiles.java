package io.bittensor.cli;

import io.bittensor.core.Keypair;
import java.io.Console;
import java.io.IOException;
import java.io.InputStream;
import java.nio.ByteBuffer;
import java.nio.charset.CharacterCodingException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermission;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.Arrays;
import java.util.EnumSet;
import java.util.Set;

/**
 * Key files as the commands read them: a sealed one opens with the passphrase in a file named by
 * an option, or asked on the terminal when there is one.
 */
final class KeyFiles {
  private static final Set<PosixFilePermission> OWNER = EnumSet.of(PosixFilePermission.OWNER_READ,
      PosixFilePermission.OWNER_WRITE, PosixFilePermission.OWNER_EXECUTE);

  private static final int MAX_PASSPHRASE_FILE_BYTES = 4096;

  private KeyFiles() {}

  /**
   * The key in {@code key}; a sealed one with the passphrase in {@code passphraseFile}, or asked
   * on the terminal.
   *
   * @param passphraseOption how the user names a passphrase file here, for the error message
   * @throws CliException (bad input) for a key that does not read or a wrong passphrase
   */
  static Keypair load(Path key, Path passphraseFile, String passphraseOption) {
    try {
      if (!Keypair.isSealed(key)) {
        return Keypair.load(key);
      }
      char[] passphrase = passphraseFile != null
          ? readPassphraseFile(passphraseFile)
          : ask("passphrase for " + key + ": ", key + " is sealed under a passphrase: give "
              + passphraseOption + " FILE (or run on a terminal to be asked for it)");
      try {
        return Keypair.load(key, passphrase);
      } finally {
        Arrays.fill(passphrase, '\0');
      }
    } catch (NoSuchFileException e) {
      throw CliException.badInput(e.getReason() != null ? e.getReason() + ": " + e.getFile()
          : "no such key file: " + key, e);
    } catch (IOException e) {
      throw CliException.badInput(e.getMessage(), e);
    }
  }

  /**
   * A passphrase to seal a new key under: the first line of {@code passphraseFile}, or typed
   * twice on the terminal.
   */
  static char[] newPassphrase(Path passphraseFile, Path key) {
    if (passphraseFile != null) {
      try {
        return readPassphraseFile(passphraseFile);
      } catch (NoSuchFileException e) {
        throw CliException.badInput("no such passphrase file: " + passphraseFile, e);
      } catch (IOException e) {
        throw CliException.badInput(e.getMessage(), e);
      }
    }
    String none = "no terminal to ask for a passphrase: give --passphrase-file FILE";
    char[] first = ask("passphrase for " + key + ": ", none);
    char[] again = ask("the same again: ", none);
    try {
      if (!Arrays.equals(first, again)) {
        Arrays.fill(first, '\0');
        throw CliException.badInput("the two passphrases differ; nothing was written", null);
      }
      return first;
    } finally {
      Arrays.fill(again, '\0');
    }
  }

  /**
   * The first line of a passphrase file, which only its owner may read (as a key file), and which
   * must not be empty; or of a pipe such as {@code /dev/stdin}.
   */
  static char[] readPassphraseFile(Path file) throws IOException {
    if (!Files.exists(file)) {
      throw new NoSuchFileException(file.toString(), null, "no such passphrase file");
    }
    // A regular file must be its owner's only; a pipe (/dev/stdin, <(...)) is read as it is.
    if (Files.isRegularFile(file)
        && Files.getFileStore(file).supportsFileAttributeView("posix")) {
      Set<PosixFilePermission> perms = Files.getPosixFilePermissions(file);
      if (!OWNER.containsAll(perms)) {
        throw new IOException("passphrase file " + file + " has permissions "
            + PosixFilePermissions.toString(perms) + "; expected its owner's only (chmod 600)");
      }
    }
    // Read at most a few KiB: a passphrase is one line, and the file may be a pipe (/dev/stdin).
    byte[] bytes;
    try (InputStream in = Files.newInputStream(file)) {
      bytes = in.readNBytes(MAX_PASSPHRASE_FILE_BYTES + 1);
    }
    try {
      if (bytes.length > MAX_PASSPHRASE_FILE_BYTES) {
        throw new IOException("passphrase file " + file + " has more than "
            + MAX_PASSPHRASE_FILE_BYTES + " bytes; its first line is the passphrase");
      }
      int end = 0;
      while (end < bytes.length && bytes[end] != '\n') { // never inside a UTF-8 sequence
        end++;
      }
      String line;
      try {
        // The first line decoded strictly: each byte that is not UTF-8 read as U+FFFD made
        // passphrases that differ in those bytes one and the same.
        line = StandardCharsets.UTF_8.newDecoder().decode(ByteBuffer.wrap(bytes, 0, end))
            .toString();
      } catch (CharacterCodingException e) {
        throw new IOException("passphrase file " + file + " is not UTF-8 text", e);
      }
      if (line.endsWith("\r")) {
        line = line.substring(0, line.length() - 1);
      }
      if (line.isEmpty()) {
        throw new IOException("passphrase file " + file + " is empty (its first line is the"
            + " passphrase)");
      }
      return line.toCharArray();
    } finally {
      Arrays.fill(bytes, (byte) 0);
    }
  }

  private static char[] ask(String prompt, String noTerminal) {
    Console console = System.console();
    if (console == null) {
      throw CliException.badInput(noTerminal, null);
    }
    char[] typed = console.readPassword("%s", prompt);
    if (typed == null || typed.length == 0) {
      throw CliException.badInput("no passphrase given", null);
    }
    return typed;
  }
}
