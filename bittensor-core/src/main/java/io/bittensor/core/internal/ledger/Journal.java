package io.bittensor.core.internal.ledger;

import io.bittensor.core.Hash256;
import io.bittensor.core.LedgerException;
import io.bittensor.core.internal.DurableFiles;
import java.io.Closeable;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.util.Arrays;
import java.util.HashMap;
import java.util.Map;
import java.util.Set;
import java.util.zip.CRC32C;

/**
 * The append-only journal of blocks: one file, a versioned header, then one length-prefixed,
 * checksummed record per block, each block naming its parent's hash.
 *
 * <pre>
 * header  8  magic "BTLEDGER"
 *         u16 format major version (1), u16 minor version (0)
 *         u32 CRC32C of the 12 bytes above
 * record  u32 payload length (at most 256 MiB; a checkpoint, at most 2 GiB)
 *         u32 CRC32C of the payload
 *         u32 CRC32C of the 8 bytes above (so a damaged length is never trusted)
 *         payload: a block ({@link BlockCodec}); its SHA-256 is the block's hash
 * </pre>
 *
 * <p>All integers are big-endian. Block 0 is the genesis block; block {@code n}'s parent hash is
 * block {@code n-1}'s hash. A compacted journal (minor version 1, {@link #compact}) holds the
 * genesis block, then one checkpoint record ({@link BlockCodec#encodeCheckpoint}: the state
 * after block {@code c} and that block's header), then blocks {@code c+1, c+2, ...}; block
 * {@code c+1}'s parent is the hash the checkpoint names. Opening scans the whole file: a tail that
 * ends mid-record, or a last record whose payload fails its checksum, or trailing zeros, is a torn
 * write (the crash came before the fsync, so nothing in it was acknowledged) and is cut off. A
 * record header that fails its checksum is torn only if no whole record follows it. Any other
 * damage (a bad checksum with records after it, a broken hash chain, a number out of sequence)
 * refuses to open with a {@link CorruptJournalException} naming the block.
 *
 * <p>Not thread-safe: {@code LocalLedger} appends from one thread at a time.
 */
public final class Journal implements Closeable {
  /** The journal's file name inside a ledger's data directory. */
  public static final String FILE_NAME = "journal.btl";

  static final byte[] MAGIC = "BTLEDGER".getBytes(StandardCharsets.US_ASCII);
  static final int MAJOR = 1;
  static final int MINOR = 0;
  /** The minor version of a compacted journal, which may hold a checkpoint record. */
  static final int MINOR_COMPACTED = 1;
  static final int HEADER_LENGTH = 16;
  static final int RECORD_HEADER_LENGTH = 12;
  static final int MAX_PAYLOAD = 256 << 20;
  /**
   * The most a compacted journal's checkpoint record may hold: a state, which may outgrow any
   * block (the largest array, as {@link ByteWriter} caps an encoding).
   */
  static final int MAX_CHECKPOINT = Integer.MAX_VALUE - 8;

  private final Path file;
  private final FileChannel channel;
  private long size;
  private final JournalReader.Index index;

  private Journal(Path file, FileChannel channel, long size, JournalReader.Index index) {
    this.file = file;
    this.channel = channel;
    this.size = size;
    this.index = index;
  }

  /**
   * What a scan found: every record's place (the genesis block's first, then the checkpoint's if
   * any, then each block's), where the valid part ends, what was torn.
   *
   * @param checkpoint the block number of the journal's checkpoint, or 0 when it has none (it
   *     holds every block from genesis)
   */
  public record Scan(long[] offsets, long checkpoint, Hash256 lastHash,
      Map<Long, Hash256> hashes, long validEnd, long fileSize) {
    /** The number of the last valid block. */
    public long lastNumber() {
      return checkpoint == 0 ? offsets.length - 1 : checkpoint + offsets.length - 2;
    }

    /** The record holding block {@code number}: 0 for genesis, 1 for the checkpoint's block. */
    int index(long number) {
      if (number == 0) {
        return 0;
      }
      if (number < checkpoint || number > lastNumber()) {
        throw new IllegalArgumentException("block " + number + " is not in this journal, which"
            + " holds " + (checkpoint == 0 ? "blocks 0" : "the genesis and blocks " + checkpoint)
            + " to " + lastNumber());
      }
      return Math.toIntExact(checkpoint == 0 ? number : number - checkpoint + 1);
    }

    /** The payload length of record {@code i}. */
    int length(int i) {
      long end = i + 1 < offsets.length ? offsets[i + 1] : validEnd;
      return (int) (end - offsets[i] - RECORD_HEADER_LENGTH);
    }

    /** Bytes after the valid part: a torn write. */
    public long tornBytes() {
      return fileSize - validEnd;
    }
  }

