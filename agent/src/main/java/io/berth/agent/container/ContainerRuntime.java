package io.berth.agent.container;

import java.time.Duration;
import java.util.List;

/**
 * The per-container processes (shims) as the agent drives them. One implementation talks to real
 * shims; tests use a recording fake.
 */
public interface ContainerRuntime {
    /** Creates the container: its shim runs, its process is set up and held before exec. */
    void create(ContainerPlan plan);

    /** Releases the held process: it execs and runs. Returns the state right after. */
    Observed start(String bundleDir);

    /** Sends a signal to the container's process (all = every process in its cgroup). */
    void kill(String bundleDir, int signal, boolean all);

    /** The container's state as its shim (or, once it is gone, its durable exit record) tells it. */
    Observed observe(String bundleDir);

    /**
     * Blocks until the container has exited (or its shim is gone) and returns true, or returns
     * false after {@code timeout}. Without a way to wait it returns false at once and callers poll
     * {@link #observe}.
     */
    default boolean awaitExit(String bundleDir, Duration timeout) {
        return false;
    }

    /** {@link #kill} of pid 1, then {@link #awaitExit}: a runtime may do both in one exchange. */
    default boolean killAndAwaitExit(String bundleDir, int signal, Duration timeout) {
        kill(bundleDir, signal, false);
        return awaitExit(bundleDir, timeout);
    }

    /**
     * The PID namespace of a running container's process, for another container to join (CRI PID
     * mode TARGET), with that process's identity (pid and start time) so that the joiner never
     * takes the namespace of a process that took over the pid; empty when it is not running.
     */
    java.util.Optional<ContainerPlan.NamespaceJoin> pidNamespace(String bundleDir);

    ExecResult exec(String bundleDir, List<String> args, Duration timeout);

    void updateResources(String bundleDir, ContainerPlan.Resources resources);

    void reopenLog(String bundleDir);

    /** Ends the shim if still there and removes what it left (cgroup, bundle). Idempotent. */
    void delete(String bundleDir);

    /** What the runtime knows of a container right now. */
    record Observed(Phase phase, int pid, long startedAt, long finishedAt, int exitCode, String reason, String message) {
        public enum Phase { CREATED, RUNNING, EXITED, LOST }
    }

    record ExecResult(int exitCode, byte[] stdout, byte[] stderr, boolean timedOut) {
    }
}
