package io.berth.agent.pod;

import java.util.List;
import java.util.Map;

/**
 * A pod sandbox as the agent keeps it: the pod's identity, what kubelet asked for, and what was
 * set up for it. Persisted as one JSON record per sandbox; every change goes through {@link #with}.
 *
 * @param pinsDir  where the pod's namespaces are pinned (bind mounts of /proc/thread-self/ns/*)
 * @param podDir   runtime files of the pod: hostname, hosts and resolv.conf bind-mounted into its containers
 * @param ownsCgroup whether RunPodSandbox created the pod cgroup (and RemovePodSandbox must remove it)
 * @param bootId   the kernel's boot id when the sandbox was made: a sandbox of an earlier boot holds
 *                 nothing any more (null in records of agents before it, which only the pins tell)
 */
public record Sandbox(
        String id,
        PodMeta meta,
        Map<String, String> labels,
        Map<String, String> annotations,
        State state,
        long createdAt,
        String hostname,
        String logDirectory,
        String runtimeHandler,
        NamespaceModes namespaces,
        String cgroupParent,
        boolean ownsCgroup,
        Dns dns,
        List<PortMapping> ports,
        List<String> ips,
        boolean privileged,
        String pinsDir,
        String podDir,
        String bootId) {

    /**
     * The sandbox lifecycle. Every change of state is persisted before it is reported.
     * <pre>
     *   RunPodSandbox ──▶ CREATING ──(namespaces, cgroup, network set up)──▶ READY
     *                        │ failure or crash: undone, record deleted          │ StopPodSandbox
     *                        ▼                                                    ▼
     *                    (removed)  ◀──────────── RemovePodSandbox ────────── NOTREADY
     * </pre>
     * A CREATING record found at start-up is the trace of a crash mid-RunPodSandbox: its resources
     * are released and the record removed. A READY record found at start-up that no longer holds its
     * pod (made in an earlier boot, or its namespace pins gone) becomes NOTREADY, so that kubelet
     * makes the pod a new sandbox.
     */
    public enum State {
        CREATING, READY, NOTREADY;

        public boolean canBecome(State next) {
            return switch (this) {
                case CREATING -> next == READY || next == NOTREADY;
                case READY -> next == NOTREADY;
                case NOTREADY -> false;
            };
        }
    }

    public record PodMeta(String name, String uid, String namespace, int attempt) {
        /** One sandbox per (name, namespace, uid, attempt): kubelet's own naming rule. */
        public String reservationKey() {
            return name + "_" + namespace + "_" + uid + "_" + attempt;
        }
    }

    /** How the pod's namespaces are shared: POD (its own), NODE (the host's), CONTAINER, TARGET. */
    public record NamespaceModes(Mode network, Mode pid, Mode ipc) {
        public enum Mode { POD, CONTAINER, NODE, TARGET }
    }

    public record Dns(List<String> servers, List<String> searches, List<String> options) {
    }

    public record PortMapping(String protocol, int containerPort, int hostPort, String hostIp) {
    }

    public Sandbox withState(State next) {
        if (state != next && !state.canBecome(next)) {
            throw new IllegalStateException("sandbox " + id + " cannot go from " + state + " to " + next);
        }
        return new Sandbox(id, meta, labels, annotations, next, createdAt, hostname, logDirectory, runtimeHandler,
                namespaces, cgroupParent, ownsCgroup, dns, ports, ips, privileged, pinsDir, podDir, bootId);
    }

    public Sandbox withIps(List<String> newIps) {
        return new Sandbox(id, meta, labels, annotations, state, createdAt, hostname, logDirectory, runtimeHandler,
                namespaces, cgroupParent, ownsCgroup, dns, ports, newIps, privileged, pinsDir, podDir, bootId);
    }

    public Sandbox withOwnsCgroup(boolean owns) {
        return new Sandbox(id, meta, labels, annotations, state, createdAt, hostname, logDirectory, runtimeHandler,
                namespaces, cgroupParent, owns, dns, ports, ips, privileged, pinsDir, podDir, bootId);
    }

    public boolean hostNetwork() {
        return namespaces.network() == NamespaceModes.Mode.NODE;
    }
}
