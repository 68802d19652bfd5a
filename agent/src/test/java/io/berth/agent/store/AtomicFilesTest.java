package io.berth.agent.store;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.DirectoryNotEmptyException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The one crash-safe file helper, used by the records and by the image store alike. */
class AtomicFilesTest {
    @TempDir
    Path tmp;

    @Test
    void writeReplacesWholeAndLeavesNoTempFile() throws IOException {
        Path target = tmp.resolve("sub/index.json");
        AtomicFiles.write(target, "one".getBytes(StandardCharsets.UTF_8));
        AtomicFiles.write(target, "two".getBytes(StandardCharsets.UTF_8));
        assertEquals("two", Files.readString(target));
        assertEquals("rw-------", PosixFilePermissions.toString(Files.getPosixFilePermissions(target)));
        try (Stream<Path> s = Files.list(target.getParent())) {
            assertEquals(1, s.count(), "no .tmp- file left beside the target");
        }
    }

    @Test
    void renameMovesAFinishedDirectoryIntoPlace() throws IOException {
        Path work = Files.createDirectories(tmp.resolve("layers/.work-1/diff"));
        Files.writeString(work.resolve("f"), "x");
        Path target = tmp.resolve("layers/abc");
        AtomicFiles.rename(work.getParent(), target);
        assertEquals("x", Files.readString(target.resolve("diff/f")));
        assertFalse(Files.exists(work.getParent()));
    }

    @Test
    void renameNeverReplacesAFinishedLayer() throws IOException {
        Path done = Files.createDirectories(tmp.resolve("layers/abc/diff"));
        Files.writeString(done.resolve("f"), "first");
        Path work = Files.createDirectories(tmp.resolve("layers/.work-2/diff"));
        Files.writeString(work.resolve("f"), "second");
        assertThrows(DirectoryNotEmptyException.class, () -> AtomicFiles.rename(work.getParent(),
                tmp.resolve("layers/abc")));
        assertEquals("first", Files.readString(done.resolve("f")));
        assertTrue(Files.exists(work), "the loser is left for its owner to remove");
    }

    @Test
    void renameOfAFileReplacesIdenticalContent() throws IOException {
        Path blob = tmp.resolve("blobs/sha256/aa");
        Files.createDirectories(blob.getParent());
        Files.write(blob, new byte[] {1, 2});
        Path ingest = Files.createDirectories(tmp.resolve("ingest")).resolve("aa-1");
        Files.write(ingest, new byte[] {1, 2});
        AtomicFiles.rename(ingest, blob);
        assertArrayEquals(new byte[] {1, 2}, Files.readAllBytes(blob));
        assertFalse(Files.exists(ingest));
    }
}
