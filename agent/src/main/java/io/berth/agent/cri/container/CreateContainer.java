package io.berth.agent.cri.container;

import io.berth.agent.container.ContainerManager;
import io.berth.agent.cri.Handler;
import io.berth.cri.v1.CreateContainerRequest;
import io.berth.cri.v1.CreateContainerResponse;

/** CRI CreateContainer: the container's shim runs and holds its process, ready to start. */
public final class CreateContainer implements Handler<CreateContainerRequest, CreateContainerResponse> {
    private final ContainerManager containers;

    public CreateContainer(ContainerManager containers) {
        this.containers = containers;
    }

    @Override
    public CreateContainerResponse handle(CreateContainerRequest request) {
        var c = containers.create(request.getPodSandboxId(), ContainerMapping.toRequest(request.getConfig()));
        return CreateContainerResponse.newBuilder().setContainerId(c.id()).build();
    }
}
