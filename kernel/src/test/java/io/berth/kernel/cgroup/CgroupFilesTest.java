package io.berth.kernel.cgroup;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.Set;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The drivers' file writes against v1 and v2 layouts in a temp dir (STYLE.md §11). */
class CgroupFilesTest {
    @TempDir
    Path root;

    private static final Resources ALL = new Resources(512, 50000, 100000, "0-1", "0", 64L << 20, 42,
            Map.of("2MB", 0L), Map.of());

    @Test
    void pidsBelowListsACgroupAndEveryCgroupUnderIt() throws Exception {
        Path c = Files.createDirectories(root.resolve("pod/c1"));
        Files.writeString(c.resolve("cgroup.procs"), "10\n11\n");
        Files.writeString(c.resolve("pids.max"), "max\n");
        Files.writeString(Files.createDirectories(c.resolve("sub")).resolve("cgroup.procs"), "12\n");
        Files.writeString(Files.createDirectories(c.resolve("sub/deeper")).resolve("cgroup.procs"), "13\n\n");
        Files.createDirectories(c.resolve("empty"));
        assertEquals(Set.of(10, 11, 12, 13), Set.copyOf(CgroupFiles.pidsBelow(c)));
        assertEquals(List.of(12, 13), CgroupFiles.pidsBelow(c.resolve("sub")), "a cgroup before those under it");
        assertEquals(List.of(), CgroupFiles.pidsBelow(root.resolve("pod/gone")), "a cgroup that is gone lists nothing");
    }

    @Test
    void v1WritesEachControllerInItsHierarchyAndCopiesCpusetDown() throws Exception {
        for (String c : new String[] {"cpu", "cpuacct", "cpuset", "memory", "pids", "hugetlb", "devices", "unified"}) {
            Files.createDirectories(root.resolve(c));
        }
        Files.writeString(root.resolve("cpuset/cpuset.cpus"), "0-3\n");
        Files.writeString(root.resolve("cpuset/cpuset.mems"), "0\n");
        Cgroups cgroups = Cgroups.detect(root);
        assertFalse(cgroups.isV2());
        Cgroup cg = cgroups.create("/kubepods/pod1/c1", ALL.withPidsLimit(42));
        Path p = Path.of("kubepods/pod1/c1");
        assertEquals("512", Files.readString(root.resolve("cpu").resolve(p).resolve("cpu.shares")));
        assertEquals("100000", Files.readString(root.resolve("cpu").resolve(p).resolve("cpu.cfs_period_us")));
        assertEquals("50000", Files.readString(root.resolve("cpu").resolve(p).resolve("cpu.cfs_quota_us")));
        assertEquals(String.valueOf(64L << 20), Files.readString(root.resolve("memory").resolve(p).resolve("memory.limit_in_bytes")));
        assertEquals("42", Files.readString(root.resolve("pids").resolve(p).resolve("pids.max")));
        assertEquals("0", Files.readString(root.resolve("hugetlb").resolve(p).resolve("hugetlb.2MB.limit_in_bytes")));
        assertEquals("0-1", Files.readString(root.resolve("cpuset").resolve(p).resolve("cpuset.cpus")));
        // the intermediate levels got the parent's cpus so that tasks can join below them
        assertEquals("0-3", Files.readString(root.resolve("cpuset/kubepods/cpuset.cpus")));
        assertEquals("0", Files.readString(root.resolve("cpuset/kubepods/pod1/c1/cpuset.mems")));
        assertTrue(Files.isDirectory(root.resolve("cpuacct").resolve(p)));
        assertFalse(Files.exists(root.resolve("unified").resolve(p)), "the hybrid v2 mount is not a v1 hierarchy");

        cg.addProcess(1234);
        assertEquals("1234", Files.readString(root.resolve("memory").resolve(p).resolve("cgroup.procs")));
        Files.writeString(root.resolve("memory").resolve(p).resolve("memory.oom_control"),
                "oom_kill_disable 0\nunder_oom 0\noom_kill 3\n");
        assertEquals(3, cg.oomKills());
        cg.allowDevicesOnly(List.of(DeviceRule.parse("c 1:3 rwm")));
        assertEquals("c 1:3 rwm", Files.readString(root.resolve("devices").resolve(p).resolve("devices.allow")));
        assertEquals("a", Files.readString(root.resolve("devices").resolve(p).resolve("devices.deny")));
        assertThrows(java.io.IOException.class, () -> cg.apply(new Resources(0, 0, 0, "", "", 0, 0, Map.of(), Map.of("memory.high", "1"))));
    }

