package io.bittensor.core.internal;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeFalse;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.io.IOException;
import java.nio.file.FileAlreadyExistsException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.FileTime;
import java.nio.file.attribute.PosixFilePermissions;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class DurableFilesTest {
  @TempDir Path dir;

  private List<Path> listing() throws IOException {
    try (Stream<Path> files = Files.list(dir)) {
      return files.sorted().toList();
    }
  }

  @Test
  void replaceWritesAndOverwritesLeavingOnlyTheFile() throws IOException {
    Path file = dir.resolve("state.bin");
    DurableFiles.replace(file, new byte[] {1, 2, 3});
    assertArrayEquals(new byte[] {1, 2, 3}, Files.readAllBytes(file));
    DurableFiles.replace(file, new byte[] {9});
    assertArrayEquals(new byte[] {9}, Files.readAllBytes(file));
    assertEquals(List.of(file), listing(), "no temporary file left");
  }

  @Test
  void aFailedReplaceLeavesTheOldFileAndNoTemporary() throws IOException {
    Path file = dir.resolve("state.bin");
    DurableFiles.replace(file, new byte[] {1, 2, 3});
    // A folder where the file should be: the move cannot replace it.
    Path blocked = dir.resolve("blocked");
    Files.createDirectory(blocked);
    Files.writeString(blocked.resolve("inside"), "x");
    assertThrows(IOException.class, () -> DurableFiles.replace(blocked, new byte[] {7}));
    assertEquals(List.of(blocked, file), listing(), "the temporary file was removed");
    assertArrayEquals(new byte[] {1, 2, 3}, Files.readAllBytes(file));
    assertThrows(IOException.class,
        () -> DurableFiles.replace(dir.resolve("no-such-folder").resolve("f"), new byte[] {1}));
  }

  /** A temporary file named as process {@code pid} would name it, last written {@code age} ago. */
  private Path litter(Path target, long pid, Duration age) throws IOException {
    Path tmp = Files.createTempFile(
        dir, DurableFiles.temporaryPrefix(target, pid), DurableFiles.TEMPORARY_SUFFIX);
    Files.write(tmp, new byte[] {1, 2});
    Files.setLastModifiedTime(tmp, FileTime.from(Instant.now().minus(age)));
    return tmp;
  }

  /** The id of a process that has ended. */
  private static long deadPid() throws Exception {
    Process p = new ProcessBuilder("true").start();
    p.waitFor();
    long pid = p.pid();
    assumeFalse(ProcessHandle.of(pid).map(ProcessHandle::isAlive).orElse(false), "pid reused");
    return pid;
  }

  @Test
  void theFirstWriteIntoAFolderRemovesWhatACrashedWriterLeft() throws Exception {
    Path file = dir.resolve("neuron.ckpt");
    Files.write(file, new byte[] {5});
    Path crashed = litter(file, deadPid(), Duration.ofMinutes(5));
    Path otherFile = litter(dir.resolve("ledger.snap"), deadPid(), Duration.ofHours(3));
    DurableFiles.replace(file, new byte[] {6});
    assertFalse(Files.exists(crashed));
    assertFalse(Files.exists(otherFile), "any target's, in the same folder");
    assertEquals(List.of(file), listing());
    assertArrayEquals(new byte[] {6}, Files.readAllBytes(file));
  }

  @Test
  void onlyOldTemporariesOfEndedProcessesAreRemoved() throws Exception {
    Path file = dir.resolve("state.bin");
    long dead = deadPid();
    Path young = litter(file, dead, Duration.ofSeconds(5));
    Path ours = litter(file, ProcessHandle.current().pid(), Duration.ofHours(1));
    Process sleeper = new ProcessBuilder("sleep", "60").start();
    try {
      Path live = litter(file, sleeper.pid(), Duration.ofHours(1));
      Path stale = litter(file, dead, Duration.ofMinutes(2));
      Path notOurs = Files.writeString(dir.resolve(".state.bin.12.34.tmp"), "x");
      Path userFile = Files.writeString(dir.resolve("notes.bt-partial"), "x");
      for (Path p : List.of(notOurs, userFile)) {
        Files.setLastModifiedTime(p, FileTime.from(Instant.now().minus(Duration.ofDays(1))));
      }
      assertEquals(1, DurableFiles.removeStaleTemporaries(dir, Instant.now()));
      assertFalse(Files.exists(stale));
      for (Path kept : List.of(young, ours, live, notOurs, userFile)) {
        assertTrue(Files.exists(kept), kept + " was removed");
      }
      // The young one becomes stale once a minute has passed.
      assertEquals(1, DurableFiles.removeStaleTemporaries(
          dir, Instant.now().plus(DurableFiles.STALE_AFTER)));
      assertFalse(Files.exists(young));
    } finally {
      sleeper.destroyForcibly();
    }
  }

  @Test
  void createWritesANewFileAndNeverReplacesOne() throws IOException {
    Path file = dir.resolve("key");
    DurableFiles.create(file, new byte[] {4, 2});
    assertArrayEquals(new byte[] {4, 2}, Files.readAllBytes(file));
    assertThrows(FileAlreadyExistsException.class,
        () -> DurableFiles.create(file, new byte[] {9}));
    assertArrayEquals(new byte[] {4, 2}, Files.readAllBytes(file));
    assertEquals(List.of(file), listing(), "no temporary file left");
  }

  @Test
  void createSetsTheAttributesGiven() throws IOException {
    assumeTrue(Files.getFileStore(dir).supportsFileAttributeView("posix"));
    Path file = dir.resolve("secret");
    DurableFiles.create(file, new byte[] {1},
        PosixFilePermissions.asFileAttribute(PosixFilePermissions.fromString("rw-------")));
    assertEquals("rw-------", PosixFilePermissions.toString(Files.getPosixFilePermissions(file)));
  }

  @Test
  void withoutAttributesAFileGetsTheModeAnyNewFileGets() throws IOException {
    assumeTrue(Files.getFileStore(dir).supportsFileAttributeView("posix"));
    Path plain = Files.createFile(dir.resolve("plain")); // the process's umask applied
    Path replaced = dir.resolve("replaced");
    DurableFiles.replace(replaced, new byte[] {1});
    Path created = dir.resolve("created");
    DurableFiles.create(created, new byte[] {2});
    String expected = PosixFilePermissions.toString(Files.getPosixFilePermissions(plain));
    assertEquals(expected,
        PosixFilePermissions.toString(Files.getPosixFilePermissions(replaced)), "replaced");
    assertEquals(expected,
        PosixFilePermissions.toString(Files.getPosixFilePermissions(created)), "created");
  }
}
