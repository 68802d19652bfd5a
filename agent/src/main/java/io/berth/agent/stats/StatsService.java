package io.berth.agent.stats;

import io.berth.agent.container.Container;
import io.berth.agent.container.ContainerListener;
import io.berth.agent.log.Log;
import io.berth.agent.pod.PodNamespaces;
import io.berth.agent.pod.Sandbox;
import io.berth.kernel.DedicatedThread;
import io.berth.kernel.cgroup.CgroupStats;
import io.berth.kernel.cgroup.CgroupStatsReader;
import io.berth.kernel.cgroup.Cgroups;
import io.berth.kernel.stats.DiskUsage;
import io.berth.kernel.stats.NetDev;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutionException;

/**
 * The latest numbers of every container and pod. Shims push a sample of their container every
 * interval ({@link #record}); a CRI stats call only looks them up, so ListContainerStats costs no
 * I/O at all. When a shim has not reported for three intervals (agent just restarted, shim not yet
 * reconnected) the agent reads that container's cgroup itself, so answers are never stale.
 * Pod-level CPU and memory come from the pod's own cgroup (it also counts containers that are
 * gone), read on demand; the pod's network from its containers' samples, else from its netns.
 */
public final class StatsService implements ContainerListener {
    private static final Log LOG = Log.get(StatsService.class);
    /** A rate is computed over at least this long, so two calls close together do not give noise. */
    static final long MIN_RATE_WINDOW_NS = 1_000_000_000L;

    private final CgroupStatsReader reader;
    private final Path writableRoot;
    private final long staleNanos;
    private final Map<String, Window> containers = new ConcurrentHashMap<>();
    private final Map<String, Window> pods = new ConcurrentHashMap<>();

    /** The latest reading and the one a rate is computed against. */
    record Window(Sample latest, Sample base) {
        Window next(Sample s, boolean everySample) {
            if (latest != null && s.cgroup().timestamp() <= latest.cgroup().timestamp()) {
                return this; // out of order (a reconnect raced the last sample): keep the newer
            }
            if (latest == null) return new Window(s, null);
            boolean slide = everySample || base == null
                    || latest.cgroup().timestamp() - base.cgroup().timestamp() >= MIN_RATE_WINDOW_NS;
            return new Window(s, slide ? latest : base);
        }

        /** CPU nanocores between base and latest, or -1 when there is no base yet. */
        long nanoCores() {
            return base == null ? -1 : latest.cgroup().nanoCoresSince(base.cgroup());
        }
    }

    /** A container's or pod's numbers: the reading, and its CPU rate (-1: not known yet). */
    public record Reading(Sample sample, long nanoCores) {
    }

    public StatsService(CgroupStatsReader reader, Path writableRoot, Duration interval) {
        this.reader = reader;
        this.writableRoot = writableRoot;
        this.staleNanos = 3 * interval.toNanos();
    }

    /** The directory holding the writable layers (the file system CRI's writable_layer names). */
    public Path writableRoot() {
        return writableRoot;
    }

    /** A sample pushed by a container's shim. */
    public void record(String containerId, Sample sample) {
        containers.compute(containerId, (id, w) -> (w == null ? new Window(null, null) : w).next(sample, true));
    }

    /** Stops tracking (the container was removed, or its shim is gone and its container unknown). */
    public void forget(String containerId) {
        containers.remove(containerId);
    }

    public void forgetPod(String sandboxId) {
        pods.remove(sandboxId);
    }

    public int tracked() {
        return containers.size();
    }

    @Override
    public void changed(Change change, Container container) {
        if (change == Change.DELETED || change == Change.STOPPED) {
            // A stopped container has no cgroup any more: its numbers end with it (kubelet drops them).
            forget(container.id());
        }
    }

