package io.berth.agent.cri.stats;

import io.berth.agent.container.Container;
import io.berth.agent.container.ContainerManager;
import io.berth.agent.cri.Handler;
import io.berth.agent.pod.PodManager;
import io.berth.agent.pod.Sandbox;
import io.berth.agent.stats.StatsService;
import io.berth.cri.v1.ContainerStatsRequest;
import io.berth.cri.v1.ContainerStatsResponse;

/** CRI ContainerStats: "If the container does not exist, the call returns an error" (NOT_FOUND). */
public final class ContainerStats implements Handler<ContainerStatsRequest, ContainerStatsResponse> {
    private final ContainerManager containers;
    private final PodManager pods;
    private final StatsService stats;

    public ContainerStats(ContainerManager containers, PodManager pods, StatsService stats) {
        this.containers = containers;
        this.pods = pods;
        this.stats = stats;
    }

    @Override
    public ContainerStatsResponse handle(ContainerStatsRequest request) {
        Container c = containers.get(request.getContainerId());
        return ContainerStatsResponse.newBuilder().setStats(of(c, pods, stats)).build();
    }

    /** A live container's numbers; an exited one has only its attributes (its cgroup is gone). */
    static io.berth.cri.v1.ContainerStats of(Container c, PodManager pods, StatsService stats) {
        boolean live = c.state() == Container.State.CREATED || c.state() == Container.State.RUNNING;
        String parent = pods.find(c.sandboxId()).map(Sandbox::cgroupParent).orElse("");
        return StatsMapping.container(c, live ? stats.container(c, parent) : java.util.Optional.empty(),
                stats.writableRoot());
    }
}
