package io.berth.agent.pod;

import java.nio.file.Path;

/**
 * The init of a pod whose containers share one PID namespace (shareProcessNamespace): a tiny
 * process that is pid 1 there, reaps orphans and keeps the namespace alive for as long as the pod.
 * Pods without a shared PID namespace have none (no pause process: DESIGN.md).
 */
public interface PodInit {
    /** Starts the init in a new PID namespace joined to the pod's others, and pins that namespace at {@code pin}. */
    void start(Sandbox sandbox, Path pin);

    /** Ends the init and unpins its namespace. Idempotent. */
    void stop(Sandbox sandbox, Path pin);

    /** Removes what the init left on disk. Idempotent. */
    void remove(Sandbox sandbox);

    /** Where a pod's shared PID namespace is pinned. */
    static Path pin(Sandbox sandbox) {
        return Path.of(sandbox.pinsDir()).resolve("pid");
    }

    static boolean needed(Sandbox sandbox) {
        return sandbox.namespaces().pid() == Sandbox.NamespaceModes.Mode.POD;
    }
}
