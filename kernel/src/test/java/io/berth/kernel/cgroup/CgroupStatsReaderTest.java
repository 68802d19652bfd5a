package io.berth.kernel.cgroup;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Stats parsing against v1 and v2 layouts laid out in a temp dir, with values as the kernel prints them. */
class CgroupStatsReaderTest {
    @TempDir
    Path root;

    private void write(String rel, String text) throws Exception {
        Path f = root.resolve(rel);
        Files.createDirectories(f.getParent());
        Files.writeString(f, text);
    }

    @Test
    void v1ReadsEachControllerFromItsOwnHierarchy() throws Exception {
        String cg = "kubepods/pod1/c1/";
        Files.createDirectories(root.resolve("unified"));
        write("cpuacct/" + cg + "cpuacct.usage", "5123456789\n");
        write("cpuacct/" + cg + "cpuacct.usage_user", "4000000000\n");
        write("cpuacct/" + cg + "cpuacct.usage_sys", "1123456789\n");
        write("memory/" + cg + "memory.usage_in_bytes", "73400320\n");
        write("memory/" + cg + "memory.limit_in_bytes", "9223372036854771712\n");
        // Both the cgroup's own and the hierarchical totals: the totals win.
        write("memory/" + cg + "memory.stat", """
                cache 100
                rss 200
                inactive_file 1
                pgfault 5
                pgmajfault 1
                total_cache 4194304
                total_rss 67108864
                total_inactive_file 2097152
                total_pgfault 16500
                total_pgmajfault 3
                """);
        write("memory/" + cg + "memory.oom_control", "oom_kill_disable 0\nunder_oom 0\noom_kill 2\n");
        write("pids/" + cg + "pids.current", "3\n");

        var reader = CgroupStatsReader.detect(root);
        assertFalse(reader.isV2());
        CgroupStats s = reader.read("/kubepods/pod1/c1");
        assertEquals(5123456789L, s.cpuUsageNanos());
        assertEquals(4000000000L, s.cpuUserNanos());
        assertEquals(1123456789L, s.cpuSystemNanos());
        assertEquals(73400320L, s.memoryUsageBytes());
        assertEquals(0, s.memoryLimitBytes(), "PAGE_COUNTER_MAX means no limit");
        assertEquals(-1, s.availableBytes());
        assertEquals(73400320L - 2097152L, s.workingSetBytes());
        assertEquals(67108864L, s.rssBytes());
        assertEquals(4194304L, s.cacheBytes());
        assertEquals(16500, s.pageFaults());
        assertEquals(3, s.majorPageFaults());
        assertEquals(2, s.oomKills());
        assertEquals(3, s.pids());
        assertTrue(s.timestamp() > 0);
    }

    @Test
    void v1CombinedCpuMountAndTicksFallbackAndALimit() throws Exception {
        String cg = "pod/c/";
        write("cpu,cpuacct/" + cg + "cpuacct.usage", "42\n");
        write("cpu,cpuacct/" + cg + "cpuacct.stat", "user 250\nsystem 50\n");
        write("memory/" + cg + "memory.usage_in_bytes", "1000\n");
        write("memory/" + cg + "memory.limit_in_bytes", "4096\n");
        write("memory/" + cg + "memory.stat", "total_inactive_file 5000\ntotal_rss 10\n");
        CgroupStats s = CgroupStatsReader.detect(root).read("/pod/c");
        assertEquals(42, s.cpuUsageNanos());
        assertEquals(2_500_000_000L, s.cpuUserNanos(), "USER_HZ ticks to ns");
        assertEquals(500_000_000L, s.cpuSystemNanos());
        assertEquals(0, s.workingSetBytes(), "floored at 0 when inactive_file exceeds usage");
        assertEquals(4096, s.memoryLimitBytes());
        assertEquals(4096, s.availableBytes());
        assertEquals(0, s.pids(), "no pids hierarchy: 0");
    }

