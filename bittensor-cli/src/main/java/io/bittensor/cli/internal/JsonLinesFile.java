package io.bittensor.cli.internal;

import com.fasterxml.jackson.core.JsonFactory;
import com.fasterxml.jackson.core.JsonGenerator;
import java.io.ByteArrayOutputStream;
import java.io.Closeable;
import java.io.FileOutputStream;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.concurrent.atomic.AtomicLong;

/**
 * A file of JSON objects, one a line (JSON Lines), that lines are appended to from any thread.
 *
 * <p>Each line is one write to a file opened for appending, so a crash loses at most the line
 * being written, lines from several threads never interleave, and a file rotated by truncating
 * it in place ({@code logrotate}'s {@code copytruncate}) goes on at its new end. A line that
 * cannot be written (a full disk) is counted in {@link #lost()}, and the caller goes on. A line
 * cut short (by a crash, or a write that failed part way) keeps a line of its own: the next line
 * starts on a new one, so a reader loses the torn line and no other.
 *
 * <p>Thread-safe.
 */
final class JsonLinesFile implements Closeable {
  /** Writes one object's fields (the object's start and end are written around them). */
  @FunctionalInterface
  interface Fields {
    void write(JsonGenerator json) throws IOException;
  }

  private static final JsonFactory JSON = new JsonFactory();

  private final Path file;
  private final FileOutputStream out;
  private final AtomicLong lost = new AtomicLong();
  private boolean closed;
  /** Whether the file ends inside a line, which the next line must not continue. */
  private boolean endsMidLine;

  private JsonLinesFile(Path file, FileOutputStream out) {
    this.file = file;
    this.out = out;
    this.endsMidLine = endsMidLine(file);
  }

  /**
   * Opens {@code file} for appending, creating it if it does not exist (its directory must).
   *
   * @param what what the file is, for the message: "the access log"
   * @throws IOException when it cannot be opened for writing, naming it
   */
  static JsonLinesFile open(Path file, String what) throws IOException {
    if (Files.isDirectory(file)) {
      throw new IOException(what + " " + file + " is a directory");
    }
    try {
      return new JsonLinesFile(file, new FileOutputStream(file.toFile(), true));
    } catch (IOException e) {
      throw new IOException("cannot open " + what + " " + file + ": " + e.getMessage(), e);
    }
  }

  Path file() {
    return file;
  }

  /** The lines that could not be written. */
  long lost() {
    return lost.get();
  }

  /** Appends one object, made by {@code fields}, as one line; after {@link #close}, nothing. */
  void append(Fields fields) {
    byte[] line = line(fields);
    synchronized (this) {
      if (closed) {
        return; // what ends while its server closes: after the file, not in it
      }
      try {
        out.write(endsMidLine ? newLineFirst(line) : line); // one write: lines never interleave
        endsMidLine = false;
      } catch (IOException e) {
        lost.incrementAndGet();
        endsMidLine = endsMidLine(file); // the write may have got part of the line out
      }
    }
  }

  private static byte[] newLineFirst(byte[] line) {
    byte[] both = new byte[line.length + 1];
    both[0] = '\n';
    System.arraycopy(line, 0, both, 1, line.length);
    return both;
  }

  /** Whether {@code file} is a regular file whose last byte does not end a line. */
  private static boolean endsMidLine(Path file) {
    if (!Files.isRegularFile(file)) {
      return false; // a device or pipe: nothing to read back
    }
    try (FileChannel read = FileChannel.open(file, StandardOpenOption.READ)) {
      long size = read.size();
      ByteBuffer last = ByteBuffer.allocate(1);
      return size > 0 && read.read(last, size - 1) == 1 && last.get(0) != '\n';
    } catch (IOException e) {
      return false; // unreadable: write as if whole, as before
    }
  }

  private static byte[] line(Fields fields) {
    ByteArrayOutputStream bytes = new ByteArrayOutputStream(256);
    try (JsonGenerator json = JSON.createGenerator(bytes)) {
      json.writeStartObject();
      fields.write(json);
      json.writeEndObject();
    } catch (IOException e) {
      throw new UncheckedIOException(e); // into memory: does not happen
    }
    bytes.write('\n');
    return bytes.toByteArray();
  }

  /** Closes the file; lines appended after are not written. */
  @Override
  public synchronized void close() throws IOException {
    if (!closed) {
      closed = true;
      out.close();
    }
  }
}
