package io.berth.net;

import java.nio.file.Path;
import java.util.List;
import java.util.Set;

/**
 * Pod networking as the agent sees it: attach a pod's network namespace (pinned at a file) to the
 * node network, detach it, report readiness, and clean up after pods that vanished while the agent
 * was down. Implemented by the built-in {@link BridgeNetwork} and by {@link CniNetwork}; choose with
 * {@link PodNetworks#create(NetworkConfig)}. Implementations are thread-safe.
 */
public interface PodNetwork extends AutoCloseable {
    /**
     * Gives the pod an interface, IPs and routes in {@code netns}, and maps {@code ports} on the node.
     * On failure everything acquired so far is undone before the exception leaves. Retrying for the
     * same pod id reuses its IP allocations.
     *
     * @throws NetworkException naming the pod, the failed step and its object
     * @throws HostPortConflictException when a host port is already mapped by another pod
     */
    Attachment setUp(PodRef pod, Path netns, List<PortMapping> ports);

    /**
     * Releases everything {@link #setUp} acquired. Idempotent: succeeds for unknown pods, for pods
     * already torn down and when the netns pin is already gone.
     */
    void tearDown(PodRef pod, Path netns);

    /** NetworkReady for CRI Status: ready, or why not (a missing or broken CNI config, no pod CIDR). */
    Readiness status();

    /**
     * Frees what pods not in {@code livePodIds} still hold (IPs, host ports, host-side links), as left
     * by a crash between setUp and tearDown. Call at agent start, before new pods are set up; the set
     * must include every pod whose setup may be in flight.
     */
    void reconcile(Set<String> livePodIds);

    /**
     * kubelet's UpdateRuntimeConfig pod_cidr (comma-separated for dual stack): new pods get addresses
     * from these; existing pods keep theirs. A network that takes its addresses elsewhere (CNI) ignores it.
     */
    void updatePodCidrs(List<String> cidrs);

    /**
     * The IPs a pod holds (IPv4 first), from the persisted state, for PodSandboxStatus after an agent
     * restart; empty for an unknown or torn-down pod.
     */
    java.util.List<java.net.InetAddress> addressesOf(String podId);

    /** Releases the network's own resources (sockets); pods stay attached across an agent restart. */
    @Override
    void close();
}
