package io.berth.agent.cri.stats;

import io.berth.agent.container.Container;
import io.berth.agent.container.ContainerManager;
import io.berth.agent.cri.Handler;
import io.berth.agent.pod.PodManager;
import io.berth.agent.stats.StatsService;
import io.berth.cri.v1.ContainerStatsFilter;
import io.berth.cri.v1.ListContainerStatsRequest;
import io.berth.cri.v1.ListContainerStatsResponse;
import java.util.List;

/**
 * CRI ListContainerStats: "stats of all running containers" matching the filter (id, sandbox id,
 * each an id or a unique prefix, and labels, ANDed). Created containers are listed too (they have a
 * cgroup, as containerd lists them). Answered from the samples the shims pushed: no shim is asked.
 */
public final class ListContainerStats implements Handler<ListContainerStatsRequest, ListContainerStatsResponse> {
    private final ContainerManager containers;
    private final PodManager pods;
    private final StatsService stats;

    public ListContainerStats(ContainerManager containers, PodManager pods, StatsService stats) {
        this.containers = containers;
        this.pods = pods;
        this.stats = stats;
    }

    @Override
    public ListContainerStatsResponse handle(ListContainerStatsRequest request) {
        return ListContainerStatsResponse.newBuilder().addAllStats(items(request.getFilter())).build();
    }

    /** The stats of the live containers that match; StreamContainerStats sends the same. */
    public List<io.berth.cri.v1.ContainerStats> items(ContainerStatsFilter filter) {
        return containers.records().stream()
                .filter(c -> (c.state() == Container.State.RUNNING || c.state() == Container.State.CREATED)
                        && matches(filter, c))
                .map(c -> ContainerStats.of(c, pods, stats))
                .toList();
    }

    static boolean matches(ContainerStatsFilter f, Container c) {
        if (!f.getId().isEmpty() && !c.id().startsWith(f.getId())) return false;
        if (!f.getPodSandboxId().isEmpty() && !c.sandboxId().startsWith(f.getPodSandboxId())) return false;
        return f.getLabelSelectorMap().entrySet().stream().allMatch(e -> e.getValue().equals(c.labels().get(e.getKey())));
    }
}