    @Test
    void v1WithoutHierarchicalTotalsTakesTheCgroupsOwnKeysAndAGarbledNumberIsAnError() throws Exception {
        String cg = "pod/c/";
        write("cpuacct/" + cg + "cpuacct.usage", " 7 \n");
        write("memory/" + cg + "memory.usage_in_bytes", "3000\n");
        write("memory/" + cg + "memory.limit_in_bytes", "8192\n");
        write("memory/" + cg + "memory.stat", "cache 11\nrss 22 \ninactive_file 1000\npgfault 33\npgmajfault 44\nhierarchical_memory_limit 8192\n");
        CgroupStats s = CgroupStatsReader.detect(root).read("/pod/c");
        assertEquals(7, s.cpuUsageNanos());
        assertEquals(2000, s.workingSetBytes());
        assertEquals(22, s.rssBytes());
        assertEquals(11, s.cacheBytes());
        assertEquals(33, s.pageFaults());
        assertEquals(44, s.majorPageFaults());
        assertEquals(0, s.oomKills(), "no memory.oom_control: 0");

        write("memory/" + cg + "memory.usage_in_bytes", "12a\n");
        var e = assertThrows(java.io.IOException.class, () -> CgroupStatsReader.detect(root).read("/pod/c"));
        assertTrue(e.getMessage().endsWith("memory.usage_in_bytes: not a number: '12a'"), e.getMessage());
    }

    @Test
    void v2ReadsTheUnifiedFiles() throws Exception {
        write("cgroup.controllers", "cpu memory pids\n");
        String cg = "kubepods/pod1/c1/";
        write(cg + "cpu.stat", "usage_usec 2500000\nuser_usec 2000000\nsystem_usec 500000\nnr_periods 0\n");
        write(cg + "memory.current", "70000000\n");
        write(cg + "memory.max", "134217728\n");
        write(cg + "memory.stat", "anon 67108864\nfile 2000000\ninactive_file 1000000\npgfault 17000\npgmajfault 4\n");
        write(cg + "memory.events", "low 0\nhigh 0\nmax 3\noom 1\noom_kill 1\n");
        write(cg + "pids.current", "2\n");
        var reader = CgroupStatsReader.detect(root);
        assertTrue(reader.isV2());
        CgroupStats s = reader.read("/kubepods/pod1/c1");
        assertEquals(2_500_000_000L, s.cpuUsageNanos());
        assertEquals(2_000_000_000L, s.cpuUserNanos());
        assertEquals(500_000_000L, s.cpuSystemNanos());
        assertEquals(70000000L, s.memoryUsageBytes());
        assertEquals(134217728L, s.memoryLimitBytes());
        assertEquals(69000000L, s.workingSetBytes());
        assertEquals(134217728L - 69000000L, s.availableBytes());
        assertEquals(67108864L, s.rssBytes());
        assertEquals(2000000L, s.cacheBytes());
        assertEquals(17000, s.pageFaults());
        assertEquals(4, s.majorPageFaults());
        assertEquals(1, s.oomKills());
        assertEquals(2, s.pids());

        write(cg + "memory.max", "max\n");
        assertEquals(0, reader.read("/kubepods/pod1/c1").memoryLimitBytes());
    }

    @Test
    void aMissingCgroupIsNoSuchFile() throws Exception {
        Files.createDirectories(root.resolve("memory"));
        Files.createDirectories(root.resolve("cpuacct"));
        assertThrows(NoSuchFileException.class, () -> CgroupStatsReader.detect(root).read("/gone"));
        Path v2 = root.resolve("v2");
        Files.createDirectories(v2);
        Files.writeString(v2.resolve("cgroup.controllers"), "");
        assertThrows(NoSuchFileException.class, () -> CgroupStatsReader.detect(v2).read("/gone"));
    }

    @Test
    void nanoCoresIsTheCpuTimeOverTheInterval() {
        var a = new CgroupStats(1_000_000_000L, 3_000_000_000L, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0);
        var b = new CgroupStats(3_000_000_000L, 4_500_000_000L, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0);
        assertEquals(750_000_000L, b.nanoCoresSince(a), "1.5 s of CPU in 2 s is 0.75 core");
        assertEquals(0, a.nanoCoresSince(b), "a counter that went backwards (new cgroup) gives 0, not garbage");
    }
}
