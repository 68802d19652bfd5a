package io.berth.agent.pod;

import io.berth.agent.domain.BerthException;
import io.berth.agent.log.Log;
import io.berth.agent.pod.Sandbox.NamespaceModes.Mode;
import io.berth.agent.pod.Sandbox.State;
import io.berth.agent.store.RecordStore;
import io.berth.agent.util.Cleanups;
import io.berth.agent.util.FileTrees;
import io.berth.agent.util.IdIndex;
import io.berth.agent.util.Ids;
import io.berth.agent.util.KeyedLocks;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Comparator;
import java.util.EnumSet;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;

/**
 * Pod sandboxes: run, stop, remove, look up. Every operation on one pod holds that pod's lock; every
 * change of state is persisted before it is answered; every resource acquired registers its undo.
 * All of it is idempotent, as kubelet retries everything.
 */
public final class PodManager {
    private static final Log LOG = Log.get(PodManager.class);

    /**
     * Sandbox records are written atomically but not fsync'ed ({@link RecordStore#update}), as the
     * network's IP reservations are not: everything a sandbox stands for (pinned namespaces, its
     * cgroup, veth, addresses) is a kernel object that dies with the kernel. A killed agent loses
     * nothing (the file is in the page cache once written); a power loss or kernel crash loses
     * the pods too, and kubelet makes new sandboxes for a record lost with them as for one found
     * NOTREADY. The fsyncs cost 2-20 ms each on RunPodSandbox's path here.
     */
    private final RecordStore<Sandbox> store;
    private final IdIndex<Sandbox> sandboxes = new IdIndex<>("pod sandbox");
    private final Map<String, String> reservations = new ConcurrentHashMap<>();
    private final KeyedLocks locks = new KeyedLocks();
    private final Path runDir;
    private final PodNamespaces namespaces;
    private final PodCgroups cgroups;
    private final PodNetwork network;
    private final PodInit init;
    private final String bootId;
    private volatile PodContainers containers;

    /** {@code bootId}: the kernel's id of this boot (/proc/sys/kernel/random/boot_id), kept in each record. */
    public PodManager(Path stateDir, Path runDir, PodNamespaces namespaces, PodCgroups cgroups, PodNetwork network,
            PodInit init, String bootId) {
        this.store = new RecordStore<>(stateDir.resolve("sandboxes"), Sandbox.class);
        this.bootId = bootId;
        this.runDir = runDir;
        this.namespaces = namespaces;
        this.cgroups = cgroups;
        this.network = network;
        this.init = init;
    }

    public void attach(PodContainers podContainers) {
        this.containers = podContainers;
    }

    /**
     * Reloads the records after a restart. A sandbox caught CREATING by a crash is undone; a READY
     * one that no longer holds its pod (see {@link #lostBy}) becomes NOTREADY, as containerd reports
     * a sandbox whose pause container is gone, so that kubelet makes the pod a new one; the network
     * forgets allocations of pods that no longer exist.
     */
    public void recover() {
        for (Sandbox s : store.loadAll()) {
            if (s.state() == State.CREATING) {
                LOG.warn("undoing a sandbox left half-created by a crash", "id", s.id(), "pod", s.meta().name());
                releaseResources(s);
                store.delete(s.id());
                continue;
            }
            String lost = s.state() == State.READY ? lostBy(s) : null;
            if (lost != null) {
                LOG.warn("pod sandbox no longer holds its pod: now NOTREADY", "id", s.id(),
                        "pod", s.meta().namespace() + "/" + s.meta().name(), "reason", lost);
                try {
                    releaseResources(s);
                } catch (RuntimeException e) {
                    // What is left (an address reservation, a firewall rule) goes with RemovePodSandbox
                    // or the network's reconcile; the sandbox is NOTREADY either way.
                    LOG.warn("pod sandbox resources not all released", "id", s.id(), "error", e.getMessage());
                }
                s = s.withState(State.NOTREADY);
                store.update(s.id(), s);
            }
            sandboxes.put(s.id(), s);
            reservations.put(s.meta().reservationKey(), s.id());
        }
        var live = new HashSet<String>();
        sandboxes.all().forEach(s -> live.add(s.id()));
        network.reconcile(live);
        LOG.info("sandboxes recovered", "count", live.size());
    }

    public Sandbox run(SandboxRequest request) {
        validate(request);
        String key = request.meta().reservationKey();
        try (var held = locks.lock("name:" + key)) {
            String holder = reservations.get(key);
            if (holder != null) {
                Sandbox existing = sandboxes.find(holder).orElse(null);
                if (existing != null && existing.state() == State.READY) {
                    return existing; // a retry of a RunPodSandbox that already succeeded
                }
                throw new BerthException(BerthException.Kind.ALREADY_EXISTS, "pod sandbox name " + key
                        + " is reserved by sandbox " + holder + (existing == null ? "" : " (" + existing.state() + ")")
                        + "; remove it or use a new attempt");
            }
            Sandbox created = create(request);
            reservations.put(key, created.id());
            return created;
        }
    }

