package io.berth.agent.pod;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.berth.agent.domain.BerthException;
import java.util.Map;
import org.junit.jupiter.api.Test;

class PodLimitsTest {
    static PodLimits cpu(long shares, long quota, long period) {
        return new PodLimits(shares, quota, period, "", "", 0, Map.of(), Map.of());
    }

    @Test
    void theOverheadAddsToTheSumAndItsQuotaIsRescaledToTheSumsPeriod() {
        var total = cpu(1024, 200_000, 100_000).plus(cpu(128, 5_000, 50_000));
        assertEquals(1152, total.cpuShares());
        assertEquals(100_000, total.cpuPeriod());
        assertEquals(210_000, total.cpuQuota(), "5 ms per 50 ms is 10 ms per 100 ms");
    }

    @Test
    void anUnlimitedSumStaysUnlimited() {
        var overhead = new PodLimits(10, 10_000, 100_000, "", "", 64L << 20, Map.of("2MB", 1L << 21), Map.of());
        var total = cpu(0, -1, 0).plus(overhead);
        assertEquals(-1, total.cpuQuota());
        assertEquals(0, total.memoryLimitBytes(), "no memory limit in the sum: none for the pod");
        assertEquals(Map.of("2MB", 1L << 21), total.hugepageLimits());
        assertEquals(total, cpu(0, -1, 100_000).plus(overhead), "the period falls back to the overhead's");
    }

    @Test
    void memoryHugepagesCpusetsAndUnifiedCombine() {
        var sum = new PodLimits(0, 0, 0, "0-1", "", 100, Map.of("2MB", 4L), Map.of("memory.high", "90"));
        var overhead = new PodLimits(0, 0, 0, "3", "0", 10, Map.of("2MB", 2L, "1GB", 0L),
                Map.of("memory.high", "5", "pids.max", "10"));
        var total = sum.plus(overhead);
        assertEquals(110, total.memoryLimitBytes());
        assertEquals("0-1", total.cpusetCpus());
        assertEquals("0", total.cpusetMems());
        assertEquals(Map.of("2MB", 6L, "1GB", 0L), total.hugepageLimits());
        assertEquals(Map.of("memory.high", "90", "pids.max", "10"), total.unified());
    }

    @Test
    void valuesNoCgroupTakesAreInvalidNamingPodAndField() {
        PodLimits.NONE.validate("p1", "resources");
        cpu(2, -1, 1_000_000).validate("p1", "resources");
        // v2 files with a page size in their name (cgroup-v2.rst, HugeTLB) are file names too.
        new PodLimits(0, 0, 0, "", "", 0, Map.of(), Map.of("hugetlb.2MB.max", "0", "hugetlb.1GB.rsvd.max", "0"))
                .validate("p1", "resources");
        for (var bad : java.util.List.of(cpu(-1, 0, 0), cpu(300_000, 0, 0), cpu(0, 0, 999), cpu(0, 0, 2_000_000),
                cpu(0, -2, 0), cpu(0, 500, 0),
                new PodLimits(0, 0, 0, "", "", -1, Map.of(), Map.of()),
                new PodLimits(0, 0, 0, "0-1;rm", "", 0, Map.of(), Map.of()),
                new PodLimits(0, 0, 0, "", "", 0, Map.of("huge", 1L), Map.of()),
                new PodLimits(0, 0, 0, "", "", 0, Map.of(), Map.of("../../cgroup.procs", "1")))) {
            var e = assertThrows(BerthException.class, () -> bad.validate("p1", "overhead"), bad.toString());
            assertEquals(BerthException.Kind.INVALID_ARGUMENT, e.kind());
            assertTrue(e.getMessage().startsWith("pod sandbox p1 overhead: "), e.getMessage());
        }
    }
}
