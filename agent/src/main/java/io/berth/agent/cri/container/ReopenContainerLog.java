package io.berth.agent.cri.container;

import io.berth.agent.container.ContainerManager;
import io.berth.agent.cri.Handler;
import io.berth.cri.v1.ReopenContainerLogRequest;
import io.berth.cri.v1.ReopenContainerLogResponse;

/** CRI ReopenContainerLog: after kubelet rotated the file, the shim writes to a fresh one. */
public final class ReopenContainerLog implements Handler<ReopenContainerLogRequest, ReopenContainerLogResponse> {
    private final ContainerManager containers;

    public ReopenContainerLog(ContainerManager containers) {
        this.containers = containers;
    }

    @Override
    public ReopenContainerLogResponse handle(ReopenContainerLogRequest request) {
        containers.reopenLog(request.getContainerId());
        return ReopenContainerLogResponse.getDefaultInstance();
    }
}
