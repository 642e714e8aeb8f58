package io.bittensor.core.internal;

import java.io.IOException;
import java.nio.BufferUnderflowException;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.TreeSet;
import java.util.zip.CRC32C;

/**
 * A checkpoint: named arrays in one checksummed file. Big-endian throughout:
 *
 * <pre>
 * 8   magic, naming what the file holds (a learner's "BTLEARN\0", a neuron's "BTNEURON")
 * u32 format version (1)
 * u32 number of entries, then each entry:
 *     u16 name length, the name (UTF-8)
 *     u8  kind: 1 float32[], 2 float64[], 3 int64[], 4 bytes
 *     u32 number of elements, then the elements
 * u32 CRC32C of everything above
 * </pre>
 *
 * <p>Each part of the owner writes its arrays under its own prefix ({@code "head/"}, {@code
 * "gate/"}) and reads them back by name, so a mismatch names what differs. Reading is staged:
 * every entry is checked against its destination first, and only when all fit, every entry is
 * used and nothing is left over, are the destinations written ({@link Reader#apply}). A file
 * that does not fit leaves its owner as it was.
 */
public final class StateFile {
  private static final int MAGIC_LENGTH = 8;
  private static final int VERSION = 1;
  private static final byte FLOATS = 1;
  private static final byte DOUBLES = 2;
  private static final byte LONGS = 3;
  private static final byte BYTES = 4;

  private StateFile() {}

  private record Entry(byte kind, Object values, int length) {}

  private static String kindName(byte kind) {
    return switch (kind) {
      case FLOATS -> "float32";
      case DOUBLES -> "float64";
      case LONGS -> "int64";
      case BYTES -> "bytes";
      default -> "kind " + kind;
    };
  }

  private static byte[] magic(String magic) {
    byte[] b = magic.getBytes(StandardCharsets.US_ASCII);
    if (b.length != MAGIC_LENGTH) {
      throw new IllegalArgumentException("a magic of 8 ASCII characters, was \"" + magic + "\"");
    }
    return b;
  }

  /** Bytes per element of an entry of {@code kind}; 0 for a kind this version does not know. */
  private static int width(byte kind) {
    return switch (kind) {
      case FLOATS -> 4;
      case DOUBLES, LONGS -> 8;
      case BYTES -> 1;
      default -> 0;
    };
  }

  /** Collects named arrays, copied as they are added, and encodes them. */
  public static final class Writer {
    private final byte[] magic;
    private final Map<String, Entry> entries = new LinkedHashMap<>();

    /** A file that starts with {@code magic}, 8 ASCII characters naming what it holds. */
    public Writer(String magic) {
      this.magic = magic(magic);
    }

    private void put(String name, Entry e) {
      Objects.requireNonNull(name, "name");
      if (name.getBytes(StandardCharsets.UTF_8).length > 0xFFFF) {
        throw new IllegalArgumentException("entry name too long: " + name.length() + " chars");
      }
      if (entries.putIfAbsent(name, e) != null) {
        throw new IllegalArgumentException("entry written twice: " + name);
      }
    }

    /** Adds a copy of {@code values} as {@code name}. */
    public Writer floats(String name, float[] values) {
      put(name, new Entry(FLOATS, values.clone(), values.length));
      return this;
    }

    /** Adds a copy of {@code values} as {@code name}. */
    public Writer doubles(String name, double[] values) {
      put(name, new Entry(DOUBLES, values.clone(), values.length));
      return this;
    }

    /** Adds {@code values} as {@code name}. */
    public Writer longs(String name, long... values) {
      put(name, new Entry(LONGS, values.clone(), values.length));
      return this;
    }

    /** Adds a copy of {@code values} as {@code name}. */
    public Writer bytes(String name, byte[] values) {
      put(name, new Entry(BYTES, values.clone(), values.length));
      return this;
    }

