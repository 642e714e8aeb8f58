package io.bittensor.cli.internal;

import java.io.Closeable;
import java.io.IOException;
import java.nio.file.Path;
import java.time.Clock;

/**
 * A log of events, one JSON object a line, each starting with its {@code time}: what the access
 * log and the submission log share. Lines reach the file as {@link JsonLinesFile} writes them.
 */
public abstract class JsonLinesLog implements Closeable {
  private final JsonLinesFile lines;
  private final Clock clock;

  /**
   * Opens {@code file} for appending.
   *
   * @param what what the log is, for messages: "the access log"
   * @throws IOException when it cannot be opened for writing, naming it
   */
  JsonLinesLog(Path file, String what, Clock clock) throws IOException {
    this.lines = JsonLinesFile.open(file, what);
    this.clock = clock;
  }

  /** The file written. */
  public final Path file() {
    return lines.file();
  }

  /** The lines that could not be written. */
  public final long lost() {
    return lines.lost();
  }

  /** Appends a line: the time now, then {@code fields}. */
  final void append(JsonLinesFile.Fields fields) {
    lines.append(json -> {
      json.writeStringField("time", clock.instant().toString());
      fields.write(json);
    });
  }

  /** Closes the file; events after are not logged. */
  @Override
  public final void close() throws IOException {
    lines.close();
  }
}
