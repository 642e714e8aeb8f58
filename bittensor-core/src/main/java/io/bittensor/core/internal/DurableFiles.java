package io.bittensor.core.internal;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.util.Locale;
import java.util.Objects;

/**
 * Files written whole or not at all, and durable once written: a crash at any point leaves
 * either the old file or the new one, never half of either.
 */
public final class DurableFiles {
  private DurableFiles() {}

  /**
   * Replaces {@code file} with {@code bytes}: a temporary file in the same folder, written and
   * forced to disk, moved over {@code file} atomically, then the folder forced so that the move
   * survives a crash too. The temporary file is removed if anything fails.
   *
   * @throws IOException if the file cannot be written; {@code file} is then as it was
   */
  public static void replace(Path file, byte[] bytes) throws IOException {
    Objects.requireNonNull(file, "file");
    Objects.requireNonNull(bytes, "bytes");
    Path dir = file.toAbsolutePath().getParent();
    Path tmp = Files.createTempFile(dir, "." + file.getFileName(), ".tmp");
    try {
      try (FileChannel ch = FileChannel.open(tmp, StandardOpenOption.WRITE)) {
        ByteBuffer buf = ByteBuffer.wrap(bytes);
        while (buf.hasRemaining()) {
          ch.write(buf);
        }
        ch.force(true);
      }
      Files.move(tmp, file, StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE);
      syncDirectory(dir);
    } finally {
      Files.deleteIfExists(tmp);
    }
  }

  /** Forces a folder's entries to disk, so a new or renamed file in it survives a crash. */
  public static void syncDirectory(Path dir) throws IOException {
    try (FileChannel ch = FileChannel.open(dir, StandardOpenOption.READ)) {
      ch.force(true);
    } catch (IOException e) {
      // Some platforms cannot open folders; on Linux this works and matters.
      if (System.getProperty("os.name", "").toLowerCase(Locale.ROOT).contains("win")) {
        return;
      }
      throw e;
    }
  }
}
