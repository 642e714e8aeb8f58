package io.bittensor.core.internal;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.DirectoryStream;
import java.nio.file.FileAlreadyExistsException;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.nio.file.attribute.FileAttribute;
import java.time.Duration;
import java.time.Instant;
import java.util.Locale;
import java.util.Objects;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ThreadLocalRandom;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Files written whole or not at all, and durable once written: a crash at any point leaves
 * either the old file or the new one, never half of either.
 *
 * <p>A crash in the middle of a write leaves its temporary file behind. The temporary file's
 * name carries the writing process's id, and the first write of a process into a folder removes
 * the temporaries there whose process is gone and which are more than a minute old: a restarted
 * process cleans up after the one that crashed, and never takes a file another live writer is
 * still filling.
 */
public final class DurableFiles {
  /** How old a dead process's temporary file must be before it is removed. */
  static final Duration STALE_AFTER = Duration.ofMinutes(1);

  static final String TEMPORARY_SUFFIX = ".bt-partial";

  /** {@code .<target>.<pid>.<random>.bt-partial}, as {@link #replace} names its temporaries. */
  private static final Pattern TEMPORARY =
      Pattern.compile("\\..+\\.(\\d+)\\.\\d+" + Pattern.quote(TEMPORARY_SUFFIX));

  private static final Set<Path> SWEPT = ConcurrentHashMap.newKeySet();

  private DurableFiles() {}

  /**
   * Replaces {@code file} with {@code bytes}: a temporary file in the same folder, written and
   * forced to disk, moved over {@code file} atomically, then the folder forced so that the move
   * survives a crash too. The temporary file is removed if anything fails.
   *
   * @throws IOException if the file cannot be written: {@code file} is then as it was, unless
   *     only forcing the folder after the move failed (the new file is then in place, but may
   *     not survive a crash)
   */
  public static void replace(Path file, byte[] bytes) throws IOException {
    write(file, bytes, true);
  }

  /**
   * Creates {@code file} with {@code bytes}, as {@link #replace} writes, but never over an
   * existing file: where the file system has hard links the new file is linked into place, which
   * fails if the name is taken even by a writer racing this one.
   *
   * @param attributes the new file's attributes (for example its POSIX permissions), set when the
   *     temporary file is created, so that the bytes are never readable with others
   * @throws FileAlreadyExistsException if {@code file} exists
   * @throws IOException if the file cannot be written: nothing is left behind then, unless only
   *     forcing the folder after the link failed (the new file is then in place, but may not
   *     survive a crash)
   */
  public static void create(Path file, byte[] bytes, FileAttribute<?>... attributes)
      throws IOException {
    write(file, bytes, false, attributes);
  }

  private static void write(Path file, byte[] bytes, boolean overwrite,
      FileAttribute<?>... attributes) throws IOException {
    Objects.requireNonNull(file, "file");
    Objects.requireNonNull(bytes, "bytes");
    Path dir = file.toAbsolutePath().getParent();
    if (SWEPT.add(dir)) {
      removeStaleTemporaries(dir, Instant.now());
    }
    if (!overwrite && Files.exists(file, LinkOption.NOFOLLOW_LINKS)) {
      throw new FileAlreadyExistsException(file.toString());
    }
    Path tmp = createTemporary(dir, temporaryPrefix(file, ProcessHandle.current().pid()),
        attributes);
    try {
      try (FileChannel ch = FileChannel.open(tmp, StandardOpenOption.WRITE)) {
        ByteBuffer buf = ByteBuffer.wrap(bytes);
        while (buf.hasRemaining()) {
          ch.write(buf);
        }
        ch.force(true);
      }
      if (overwrite) {
        Files.move(tmp, file, StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE);
      } else {
        linkIntoPlace(tmp, file);
      }
      syncDirectory(dir);
    } finally {
      Files.deleteIfExists(tmp);
    }
  }