    /** The file's bytes. */
    public byte[] toBytes() {
      long size = MAGIC_LENGTH + 4 + 4 + 4;
      for (Map.Entry<String, Entry> e : entries.entrySet()) {
        size += 2 + e.getKey().getBytes(StandardCharsets.UTF_8).length + 1 + 4
            + (long) width(e.getValue().kind) * e.getValue().length;
      }
      if (size > Integer.MAX_VALUE - 8) {
        throw new IllegalStateException("a checkpoint of " + size + " bytes is too large");
      }
      ByteBuffer buf = ByteBuffer.allocate((int) size);
      buf.put(magic).putInt(VERSION).putInt(entries.size());
      for (Map.Entry<String, Entry> e : entries.entrySet()) {
        byte[] name = e.getKey().getBytes(StandardCharsets.UTF_8);
        Entry v = e.getValue();
        buf.putShort((short) name.length).put(name).put(v.kind).putInt(v.length);
        // The typed views write without moving the buffer's position: move it past them.
        int at = buf.position();
        switch (v.kind) {
          case FLOATS -> buf.asFloatBuffer().put((float[]) v.values);
          case DOUBLES -> buf.asDoubleBuffer().put((double[]) v.values);
          case LONGS -> buf.asLongBuffer().put((long[]) v.values);
          default -> buf.put((byte[]) v.values);
        }
        buf.position(at + width(v.kind) * v.length);
      }
      CRC32C crc = new CRC32C();
      crc.update(buf.array(), 0, buf.position());
      buf.putInt((int) crc.getValue());
      return buf.array();
    }
  }

  /**
   * A decoded file, read by name into destinations that are written only by {@link #apply}.
   */
  public static final class Reader {
    private final String owner;
    private final Map<String, Entry> entries;
    private final TreeSet<String> unread;
    private final List<Runnable> staged = new ArrayList<>();

    private Reader(String owner, Map<String, Entry> entries) {
      this.owner = owner;
      this.entries = entries;
      this.unread = new TreeSet<>(entries.keySet());
    }

    /**
     * Decodes a checkpoint.
     *
     * @param magic what {@link Writer#Writer} was given
     * @param owner what wrote it, for messages: {@code "learner"}, {@code "neuron"}
     * @throws IOException naming the damage: not a checkpoint of this kind, another version,
     *     truncated, or failing its checksum
     */
    public static Reader decode(byte[] bytes, String magic, String owner) throws IOException {
      Objects.requireNonNull(bytes, "bytes");
      Objects.requireNonNull(owner, "owner");
      byte[] m = magic(magic);
      if (bytes.length < MAGIC_LENGTH || !Arrays.equals(bytes, 0, MAGIC_LENGTH, m, 0,
          MAGIC_LENGTH)) {
        throw new IOException("not a " + owner + " checkpoint (no " + magic.replace("\0", "")
            + " header)");
      }
      if (bytes.length < MAGIC_LENGTH + 12) {
        throw new IOException("the checkpoint is truncated: " + bytes.length + " bytes, fewer"
            + " than its header and checksum");
      }
      ByteBuffer buf = ByteBuffer.wrap(bytes);
      CRC32C crc = new CRC32C();
      crc.update(bytes, 0, bytes.length - 4);
      boolean intact = (int) crc.getValue() == buf.getInt(bytes.length - 4);
      // Another version is told as such only when the file is intact: a changed byte in the
      // version number is damage, not a newer library.
      int version = buf.getInt(MAGIC_LENGTH);
      if (version != VERSION && intact) {
        throw new IOException("checkpoint format version " + version + "; this library reads "
            + VERSION);
      }
      if (!intact) {
        throw new IOException("the checkpoint fails its checksum: damaged or truncated ("
            + bytes.length + " bytes)");
      }
      ByteBuffer body = ByteBuffer.wrap(bytes, 0, bytes.length - 4);
      body.position(MAGIC_LENGTH + 4);
      Map<String, Entry> entries = new LinkedHashMap<>();
      try {
        int count = body.getInt();
        if (count < 0) {
          throw new IOException("negative entry count " + count);
        }
        for (int i = 0; i < count; i++) {
          byte[] name = new byte[Short.toUnsignedInt(body.getShort())];
          body.get(name);
          byte kind = body.get();
          int length = body.getInt();
          if (length < 0) {
            throw new IOException("entry " + i + " has negative length " + length);
          }
          if (width(kind) == 0) {
            throw new IOException("entry " + i + " has unknown kind " + kind);
          }
          // Checked before allocating: a length the file cannot hold is damage, not a request.
          if ((long) width(kind) * length > body.remaining()) {
            throw new BufferUnderflowException();
          }
          int at = body.position();
          Object values = switch (kind) {
            case FLOATS -> {
              float[] v = new float[length];
              body.asFloatBuffer().get(v);
              yield v;
            }
            case DOUBLES -> {
              double[] v = new double[length];
              body.asDoubleBuffer().get(v);
              yield v;
            }
            case LONGS -> {
              long[] v = new long[length];
              body.asLongBuffer().get(v);
              yield v;
            }
            default -> {
              byte[] v = new byte[length];
              body.get(v);
              yield v;
            }
          };
          body.position(at + width(kind) * length);
          String key = new String(name, StandardCharsets.UTF_8);
          if (entries.put(key, new Entry(kind, values, length)) != null) {
            throw new IOException("entry " + key + " appears twice");
          }
        }
      } catch (BufferUnderflowException e) {
        throw new IOException("the checkpoint ends inside an entry", e);
      }
      if (body.hasRemaining()) {
        throw new IOException(body.remaining() + " bytes after the last entry");
      }
      return new Reader(owner, entries);
    }

