package io.bittensor.core.internal.ledger;

import io.bittensor.core.internal.DurableFiles;
import java.io.IOException;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Locale;

/**
 * The journals a compaction replaced, kept in the data directory's {@code archive} folder so
 * that their blocks can still be read: each is the whole old file, named for the blocks it
 * holds after its own checkpoint ({@code journal-<first>-<last>.btl}, 20 digits each).
 *
 * <p>Nothing is copied. Before the compacted journal is renamed over the old one, the old file
 * gets a second name, {@code archive/pending.btl}; after the rename, that name becomes the
 * final one. A crash in between leaves {@code pending.btl}, which {@link #recover} settles: the
 * live journal itself (no rename happened: dropped), or the old one (named as it should be).
 */
public final class JournalArchive {
  static final String FOLDER = "archive";
  private static final String PENDING = "pending.btl";
  private static final String PREFIX = "journal-";
  private static final String SUFFIX = ".btl";

  private JournalArchive() {}

  /** One archived journal: its file, and the blocks it holds after its checkpoint. */
  public record Segment(Path file, long first, long last) {}

  /** The archive folder of the ledger in {@code dataDir}. */
  public static Path folder(Path dataDir) {
    return dataDir.resolve(FOLDER);
  }

  /**
   * Gives the live journal a second name before a compaction replaces it.
   *
   * @throws IOException if the link cannot be made (the compaction should not go on)
   */
  public static void linkPending(Path journal) throws IOException {
    Path dataDir = journal.toAbsolutePath().getParent();
    DurableFiles.createDirectories(folder(dataDir));
    recover(dataDir, journal); // a pending name an earlier compaction could not settle
    Files.createLink(folder(dataDir).resolve(PENDING), journal);
    // Durable before the rename that replaces the journal, or a crash may keep neither name.
    DurableFiles.syncDirectory(folder(dataDir));
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
    return distinct;
  }

  static String name(long first, long last) {
    return String.format(Locale.ROOT, "%s%020d-%020d%s", PREFIX, first, last, SUFFIX);
  }
}
