package io.berth.agent.cri.stats;

import io.berth.agent.container.Container;
import io.berth.agent.pod.Sandbox;
import io.berth.agent.stats.StatsService;
import io.berth.kernel.cgroup.CgroupStats;
import io.berth.kernel.stats.NetDev;
import io.berth.cri.v1.ContainerMetrics;
import io.berth.cri.v1.Metric;
import io.berth.cri.v1.MetricDescriptor;
import io.berth.cri.v1.MetricType;
import io.berth.cri.v1.PodSandboxMetrics;
import io.berth.cri.v1.UInt64Value;
import java.util.ArrayList;
import java.util.List;
import java.util.stream.Stream;

/**
 * The cAdvisor-compatible metrics kubelet serves on /metrics/cadvisor when it takes them from the
 * CRI (KEP-2371, PodAndContainerStatsFromCRI): the names and label keys of cAdvisor's Prometheus
 * exporter, as CRI-O's statsserver (internal/lib/statsserver/descriptors.go) declares them. kubelet
 * turns each Metric into a Prometheus sample with {@code float64(value)}, so every value is in the
 * metric's own unit: seconds are whole seconds (CRI's values are unsigned integers).
 */
final class PodMetrics {
    /** Label keys of every series: runtime ids first, then the Kubernetes names (CRI-O's baseLabelKeys). */
    static final List<String> BASE = List.of("id", "image", "namespace", "pod", "container");
    static final String POD_CONTAINER = "POD"; // pod-level series, as cAdvisor names the sandbox

    record Def(String name, String help, MetricType type, List<String> extraKeys) {
        MetricDescriptor descriptor() {
            return MetricDescriptor.newBuilder().setName(name).setHelp(help)
                    .addAllLabelKeys(Stream.concat(BASE.stream(), extraKeys.stream()).toList()).build();
        }
    }

    static final Def CPU_USAGE = new Def("container_cpu_usage_seconds_total", "Cumulative CPU time consumed in seconds.", MetricType.COUNTER, List.of("cpu"));
    static final Def CPU_USER = new Def("container_cpu_user_seconds_total", "Cumulative user CPU time consumed in seconds.", MetricType.COUNTER, List.of());
    static final Def CPU_SYSTEM = new Def("container_cpu_system_seconds_total", "Cumulative system CPU time consumed in seconds.", MetricType.COUNTER, List.of());
    static final Def MEM_USAGE = new Def("container_memory_usage_bytes", "Current memory usage in bytes, including all memory regardless of when it was accessed", MetricType.GAUGE, List.of());
    static final Def MEM_WS = new Def("container_memory_working_set_bytes", "Current working set in bytes.", MetricType.GAUGE, List.of());
    static final Def MEM_RSS = new Def("container_memory_rss", "Size of RSS in bytes.", MetricType.GAUGE, List.of());
    static final Def MEM_CACHE = new Def("container_memory_cache", "Number of bytes of page cache memory.", MetricType.GAUGE, List.of());
    static final Def MEM_FAILURES = new Def("container_memory_failures_total", "Cumulative count of memory allocation failures.", MetricType.COUNTER, List.of("failure_type", "scope"));
    static final Def OOM = new Def("container_oom_events_total", "Count of out of memory events observed for the container", MetricType.COUNTER, List.of());
    static final Def PROCESSES = new Def("container_processes", "Number of processes running inside the container.", MetricType.GAUGE, List.of());
    static final Def FS_USAGE = new Def("container_fs_usage_bytes", "Number of bytes that are consumed by the container on this filesystem.", MetricType.GAUGE, List.of());
    static final Def FS_INODES = new Def("container_fs_inodes_total", "Number of inodes used by the container's writable layer.", MetricType.GAUGE, List.of());
    static final Def LAST_SEEN = new Def("container_last_seen", "Last time a container was seen by the exporter", MetricType.GAUGE, List.of());
    static final Def START_TIME = new Def("container_start_time_seconds", "Start time of the container since unix epoch in seconds.", MetricType.GAUGE, List.of());
    static final Def SPEC_MEM = new Def("container_spec_memory_limit_bytes", "Memory limit for the container in bytes.", MetricType.GAUGE, List.of());
    static final Def SPEC_SHARES = new Def("container_spec_cpu_shares", "CPU share of the container.", MetricType.GAUGE, List.of());
    static final Def SPEC_QUOTA = new Def("container_spec_cpu_quota", "CPU quota of the container.", MetricType.GAUGE, List.of());
    static final Def SPEC_PERIOD = new Def("container_spec_cpu_period", "CPU period of the container.", MetricType.GAUGE, List.of());
    static final Def RX_BYTES = net("container_network_receive_bytes_total", "Cumulative count of bytes received");
    static final Def RX_PACKETS = net("container_network_receive_packets_total", "Cumulative count of packets received");
    static final Def RX_DROPPED = net("container_network_receive_packets_dropped_total", "Cumulative count of packets dropped while receiving");
    static final Def RX_ERRORS = net("container_network_receive_errors_total", "Cumulative count of errors encountered while receiving");
    static final Def TX_BYTES = net("container_network_transmit_bytes_total", "Cumulative count of bytes transmitted");
    static final Def TX_PACKETS = net("container_network_transmit_packets_total", "Cumulative count of packets transmitted");
    static final Def TX_DROPPED = net("container_network_transmit_packets_dropped_total", "Cumulative count of packets dropped while transmitting");
    static final Def TX_ERRORS = net("container_network_transmit_errors_total", "Cumulative count of errors encountered while transmitting");

