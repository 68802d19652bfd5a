package io.berth.agent.cri.stats;

import io.berth.agent.container.Container;
import io.berth.agent.container.ContainerManager;
import io.berth.agent.cri.Handler;
import io.berth.agent.pod.PodManager;
import io.berth.agent.pod.Sandbox;
import io.berth.agent.stats.StatsService;
import io.berth.cri.v1.ListPodSandboxStatsRequest;
import io.berth.cri.v1.ListPodSandboxStatsResponse;
import io.berth.cri.v1.PodSandboxStatsFilter;
import java.util.List;

/** CRI ListPodSandboxStats with its filter (id or unique prefix, labels; ANDed). */
public final class ListPodSandboxStats implements Handler<ListPodSandboxStatsRequest, ListPodSandboxStatsResponse> {
    private final ContainerManager containers;
    private final PodManager pods;
    private final StatsService stats;

    public ListPodSandboxStats(ContainerManager containers, PodManager pods, StatsService stats) {
        this.containers = containers;
        this.pods = pods;
        this.stats = stats;
    }

    @Override
    public ListPodSandboxStatsResponse handle(ListPodSandboxStatsRequest request) {
        return ListPodSandboxStatsResponse.newBuilder().addAllStats(items(request.getFilter())).build();
    }

    /** The stats of the pods that match; StreamPodSandboxStats sends the same. */
    public List<io.berth.cri.v1.PodSandboxStats> items(PodSandboxStatsFilter filter) {
        List<Container> all = containers.records();
        return pods.list().stream()
                .filter(s -> matches(filter, s))
                .map(s -> PodSandboxStats.of(s, all, pods, stats))
                .toList();
    }

    static boolean matches(PodSandboxStatsFilter f, Sandbox s) {
        if (!f.getId().isEmpty() && !s.id().startsWith(f.getId())) return false;
        return f.getLabelSelectorMap().entrySet().stream().allMatch(e -> e.getValue().equals(s.labels().get(e.getKey())));
    }
}
