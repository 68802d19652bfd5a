package io.berth.agent.container;

import java.util.List;
import java.util.Map;

/** What CreateContainer asks for, translated from the CRI ContainerConfig at the gRPC edge. */
public record ContainerRequest(
        String name,
        int attempt,
        String image,
        List<String> command,
        List<String> args,
        String workingDir,
        Map<String, String> env,
        List<ContainerPlan.Mount> mounts,
        List<Device> devices,
        Map<String, String> labels,
        Map<String, String> annotations,
        String logPath,
        boolean stdin,
        boolean stdinOnce,
        boolean tty,
        ContainerPlan.Resources resources,
        Security security,
        String stopSignal) {

    /**
     * One of the CRI's ContainerConfig.devices, as kubelet's device manager passes a device plugin's
     * allocation: a host node (or a directory of nodes) to make at {@code containerPath}.
     *
     * @param containerPath empty: the host path
     * @param permissions   device cgroup access, a subset of "rwm"; empty: "rwm"
     */
    public record Device(String hostPath, String containerPath, String permissions) {
    }

    /**
     * The container's LinuxContainerSecurityContext, as far as berth applies it.
     *
     * @param runAsUser      null when not set (then run_as_username, then the image's User)
     * @param pidMode        POD, CONTAINER, NODE or TARGET
     */
    public record Security(
            boolean privileged,
            List<String> addCapabilities,
            List<String> dropCapabilities,
            boolean readonlyRootfs,
            Long runAsUser,
            Long runAsGroup,
            String runAsUsername,
            List<Long> supplementalGroups,
            boolean noNewPrivileges,
            ContainerPlan.Seccomp seccomp,
            String pidMode,
            String targetId,
            long oomScoreAdj,
            List<String> maskedPaths,
            List<String> readonlyPaths) {
    }
}
