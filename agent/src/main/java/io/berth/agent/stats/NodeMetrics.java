package io.berth.agent.stats;

import io.berth.agent.container.Container;
import io.berth.agent.container.ContainerListener;
import io.berth.agent.container.ContainerManager;
import io.berth.agent.pod.PodManager;
import io.berth.agent.pod.Sandbox;
import io.berth.kernel.cgroup.CgroupStats;
import io.berth.kernel.stats.NetDev;
import io.prometheus.client.Collector;
import io.prometheus.client.CounterMetricFamily;
import io.prometheus.client.GaugeMetricFamily;
import java.util.ArrayList;
import java.util.EnumMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.IntSupplier;

/**
 * The node's containers and pods on /metrics. A custom collector that renders the current state on
 * every scrape, so a removed container's series simply stop (no labelled child to forget), and the
 * cardinality is that of the containers that exist. Per-container numbers are the shims' latest
 * samples; nothing here asks a shim.
 */
public final class NodeMetrics extends Collector implements ContainerListener {
    static final List<String> CONTAINER_LABELS = List.of("namespace", "pod", "container", "container_id", "pod_id");
    static final List<String> POD_LABELS = List.of("namespace", "pod", "pod_id");

    private final PodManager pods;
    private final ContainerManager containers;
    private final StatsService stats;
    private final IntSupplier shimsConnected;
    private final IntSupplier eventSubscribers;
    private final AtomicLong shimsLost = new AtomicLong();
    private final AtomicLong oomKilled = new AtomicLong();
    private final AtomicLong shimConnections = new AtomicLong();

    public NodeMetrics(PodManager pods, ContainerManager containers, StatsService stats, IntSupplier shimsConnected,
            IntSupplier eventSubscribers) {
        this.eventSubscribers = eventSubscribers;
        this.pods = pods;
        this.containers = containers;
        this.stats = stats;
        this.shimsConnected = shimsConnected;
    }

    /** A shim said hello (a new container, or a shim reconnecting after an agent restart). */
    public void shimConnected() {
        shimConnections.incrementAndGet();
    }

    @Override
    public void changed(Change change, Container c) {
        if (change == Change.STOPPED) {
            if ("ShimLost".equals(c.reason())) shimsLost.incrementAndGet();
            if ("OOMKilled".equals(c.reason())) oomKilled.incrementAndGet();
        }
    }

