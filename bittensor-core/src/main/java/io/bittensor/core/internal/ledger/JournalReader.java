package io.bittensor.core.internal.ledger;

import java.io.Closeable;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;

/**
 * Reads one journal file's records by block number without scanning it: a sparse index holds
 * every {@value #STRIDE}th record's offset, and the records between are found by walking their
 * headers (so the index costs 8 bytes per {@value #STRIDE} blocks, and a read at most that many
 * header reads). Each record read is checked against its checksums; the hash chain is the
 * caller's to check, as it replays.
 *
 * <p>Not thread-safe; one reader per read. It sees the journal as it was when made: the records
 * appended since are not in its index.
 */
public final class JournalReader implements Closeable {
  /** Records per index entry. */
  static final int STRIDE = 64;

  private final Path file;
  private final FileChannel ch;
  private final long[] sparse;
  private final int records;
  private final long checkpoint;

  private JournalReader(Path file, FileChannel ch, long[] sparse, int records,
      long checkpoint) {
    this.file = file;
    this.ch = ch;
    this.sparse = sparse;
    this.records = records;
    this.checkpoint = checkpoint;
  }

  /**
   * Where each record of a journal starts, sparsely, kept as it grows: made from a scan, told of
   * each append. Guarded by whoever appends (the ledger's seal lock).
   */
  static final class Index {
    /** Only ever appended to (its array replaced when full): a reader keeps the array it got. */
    private final Journal.LongList sparse = new Journal.LongList();
    private int records;
    private final long checkpoint;

    private Index(long checkpoint) {
      this.checkpoint = checkpoint;
    }

    /** The index of a scanned journal. */
    static Index of(Journal.Scan scan) {
      Index index = new Index(scan.checkpoint());
      for (long offset : scan.offsets()) {
        index.appended(offset);
      }
      return index;
    }

    /** The index of a journal being written from scratch: told of each record, genesis first. */
    static Index empty(long checkpoint) {
      return new Index(checkpoint);
    }

    long checkpoint() {
      return checkpoint;
    }

    /** A record was appended at {@code offset}. */
    void appended(long offset) {
      if (records % STRIDE == 0) {
        sparse.add(offset);
      }
      records++;
    }

    /** A reader of the records so far, through a channel of its own on {@code file}. */
    JournalReader open(Path file) throws IOException {
      return new JournalReader(file, FileChannel.open(file, StandardOpenOption.READ),
          sparse.array(), records, checkpoint);
    }
  }

  /**
   * A reader of a whole journal, scanned now (for a ledger that only reads: it follows no
   * appends of its own).
   *
   * @throws IOException if the file cannot be read or is corrupt
   */
  public static JournalReader scanned(Path file) throws IOException {
    FileChannel ch = FileChannel.open(file, StandardOpenOption.READ);
    try {
      Index index = Index.of(Journal.scan(ch, file, java.util.Set.of()));
      return new JournalReader(file, ch, index.sparse.array(), index.records,
          index.checkpoint);
    } catch (IOException | RuntimeException e) {
      ch.close();
      throw e;
    }
  }

  /** The journal's file. */
  public Path file() {
    return file;
  }

  /** The journal's checkpoint block, or 0 when it holds every block from genesis. */
  public long checkpoint() {
    return checkpoint;
  }

  /** The number of the last block this reader sees. */
  public long lastNumber() {
    return checkpoint == 0 ? records - 1 : checkpoint + records - 2;
  }

  /**
   * The payload of block {@code number}: 0 for the genesis block; for the checkpoint's number,
   * the checkpoint.
   *
   * @throws IllegalArgumentException for a block this reader does not see
   * @throws IOException if the file cannot be read, or a record fails its checksums
   */
  public byte[] read(long number) throws IOException {
    if (number != 0 && (number < checkpoint || number > lastNumber())) {
      throw new IllegalArgumentException("block " + number + " is not in " + file + ", which"
          + " holds " + (checkpoint == 0 ? "blocks 0" : "the genesis and blocks " + checkpoint)
          + " to " + lastNumber());
    }
    int record = Math.toIntExact(number == 0 ? 0
        : checkpoint == 0 ? number : number - checkpoint + 1);
    long pos = sparse[record / STRIDE];
    for (int i = record - record % STRIDE; ; i++) {
      ByteBuffer header = Journal.readAt(ch, pos, Journal.RECORD_HEADER_LENGTH);
      if (Journal.crc(header.array(), 0, 8) != header.getInt(8)) {
        throw new IOException(file + ": the record header at offset " + pos
            + " fails its checksum");
      }
      int length = header.getInt(0);
      if (i == record) {
        byte[] payload = Journal.readAt(ch, pos + Journal.RECORD_HEADER_LENGTH, length).array();
        if (Journal.crc(payload, 0, length) != header.getInt(4)) {
          throw new IOException(file + ": block " + number + " at offset " + pos
              + " fails its checksum");
        }
        return payload;
      }
      pos += Journal.RECORD_HEADER_LENGTH + length;
    }
  }

  @Override
  public void close() throws IOException {
    ch.close();
  }
}
