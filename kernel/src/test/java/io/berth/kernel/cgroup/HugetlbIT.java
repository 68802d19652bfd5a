package io.berth.kernel.cgroup;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.berth.kernel.Syscalls;
import io.berth.kernel.testing.RequiresRoot;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Map;
import java.util.UUID;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Hugepage limits (CRI LinuxContainerResources.hugepage_limits) enforced by the real kernel: a
 * cgroup in the host's cgroup2 hierarchy with the hugetlb controller (on this hybrid host hugetlb
 * is bound to no v1 hierarchy, so cgroup2 has it), four 2 MiB huge pages reserved for the test
 * (vm.nr_hugepages, put back afterwards) and a hugetlbfs of the test's own. A process in the
 * cgroup may take one huge page and is refused the second.
 */
@RequiresRoot
class HugetlbIT {
    static final Path NR_HUGEPAGES = Path.of("/proc/sys/vm/nr_hugepages");
    static final long PAGE = 2L << 20;

    @TempDir
    Path dir;

    Cgroup cgroup;
    Path hugetlbfs;
    String nrHugepagesFound;

    @BeforeEach
    void reserveHugePagesAndMount() throws Exception {
        Path root = DevicesBpfIT.cgroup2Root();
        assertTrue(Files.readString(root.resolve("cgroup.controllers")).contains("hugetlb"),
                "the cgroup2 hierarchy at " + root + " has the hugetlb controller");
        nrHugepagesFound = Files.readString(NR_HUGEPAGES).trim();
        Files.writeString(NR_HUGEPAGES, Long.toString(Long.parseLong(nrHugepagesFound) + 4));
        hugetlbfs = Files.createDirectories(dir.resolve("huge"));
        Syscalls.mount("hugetlbfs", hugetlbfs, "hugetlbfs", 0, "pagesize=2M");
        cgroup = Cgroups.detect(root).create("/berth-it-hugetlb-" + UUID.randomUUID().toString().substring(0, 8),
                new Resources(0, 0, 0, "", "", 0, 0, Map.of("2MB", PAGE), Map.of()));
    }

    @AfterEach
    void cleanUp() throws Exception {
        try {
            if (hugetlbfs != null) Syscalls.umount2(hugetlbfs, 0);
            if (cgroup != null) {
                cgroup.remove(Duration.ofSeconds(10));
                assertFalse(cgroup.exists(), cgroup + " is gone");
            }
        } finally {
            if (nrHugepagesFound != null) Files.writeString(NR_HUGEPAGES, nrHugepagesFound);
        }
    }

    @Test
    void theLimitIsWrittenAndAProcessGetsNoMoreHugePagesThanIt() throws Exception {
        Path limit = DevicesBpfIT.cgroup2Root().resolve(cgroup.path().substring(1)).resolve("hugetlb.2MB.max");
        assertEquals(Long.toString(PAGE), Files.readString(limit).trim());
        assertTrue(Long.parseLong(Files.readString(NR_HUGEPAGES).trim()) >= 4, "the test's huge pages are there");

        // fallocate on hugetlbfs takes huge pages for the file at once, charged to the caller's cgroup.
        Process child = new ProcessBuilder("sh", "-c", "read go\n"
                + "fallocate -l 2M " + hugetlbfs.resolve("one") + " && echo first-page-ok\n"
                + "fallocate -l 2M " + hugetlbfs.resolve("two") + " || echo second-page-refused\n")
                .redirectErrorStream(true).start();
        try {
            cgroup.addProcess((int) child.pid());
            child.getOutputStream().write("go\n".getBytes(StandardCharsets.US_ASCII));
            child.getOutputStream().close();
            assertTrue(child.waitFor(20, TimeUnit.SECONDS), "the child exits");
            String out = new String(child.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
            assertTrue(out.contains("first-page-ok") && out.contains("second-page-refused"), out);
        } finally {
            child.destroyForcibly();
        }
        String events = Files.readString(limit.resolveSibling("hugetlb.2MB.events"));
        assertTrue(events.matches("(?s)max [1-9].*"), "the cgroup counted the refusal: " + events);
    }
}