    /** Whether the file has an entry {@code name}. */
    public boolean has(String name) {
      return entries.containsKey(name);
    }

    private Entry take(String name, byte kind, int length) {
      Entry e = entries.get(name);
      if (e == null) {
        throw new IllegalArgumentException("the checkpoint has no " + name
            + ": it was written by a " + owner + " of another shape");
      }
      if (e.kind != kind) {
        throw new IllegalArgumentException("the checkpoint's " + name + " is " + kindName(e.kind)
            + ", expected " + kindName(kind));
      }
      if (length >= 0 && e.length != length) {
        throw new IllegalArgumentException("the checkpoint's " + name + " has " + e.length
            + " values, this " + owner + "'s " + length + ": it was written by a " + owner
            + " of another shape");
      }
      unread.remove(name);
      return e;
    }

    /** Stages copying entry {@code name} into {@code into}, which it must fit exactly. */
    public void floats(String name, float[] into) {
      float[] v = (float[]) take(name, FLOATS, into.length).values;
      staged.add(() -> System.arraycopy(v, 0, into, 0, v.length));
    }

    /** Stages copying entry {@code name} into {@code into}, which it must fit exactly. */
    public void doubles(String name, double[] into) {
      double[] v = (double[]) take(name, DOUBLES, into.length).values;
      staged.add(() -> System.arraycopy(v, 0, into, 0, v.length));
    }

    /** Entry {@code name}, which must hold {@code count} values (read now, used by the caller). */
    public long[] longs(String name, int count) {
      return ((long[]) take(name, LONGS, count).values).clone();
    }

    /** Entry {@code name}, of any length (read now, used by the caller). */
    public byte[] bytes(String name) {
      return ((byte[]) take(name, BYTES, -1).values).clone();
    }

    /** Marks every entry whose name starts with {@code prefix} as read, without using it. */
    public void skip(String prefix) {
      unread.removeIf(name -> name.startsWith(prefix));
    }

    /** Stages an action of the caller's, run by {@link #apply} after the copies staged before. */
    public void then(Runnable action) {
      staged.add(Objects.requireNonNull(action, "action"));
    }

    /**
     * Writes every destination, in the order staged.
     *
     * @throws IllegalArgumentException, before writing anything, if entries were left unread
     */
    public void apply() {
      requireAllRead();
      staged.forEach(Runnable::run);
      staged.clear();
    }

    /**
     * Checks that every entry was read or skipped, as {@link #apply} does first.
     *
     * @throws IllegalArgumentException naming the entries left unread
     */
    public void requireAllRead() {
      if (!unread.isEmpty()) {
        throw new IllegalArgumentException("the checkpoint holds state this " + owner
            + " does not have: " + unread + " (written by a " + owner + " of another shape)");
      }
    }
  }
}