  /**
   * A journal whose file cannot be trusted; the message names the block and offset, or says that
   * the file as a whole is at fault.
   */
  public static final class CorruptJournalException extends LedgerException {
    private static final long serialVersionUID = 1L;

    /** The file as a whole (its header, no genesis block): only a copy can restore it. */
    CorruptJournalException(Path file, String message) {
      this(file, message, false);
    }

    /** {@code atBlock}: the message names a block and its offset, before which to cut. */
    CorruptJournalException(Path file, String message, boolean atBlock) {
      super("journal " + file + " is corrupt: " + message + "; refusing to open (restore it from"
          + " a copy" + (atBlock ? ", or truncate it before this block by hand to drop it and"
          + " everything after" : "") + ")");
    }
  }

  /**
   * Creates a journal holding only the genesis block, whole or not at all: written to a
   * temporary file, fsync'ed, renamed into place, and the directory fsync'ed.
   *
   * @throws IOException if the file cannot be written
   */
  public static void create(Path file, byte[] genesisPayload) throws IOException {
    Path tmp = file.resolveSibling(file.getFileName() + ".tmp");
    try (FileChannel ch = FileChannel.open(tmp, StandardOpenOption.CREATE,
        StandardOpenOption.TRUNCATE_EXISTING, StandardOpenOption.WRITE)) {
      writeFully(ch, header(MINOR));
      writeFully(ch, record(genesisPayload));
      ch.force(true);
    }
    Files.move(tmp, file, StandardCopyOption.ATOMIC_MOVE);
    syncDirectory(file.toAbsolutePath().getParent());
  }

  /**
   * Scans and verifies the whole journal.
   *
   * @param wantHashes block numbers whose hashes the caller needs (snapshot candidates)
   * @throws CorruptJournalException if the header or a record before the tail is damaged, or the
   *     hash chain is broken
   * @throws IOException if the file cannot be read
   */
  public static Scan scan(Path file, Set<Long> wantHashes) throws IOException {
    try (FileChannel ch = FileChannel.open(file, StandardOpenOption.READ)) {
      return scan(ch, file, wantHashes);
    }
  }

