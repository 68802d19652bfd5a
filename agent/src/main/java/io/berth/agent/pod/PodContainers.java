package io.berth.agent.pod;

/** What the pod side needs from the container side, without depending on it. */
public interface PodContainers {
    /** Stops every container of the sandbox, SIGKILL after {@code timeoutSeconds}. */
    void stopAll(String sandboxId, long timeoutSeconds);

    /** Removes every container of the sandbox (stopping any still running). */
    void removeAll(String sandboxId);
}
