package io.berth.agent.cri.container;

import io.berth.agent.container.Container;
import io.berth.agent.container.ContainerManager;
import io.berth.agent.cri.Handler;
import io.berth.cri.v1.ContainerFilter;
import io.berth.cri.v1.ListContainersRequest;
import io.berth.cri.v1.ListContainersResponse;
import java.util.List;

/** CRI ListContainers with its filter: id (or prefix), state, sandbox (or prefix), labels. */
public final class ListContainers implements Handler<ListContainersRequest, ListContainersResponse> {
    private final ContainerManager containers;

    public ListContainers(ContainerManager containers) {
        this.containers = containers;
    }

    @Override
    public ListContainersResponse handle(ListContainersRequest request) {
        return ListContainersResponse.newBuilder().addAllContainers(items(request.getFilter())).build();
    }

    /** The containers that match; StreamContainers sends the same. */
    public List<io.berth.cri.v1.Container> items(ContainerFilter filter) {
        return containers.list().stream().filter(c -> matches(filter, c)).map(ContainerMapping::toListItem).toList();
    }

    static boolean matches(ContainerFilter f, Container c) {
        if (!f.getId().isEmpty() && !c.id().startsWith(f.getId())) return false;
        if (!f.getPodSandboxId().isEmpty() && !c.sandboxId().startsWith(f.getPodSandboxId())) return false;
        if (f.hasState() && f.getState().getState() != ContainerMapping.state(c.state())) return false;
        return f.getLabelSelectorMap().entrySet().stream()
                .allMatch(e -> e.getValue().equals(c.labels().get(e.getKey())));
    }
}
