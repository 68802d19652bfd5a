package io.berth.agent.cri.container;

import io.berth.agent.container.ContainerManager;
import io.berth.agent.cri.Handler;
import io.berth.cri.v1.RemoveContainerRequest;
import io.berth.cri.v1.RemoveContainerResponse;

/** CRI RemoveContainer: kills it if running, removes it and its writable layer. Idempotent. */
public final class RemoveContainer implements Handler<RemoveContainerRequest, RemoveContainerResponse> {
    private final ContainerManager containers;

    public RemoveContainer(ContainerManager containers) {
        this.containers = containers;
    }

    @Override
    public RemoveContainerResponse handle(RemoveContainerRequest request) {
        containers.remove(request.getContainerId());
        return RemoveContainerResponse.getDefaultInstance();
    }
}