    static final List<Def> ALL = List.of(CPU_USAGE, CPU_USER, CPU_SYSTEM, MEM_USAGE, MEM_WS, MEM_RSS, MEM_CACHE,
            MEM_FAILURES, OOM, PROCESSES, FS_USAGE, FS_INODES, LAST_SEEN, START_TIME, SPEC_MEM, SPEC_SHARES,
            SPEC_QUOTA, SPEC_PERIOD, RX_BYTES, RX_PACKETS, RX_DROPPED, RX_ERRORS, TX_BYTES, TX_PACKETS, TX_DROPPED,
            TX_ERRORS);

    private static Def net(String name, String help) {
        return new Def(name, help, MetricType.COUNTER, List.of("interface"));
    }

    private PodMetrics() {
    }

    static final long NS = 1_000_000_000L;

    private static Metric metric(Def d, long timestamp, List<String> base, long value, String... extra) {
        var labels = new ArrayList<>(base);
        labels.addAll(List.of(extra));
        return Metric.newBuilder().setName(d.name()).setTimestamp(timestamp).setMetricType(d.type())
                .addAllLabelValues(labels).setValue(UInt64Value.newBuilder().setValue(Math.max(0, value))).build();
    }

    static PodSandboxMetrics of(Sandbox s, List<Container> podContainers, StatsService stats) {
        var out = PodSandboxMetrics.newBuilder().setPodSandboxId(s.id());
        String ns = s.meta().namespace();
        String pod = s.meta().name();
        stats.podNetwork(s, podContainers).ifPresent(n -> {
            List<String> base = List.of(s.id(), "", ns, pod, POD_CONTAINER);
            for (NetDev.Interface i : n.interfaces()) {
                if (i.name().equals("lo")) continue;
                long t = n.timestamp();
                out.addMetrics(metric(RX_BYTES, t, base, i.rxBytes(), i.name()));
                out.addMetrics(metric(RX_PACKETS, t, base, i.rxPackets(), i.name()));
                out.addMetrics(metric(RX_DROPPED, t, base, i.rxDropped(), i.name()));
                out.addMetrics(metric(RX_ERRORS, t, base, i.rxErrors(), i.name()));
                out.addMetrics(metric(TX_BYTES, t, base, i.txBytes(), i.name()));
                out.addMetrics(metric(TX_PACKETS, t, base, i.txPackets(), i.name()));
                out.addMetrics(metric(TX_DROPPED, t, base, i.txDropped(), i.name()));
                out.addMetrics(metric(TX_ERRORS, t, base, i.txErrors(), i.name()));
            }
        });
        for (Container c : podContainers) {
            if (c.state() != Container.State.RUNNING && c.state() != Container.State.CREATED) continue;
            var reading = stats.container(c, s.cgroupParent());
            if (reading.isEmpty()) continue;
            CgroupStats cg = reading.get().sample().cgroup();
            long t = cg.timestamp();
            List<String> base = List.of(c.id(), c.imageRef(), ns, pod, c.name());
            var m = new ArrayList<Metric>();
            m.add(metric(CPU_USAGE, t, base, cg.cpuUsageNanos() / NS, "total"));
            m.add(metric(CPU_USER, t, base, cg.cpuUserNanos() / NS));
            m.add(metric(CPU_SYSTEM, t, base, cg.cpuSystemNanos() / NS));
            m.add(metric(MEM_USAGE, t, base, cg.memoryUsageBytes()));
            m.add(metric(MEM_WS, t, base, cg.workingSetBytes()));
            m.add(metric(MEM_RSS, t, base, cg.rssBytes()));
            m.add(metric(MEM_CACHE, t, base, cg.cacheBytes()));
            // cAdvisor reports each fault kind for the container and for its hierarchy; ours are hierarchical.
            for (String scope : List.of("container", "hierarchy")) {
                m.add(metric(MEM_FAILURES, t, base, cg.pageFaults(), "pgfault", scope));
                m.add(metric(MEM_FAILURES, t, base, cg.majorPageFaults(), "pgmajfault", scope));
            }
            m.add(metric(OOM, t, base, cg.oomKills()));
            m.add(metric(PROCESSES, t, base, cg.pids()));
            var fs = reading.get().sample().writable();
            if (fs != null) {
                m.add(metric(FS_USAGE, fs.timestamp(), base, fs.bytes()));
                m.add(metric(FS_INODES, fs.timestamp(), base, fs.inodes()));
            }
            m.add(metric(LAST_SEEN, t, base, t / NS));
            if (c.startedAt() > 0) m.add(metric(START_TIME, t, base, c.startedAt() / NS));
            m.add(metric(SPEC_MEM, t, base, cg.memoryLimitBytes()));
            m.add(metric(SPEC_SHARES, t, base, c.resources().cpuShares()));
            m.add(metric(SPEC_QUOTA, t, base, c.resources().cpuQuota()));
            m.add(metric(SPEC_PERIOD, t, base, c.resources().cpuPeriod()));
            out.addContainerMetrics(ContainerMetrics.newBuilder().setContainerId(c.id()).addAllMetrics(m));
        }
        return out.build();
    }
}
