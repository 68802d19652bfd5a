package io.berth.agent.cri.container;

import io.berth.agent.cri.Handler;
import io.berth.agent.domain.BerthException;
import io.berth.cri.v1.CheckpointContainerRequest;
import io.berth.cri.v1.CheckpointContainerResponse;

/**
 * CRI CheckpointContainer (kubelet's /checkpoint API, KEP-2008): refused. A checkpoint is a CRIU
 * dump of the container's processes, and berth has no CRIU support; the reason goes back to kubelet
 * rather than grpc-java's bare "method is unimplemented".
 */
public final class CheckpointContainer implements Handler<CheckpointContainerRequest, CheckpointContainerResponse> {
    @Override
    public CheckpointContainerResponse handle(CheckpointContainerRequest request) {
        throw new BerthException(BerthException.Kind.UNIMPLEMENTED, "checkpoint container " + request.getContainerId()
                + ": checkpointing needs CRIU, which berth does not support");
    }
}
