package io.berth.agent.cri.container;

import io.berth.agent.container.ContainerManager;
import io.berth.agent.cri.Handler;
import io.berth.cri.v1.StartContainerRequest;
import io.berth.cri.v1.StartContainerResponse;

/** CRI StartContainer: releases the held process. */
public final class StartContainer implements Handler<StartContainerRequest, StartContainerResponse> {
    private final ContainerManager containers;

    public StartContainer(ContainerManager containers) {
        this.containers = containers;
    }

    @Override
    public StartContainerResponse handle(StartContainerRequest request) {
        containers.start(request.getContainerId());
        return StartContainerResponse.getDefaultInstance();
    }
}
