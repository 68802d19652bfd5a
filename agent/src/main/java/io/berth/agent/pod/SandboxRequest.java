package io.berth.agent.pod;

import java.util.List;
import java.util.Map;

/** What RunPodSandbox asks for, translated from the CRI PodSandboxConfig at the gRPC edge. */
public record SandboxRequest(
        Sandbox.PodMeta meta,
        String hostname,
        String logDirectory,
        Sandbox.Dns dns,
        List<Sandbox.PortMapping> ports,
        Map<String, String> labels,
        Map<String, String> annotations,
        String cgroupParent,
        Sandbox.NamespaceModes namespaces,
        boolean privileged,
        String runtimeHandler) {
}
