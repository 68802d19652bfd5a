package io.berth.agent.cri.stats;

import io.berth.agent.container.Container;
import io.berth.agent.container.ContainerManager;
import io.berth.agent.cri.Handler;
import io.berth.agent.pod.PodManager;
import io.berth.agent.pod.Sandbox;
import io.berth.agent.stats.StatsService;
import io.berth.cri.v1.LinuxPodSandboxStats;
import io.berth.cri.v1.PodSandboxStatsRequest;
import io.berth.cri.v1.PodSandboxStatsResponse;
import java.util.List;

/**
 * CRI PodSandboxStats: the pod's CPU, memory and process count from its own cgroup (which also
 * counts what exited containers used, as cAdvisor's pod numbers do), the network counters of its
 * namespace, and its live containers' stats. NOT_FOUND for an unknown pod.
 */
public final class PodSandboxStats implements Handler<PodSandboxStatsRequest, PodSandboxStatsResponse> {
    private final ContainerManager containers;
    private final PodManager pods;
    private final StatsService stats;

    public PodSandboxStats(ContainerManager containers, PodManager pods, StatsService stats) {
        this.containers = containers;
        this.pods = pods;
        this.stats = stats;
    }

    @Override
    public PodSandboxStatsResponse handle(PodSandboxStatsRequest request) {
        if (request.getPodSandboxId().isEmpty()) {
            throw io.berth.agent.domain.BerthException.invalid("PodSandboxStatsRequest.pod_sandbox_id is required");
        }
        Sandbox s = pods.get(request.getPodSandboxId());
        return PodSandboxStatsResponse.newBuilder().setStats(of(s, containers.records(), pods, stats)).build();
    }

    static io.berth.cri.v1.PodSandboxStats of(Sandbox s, List<Container> all, PodManager pods, StatsService stats) {
        List<Container> mine = all.stream().filter(c -> c.sandboxId().equals(s.id())).toList();
        var linux = LinuxPodSandboxStats.newBuilder();
        var live = mine.stream()
                .filter(c -> c.state() == Container.State.RUNNING || c.state() == Container.State.CREATED)
                .map(c -> ContainerStats.of(c, pods, stats))
                .toList();
        linux.addAllContainers(live);
        stats.pod(s).ifPresent(r -> linux.setCpu(StatsMapping.cpu(r))
                .setMemory(StatsMapping.memory(r.sample().cgroup()))
                .setProcess(StatsMapping.processes(r.sample().cgroup())));
        stats.podNetwork(s, mine).ifPresent(n -> linux.setNetwork(StatsMapping.network(n)));
        return io.berth.cri.v1.PodSandboxStats.newBuilder().setAttributes(StatsMapping.attributes(s)).setLinux(linux).build();
    }
}
