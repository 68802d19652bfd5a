package io.berth.kernel;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.nio.file.attribute.FileTime;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The layer-unpacking calls on the real kernel, in a temp dir; none of these needs root. */
class FileSystemCallsTest {
    @TempDir
    Path tmp;

    private static int mode(Path p) throws IOException {
        return (int) Files.getAttribute(p, "unix:mode", LinkOption.NOFOLLOW_LINKS);
    }

    @Test
    void chmodKeepsSetuidSetgidAndSticky() throws IOException {
        Path f = Files.writeString(tmp.resolve("ping"), "x");
        FileSystemCalls.chmod(f, 04755);
        assertEquals(04755, mode(f) & 07777);
        Path d = Files.createDirectory(tmp.resolve("tmp"));
        FileSystemCalls.chmod(d, 01777);
        assertEquals(01777, mode(d) & 07777);
    }

    @Test
    void userXattrsRoundTripAndAnAbsentOneIsNull() throws IOException {
        Path f = Files.writeString(tmp.resolve("f"), "x");
        byte[] value = {0, 1, 2, (byte) 0xff};
        FileSystemCalls.lsetxattr(f, "user.berth.test", value);
        assertArrayEquals(value, FileSystemCalls.lgetxattr(f, "user.berth.test"));
        assertNull(FileSystemCalls.lgetxattr(f, "user.berth.absent"));
    }

    @Test
    void lutimesSetsTheLinkNotItsTarget() throws IOException {
        Path target = Files.writeString(tmp.resolve("target"), "x");
        Path link = Files.createSymbolicLink(tmp.resolve("link"), target.getFileName());
        FileTime before = Files.getLastModifiedTime(target);
        FileSystemCalls.lutimes(link, 1_000_000_000L, 123_456_789);
        FileTime linkTime = Files.getLastModifiedTime(link, LinkOption.NOFOLLOW_LINKS);
        assertEquals(1_000_000_000L, linkTime.to(TimeUnit.SECONDS));
        assertEquals(1_000_000_000_123_456_789L, linkTime.to(TimeUnit.NANOSECONDS));
        assertEquals(before, Files.getLastModifiedTime(target), "the target is untouched");
    }

    @Test
    void mknodMakesAFifoAndLchownKeepsTheOwner() throws IOException {
        Path fifo = tmp.resolve("fifo");
        FileSystemCalls.mknod(fifo, FileSystemCalls.S_IFIFO | 0640, 0, 0);
        assertEquals(FileSystemCalls.S_IFIFO | 0640, mode(fifo) & 0177777);
        int uid = (int) Files.getAttribute(fifo, "unix:uid");
        int gid = (int) Files.getAttribute(fifo, "unix:gid");
        FileSystemCalls.lchown(fifo, uid, gid); // to ourselves: allowed without root
        assertEquals(uid, Files.getAttribute(fifo, "unix:uid"));
    }

    @Test
    void syncfsOnADirectory() throws IOException {
        Files.writeString(tmp.resolve("f"), "durable");
        FileSystemCalls.syncfs(tmp);
    }

    @Test
    void failuresNameTheCallThePathAndTheErrno() {
        Path missing = tmp.resolve("missing");
        var e = assertThrows(SyscallException.class, () -> FileSystemCalls.chmod(missing, 0644));
        assertEquals("chmod", e.call());
        assertEquals(Errno.ENOENT, e.errno());
        assertTrue(e.getMessage().startsWith("chmod " + missing + " (0644): ENOENT"), e.getMessage());
        var x = assertThrows(SyscallException.class,
                () -> FileSystemCalls.lsetxattr(missing, "user.a", "b".getBytes(StandardCharsets.UTF_8)));
        assertTrue(x.getMessage().contains("lsetxattr " + missing + " user.a: ENOENT"), x.getMessage());
        var m = assertThrows(SyscallException.class, () -> FileSystemCalls.mknod(tmp, FileSystemCalls.S_IFIFO | 0600,
                0, 0));
        assertTrue(m.getMessage().contains("EEXIST"), m.getMessage());
        var s = assertThrows(SyscallException.class, () -> FileSystemCalls.syncfs(missing));
        assertTrue(s.getMessage().startsWith("open " + missing), s.getMessage());
    }
}
