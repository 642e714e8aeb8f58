package io.bittensor.core.internal.ledger;

import io.bittensor.core.internal.DurableFiles;
import java.io.IOException;
import java.nio.channels.FileChannel;
import java.nio.file.DirectoryStream;
import java.nio.file.FileAlreadyExistsException;
import java.nio.file.FileSystemException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Locale;

/**
 * The journals a compaction replaced, kept in the data directory's {@code archive} folder so
 * that their blocks can still be read: each is the whole old file, named for the blocks it
 * holds after its own checkpoint ({@code journal-<first>-<last>.btl}, 20 digits each).
 *
 * <p>Nothing is copied where the file system has hard links. Before the compacted journal is
 * renamed over the old one, the old file gets a second name, {@code archive/pending.btl}; after
 * the rename, that name becomes the final one. A crash in between leaves {@code pending.btl},
 * which {@link #recover} settles: the live journal itself (no rename happened: dropped), or the
 * old one (named as it should be). Without hard links, {@code pending.btl} is a copy, written
 * whole and fsync'ed before the rename; a copy with the live journal's checkpoint is the live
 * journal's blocks (no rename happened: dropped).
 */
public final class JournalArchive {
  static final String FOLDER = "archive";
  private static final String PENDING = "pending.btl";
  /** A copy being written, named {@link #PENDING} once whole; a crash may leave it. */
  private static final String COPYING = "pending.btl.copying";
  private static final String PREFIX = "journal-";
  private static final String SUFFIX = ".btl";

  private JournalArchive() {}

  /** Makes a hard link, as {@link Files#createLink}. */
  interface Linker {
    void link(Path link, Path existing) throws IOException;
  }

  /** How links are made: tests stand in a file system that has none. */
  static volatile Linker links = Files::createLink;

  /** Run as {@link #list} returns: tests settle a pending journal there, as a writer may. */
  static volatile Runnable listed = () -> { };

  /** One archived journal: its file, and the blocks it holds after its checkpoint. */
  public record Segment(Path file, long first, long last) {}

  /** The archive folder of the ledger in {@code dataDir}. */
  public static Path folder(Path dataDir) {
    return dataDir.resolve(FOLDER);
  }

  /**
   * Gives the live journal a second name before a compaction replaces it, or, where the file
   * system has no hard links, a durable copy under that name.
   *
   * @throws IOException if neither can be made (the compaction should not go on)
   */
  public static void linkPending(Path journal) throws IOException {
    Path dataDir = journal.toAbsolutePath().getParent();
    Path folder = folder(dataDir);
    DurableFiles.createDirectories(folder);
    recover(dataDir, journal); // a pending name an earlier compaction could not settle
    try {
      links.link(folder.resolve(PENDING), journal);
    } catch (FileAlreadyExistsException e) {
      throw e;
    } catch (UnsupportedOperationException | FileSystemException e) {
      copyPending(folder, journal);
    }
    // Durable before the rename that replaces the journal, or a crash may keep neither name.
    DurableFiles.syncDirectory(folder);
  }

  /** Copies the journal to {@link #PENDING}: whole and fsync'ed before it takes the name. */
  private static void copyPending(Path folder, Path journal) throws IOException {
    Path copying = folder.resolve(COPYING);
    try {
      Files.copy(journal, copying, StandardCopyOption.REPLACE_EXISTING);
      try (FileChannel ch = FileChannel.open(copying, StandardOpenOption.WRITE)) {
        ch.force(true);
      }
      Files.move(copying, folder.resolve(PENDING), StandardCopyOption.ATOMIC_MOVE);
    } finally {
      Files.deleteIfExists(copying);
    }
  }

  /** Drops the second name: the compaction did not replace the journal. */
  public static void dropPending(Path dataDir) throws IOException {
    Files.deleteIfExists(folder(dataDir).resolve(PENDING));
  }

  /**
   * Names the replaced journal for its blocks, durably.
   *
   * @param first the first block it holds after its checkpoint
   * @param last its last block
   */
  public static void settlePending(Path dataDir, long first, long last) throws IOException {
    Path folder = folder(dataDir);
    Files.move(folder.resolve(PENDING), folder.resolve(name(first, last)),
        StandardCopyOption.ATOMIC_MOVE);
    DurableFiles.syncDirectory(folder);
  }

