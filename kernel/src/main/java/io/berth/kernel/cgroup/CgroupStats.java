package io.berth.kernel.cgroup;

/**
 * One reading of a cgroup's counters, in the units the CRI wants (nanoseconds, bytes, counts).
 * Cumulative values (CPU time, page faults, OOM kills) only grow while the cgroup exists.
 *
 * @param timestamp          when it was read, unix ns
 * @param cpuUsageNanos      CPU time of every task, user + system (v1 cpuacct.usage; v2 cpu.stat usage_usec)
 * @param memoryUsageBytes   v1 memory.usage_in_bytes; v2 memory.current
 * @param memoryLimitBytes   the hard limit, 0 when unlimited
 * @param workingSetBytes    usage − inactive_file, floored at 0: what kubelet and cAdvisor call the
 *                           working set and evict on (cadvisor container/libcontainer handler.go)
 * @param rssBytes           anonymous memory (v1 total_rss; v2 anon)
 * @param cacheBytes         page cache (v1 total_cache; v2 file)
 * @param pids               tasks in the cgroup (pids.current)
 * @param oomKills           how many tasks the OOM killer killed here (v1 memory.oom_control oom_kill;
 *                           v2 memory.events oom_kill)
 */
public record CgroupStats(
        long timestamp,
        long cpuUsageNanos,
        long cpuUserNanos,
        long cpuSystemNanos,
        long memoryUsageBytes,
        long memoryLimitBytes,
        long workingSetBytes,
        long rssBytes,
        long cacheBytes,
        long pageFaults,
        long majorPageFaults,
        long pids,
        long oomKills) {

    /** Memory left before the limit: limit − working set, floored at 0; -1 when there is no limit. */
    public long availableBytes() {
        return memoryLimitBytes <= 0 ? -1 : Math.max(0, memoryLimitBytes - workingSetBytes);
    }

    /** The CPU use between {@code earlier} and this reading, in nanocores (1e9 = one full core). */
    public long nanoCoresSince(CgroupStats earlier) {
        long dt = timestamp - earlier.timestamp;
        long dcpu = cpuUsageNanos - earlier.cpuUsageNanos;
        if (dt <= 0 || dcpu < 0) {
            return 0; // same instant, or the counter restarted (a new cgroup of the same path)
        }
        return (long) (dcpu * 1e9 / dt);
    }
}