  /**
   * Scans and verifies the whole journal through an open channel, so that reading its records
   * afterwards through the same channel reads the same file even if a compaction replaced it
   * meanwhile (a reader beside a running ledger).
   *
   * @param file names the journal in messages
   * @throws CorruptJournalException as {@link #scan(Path, Set)}
   * @throws IOException if the file cannot be read
   */
  public static Scan scan(FileChannel ch, Path file, Set<Long> wantHashes) throws IOException {
    long fileSize = ch.size();
    if (fileSize < HEADER_LENGTH) {
      throw new CorruptJournalException(file, "the file has " + fileSize
          + " bytes, fewer than its 16-byte header");
    }
    ByteBuffer header = readAt(ch, 0, HEADER_LENGTH);
    byte[] h = header.array();
    if (!Arrays.equals(h, 0, 8, MAGIC, 0, 8)) {
      throw new CorruptJournalException(file, "it does not start with \"BTLEDGER\"");
    }
    if (crc(h, 0, 12) != header.getInt(12)) {
      throw new CorruptJournalException(file, "its header fails its checksum");
    }
    int major = header.getShort(8) & 0xffff;
    if (major != MAJOR) {
      throw new LedgerException("journal " + file + " has format version " + major
          + "; this library reads version " + MAJOR);
    }
    boolean compacted = (header.getShort(10) & 0xffff) >= MINOR_COMPACTED;
    LongList offsets = new LongList();
    Map<Long, Hash256> hashes = new HashMap<>();
    Hash256 previous = Hash256.ZERO;
    long checkpoint = 0;
    long pos = HEADER_LENGTH;
    while (pos < fileSize) {
      long number = offsets.size() == 0 ? 0
          : checkpoint == 0 ? offsets.size() : checkpoint + offsets.size() - 1;
      // Cutting before this record leaves a journal that opens: the genesis block and, in a
      // compacted one, its checkpoint stay.
      boolean cuttable = number > 0 && !(compacted && offsets.size() <= 1);
      long left = fileSize - pos;
      if (left < RECORD_HEADER_LENGTH) {
        break; // torn: part of a record header
      }
      ByteBuffer rh = readAt(ch, pos, RECORD_HEADER_LENGTH);
      if (crc(rh.array(), 0, 8) != rh.getInt(8)) {
        // Torn only if nothing valid follows: one append writes one record, so a torn write
        // is at most one record long and is the last thing in the file.
        if (left > MAX_PAYLOAD + RECORD_HEADER_LENGTH || validRecordAfter(ch, pos, fileSize)) {
          throw new CorruptJournalException(file, "the record header of "
              + recordName(compacted, offsets.size(), number) + " at offset " + pos
              + " fails its checksum", cuttable);
        }
        break; // torn: a partly written header, or zeros where the record should be
      }
      int length = rh.getInt(0);
      boolean mayBeCheckpoint = compacted && offsets.size() == 1;
      if (length < 0 || length > (mayBeCheckpoint ? MAX_CHECKPOINT : MAX_PAYLOAD)) {
        throw new CorruptJournalException(file, "block " + number + " at offset " + pos
            + " claims " + Integer.toUnsignedString(length) + " bytes", cuttable);
      }
      if (left - RECORD_HEADER_LENGTH < length) {
        break; // torn: part of a payload
      }
      byte[] payload = readAt(ch, pos + RECORD_HEADER_LENGTH, length).array();
      long end = pos + RECORD_HEADER_LENGTH + length;
      if (crc(payload, 0, length) != rh.getInt(4)) {
        if (end == fileSize) {
          break; // torn: the last record, never acknowledged
        }
        throw new CorruptJournalException(file, recordName(compacted, offsets.size(), number)
            + " at offset " + pos + " fails its checksum", cuttable);
      }
      if (mayBeCheckpoint && BlockCodec.isCheckpoint(payload)) {
        // The checkpoint stands for every block before it: it names its own number and the
        // hash the next block must link to.
        try {
          checkpoint = BlockCodec.number(payload);
          previous = BlockCodec.checkpointHash(payload);
        } catch (IllegalArgumentException e) {
          throw new CorruptJournalException(file, "the checkpoint at offset " + pos
              + " is too short to be one");
        }
        if (checkpoint < 1) {
          throw new CorruptJournalException(file, "the checkpoint at offset " + pos
              + " says it follows block " + checkpoint);
        }
        number = checkpoint;
      } else {
        if (length > MAX_PAYLOAD) {
          throw new CorruptJournalException(file, "block " + number + " at offset " + pos
              + " claims " + length + " bytes", cuttable);
        }
        checkLink(file, payload, number, previous, pos, cuttable);
        previous = Hash256.of(payload);
      }
      if (wantHashes.contains(number)) {
        hashes.put(number, previous);
      }
      offsets.add(pos);
      pos = end;
    }
    if (offsets.size() == 0) {
      throw new CorruptJournalException(file, "it holds no genesis block");
    }
    if (compacted && offsets.size() == 1) {
      // A compaction writes its checkpoint whole before the rename: no crash tears it.
      throw new CorruptJournalException(file, "it is compacted, but the checkpoint after the"
          + " genesis block (offset " + pos + ") is cut short or fails its checksum");
    }
    return new Scan(offsets.toArray(), checkpoint, previous, hashes, pos, fileSize);
  }

  /** Record {@code i} in messages: its block, or a compacted journal's checkpoint. */
  private static String recordName(boolean compacted, int i, long number) {
    return compacted && i == 1 ? "the checkpoint (or block 1) after the genesis block"
        : "block " + number;
  }

  private static void checkLink(Path file, byte[] payload, long number, Hash256 previous,
      long pos, boolean cuttable) throws CorruptJournalException {
    long stated;
    Hash256 parent;
    try {
      stated = BlockCodec.number(payload);
      parent = BlockCodec.parent(payload);
    } catch (IllegalArgumentException e) {
      throw new CorruptJournalException(file, "block " + number + " at offset " + pos
          + " is too short to be a block", cuttable);
    }
    if (stated != number) {
      throw new CorruptJournalException(file, "block " + number + " at offset " + pos
          + " says it is block " + stated, cuttable);
    }
    if (!parent.equals(previous)) {
      throw new CorruptJournalException(file, "the hash chain breaks at block " + number
          + " (offset " + pos + "): its parent hash " + parent.toShortHex()
          + "... is not block " + (number - 1) + "'s hash " + previous.toShortHex() + "...",
          cuttable);
    }
  }

