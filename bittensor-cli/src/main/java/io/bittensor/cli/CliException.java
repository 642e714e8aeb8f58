package io.bittensor.cli;

/**
 * A failure a command reports as one line on stderr: bad input (exit code 2) or a failure at
 * run time (exit code 1).
 */
public final class CliException extends RuntimeException {
  private static final long serialVersionUID = 1L;
  private final boolean badInput;

  private CliException(String message, Throwable cause, boolean badInput) {
    super(message, cause);
    this.badInput = badInput;
  }

  /** Bad input: a file that does not parse, a value out of range. Exit code 2. */
  public static CliException badInput(String message, Throwable cause) {
    return new CliException(message, cause, true);
  }

  /** A failure at run time: I/O, a peer that did not answer. Exit code 1. */
  public static CliException failure(String message, Throwable cause) {
    return new CliException(message, cause, false);
  }

  /**
   * A ledger client that could not connect to {@code uri}: the client's words, which name the
   * address already when they say it cannot be reached, or the address and then its words.
   */
  static CliException ledgerUnreachable(Object uri, Exception e) {
    String message = String.valueOf(e.getMessage());
    return failure(message.startsWith("cannot reach ") ? message
        : "cannot reach the ledger at " + uri + ": " + message, e);
  }

  /**
   * What went wrong with a file, in words: the JDK's exceptions for a missing, unreadable or
   * existing file name only the file, which the caller's message names already.
   */
  static String why(java.io.IOException e) {
    if (e instanceof java.nio.file.FileSystemException fs && fs.getReason() == null) {
      String what = e instanceof java.nio.file.NoSuchFileException ? "no such file"
          : e instanceof java.nio.file.AccessDeniedException ? "permission denied"
          : e instanceof java.nio.file.FileAlreadyExistsException ? "exists"
          : e instanceof java.nio.file.NotDirectoryException ? "not a folder"
          : e.getClass().getSimpleName();
      return fs.getOtherFile() == null ? what + ": " + fs.getFile()
          : what + ": " + fs.getFile() + " -> " + fs.getOtherFile();
    }
    if (IS_A_FOLDER.equals(e.getMessage())) {
      return "a folder, not a file"; // reading a folder: the OS's words, with no file named
    }
    return String.valueOf(e.getMessage());
  }

  /** The JDK's whole message for reading a folder as a file (EISDIR), naming no file. */
  private static final String IS_A_FOLDER = "Is a directory";

  /**
   * True when {@code e} is about the file the user named (missing, unreadable, a folder), not a
   * failure of the disk or of the process: a bad input, exit code 2.
   */
  static boolean aboutTheFile(java.io.IOException e) {
    return e instanceof java.nio.file.FileSystemException fs && fs.getReason() == null
        || IS_A_FOLDER.equals(e.getMessage());
  }

  /** True for bad input (exit code 2). */
  public boolean badInput() {
    return badInput;
  }
}