    private Sandbox create(SandboxRequest r) {
        String id = Ids.random();
        Path podDir = runDir.resolve("pods").resolve(id);
        Path pins = podDir.resolve("ns");
        String hostname = !r.hostname().isEmpty() ? r.hostname() : defaultHostname(r);
        Sandbox sandbox = new Sandbox(id, r.meta(), r.labels(), r.annotations(), State.CREATING, System.currentTimeMillis() * 1_000_000L,
                hostname, r.logDirectory(), r.runtimeHandler(), r.namespaces(), r.cgroupParent(), false, r.dns(),
                r.ports(), List.of(), r.privileged(), pins.toString(), podDir.toString(), bootId);
        // Written first, so that a crash at any later step leaves a record that recover() undoes.
        store.update(id, sandbox);
        try (var undo = new Cleanups()) {
            undo.push("delete record", () -> store.delete(id));

            var kinds = pinnedKinds(r.namespaces());
            undo.push("remove pod dir", () -> FileTrees.delete(podDir));
            if (!kinds.isEmpty()) {
                step(id, "pin namespaces in " + pins, () -> namespaces.create(pins, kinds, hostname));
                undo.push("remove namespace pins", () -> namespaces.remove(pins));
            }

            if (!r.cgroupParent().isEmpty()) {
                boolean owns = step(id, "create pod cgroup " + r.cgroupParent(), () -> cgroups.ensure(r.cgroupParent()));
                if (owns) {
                    sandbox = sandbox.withOwnsCgroup(true);
                    store.update(id, sandbox);
                    undo.push("remove pod cgroup", () -> cgroups.remove(r.cgroupParent()));
                }
            }

            List<String> ips = List.of();
            if (!sandbox.hostNetwork()) {
                Sandbox forNetwork = sandbox;
                ips = step(id, "set up pod network", () -> network.setUp(forNetwork, PodNamespaces.pin(pins, PodNamespaces.Kind.NET)));
                undo.push("tear down pod network", () -> network.tearDown(forNetwork, PodNamespaces.pin(pins, PodNamespaces.Kind.NET)));
            }
            if (PodInit.needed(sandbox)) {
                Sandbox withInit = sandbox;
                step(id, "start the init of the pod's shared PID namespace", () -> init.start(withInit, PodInit.pin(withInit)));
                undo.push("remove the pod's init", () -> init.remove(withInit));
                undo.push("stop the pod's init", () -> init.stop(withInit, PodInit.pin(withInit)));
            }
            List<String> podIps = ips;
            step(id, "write hostname, hosts and resolv.conf in " + podDir,
                    () -> PodFiles.write(podDir, hostname, r.dns(), podIps, Path.of("/etc/resolv.conf")));

            sandbox = sandbox.withIps(ips).withState(State.READY);
            store.update(id, sandbox);
            sandboxes.put(id, sandbox);
            undo.release();
            LOG.info("pod sandbox ready", "id", id, "pod", r.meta().namespace() + "/" + r.meta().name(), "ips", ips);
            return sandbox;
        }
    }

    /** Stops the pod's containers and releases its network and namespaces. Missing: fine. */
    public void stop(String idOrPrefix) {
        Optional<Sandbox> found = sandboxes.find(idOrPrefix);
        if (found.isEmpty()) {
            return;
        }
        String id = found.get().id();
        try (var held = locks.lock(id)) {
            Sandbox s = sandboxes.find(id).orElse(null);
            if (s == null) {
                return;
            }
            containers.stopAll(id, 0);
            if (s.state() != State.NOTREADY) {
                releaseResources(s);
                s = s.withState(State.NOTREADY);
                store.update(id, s);
                sandboxes.put(id, s);
                LOG.info("pod sandbox stopped", "id", id);
            }
        }
    }

    /** Removes the pod and everything of it, stopping it first if needed. Missing: fine. */
    public void remove(String idOrPrefix) {
        Optional<Sandbox> found = sandboxes.find(idOrPrefix);
        if (found.isEmpty()) {
            return;
        }
        String id = found.get().id();
        stop(id);
        try (var held = locks.lock(id)) {
            Sandbox s = sandboxes.find(id).orElse(null);
            if (s == null) {
                return;
            }
            containers.removeAll(id);
            if (PodInit.needed(s)) {
                init.remove(s);
            }
            if (s.ownsCgroup()) {
                cgroups.remove(s.cgroupParent());
            }
            FileTrees.delete(Path.of(s.podDir()));
            store.delete(id);
            sandboxes.remove(id);
            reservations.remove(s.meta().reservationKey(), id);
            LOG.info("pod sandbox removed", "id", id);
        }
        locks.forget(id);
    }