  /**
   * Opens a scanned journal for appending after its valid part, cutting off a torn tail first
   * (and fsync'ing the cut).
   *
   * @throws IOException if the file cannot be opened or truncated
   */
  public static Journal openForAppend(Path file, Scan scan) throws IOException {
    FileChannel ch = FileChannel.open(file, StandardOpenOption.READ, StandardOpenOption.WRITE);
    try {
      if (ch.size() > scan.validEnd()) {
        ch.truncate(scan.validEnd());
        ch.force(true);
      }
      ch.position(scan.validEnd());
      return new Journal(file, ch, scan.validEnd(), JournalReader.Index.of(scan));
    } catch (IOException | RuntimeException e) {
      ch.close();
      throw e;
    }
  }

  /**
   * Reads the payload of a scanned block.
   *
   * @throws IOException if the file cannot be read
   */
  public static byte[] read(Path file, Scan scan, long number) throws IOException {
    try (FileChannel ch = FileChannel.open(file, StandardOpenOption.READ)) {
      return read(ch, scan, number);
    }
  }

  /**
   * Reads the payload of a scanned block through an open channel: for the checkpoint's block of
   * a compacted journal, the checkpoint.
   *
   * @throws IllegalArgumentException for a block the journal does not hold
   */
  public static byte[] read(FileChannel ch, Scan scan, long number) throws IOException {
    int i = scan.index(number);
    return readAt(ch, scan.offsets()[i] + RECORD_HEADER_LENGTH, scan.length(i)).array();
  }

  /**
   * Rewrites the journal as its genesis block and one checkpoint, whole or not at all: written
   * to a temporary file that is fsync'ed and renamed over the journal, and the directory
   * fsync'ed. Returns the new journal, open for appending the checkpoint's next block.
   *
   * @param genesisPayload the journal's genesis block
   * @param checkpointPayload {@link BlockCodec#encodeCheckpoint} of the last block appended
   * @throws IOException if the rewrite failed before the rename: the old journal is whole and
   *     still the journal
   * @throws SwapFailedException if the rename happened but could not be made durable: neither
   *     journal may be appended to
   */
  public static Journal compact(Path file, byte[] genesisPayload, byte[] checkpointPayload)
      throws IOException {
    Path tmp = file.resolveSibling(file.getFileName() + COMPACTING_SUFFIX);
    FileChannel ch = FileChannel.open(tmp, StandardOpenOption.CREATE,
        StandardOpenOption.TRUNCATE_EXISTING, StandardOpenOption.READ, StandardOpenOption.WRITE);
    long size;
    try {
      writeFully(ch, header(MINOR_COMPACTED));
      writeFully(ch, record(genesisPayload));
      // Not copied into one buffer with its header: a checkpoint may be as large as a state.
      writeFully(ch, recordHeader(checkpointPayload, MAX_CHECKPOINT));
      writeFully(ch, ByteBuffer.wrap(checkpointPayload));
      ch.force(true);
      size = ch.position();
      Files.move(tmp, file, StandardCopyOption.ATOMIC_MOVE);
    } catch (IOException | RuntimeException e) {
      ch.close();
      Files.deleteIfExists(tmp);
      throw e;
    }
    // The channel now writes the renamed file: the journal.
    try {
      syncDirectory(file.toAbsolutePath().getParent());
    } catch (IOException e) {
      ch.close();
      throw new SwapFailedException(file, e);
    }
    JournalReader.Index index = JournalReader.Index.empty(BlockCodec.number(checkpointPayload));
    index.appended(HEADER_LENGTH);
    index.appended(HEADER_LENGTH + RECORD_HEADER_LENGTH + genesisPayload.length);
    return new Journal(file, ch, size, index);
  }

  /** The temporary file of a compaction in progress, removed by {@link #removeLeftovers}. */
  static final String COMPACTING_SUFFIX = ".compacting";

  /**
   * Removes what a crash during {@link #compact} left: its temporary file. The journal itself is
   * whole either way (the old one, or the compacted one once renamed).
   */
  public static void removeLeftovers(Path file) throws IOException {
    Files.deleteIfExists(file.resolveSibling(file.getFileName() + COMPACTING_SUFFIX));
  }

  /** A compaction whose rename could not be made durable: the ledger must stop. */
  public static final class SwapFailedException extends IOException {
    private static final long serialVersionUID = 1L;

    SwapFailedException(Path file, IOException cause) {
      super("compacted " + file + " but could not fsync its directory, so the rename may not"
          + " survive a crash: " + cause.getMessage(), cause);
    }
  }