  /**
   * Settles what a crash during a compaction left, before the ledger opens its journal.
   *
   * @throws IOException if the folder cannot be read or the pending journal is unreadable
   */
  public static void recover(Path dataDir, Path journal) throws IOException {
    Files.deleteIfExists(folder(dataDir).resolve(COPYING)); // a copy a crash cut short
    Path pending = folder(dataDir).resolve(PENDING);
    if (!Files.exists(pending)) {
      return;
    }
    if (Files.isSameFile(pending, journal)) {
      Files.delete(pending); // the rename never happened: it is still the live journal
      return;
    }
    long first;
    long last;
    try (JournalReader old = JournalReader.scanned(pending)) {
      first = old.checkpoint() + 1;
      last = old.lastNumber();
    }
    long live;
    try (JournalReader j = JournalReader.scanned(journal)) {
      live = j.checkpoint();
    }
    if (live == first - 1) {
      // A copy (no hard links) of the live journal: the rename never happened. A compaction
      // always moves the checkpoint on, so the journal it replaced has an earlier one.
      Files.delete(pending);
      return;
    }
    settlePending(dataDir, first, last);
  }

  /**
   * The archived journals, oldest first: those named, and one still named {@code pending.btl}
   * when it is no longer the live journal (a crash after the rename, seen by a reader before
   * the writer reopens, or a name the writer could not settle).
   */
  public static List<Segment> list(Path dataDir) throws IOException {
    Path folder = folder(dataDir);
    List<Segment> segments = new ArrayList<>();
    if (!Files.isDirectory(folder)) {
      return segments;
    }
    Path pending = folder.resolve(PENDING);
    try {
      if (Files.exists(pending) && !Files.isSameFile(pending, dataDir.resolve(Journal.FILE_NAME))) {
        try (JournalReader old = JournalReader.scanned(pending)) {
          segments.add(new Segment(pending, old.checkpoint() + 1, old.lastNumber()));
        }
      }
    } catch (NoSuchFileException e) {
      // Settled meanwhile: listed below under its name, or gone with the writer's next step.
    }
    try (DirectoryStream<Path> files = Files.newDirectoryStream(folder, PREFIX + "*" + SUFFIX)) {
      for (Path f : files) {
        String name = f.getFileName().toString();
        String[] parts = name.substring(PREFIX.length(), name.length() - SUFFIX.length())
            .split("-");
        if (parts.length == 2 && Snapshots.isNumber(parts[0]) && Snapshots.isNumber(parts[1])
            && Long.parseLong(parts[0]) <= Long.parseLong(parts[1])) {
          // (One of no blocks, from a compaction at the block of the one before, holds none.)
          segments.add(new Segment(f, Long.parseLong(parts[0]), Long.parseLong(parts[1])));
        }
      }
    }
    segments.sort(Comparator.comparingLong(Segment::first));
    // A pending journal settled while this listed it shows twice: keep one.
    List<Segment> distinct = new ArrayList<>();
    for (Segment a : segments) {
      if (distinct.isEmpty() || distinct.get(distinct.size() - 1).first() != a.first()) {
        distinct.add(a);
      }
    }
    listed.run();
    return distinct;
  }

  /**
   * A reader of a listed journal, scanned now. One listed as {@code pending.btl} may have been
   * settled since (the writer names it right after its compaction's rename): it is read under
   * the name it was given, that of the blocks it holds.
   *
   * @throws IOException if the file cannot be read or is corrupt
   */
  public static JournalReader open(Segment segment) throws IOException {
    try {
      return JournalReader.scanned(segment.file());
    } catch (NoSuchFileException e) {
      if (!segment.file().getFileName().toString().equals(PENDING)) {
        throw e;
      }
      return JournalReader.scanned(
          segment.file().resolveSibling(name(segment.first(), segment.last())));
    }
  }

  static String name(long first, long last) {
    return String.format(Locale.ROOT, "%s%020d-%020d%s", PREFIX, first, last, SUFFIX);
  }
}
