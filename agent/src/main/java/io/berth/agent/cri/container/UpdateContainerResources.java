package io.berth.agent.cri.container;

import io.berth.agent.container.ContainerManager;
import io.berth.agent.cri.Handler;
import io.berth.cri.v1.UpdateContainerResourcesRequest;
import io.berth.cri.v1.UpdateContainerResourcesResponse;

/** CRI UpdateContainerResources: new cgroup limits for a live container (CPU manager, in-place resize). */
public final class UpdateContainerResources
        implements Handler<UpdateContainerResourcesRequest, UpdateContainerResourcesResponse> {
    private final ContainerManager containers;

    public UpdateContainerResources(ContainerManager containers) {
        this.containers = containers;
    }

    @Override
    public UpdateContainerResourcesResponse handle(UpdateContainerResourcesRequest request) {
        containers.updateResources(request.getContainerId(), ContainerMapping.resources(request.getLinux()));
        return UpdateContainerResourcesResponse.getDefaultInstance();
    }
}