  /**
   * Appends a block and forces it to disk (fdatasync) before returning.
   *
   * @throws IOException if the write or the fsync fails; the journal must not be used again
   */
  public void append(byte[] payload) throws IOException {
    ByteBuffer rec = record(payload);
    int n = rec.remaining();
    writeFully(channel, rec);
    channel.force(false);
    index.appended(size);
    size += n;
  }

  /**
   * A reader of the records appended so far, through a channel of its own: it goes on reading
   * this file even after a compaction renames another over it. Call where appends are guarded.
   *
   * @throws IOException if the file cannot be opened
   */
  public JournalReader openReader() throws IOException {
    return index.open(file);
  }

  /** The journal's length in bytes: where the next record goes. */
  public long size() {
    return size;
  }

  /** The block of the journal's checkpoint, or 0 when it holds every block from genesis. */
  public long checkpoint() {
    return index.checkpoint();
  }

  /** The journal's file. */
  public Path file() {
    return file;
  }

  @Override
  public void close() throws IOException {
    channel.close();
  }

  /** The file header: magic, versions and their checksum. */
  private static ByteBuffer header(int minor) {
    ByteBuffer header = ByteBuffer.allocate(HEADER_LENGTH);
    header.put(MAGIC).putShort((short) MAJOR).putShort((short) minor);
    header.putInt(crc(header.array(), 0, 12));
    return header.flip();
  }

  static ByteBuffer record(byte[] payload) {
    ByteBuffer header = recordHeader(payload, MAX_PAYLOAD);
    ByteBuffer rec = ByteBuffer.allocate(RECORD_HEADER_LENGTH + payload.length);
    rec.put(header).put(payload);
    rec.flip();
    return rec;
  }

  /** A record's 12-byte header: length, the payload's CRC32C, the CRC32C of those 8 bytes. */
  private static ByteBuffer recordHeader(byte[] payload, int max) {
    if (payload.length > max) {
      throw new IllegalArgumentException((max == MAX_PAYLOAD ? "a block" : "a checkpoint")
          + " may have at most " + max + " bytes, had " + payload.length);
    }
    ByteBuffer header = ByteBuffer.allocate(RECORD_HEADER_LENGTH);
    header.putInt(payload.length).putInt(crc(payload, 0, payload.length));
    header.putInt(crc(header.array(), 0, 8));
    return header.flip();
  }

  static int crc(byte[] b, int offset, int length) {
    CRC32C c = new CRC32C();
    c.update(b, offset, length);
    return (int) c.getValue();
  }

  /** True when a whole, checksummed record starts anywhere in {@code (from, to)}. */
  private static boolean validRecordAfter(FileChannel ch, long from, long to)
      throws IOException {
    byte[] b = readAt(ch, from, (int) (to - from)).array();
    ByteBuffer view = ByteBuffer.wrap(b);
    for (int q = 1; q + RECORD_HEADER_LENGTH <= b.length; q++) {
      if (crc(b, q, 8) != view.getInt(q + 8)) {
        continue;
      }
      int length = view.getInt(q);
      if (length >= 0 && (long) q + RECORD_HEADER_LENGTH + length <= b.length
          && crc(b, q + RECORD_HEADER_LENGTH, length) == view.getInt(q + 4)) {
        return true;
      }
    }
    return false;
  }

  static ByteBuffer readAt(FileChannel ch, long pos, int length) throws IOException {
    ByteBuffer buf = ByteBuffer.allocate(length);
    while (buf.hasRemaining()) {
      int n = ch.read(buf, pos + buf.position());
      if (n < 0) {
        throw new IOException("unexpected end of file at " + (pos + buf.position()));
      }
    }
    buf.flip();
    return buf;
  }

  static void writeFully(FileChannel ch, ByteBuffer buf) throws IOException {
    while (buf.hasRemaining()) {
      ch.write(buf);
    }
  }

  /** Forces a directory's entries to disk, so a new or renamed file survives a crash. */
  static void syncDirectory(Path dir) throws IOException {
    DurableFiles.syncDirectory(dir);
  }

  /** A growable long array. */
  static final class LongList {
    private long[] a = new long[64];
    private int n;

    void add(long v) {
      if (n == a.length) {
        a = Arrays.copyOf(a, 2 * n);
      }
      a[n++] = v;
    }

    int size() {
      return n;
    }

    long[] toArray() {
      return Arrays.copyOf(a, n);
    }

    /**
     * The array behind the list, valid up to {@link #size()}: not copied, and never written
     * below that size again (a growing list moves to a new array), so a holder may keep it.
     */
    long[] array() {
      return a;
    }
  }
}