    /**
     * Resizes the pod's cgroup to {@code sum} (its containers' resources) plus {@code overhead}, as
     * CRI UpdatePodSandboxResources asks (in-place pod resize, KEP-1287). Kubelet calls it after it
     * resized the pod cgroup itself, and treats a failure as best effort; for a cgroup kubelet did
     * not make (no cgroupsPerQOS) this is what sizes it.
     */
    public void updateResources(String idOrPrefix, PodLimits sum, PodLimits overhead) {
        String id = get(idOrPrefix).id();
        sum.validate(id, "resources");
        overhead.validate(id, "overhead");
        try (var held = locks.lock(id)) {
            Sandbox s = get(id);
            if (s.cgroupParent().isEmpty()) {
                throw new BerthException(BerthException.Kind.FAILED_PRECONDITION,
                        "pod sandbox " + id + " has no cgroup_parent, so no pod cgroup to update");
            }
            cgroups.update(s.cgroupParent(), sum.plus(overhead));
            LOG.info("pod cgroup resources updated", "id", id, "cgroup", s.cgroupParent());
        }
    }

    public Optional<Sandbox> find(String idOrPrefix) {
        return sandboxes.find(idOrPrefix);
    }

    public Sandbox get(String idOrPrefix) {
        return find(idOrPrefix).orElseThrow(() -> BerthException.notFound("pod sandbox " + idOrPrefix + " not found"));
    }

    public List<Sandbox> list() {
        return sandboxes.all().stream().sorted(Comparator.comparingLong(Sandbox::createdAt)).toList();
    }

    public PodNetwork network() {
        return network;
    }

    /**
     * Why a READY sandbox found at start-up holds its pod no more, or null while it does: it was made
     * in an earlier boot of the node (the run directory on a disk keeps its files, not its mounts,
     * cgroups or processes), or a namespace it pinned is gone.
     */
    private String lostBy(Sandbox s) {
        if (s.bootId() != null && !s.bootId().equals(bootId)) {
            return "made in an earlier boot of the node (boot id " + s.bootId() + ", now " + bootId + ")";
        }
        var lost = namespaces.lost(Path.of(s.pinsDir()), pinnedKinds(s.namespaces()));
        return lost.isEmpty() ? null : "its pinned namespaces " + lost + " are gone from " + s.pinsDir();
    }

    /** The namespaces a sandbox pins: UTS, NET and IPC unless it shares the node's (host network: host UTS too). */
    private static Set<PodNamespaces.Kind> pinnedKinds(Sandbox.NamespaceModes modes) {
        var kinds = EnumSet.noneOf(PodNamespaces.Kind.class);
        if (modes.network() != Mode.NODE) {
            kinds.add(PodNamespaces.Kind.UTS);
            kinds.add(PodNamespaces.Kind.NET);
        }
        if (modes.ipc() != Mode.NODE) kinds.add(PodNamespaces.Kind.IPC);
        return kinds;
    }

    /** The init, the network, then namespace pins: what a stopped pod no longer holds. Each step idempotent. */
    private void releaseResources(Sandbox s) {
        Path pins = Path.of(s.pinsDir());
        if (PodInit.needed(s)) {
            init.stop(s, PodInit.pin(s));
        }
        if (!s.hostNetwork()) {
            network.tearDown(s, PodNamespaces.pin(pins, PodNamespaces.Kind.NET));
        }
        namespaces.remove(pins);
    }

    private static String defaultHostname(SandboxRequest r) {
        if (r.namespaces().network() == Mode.NODE) {
            try {
                return Files.readString(Path.of("/proc/sys/kernel/hostname")).strip();
            } catch (IOException e) {
                throw new UncheckedIOException(e);
            }
        }
        return r.meta().name();
    }

    private static void validate(SandboxRequest r) {
        if (r.meta() == null || r.meta().name().isEmpty() || r.meta().namespace().isEmpty() || r.meta().uid().isEmpty()) {
            throw BerthException.invalid("pod sandbox metadata needs name, namespace and uid, got " + r.meta());
        }
        if (r.hostname().length() > 64) {
            throw BerthException.invalid("hostname '" + r.hostname() + "' is longer than 64 characters");
        }
        for (var p : r.ports()) {
            if (p.containerPort() <= 0 || p.containerPort() > 65535 || p.hostPort() < 0 || p.hostPort() > 65535) {
                throw BerthException.invalid("port mapping " + p + " has a port outside 1-65535");
            }
        }
    }

    @FunctionalInterface
    interface Step<T> {
        T run() throws Exception;
    }

    @FunctionalInterface
    interface VoidStep {
        void run() throws Exception;
    }

    /** Runs one named step of a sandbox's set-up; a failure says which step, for which sandbox. */
    private static <T> T step(String id, String name, Step<T> step) {
        long t0 = System.nanoTime();
        try {
            T result = step.run();
            LOG.debug("pod sandbox step", "id", id, "step", name, "ms", (System.nanoTime() - t0) / 1e6);
            return result;
        } catch (BerthException e) {
            throw new BerthException(e.kind(), "sandbox " + id + ": " + name + ": " + e.getMessage(), e);
        } catch (Exception e) {
            throw new BerthException(BerthException.Kind.INTERNAL, "sandbox " + id + ": " + name + ": " + e.getMessage(), e);
        }
    }

    private static void step(String id, String name, VoidStep step) {
        step(id, name, () -> {
            step.run();
            return null;
        });
    }
}
