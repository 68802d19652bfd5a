package io.berth.agent.container;

import java.util.List;
import java.util.Map;

/**
 * Everything a shim needs to create one container, decided by the agent from the CRI request, the
 * image and the sandbox. The shim adapter turns it into the shim's own spec message; the shim
 * never sees a CRI type (STYLE.md item 4, as runc's configs + specconv).
 *
 * @param lowerDirs     the image's unpacked layers, lowest first
 * @param upperDir      the container's writable layer
 * @param capabilities  the final capability set ("CAP_CHOWN", ...): defaults + add − drop
 * @param namespaces    what to join (a pin path) or create (empty path)
 * @param devices       device nodes to make in the container and allow in its device cgroup
 * @param cgroupParent  kubelet's cgroup_parent (cgroupfs form); the container's cgroup is made under it
 */
public record ContainerPlan(
        String id,
        String bundleDir,
        List<String> lowerDirs,
        String upperDir,
        String workDir,
        boolean readonlyRootfs,
        List<String> args,
        List<String> env,
        String cwd,
        long uid,
        long gid,
        List<Long> additionalGids,
        boolean tty,
        boolean stdin,
        boolean stdinOnce,
        boolean noNewPrivileges,
        List<String> capabilities,
        boolean privileged,
        Seccomp seccomp,
        long oomScoreAdj,
        String hostname,
        List<NamespaceJoin> namespaces,
        List<Mount> mounts,
        List<Device> devices,
        List<String> maskedPaths,
        List<String> readonlyPaths,
        String cgroupParent,
        Resources resources,
        String logPath) {

    public record Seccomp(Kind kind, String localhostProfile) {
        public enum Kind { RUNTIME_DEFAULT, UNCONFINED, LOCALHOST }
    }

    /**
     * @param path           a namespace pin to join, or "" to create a new namespace of this type
     * @param ownerPid       when path is {@code /proc/PID/ns/TYPE} of another container's process
     *                       (PID mode TARGET): that pid, else 0
     * @param ownerStartTime that process's start time (/proc/PID/stat field 22), so the shim joins
     *                       it and never a process that took over its pid
     */
    public record NamespaceJoin(String type, String path, int ownerPid, long ownerStartTime) {
        public NamespaceJoin(String type, String path) {
            this(type, path, 0, 0);
        }
    }

    /** @param propagation "private", "rslave" or "rshared" */
    public record Mount(String source, String destination, String type, List<String> options, String propagation,
            boolean readonly) {
    }

    /**
     * A device node, resolved from the host's node of the same numbers.
     *
     * @param path        inside the container
     * @param type        "c" or "b"
     * @param fileMode    permission bits (the host node's)
     * @param permissions device cgroup access, a non-empty subset of "rwm"
     */
    public record Device(String path, String type, long major, long minor, int fileMode, long uid, long gid,
            String permissions) {
    }

    /** LinuxContainerResources; zero means "not set". */
    public record Resources(long cpuShares, long cpuQuota, long cpuPeriod, String cpusetCpus, String cpusetMems,
            long memoryLimitBytes, long pidsLimit, Map<String, Long> hugepageLimits, Map<String, String> unified) {
        public static final Resources NONE = new Resources(0, 0, 0, "", "", 0, 0, Map.of(), Map.of());
    }
}
