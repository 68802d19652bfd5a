package io.berth.kernel.cgroup;

import java.util.Map;

/**
 * Limits for one cgroup, in the units of CRI's LinuxContainerResources. Zero or empty means "not
 * set" (leave the kernel default), as in the CRI API, except {@code pidsLimit} where a value ≤ 0
 * means unlimited ("max").
 *
 * @param hugepageLimits page size as kubelet names it ("2MB", "1GB") to a limit in bytes
 * @param unified cgroup v2 file name to value, written as is (cgroup v2 only)
 */
public record Resources(long cpuShares, long cpuQuota, long cpuPeriod, String cpusetCpus, String cpusetMems,
        long memoryLimitBytes, long pidsLimit, Map<String, Long> hugepageLimits, Map<String, String> unified) {
    public static final Resources NONE = new Resources(0, 0, 0, "", "", 0, 0, Map.of(), Map.of());

    public Resources {
        cpusetCpus = cpusetCpus == null ? "" : cpusetCpus;
        cpusetMems = cpusetMems == null ? "" : cpusetMems;
        hugepageLimits = hugepageLimits == null ? Map.of() : Map.copyOf(hugepageLimits);
        unified = unified == null ? Map.of() : Map.copyOf(unified);
    }

    public Resources withPidsLimit(long pids) {
        return new Resources(cpuShares, cpuQuota, cpuPeriod, cpusetCpus, cpusetMems, memoryLimitBytes, pids,
                hugepageLimits, unified);
    }

    public Resources withMemoryLimit(long bytes) {
        return new Resources(cpuShares, cpuQuota, cpuPeriod, cpusetCpus, cpusetMems, bytes, pidsLimit,
                hugepageLimits, unified);
    }
}
