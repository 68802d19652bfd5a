package io.berth.kernel.cgroup;

import java.io.IOException;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;

/** One cgroup (in every controller hierarchy on v1, or one directory on v2). */
public interface Cgroup {
    /**
     * In the message of a limit refused because its controller is not enabled for the cgroup (v2):
     * the node cannot honour the request as it is set up, so callers report a failed precondition.
     */
    String CONTROLLER_NOT_ENABLED = "controller is not enabled for it";

    /** The cgroup's path relative to the hierarchy root, e.g. {@code /kubepods/besteffort/pod1/c1}. */
    String path();

    /** Writes the limits (only the ones that are set). */
    void apply(Resources resources) throws IOException;

    /** Moves a whole process into this cgroup (cgroup.procs). */
    void addProcess(int pid) throws IOException;

    /**
     * Moves only one thread (v1 {@code tasks}); children it spawns are born in this cgroup. Cgroup v2
     * refuses to move one thread of a domain cgroup (EOPNOTSUPP), so there it throws
     * UnsupportedOperationException and callers place the child by pid instead.
     */
    void addThread(int tid) throws IOException;

    /** Pids in this cgroup and its descendants. */
    List<Integer> pids() throws IOException;

    /** How many times the kernel's OOM killer killed a task here (memory.oom_control / memory.events). */
    long oomKills() throws IOException;

    /** Sends {@code signal} to every process in the cgroup and below; returns how many were signalled. */
    int signalAll(int signal) throws IOException;

    /**
     * Kills what is left (SIGKILL, repeated until empty or {@code timeout}) and removes the
     * directory in every hierarchy, children first. Idempotent: a missing cgroup is fine.
     */
    void remove(Duration timeout) throws IOException;

    /**
     * Device access policy: deny every device but the ones {@code rules} allow. v1 writes the
     * devices controller's devices.deny and devices.allow; v2 attaches a cgroup device BPF program
     * ({@link DeviceFilter}). Not called for privileged containers, which may use every device.
     */
    void allowDevicesOnly(List<DeviceRule> rules) throws IOException;

    /** Whether the cgroup directory exists in any hierarchy. */
    boolean exists();

    /**
     * What a container in this cgroup is shown at /sys/fs/cgroup, as runc mounts it without a
     * cgroup namespace: on v2 this cgroup's directory ({@code name} ""); on v1, per hierarchy, this
     * cgroup's directory in it at the hierarchy's name, and the host's links between names
     * ({@code cpu -> cpu,cpuacct}).
     */
    List<ViewEntry> containerView() throws IOException;

    /** An entry of {@link #containerView}: {@code source} bound at NAME, or NAME a symlink to {@code link}. */
    record ViewEntry(String name, Path source, String link) {
    }
}
