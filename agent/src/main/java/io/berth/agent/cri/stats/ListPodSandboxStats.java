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
        List<Container> all = containers.records();
        var response = ListPodSandboxStatsResponse.newBuilder();
        for (Sandbox s : pods.list()) {
            if (matches(request.getFilter(), s)) {
                response.addStats(PodSandboxStats.of(s, all, pods, stats));
            }
        }
        return response.build();
    }

    static boolean matches(PodSandboxStatsFilter f, Sandbox s) {
        if (!f.getId().isEmpty() && !s.id().startsWith(f.getId())) return false;
        return f.getLabelSelectorMap().entrySet().stream().allMatch(e -> e.getValue().equals(s.labels().get(e.getKey())));
    }
}
