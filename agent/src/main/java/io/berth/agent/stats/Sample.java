package io.berth.agent.stats;

import io.berth.kernel.cgroup.CgroupStats;
import io.berth.kernel.stats.DiskUsage;
import io.berth.kernel.stats.NetDev;
import java.util.List;

/**
 * One reading of a container: its cgroup, the interfaces of its network namespace (empty when not
 * read) and its writable layer (null when not measured). Shims push these; the agent reads one
 * itself only when a shim has not reported lately.
 */
public record Sample(CgroupStats cgroup, long networkTimestamp, List<NetDev.Interface> network, DiskUsage.Usage writable) {
    public Sample {
        network = network == null ? List.of() : List.copyOf(network);
    }
}