    @Override
    public List<MetricFamilySamples> collect() {
        var cpu = new CounterMetricFamily("berth_container_cpu_usage_seconds_total",
                "CPU time the container's processes used, user + system.", CONTAINER_LABELS);
        var ws = new GaugeMetricFamily("berth_container_memory_working_set_bytes",
                "Memory in use minus inactive page cache: what kubelet evicts on.", CONTAINER_LABELS);
        var usage = new GaugeMetricFamily("berth_container_memory_usage_bytes",
                "Memory charged to the container's cgroup, page cache included.", CONTAINER_LABELS);
        var rss = new GaugeMetricFamily("berth_container_memory_rss_bytes",
                "Anonymous memory of the container.", CONTAINER_LABELS);
        var limit = new GaugeMetricFamily("berth_container_memory_limit_bytes",
                "The container's memory limit (absent: none).", CONTAINER_LABELS);
        var procs = new GaugeMetricFamily("berth_container_processes",
                "Processes (tasks) in the container's cgroup.", CONTAINER_LABELS);
        var ooms = new CounterMetricFamily("berth_container_oom_kills_total",
                "Processes of the container the kernel's OOM killer killed.", CONTAINER_LABELS);
        var fs = new GaugeMetricFamily("berth_container_writable_layer_bytes",
                "Bytes in the container's writable layer.", CONTAINER_LABELS);
        var sampleAge = new GaugeMetricFamily("berth_container_stats_timestamp_seconds",
                "When the container's numbers were last read (by its shim).", CONTAINER_LABELS);
        var rx = new CounterMetricFamily("berth_pod_network_receive_bytes_total",
                "Bytes received by an interface of the pod's network namespace.", withInterface());
        var tx = new CounterMetricFamily("berth_pod_network_transmit_bytes_total",
                "Bytes sent by an interface of the pod's network namespace.", withInterface());

        List<Container> all = containers.records();
        var byState = new EnumMap<Container.State, Integer>(Container.State.class);
        for (Container.State st : Container.State.values()) byState.put(st, 0);
        var podsByState = new EnumMap<Sandbox.State, Integer>(Sandbox.State.class);
        for (Sandbox.State st : Sandbox.State.values()) podsByState.put(st, 0);

        Map<String, Sandbox> sandboxes = new java.util.HashMap<>();
        for (Sandbox s : pods.list()) {
            sandboxes.put(s.id(), s);
            podsByState.merge(s.state(), 1, Integer::sum);
        }
        for (Container c : all) {
            byState.merge(c.state(), 1, Integer::sum);
            if (c.state() != Container.State.RUNNING && c.state() != Container.State.CREATED) continue;
            Sandbox s = sandboxes.get(c.sandboxId());
            if (s == null) continue;
            var reading = stats.container(c, s.cgroupParent());
            if (reading.isEmpty()) continue;
            List<String> labels = List.of(s.meta().namespace(), s.meta().name(), c.name(), c.id(), s.id());
            CgroupStats cg = reading.get().sample().cgroup();
            cpu.addMetric(labels, cg.cpuUsageNanos() / 1e9);
            ws.addMetric(labels, cg.workingSetBytes());
            usage.addMetric(labels, cg.memoryUsageBytes());
            rss.addMetric(labels, cg.rssBytes());
            if (cg.memoryLimitBytes() > 0) limit.addMetric(labels, cg.memoryLimitBytes());
            procs.addMetric(labels, cg.pids());
            ooms.addMetric(labels, cg.oomKills());
            sampleAge.addMetric(labels, cg.timestamp() / 1e9);
            var w = reading.get().sample().writable();
            if (w != null) fs.addMetric(labels, w.bytes());
        }
        for (Sandbox s : sandboxes.values()) {
            if (s.state() != Sandbox.State.READY) continue;
            List<Container> mine = all.stream().filter(c -> c.sandboxId().equals(s.id())).toList();
            stats.podNetwork(s, mine, false).ifPresent(n -> {
                for (NetDev.Interface i : n.interfaces()) {
                    if (i.name().equals("lo")) continue;
                    List<String> labels = List.of(s.meta().namespace(), s.meta().name(), s.id(), i.name());
                    rx.addMetric(labels, i.rxBytes());
                    tx.addMetric(labels, i.txBytes());
                }
            });
        }

        var containerCount = new GaugeMetricFamily("berth_containers", "Containers by state.", List.of("state"));
        byState.forEach((st, n) -> containerCount.addMetric(List.of(st.name().toLowerCase(java.util.Locale.ROOT)), n));
        var podCount = new GaugeMetricFamily("berth_pods", "Pod sandboxes by state.", List.of("state"));
        podsByState.forEach((st, n) -> podCount.addMetric(List.of(st.name().toLowerCase(java.util.Locale.ROOT)), n));
        var shims = new GaugeMetricFamily("berth_shims_connected",
                "Shims connected to the agent's report socket (one per live container).", shimsConnected.getAsInt());
        var subscribers = new GaugeMetricFamily("berth_container_event_subscribers",
                "Open GetContainerEvents streams.", eventSubscribers.getAsInt());
        var connections = new CounterMetricFamily("berth_shim_connections_total",
                "Shim report connections accepted (each shim once, and again after every agent restart).",
                shimConnections.get());
        var lost = new CounterMetricFamily("berth_shims_lost_total",
                "Shims that vanished before their container's exit was recorded (container reason ShimLost).",
                shimsLost.get());
        var oom = new CounterMetricFamily("berth_oom_killed_containers_total",
                "Containers whose exit was caused by the kernel's OOM killer (reason OOMKilled).", oomKilled.get());

        var out = new ArrayList<MetricFamilySamples>();
        for (var f : List.of(cpu, ws, usage, rss, limit, procs, ooms, fs, sampleAge, rx, tx)) out.add(f);
        for (var f : List.of(containerCount, podCount, shims, subscribers)) out.add(f);
        for (var f : List.of(connections, lost, oom)) out.add(f);
        return out;
    }

    private static List<String> withInterface() {
        var l = new ArrayList<>(POD_LABELS);
        l.add("interface");
        return l;
    }
}
