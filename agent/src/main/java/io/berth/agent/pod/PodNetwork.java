package io.berth.agent.pod;

import java.nio.file.Path;
import java.util.List;
import java.util.Set;

/** The pod network as the agent sees it: built-in bridge networking or CNI plugins behind it. */
public interface PodNetwork {
    /** Connects the pod's network namespace; returns its IPs, the primary first. */
    List<String> setUp(Sandbox sandbox, Path netns);

    /** Releases everything {@link #setUp} made for the pod. Idempotent. */
    void tearDown(Sandbox sandbox, Path netns);

    /** Frees what belongs to pods that no longer exist (after a crash). */
    void reconcile(Set<String> liveSandboxIds);

    /** NetworkReady as CRI Status reports it. */
    Readiness readiness();

    /** kubelet's UpdateRuntimeConfig pod_cidr; empty means keep the configured one. */
    void updatePodCidr(String cidr);

    record Readiness(boolean ready, String reason, String message) {
    }
}