    @Test
    void v2EnablesControllersAndConvertsUnits() throws Exception {
        Files.writeString(root.resolve("cgroup.controllers"), "cpuset cpu io memory pids\n");
        Cgroups cgroups = Cgroups.detect(root);
        assertTrue(cgroups.isV2());
        Cgroup cg = cgroups.create("/kubepods/c1", new Resources(1024, 0, 100000, "", "", 1 << 20, 0, Map.of(),
                Map.of("memory.high", "900000")));
        Path d = root.resolve("kubepods/c1");
        assertEquals("+cpuset +cpu +io +memory +pids", Files.readString(root.resolve("cgroup.subtree_control")));
        assertEquals("+cpuset +cpu +io +memory +pids", Files.readString(root.resolve("kubepods/cgroup.subtree_control")));
        assertEquals("39", Files.readString(d.resolve("cpu.weight")));
        assertEquals("max 100000", Files.readString(d.resolve("cpu.max")));
        assertEquals("1048576", Files.readString(d.resolve("memory.max")));
        assertEquals("900000", Files.readString(d.resolve("memory.high")));
        assertFalse(Files.exists(d.resolve("pids.max")), "an unset pids limit is left alone");
        Files.writeString(d.resolve("memory.events"), "low 0\nhigh 0\nmax 4\noom 2\noom_kill 1\n");
        assertEquals(1, cg.oomKills());
        assertThrows(UnsupportedOperationException.class, () -> cg.addThread(1));
        assertThrows(java.io.IOException.class, () -> cg.apply(new Resources(0, 0, 0, "", "", 0, 0, Map.of(), Map.of("../x", "1"))));
    }

    @Test
    void v1ShowsAContainerEachHierarchysDirectoryOfItsCgroupAndTheHostsLinks() throws Exception {
        for (String c : new String[] {"cpu,cpuacct", "memory", "systemd", "unified"}) {
            Files.createDirectories(root.resolve(c));
        }
        Files.createSymbolicLink(root.resolve("cpu"), Path.of("cpu,cpuacct"));
        Files.createSymbolicLink(root.resolve("cpuacct"), Path.of("cpu,cpuacct"));
        Cgroup cg = Cgroups.detect(root).create("/kubepods/c1", Resources.NONE);
        assertEquals(List.of(
                new Cgroup.ViewEntry("cpu,cpuacct", root.resolve("cpu,cpuacct/kubepods/c1"), null),
                new Cgroup.ViewEntry("memory", root.resolve("memory/kubepods/c1"), null),
                new Cgroup.ViewEntry("systemd", root.resolve("systemd/kubepods/c1"), null),
                new Cgroup.ViewEntry("cpu", null, "cpu,cpuacct"),
                new Cgroup.ViewEntry("cpuacct", null, "cpu,cpuacct")), cg.containerView());
    }

    @Test
    void v2ShowsAContainerItsCgroupsDirectoryAndRefusesALimitOfAControllerItLacks() throws Exception {
        Files.writeString(root.resolve("cgroup.controllers"), "hugetlb\n");
        Cgroup cg = Cgroups.detect(root).create("/kubepods/c1", Resources.NONE);
        Path d = root.resolve("kubepods/c1");
        assertEquals(List.of(new Cgroup.ViewEntry("", d, null)), cg.containerView());
        // A real cgroup2 directory has cgroup.controllers, and no memory.max without the controller.
        Files.writeString(d.resolve("cgroup.controllers"), "hugetlb\n");
        Files.writeString(d.resolve("hugetlb.2MB.max"), "max");
        var e = assertThrows(java.io.IOException.class,
                () -> cg.apply(new Resources(0, 0, 0, "", "", 1 << 20, 0, Map.of("2MB", 4L << 20), Map.of())));
        assertEquals("cgroup /kubepods/c1: cannot set memory.max to 1048576: the memory controller is not enabled"
                + " for it (cgroup.controllers: 'hugetlb')", e.getMessage());
        assertFalse(Files.exists(d.resolve("memory.max")));
        assertEquals("max", Files.readString(d.resolve("hugetlb.2MB.max")), "nothing of a refused update is written");
    }

    @Test
    void sharesToWeightMatchesRunc() {
        assertEquals(1, CgroupV2.sharesToWeight(2));
        assertEquals(10000, CgroupV2.sharesToWeight(262144));
        assertEquals(39, CgroupV2.sharesToWeight(1024));
    }

    @Test
    void joinAndValidate() {
        assertEquals("/kubepods/besteffort/pod1/c1", Cgroups.join("/kubepods/besteffort/pod1/", "c1"));
        assertEquals("/kubepods/c1", Cgroups.join("kubepods", "c1"));
        assertThrows(IllegalArgumentException.class, () -> Cgroups.validate("/a/../../etc"));
    }

    @Test
    void aFlatKeyedValueIsReadAndAMissingFileOrLineIsZeroButAGarbledValueIsAnError() throws Exception {
        Path events = root.resolve("memory.events");
        assertEquals(0, CgroupFiles.keyed(events, "oom_kill"), "no file");
        Files.writeString(events, "low 0\nhigh 0\nmax 3\noom 1\noom_kill 2\n");
        assertEquals(2, CgroupFiles.keyed(events, "oom_kill"));
        assertEquals(0, CgroupFiles.keyed(events, "oom_group_kill"), "no such line");
        Files.writeString(events, "oom_kill two\n");
        var e = assertThrows(java.io.IOException.class, () -> CgroupFiles.keyed(events, "oom_kill"));
        assertTrue(e.getMessage().endsWith("the value of oom_kill is not a number"), e.getMessage());
    }
}
