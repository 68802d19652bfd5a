package io.berth.agent.pod;

import io.berth.agent.domain.BerthException;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.regex.Pattern;

/**
 * Limits of a pod's cgroup, in the units of CRI's LinuxContainerResources; zero or empty means "not
 * set" (the cgroup keeps what it has), as in the CRI API, and a {@code cpuQuota} of -1 is no quota.
 * Fields of LinuxContainerResources that mean nothing for a cgroup without a process of its own
 * (oom_score_adj) or that berth does not write (memory_swap_limit_in_bytes) have no place here.
 *
 * @param hugepageLimits page size as kubelet names it ("2MB", "1GB") to a limit in bytes
 * @param unified cgroup v2 file name to value, written as is (cgroup v2 only)
 */
public record PodLimits(long cpuShares, long cpuQuota, long cpuPeriod, String cpusetCpus, String cpusetMems,
        long memoryLimitBytes, Map<String, Long> hugepageLimits, Map<String, String> unified) {
    public static final PodLimits NONE = new PodLimits(0, 0, 0, "", "", 0, Map.of(), Map.of());

    /** cpu.cfs_period_us accepts 1 ms to 1 s, and cpu.cfs_quota_us at least 1 ms (kernel/sched/core.c). */
    static final long MIN_CFS_US = 1_000;
    static final long MAX_CFS_PERIOD_US = 1_000_000;
    /** cpu.shares beyond 2^18 are clamped by the kernel; kubelet's MaxShares is the same. */
    static final long MAX_SHARES = 262_144;
    private static final Pattern CPU_LIST = Pattern.compile("\\d+(-\\d+)?(,\\d+(-\\d+)?)*");
    private static final Pattern PAGE_SIZE = Pattern.compile("\\d+[KMGT]B");
    /** A cgroup v2 interface file: "controller.name" (cgroup-v2.rst "Conventions"); never a path. */
    private static final Pattern UNIFIED_KEY = Pattern.compile("[a-z0-9_]+\\.[A-Za-z0-9_.]+");

    public PodLimits {
        cpusetCpus = cpusetCpus == null ? "" : cpusetCpus;
        cpusetMems = cpusetMems == null ? "" : cpusetMems;
        hugepageLimits = hugepageLimits == null ? Map.of() : Map.copyOf(hugepageLimits);
        unified = unified == null ? Map.of() : Map.copyOf(unified);
    }

    /**
     * What the pod's cgroup gets: the containers' sum plus the pod overhead, as kubelet sizes the pod
     * cgroup (pkg/kubelet/cm/helpers_linux.go ResourceConfigForPod adds pod.Spec.Overhead). A sum
     * without a CPU quota or memory limit (some container is unlimited) stays unlimited; the
     * overhead's quota is rescaled to the sum's period when the two differ.
     */
    public PodLimits plus(PodLimits overhead) {
        long period = cpuPeriod > 0 ? cpuPeriod : overhead.cpuPeriod;
        long quota = cpuQuota;
        if (cpuQuota > 0 && overhead.cpuQuota > 0) {
            long extra = overhead.cpuPeriod > 0 && period > 0 && overhead.cpuPeriod != period
                    ? overhead.cpuQuota * period / overhead.cpuPeriod
                    : overhead.cpuQuota;
            quota = cpuQuota + extra;
        }
        long memory = memoryLimitBytes > 0 ? memoryLimitBytes + overhead.memoryLimitBytes : 0;
        var hugepages = new LinkedHashMap<>(overhead.hugepageLimits);
        hugepageLimits.forEach((size, limit) -> hugepages.merge(size, limit, Long::sum));
        var files = new LinkedHashMap<>(overhead.unified);
        files.putAll(unified);
        return new PodLimits(cpuShares + overhead.cpuShares, quota, period,
                cpusetCpus.isEmpty() ? overhead.cpusetCpus : cpusetCpus,
                cpusetMems.isEmpty() ? overhead.cpusetMems : cpusetMems,
                memory, hugepages, files);
    }

    /** Refuses values no cgroup would take, naming the pod and the field ({@code what}: "resources", "overhead"). */
    public void validate(String podId, String what) {
        String where = "pod sandbox " + podId + " " + what + ": ";
        if (cpuShares < 0 || cpuShares > MAX_SHARES) {
            throw BerthException.invalid(where + "cpu_shares " + cpuShares + " is outside 0-" + MAX_SHARES);
        }
        if (cpuPeriod != 0 && (cpuPeriod < MIN_CFS_US || cpuPeriod > MAX_CFS_PERIOD_US)) {
            throw BerthException.invalid(where + "cpu_period " + cpuPeriod + " is outside " + MIN_CFS_US + "-"
                    + MAX_CFS_PERIOD_US + " µs");
        }
        if (cpuQuota < -1 || (cpuQuota > 0 && cpuQuota < MIN_CFS_US)) {
            throw BerthException.invalid(where + "cpu_quota " + cpuQuota + " is neither -1 (none) nor at least "
                    + MIN_CFS_US + " µs");
        }
        if (memoryLimitBytes < 0) {
            throw BerthException.invalid(where + "memory_limit_in_bytes " + memoryLimitBytes + " is negative");
        }
        if (!cpusetCpus.isEmpty() && !CPU_LIST.matcher(cpusetCpus).matches()) {
            throw BerthException.invalid(where + "cpuset_cpus '" + cpusetCpus + "' is not a CPU list like 0-3,6");
        }
        if (!cpusetMems.isEmpty() && !CPU_LIST.matcher(cpusetMems).matches()) {
            throw BerthException.invalid(where + "cpuset_mems '" + cpusetMems + "' is not a node list like 0-1");
        }
        hugepageLimits.forEach((size, limit) -> {
            if (!PAGE_SIZE.matcher(size).matches() || limit < 0) {
                throw BerthException.invalid(where + "hugepage limit " + size + "=" + limit
                        + " needs a page size like 2MB and a limit of 0 or more");
            }
        });
        for (String file : unified.keySet()) {
            if (!UNIFIED_KEY.matcher(file).matches()) {
                throw BerthException.invalid(where + "unified key '" + file + "' is not a cgroup v2 file name like memory.high");
            }
        }
    }
}
