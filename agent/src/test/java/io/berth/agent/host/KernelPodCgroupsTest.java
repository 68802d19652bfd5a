package io.berth.agent.host;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;

import io.berth.agent.domain.BerthException;
import io.berth.agent.domain.RuntimeInfo.CgroupDriver;
import io.berth.agent.pod.PodLimits;
import io.berth.kernel.cgroup.Cgroups;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The pod cgroup update on a cgroupfs laid out like v1 in a temporary directory (STYLE.md §11). */
class KernelPodCgroupsTest {
    @TempDir
    Path root;

    KernelPodCgroups v1() throws Exception {
        for (String c : new String[] {"cpu,cpuacct", "memory", "pids"}) {
            Files.createDirectories(root.resolve(c));
        }
        return new KernelPodCgroups(Cgroups.detect(root), CgroupDriver.CGROUPFS);
    }

    @Test
    void updateWritesTheSetLimitsIntoTheExistingPodCgroup() throws Exception {
        var cgroups = v1();
        Files.createDirectories(root.resolve("cpu,cpuacct/kubepods/pod1"));
        Files.createDirectories(root.resolve("memory/kubepods/pod1"));
        cgroups.update("/kubepods/pod1", new PodLimits(512, 50_000, 100_000, "", "", 1L << 30, Map.of(), Map.of()));
        Path cpu = root.resolve("cpu,cpuacct/kubepods/pod1");
        assertEquals("512", Files.readString(cpu.resolve("cpu.shares")));
        assertEquals("100000", Files.readString(cpu.resolve("cpu.cfs_period_us")));
        assertEquals("50000", Files.readString(cpu.resolve("cpu.cfs_quota_us")));
        assertEquals(Long.toString(1L << 30), Files.readString(root.resolve("memory/kubepods/pod1/memory.limit_in_bytes")));
        assertFalse(Files.exists(root.resolve("pids/kubepods/pod1/pids.max")), "a pod's pids limit is not CRI's to set");
    }

    @Test
    void aMissingCgroupIsAFailedPreconditionAndUnifiedOnV1IsInvalid() throws Exception {
        var cgroups = v1();
        var missing = assertThrows(BerthException.class, () -> cgroups.update("/kubepods/gone", PodLimits.NONE));
        assertEquals(BerthException.Kind.FAILED_PRECONDITION, missing.kind());
        Files.createDirectories(root.resolve("memory/kubepods/pod1"));
        var unified = new PodLimits(0, 0, 0, "", "", 0, Map.of(), Map.of("memory.high", "1000"));
        var e = assertThrows(BerthException.class, () -> cgroups.update("/kubepods/pod1", unified));
        assertEquals(BerthException.Kind.INVALID_ARGUMENT, e.kind());
    }
}
