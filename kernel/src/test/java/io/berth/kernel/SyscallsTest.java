package io.berth.kernel;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.berth.kernel.testing.RequiresRoot;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

@RequiresRoot
class SyscallsTest {
    @TempDir
    Path dir;

    @Test
    void failuresNameTheCallTheArgumentsAndTheErrno() {
        var e = assertThrows(SyscallException.class, () -> Syscalls.open(dir.resolve("missing"), Syscalls.O_RDONLY));
        assertEquals(Errno.ENOENT, e.errno());
        assertTrue(e.getMessage().startsWith("open " + dir.resolve("missing")), e.getMessage());
        assertTrue(e.getMessage().endsWith(": ENOENT (No such file or directory)"), e.getMessage());

        var m = assertThrows(SyscallException.class,
                () -> Syscalls.mount(dir.toString(), dir.resolve("nope"), null, MountFlags.MS_BIND | MountFlags.MS_REC, null));
        assertTrue(m.getMessage().contains("(MS_BIND|MS_REC)"), m.getMessage());
        assertTrue(m.getMessage().contains("ENOENT"), m.getMessage());
    }

    @Test
    void fdCloseIsIdempotent() throws Exception {
        Path f = Files.writeString(dir.resolve("f"), "x");
        Fd fd = Syscalls.open(f, Syscalls.O_RDONLY);
        assertTrue(fd.isOpen());
        fd.close();
        fd.close();
        assertThrows(IllegalStateException.class, fd::get);
    }

    @Test
    void aDedicatedThreadUnsharesWithoutTouchingTheRestOfTheJvm() throws Exception {
        String host = Files.readSymbolicLink(Path.of("/proc/thread-self/ns/uts")).toString();
        String inside = DedicatedThread.call("uts-test", () -> {
            Syscalls.unshare(Namespace.UTS.cloneFlag);
            Syscalls.sethostname("berth-test");
            return Files.readSymbolicLink(Path.of("/proc/thread-self/ns/uts")).toString()
                    + " " + Files.readString(Path.of("/proc/sys/kernel/hostname")).strip();
        });
        assertNotEquals(host, inside.split(" ")[0]);
        assertEquals("berth-test", inside.split(" ")[1]);
        assertNotEquals("berth-test", Files.readString(Path.of("/proc/sys/kernel/hostname")).strip());
        assertEquals(host, Files.readSymbolicLink(Path.of("/proc/thread-self/ns/uts")).toString());
    }

    @Test
    void flagsDecodeForMessages() {
        assertEquals("CLONE_NEWNS|CLONE_NEWPID", Namespace.describe(Namespace.MOUNT.cloneFlag | Namespace.PID.cloneFlag));
        assertEquals("MS_RDONLY|MS_BIND|0x40000000", MountFlags.describe(MountFlags.MS_RDONLY | MountFlags.MS_BIND | 0x40000000L));
    }
}