  /**
   * A new empty file named {@code prefix<random>.bt-partial} in {@code dir}, with
   * {@code attributes} or, without, the mode any new file gets (the process's umask applied):
   * {@code Files.createTempFile} would make it readable by its owner alone, unlike the files
   * written beside it in place.
   */
  private static Path createTemporary(Path dir, String prefix, FileAttribute<?>... attributes)
      throws IOException {
    while (true) {
      long random = ThreadLocalRandom.current().nextLong() & Long.MAX_VALUE;
      try {
        return Files.createFile(dir.resolve(prefix + random + TEMPORARY_SUFFIX), attributes);
      } catch (FileAlreadyExistsException taken) {
        // Another writer drew the same number: draw again.
      }
    }
  }

  /** The start of the name of a temporary file that process {@code pid} writes for {@code file}. */
  static String temporaryPrefix(Path file, long pid) {
    return "." + file.getFileName() + "." + pid + ".";
  }

  /** Links {@code tmp} at {@code file}, failing if it exists; a move where links are missing. */
  private static void linkIntoPlace(Path tmp, Path file) throws IOException {
    try {
      Files.createLink(file, tmp);
    } catch (FileAlreadyExistsException e) {
      throw e;
    } catch (UnsupportedOperationException | IOException e) {
      // No hard links here: the check above is all that guards the name.
      if (Files.exists(file, LinkOption.NOFOLLOW_LINKS)) {
        throw new FileAlreadyExistsException(file.toString());
      }
      Files.move(tmp, file, StandardCopyOption.ATOMIC_MOVE);
    }
  }

  /**
   * Removes the temporary files {@link #replace} left in {@code dir} whose writing process is no
   * longer running and which were last written more than {@link #STALE_AFTER} before {@code now}.
   * Both conditions, because a process id seen as dead may be a live writer on another host
   * sharing the folder, and a young file may still be being written.
   *
   * @return how many it removed; a folder that cannot be read, or a file that cannot be removed,
   *     is left for the next process (the write itself does not depend on it)
   */
  static int removeStaleTemporaries(Path dir, Instant now) {
    int removed = 0;
    long self = ProcessHandle.current().pid();
    try (DirectoryStream<Path> files = Files.newDirectoryStream(dir, "*" + TEMPORARY_SUFFIX)) {
      for (Path candidate : files) {
        Matcher m = TEMPORARY.matcher(candidate.getFileName().toString());
        if (!m.matches()) {
          continue;
        }
        long pid;
        try {
          pid = Long.parseLong(m.group(1));
        } catch (NumberFormatException e) {
          continue;
        }
        if (pid == self || ProcessHandle.of(pid).map(ProcessHandle::isAlive).orElse(false)) {
          continue;
        }
        try {
          Instant written = Files.getLastModifiedTime(candidate).toInstant();
          if (written.plus(STALE_AFTER).isBefore(now) && Files.deleteIfExists(candidate)) {
            removed++;
          }
        } catch (IOException e) {
          // Gone already, or not ours to remove: leave it.
        }
      }
    } catch (IOException e) {
      // An unreadable folder: the write below reports what matters.
    }
    return removed;
  }

  /**
   * Removes a folder and everything in it, if it exists; the deepest entries first, so that a
   * crash part way leaves a smaller tree to remove again.
   */
  public static void deleteTree(Path dir) throws IOException {
    if (!Files.exists(dir, LinkOption.NOFOLLOW_LINKS)) {
      return;
    }
    try (java.util.stream.Stream<Path> walk = Files.walk(dir)) {
      for (Path p : (Iterable<Path>) walk.sorted(java.util.Comparator.reverseOrder())::iterator) {
        Files.deleteIfExists(p);
      }
    }
  }

  /**
   * Creates a folder and any missing folders above it, as {@link Files#createDirectories}, and
   * forces the parent of each one it created to disk, so that the new folders (and what is then
   * written durably inside them) survive a crash.
   */
  public static void createDirectories(Path dir) throws IOException {
    java.util.List<Path> missing = new java.util.ArrayList<>();
    for (Path p = dir.toAbsolutePath(); p != null && !Files.isDirectory(p); p = p.getParent()) {
      missing.add(p);
    }
    Files.createDirectories(dir);
    for (int i = missing.size() - 1; i >= 0; i--) {
      syncDirectory(missing.get(i).getParent());
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
