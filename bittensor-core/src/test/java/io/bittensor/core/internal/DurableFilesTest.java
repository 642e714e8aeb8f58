package io.bittensor.core.internal;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
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
}
