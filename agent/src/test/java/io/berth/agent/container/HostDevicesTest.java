package io.berth.agent.container;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import io.berth.agent.domain.BerthException;
import io.berth.kernel.FileOps;
import io.berth.kernel.testing.RequiresRoot;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Comparator;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** ContainerConfig.devices against real host nodes (/dev/null, /dev/zero) and nodes made in a temp dir. */
class HostDevicesTest {
    @TempDir
    Path dir;

    static List<ContainerPlan.Device> resolve(String host, String container, String permissions) {
        return HostDevices.resolve("app", new ContainerRequest.Device(host, container, permissions));
    }

    @Test
    void aNodeKeepsTheHostsNumbersModeAndOwner() {
        assertEquals(List.of(new ContainerPlan.Device("/dev/mydev", "c", 1, 3, 0666, 0, 0, "r")),
                resolve("/dev/null", "/dev/mydev", "r"));
    }

    @Test
    void emptyContainerPathAndPermissionsMeanTheHostPathAndRwm() throws Exception {
        assertEquals(List.of(new ContainerPlan.Device("/dev/zero", "c", 1, 5, 0666, 0, 0, "rwm")),
                resolve("/dev/zero", "", ""));
    }

    @Test
    void aSymlinkToANodeIsFollowed() throws Exception {
        Files.createSymbolicLink(dir.resolve("by-id"), Path.of("/dev/null"));
        assertEquals("c 1:3", describe(resolve(dir.resolve("by-id").toString(), "/dev/x", "rw").getFirst()));
    }

    @Test
    void aDirectoryGivesEveryNodeBelowItAtTheSameRelativePath() throws Exception {
        assumeTrue(RequiresRoot.Check.isRoot(), "mknod needs root");
        Path gpu = Files.createDirectories(dir.resolve("dri"));
        FileOps.mknod(gpu.resolve("card0"), FileOps.S_IFCHR | 0660, FileOps.makedev(226, 0));
        Files.createDirectories(gpu.resolve("by-path"));
        FileOps.mknod(gpu.resolve("by-path/renderD128"), FileOps.S_IFBLK | 0600, FileOps.makedev(226, 128));
        Files.createSymbolicLink(gpu.resolve("link"), gpu.resolve("card0"));
        Files.writeString(gpu.resolve("README"), "not a device");
        Files.createDirectories(gpu.resolve("pts"));
        FileOps.mknod(gpu.resolve("pts/0"), FileOps.S_IFCHR | 0600, FileOps.makedev(136, 0));
        FileOps.mknod(gpu.resolve("console"), FileOps.S_IFCHR | 0600, FileOps.makedev(5, 1));
        var devices = resolve(gpu.toString(), "/dev/dri", "rw").stream()
                .sorted(Comparator.comparing(ContainerPlan.Device::path)).toList();
        assertEquals(List.of(new ContainerPlan.Device("/dev/dri/by-path/renderD128", "b", 226, 128, 0600, 0, 0, "rw"),
                new ContainerPlan.Device("/dev/dri/card0", "c", 226, 0, 0660, 0, 0, "rw")), devices,
                "symlinks, files, pts and console are skipped");
        assertEquals(gpu.resolve("card0").toString(), resolve(gpu.toString(), "", "rw").stream()
                .filter(d -> d.minor() == 0).findFirst().orElseThrow().path(), "no container_path: the host's");
    }

    @Test
    void badDevicesAreRefusedNamingTheDevice() throws Exception {
        Files.writeString(dir.resolve("file"), "x");
        assertRefused("host_path does not exist", "/dev/berth-nope", "/dev/x", "rw");
        assertRefused("not a character or block device", dir.resolve("file").toString(), "/dev/x", "rw");
        assertRefused("container_path is not absolute", "/dev/null", "dev/x", "rw");
        assertRefused("host_path is not absolute", "dev/null", "/dev/x", "rw");
        assertRefused("it has no host_path", "", "/dev/x", "rw");
        assertRefused("not a subset of \"rwm\"", "/dev/null", "/dev/x", "rwx");
        assertRefused("not a subset of \"rwm\"", "/dev/null", "/dev/x", "rr");
    }

    private static void assertRefused(String why, String host, String container, String permissions) {
        var e = assertThrows(BerthException.class, () -> resolve(host, container, permissions));
        assertEquals(BerthException.Kind.INVALID_ARGUMENT, e.kind());
        assertTrue(e.getMessage().startsWith("container app: device " + host) && e.getMessage().contains(why),
                e.getMessage());
    }

    private static String describe(ContainerPlan.Device d) {
        return d.type() + " " + d.major() + ":" + d.minor();
    }
}
