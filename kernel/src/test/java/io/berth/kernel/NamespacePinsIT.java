package io.berth.kernel;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.berth.kernel.testing.RequiresRoot;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Set;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

@RequiresRoot
class NamespacePinsIT {
    @TempDir
    Path dir;

    @Test
    void pinsKeepNamespacesAliveUntilRemoved() throws Exception {
        Path pod = dir.resolve("pod");
        var pins = NamespacePins.create(pod, Set.of(Namespace.NET, Namespace.IPC, Namespace.UTS), "pod-host");
        assertEquals(3, pins.size());
        String hostNet = Files.readSymbolicLink(Path.of("/proc/self/ns/net")).toString();
        String inside = DedicatedThread.call("check", () -> {
            Syscalls.setns(pins.get(Namespace.UTS), Namespace.UTS);
            Syscalls.setns(pins.get(Namespace.NET), Namespace.NET);
            return Files.readSymbolicLink(Path.of("/proc/thread-self/ns/net")) + " "
                    + Files.readString(Path.of("/proc/sys/kernel/hostname")).strip();
        });
        assertNotEquals(hostNet, inside.split(" ")[0]);
        assertEquals("pod-host", inside.split(" ")[1]);
        assertEquals(3, Files.readAllLines(Path.of("/proc/self/mountinfo")).stream().filter(l -> l.contains(pod.toString())).count());
        assertTrue(NamespacePins.holds(pins.get(Namespace.NET), Namespace.NET));
        assertTrue(NamespacePins.holds(pins.get(Namespace.IPC), Namespace.IPC));
        assertFalse(NamespacePins.holds(pins.get(Namespace.NET), Namespace.UTS), "a pin of another type");

        // What a reboot leaves of a pin on a disk: the empty file the bind mount covered.
        Syscalls.umount2(pins.get(Namespace.UTS), MountFlags.MNT_DETACH);
        assertTrue(Files.exists(pins.get(Namespace.UTS)));
        assertFalse(NamespacePins.holds(pins.get(Namespace.UTS), Namespace.UTS));
        assertFalse(NamespacePins.holds(pod.resolve("missing"), Namespace.NET));

        NamespacePins.remove(pod);
        NamespacePins.remove(pod); // idempotent
        assertFalse(Files.readString(Path.of("/proc/self/mountinfo")).contains(pod.toString()));
        assertFalse(Files.exists(pod.resolve("net")));
        assertThrows(IllegalArgumentException.class, () -> NamespacePins.create(pod, Set.of(Namespace.PID), ""));
    }
}
