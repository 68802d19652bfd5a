package io.berth.net;

/** A host port asked for is already mapped by another pod (CRI callers map this to ALREADY_EXISTS/FAILED_PRECONDITION). */
public final class HostPortConflictException extends NetworkException {
    private final String holderPodId;

    public HostPortConflictException(String message, String holderPodId) {
        super(message);
        this.holderPodId = holderPodId;
    }

    public String holderPodId() {
        return holderPodId;
    }
}
