package io.berth.agent.container;

import java.util.List;
import java.util.Map;

/**
 * A container as the agent keeps it, persisted as one JSON record. The exit facts come from the
 * shim's durable exit record, so they are known even when the agent was down at the time.
 *
 * @param imageRef  the image as the request named it
 * @param imageId   the resolved image id ("sha256:..."), which ContainerStatus.image_ref reports
 */
public record Container(
        String id,
        String sandboxId,
        String name,
        int attempt,
        String imageRef,
        String imageId,
        Map<String, String> labels,
        Map<String, String> annotations,
        State state,
        long createdAt,
        long startedAt,
        long finishedAt,
        int exitCode,
        String reason,
        String message,
        String logPath,
        List<ContainerPlan.Mount> mounts,
        String stopSignal,
        ContainerPlan.Resources resources,
        String bundleDir,
        String user) {

    /**
     * The container lifecycle; each change is persisted before it is answered.
     * <pre>
     *   CreateContainer ─▶ CREATED ──StartContainer──▶ RUNNING ──exit / StopContainer──▶ EXITED
     *                         │                           │                               │
     *                         └──── StopContainer ────────┼──────────────────────────────▶│
     *                                                     └─ shim lost (kill -9) ─▶ EXITED (reason ShimLost)
     *   RemoveContainer from any state (a running one is killed first).
     * </pre>
     */
    public enum State {
        CREATED, RUNNING, EXITED, UNKNOWN;

        public boolean canBecome(State next) {
            return switch (this) {
                case CREATED -> next == RUNNING || next == EXITED || next == UNKNOWN;
                case RUNNING -> next == EXITED || next == UNKNOWN;
                case UNKNOWN -> next == EXITED;
                case EXITED -> false;
            };
        }
    }

    /** The key that makes a container name unique per pod attempt, as kubelet expects. */
    public String reservationKey() {
        return sandboxId + "/" + name + "/" + attempt;
    }

    public Container running(long startedAtNs) {
        check(State.RUNNING);
        return new Container(id, sandboxId, name, attempt, imageRef, imageId, labels, annotations, State.RUNNING,
                createdAt, startedAtNs, finishedAt, exitCode, reason, message, logPath, mounts, stopSignal, resources,
                bundleDir, user);
    }

    public Container exited(long startedAtNs, long finishedAtNs, int code, String why, String msg) {
        check(State.EXITED);
        return new Container(id, sandboxId, name, attempt, imageRef, imageId, labels, annotations, State.EXITED,
                createdAt, startedAtNs, finishedAtNs, code, why, msg, logPath, mounts, stopSignal, resources,
                bundleDir, user);
    }

    public Container withResources(ContainerPlan.Resources r) {
        return new Container(id, sandboxId, name, attempt, imageRef, imageId, labels, annotations, state,
                createdAt, startedAt, finishedAt, exitCode, reason, message, logPath, mounts, stopSignal, r,
                bundleDir, user);
    }

    private void check(State next) {
        if (state != next && !state.canBecome(next)) {
            throw new IllegalStateException("container " + id + " cannot go from " + state + " to " + next);
        }
    }
}
