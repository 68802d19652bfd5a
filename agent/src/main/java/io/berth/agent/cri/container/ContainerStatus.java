package io.berth.agent.cri.container;

import io.berth.agent.container.Container;
import io.berth.agent.container.ContainerManager;
import io.berth.agent.cri.Handler;
import io.berth.cri.v1.ContainerStatusRequest;
import io.berth.cri.v1.ContainerStatusResponse;

/** CRI ContainerStatus; {@code verbose} adds the bundle dir, user and stop signal under "info". */
public final class ContainerStatus implements Handler<ContainerStatusRequest, ContainerStatusResponse> {
    private final ContainerManager containers;

    public ContainerStatus(ContainerManager containers) {
        this.containers = containers;
    }

    @Override
    public ContainerStatusResponse handle(ContainerStatusRequest request) {
        Container c = containers.get(request.getContainerId());
        var response = ContainerStatusResponse.newBuilder().setStatus(ContainerMapping.toStatus(c));
        if (request.getVerbose()) {
            response.putInfo("info", io.berth.agent.util.Json.object("sandbox_id", c.sandboxId(),
                    "bundle", c.bundleDir(), "user", c.user(), "stop_signal", c.stopSignal()));
        }
        return response.build();
    }
}
