package io.berth.agent.cri.container;

import io.berth.agent.container.ContainerManager;
import io.berth.agent.cri.Handler;
import io.berth.cri.v1.StopContainerRequest;
import io.berth.cri.v1.StopContainerResponse;

/** CRI StopContainer: the stop signal, then SIGKILL after the timeout. Idempotent. */
public final class StopContainer implements Handler<StopContainerRequest, StopContainerResponse> {
    private final ContainerManager containers;

    public StopContainer(ContainerManager containers) {
        this.containers = containers;
    }

    @Override
    public StopContainerResponse handle(StopContainerRequest request) {
        containers.stop(request.getContainerId(), request.getTimeout());
        return StopContainerResponse.getDefaultInstance();
    }
}
