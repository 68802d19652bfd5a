package io.berth.agent.cri.stats;

import io.berth.agent.container.Container;
import io.berth.agent.pod.Sandbox;
import io.berth.agent.stats.StatsService;
import io.berth.kernel.cgroup.CgroupStats;
import io.berth.kernel.stats.NetDev;
import io.berth.cri.v1.ContainerAttributes;
import io.berth.cri.v1.ContainerMetadata;
import io.berth.cri.v1.ContainerStats;
import io.berth.cri.v1.CpuUsage;
import io.berth.cri.v1.FilesystemIdentifier;
import io.berth.cri.v1.FilesystemUsage;
import io.berth.cri.v1.MemoryUsage;
import io.berth.cri.v1.NetworkInterfaceUsage;
import io.berth.cri.v1.NetworkUsage;
import io.berth.cri.v1.PodSandboxAttributes;
import io.berth.cri.v1.PodSandboxMetadata;
import io.berth.cri.v1.ProcessUsage;
import io.berth.cri.v1.UInt64Value;
import java.nio.file.Path;
import java.util.Optional;

/** The agent's stats readings → CRI stats messages (api.proto field docs quoted where they decide). */
final class StatsMapping {
    /** kubelet's default interface name (pkg/kubelet/network: DefaultInterfaceName). */
    static final String DEFAULT_INTERFACE = "eth0";

    private StatsMapping() {
    }

    static UInt64Value u64(long v) {
        return UInt64Value.newBuilder().setValue(Math.max(0, v)).build();
    }

    static ContainerAttributes attributes(Container c) {
        return ContainerAttributes.newBuilder()
                .setId(c.id())
                .setMetadata(ContainerMetadata.newBuilder().setName(c.name()).setAttempt(c.attempt()))
                .putAllLabels(c.labels())
                .putAllAnnotations(c.annotations())
                .build();
    }

    static PodSandboxAttributes attributes(Sandbox s) {
        return PodSandboxAttributes.newBuilder()
                .setId(s.id())
                .setMetadata(PodSandboxMetadata.newBuilder().setName(s.meta().name()).setUid(s.meta().uid())
                        .setNamespace(s.meta().namespace()).setAttempt(s.meta().attempt()))
                .putAllLabels(s.labels())
                .putAllAnnotations(s.annotations())
                .build();
    }

    static CpuUsage cpu(StatsService.Reading r) {
        CgroupStats s = r.sample().cgroup();
        var cpu = CpuUsage.newBuilder().setTimestamp(s.timestamp()).setUsageCoreNanoSeconds(u64(s.cpuUsageNanos()));
        // "averaged over the sample window": only known once there are two samples.
        if (r.nanoCores() >= 0) cpu.setUsageNanoCores(u64(r.nanoCores()));
        return cpu.build();
    }

    static MemoryUsage memory(CgroupStats s) {
        var m = MemoryUsage.newBuilder()
                .setTimestamp(s.timestamp())
                .setWorkingSetBytes(u64(s.workingSetBytes()))
                .setUsageBytes(u64(s.memoryUsageBytes()))
                .setRssBytes(u64(s.rssBytes()))
                .setPageFaults(u64(s.pageFaults()))
                .setMajorPageFaults(u64(s.majorPageFaults()));
        // "memory limit - workingSetBytes": no limit, no available (kubelet then uses the node's).
        if (s.availableBytes() >= 0) m.setAvailableBytes(u64(s.availableBytes()));
        return m.build();
    }

    static ContainerStats container(Container c, Optional<StatsService.Reading> reading, Path writableRoot) {
        var out = ContainerStats.newBuilder().setAttributes(attributes(c));
        reading.ifPresent(r -> {
            out.setCpu(cpu(r)).setMemory(memory(r.sample().cgroup()));
            var fs = r.sample().writable();
            if (fs != null) {
                out.setWritableLayer(FilesystemUsage.newBuilder()
                        .setTimestamp(fs.timestamp())
                        .setFsId(FilesystemIdentifier.newBuilder().setMountpoint(writableRoot.toString()))
                        .setUsedBytes(u64(fs.bytes()))
                        .setInodesUsed(u64(fs.inodes())));
            }
        });
        return out.build();
    }

    static ProcessUsage processes(CgroupStats s) {
        return ProcessUsage.newBuilder().setTimestamp(s.timestamp()).setProcessCount(u64(s.pids())).build();
    }

    /** eth0 is the default interface, the others follow; loopback is not pod traffic and is left out. */
    static NetworkUsage network(StatsService.Network n) {
        var out = NetworkUsage.newBuilder().setTimestamp(n.timestamp());
        for (NetDev.Interface i : n.interfaces()) {
            if (i.name().equals("lo")) continue;
            var usage = NetworkInterfaceUsage.newBuilder().setName(i.name())
                    .setRxBytes(u64(i.rxBytes())).setRxErrors(u64(i.rxErrors()))
                    .setTxBytes(u64(i.txBytes())).setTxErrors(u64(i.txErrors())).build();
            if (i.name().equals(DEFAULT_INTERFACE)) {
                out.setDefaultInterface(usage);
            } else {
                out.addInterfaces(usage);
            }
        }
        return out.build();
    }
}