    /**
     * The container's latest numbers; empty when it has none (not created yet, or its cgroup is
     * gone). Reads the cgroup itself only when the shim's samples are missing or stale.
     */
    public Optional<Reading> container(Container c, String cgroupParent) {
        Window w = containers.get(c.id());
        if (w != null && w.latest() != null && now() - w.latest().cgroup().timestamp() < staleNanos) {
            return Optional.of(new Reading(w.latest(), w.nanoCores()));
        }
        CgroupStats s;
        try {
            s = reader.read(Cgroups.join(cgroupParent, c.id()));
        } catch (NoSuchFileException e) {
            return Optional.empty();
        } catch (IOException e) {
            LOG.warn("read container cgroup", "id", c.id(), "error", e.getMessage());
            return Optional.empty();
        }
        DiskUsage.Usage fs = null;
        try {
            fs = DiskUsage.of(writableRoot.resolve(c.id()).resolve("upper"));
        } catch (IOException e) {
            LOG.warn("measure writable layer", "id", c.id(), "error", e.getMessage());
        }
        // Keep the previous network reading: only the shim knows the container's pid cheaply.
        Sample previous = w == null || w.latest() == null ? null : w.latest();
        Sample sample = new Sample(s, previous == null ? 0 : previous.networkTimestamp(),
                previous == null ? List.of() : previous.network(), fs);
        Window next = containers.compute(c.id(), (id, old) -> (old == null ? new Window(null, null) : old).next(sample, false));
        return Optional.of(new Reading(sample, next.nanoCores()));
    }

    /**
     * The pod's own numbers from its cgroup (kubelet's cgroup_parent), read now; empty when the pod
     * has no cgroup of its own.
     */
    public Optional<Reading> pod(Sandbox s) {
        if (s.cgroupParent().isEmpty()) {
            return Optional.empty();
        }
        CgroupStats cg;
        try {
            cg = reader.read(Cgroups.join(s.cgroupParent(), ""));
        } catch (NoSuchFileException e) {
            return Optional.empty();
        } catch (IOException e) {
            LOG.warn("read pod cgroup", "sandbox", s.id(), "error", e.getMessage());
            return Optional.empty();
        }
        Sample sample = new Sample(cg, 0, List.of(), null);
        Window next = pods.compute(s.id(), (id, old) -> (old == null ? new Window(null, null) : old).next(sample, false));
        return Optional.of(new Reading(sample, next.nanoCores()));
    }

    /** The pod's interfaces and when they were read: a container's latest sample, else its netns. */
    public Optional<Network> podNetwork(Sandbox s, List<Container> podContainers) {
        return podNetwork(s, podContainers, true);
    }

    /** As above; with {@code readNetns} false only the containers' pushed samples are used (no I/O). */
    public Optional<Network> podNetwork(Sandbox s, List<Container> podContainers, boolean readNetns) {
        if (s.hostNetwork()) {
            return Optional.empty(); // the node's interfaces are the node's stats, not the pod's
        }
        Sample freshest = null;
        for (Container c : podContainers) {
            Window w = containers.get(c.id());
            if (w != null && w.latest() != null && w.latest().networkTimestamp() > 0
                    && (freshest == null || w.latest().networkTimestamp() > freshest.networkTimestamp())) {
                freshest = w.latest();
            }
        }
        if (freshest != null && now() - freshest.networkTimestamp() < staleNanos) {
            return Optional.of(new Network(freshest.networkTimestamp(), freshest.network()));
        }
        if (!readNetns) {
            return Optional.empty();
        }
        Path pin = PodNamespaces.pin(Path.of(s.pinsDir()), PodNamespaces.Kind.NET);
        if (!Files.exists(pin)) {
            return Optional.empty();
        }
        try {
            // /proc/thread-self: /proc/self/net would show the main thread's namespace, not this one's.
            var interfaces = DedicatedThread.inNetns(pin, () -> NetDev.read(Path.of("/proc/thread-self/net/dev")));
            return Optional.of(new Network(now(), interfaces));
        } catch (ExecutionException e) {
            LOG.warn("read pod network counters", "sandbox", s.id(), "error", String.valueOf(e.getCause()));
            return Optional.empty();
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return Optional.empty();
        }
    }

    public record Network(long timestamp, List<NetDev.Interface> interfaces) {
    }

    static long now() {
        var i = java.time.Instant.now();
        return i.getEpochSecond() * 1_000_000_000L + i.getNano();
    }
}
