package io.berth.agent.cri.stats;

import io.berth.agent.container.Container;
import io.berth.agent.container.ContainerManager;
import io.berth.agent.cri.Handler;
import io.berth.agent.pod.PodManager;
import io.berth.agent.pod.Sandbox;
import io.berth.agent.stats.StatsService;
import io.berth.cri.v1.ListPodSandboxMetricsRequest;
import io.berth.cri.v1.ListPodSandboxMetricsResponse;
import io.berth.cri.v1.PodSandboxMetrics;
import java.util.List;

/** CRI ListPodSandboxMetrics: every READY pod's series, from the shims' latest samples. */
public final class ListPodSandboxMetrics implements Handler<ListPodSandboxMetricsRequest, ListPodSandboxMetricsResponse> {
    private final ContainerManager containers;
    private final PodManager pods;
    private final StatsService stats;

    public ListPodSandboxMetrics(ContainerManager containers, PodManager pods, StatsService stats) {
        this.containers = containers;
        this.pods = pods;
        this.stats = stats;
    }

    @Override
    public ListPodSandboxMetricsResponse handle(ListPodSandboxMetricsRequest request) {
        return ListPodSandboxMetricsResponse.newBuilder().addAllPodMetrics(items()).build();
    }

    /** Every READY pod's metrics; StreamPodSandboxMetrics sends the same. */
    public List<PodSandboxMetrics> items() {
        List<Container> all = containers.records();
        return pods.list().stream()
                .filter(s -> s.state() == Sandbox.State.READY)
                .map(s -> PodMetrics.of(s, all.stream().filter(c -> c.sandboxId().equals(s.id())).toList(), stats))
                .toList();
    }
}
