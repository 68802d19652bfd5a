package io.berth.agent.cri;

import io.berth.agent.container.ContainerManager;
import io.berth.agent.cri.events.GetContainerEvents;
import io.berth.agent.cri.stats.ContainerStats;
import io.berth.agent.cri.stats.ListContainerStats;
import io.berth.agent.cri.stats.ListMetricDescriptors;
import io.berth.agent.cri.stats.ListPodSandboxMetrics;
import io.berth.agent.cri.stats.ListPodSandboxStats;
import io.berth.agent.cri.stats.PodSandboxStats;
import io.berth.agent.events.ContainerEvents;
import io.berth.agent.pod.PodManager;
import io.berth.agent.stats.StatsService;

/** The RuntimeService handlers that observe rather than change: stats, metrics, events. */
public record Observability(
        ContainerStats containerStats,
        ListContainerStats listContainerStats,
        PodSandboxStats podSandboxStats,
        ListPodSandboxStats listPodSandboxStats,
        ListMetricDescriptors listMetricDescriptors,
        ListPodSandboxMetrics listPodSandboxMetrics,
        GetContainerEvents getContainerEvents) {

    public static Observability of(PodManager pods, ContainerManager containers, StatsService stats,
            ContainerEvents events) {
        return new Observability(
                new ContainerStats(containers, pods, stats),
                new ListContainerStats(containers, pods, stats),
                new PodSandboxStats(containers, pods, stats),
                new ListPodSandboxStats(containers, pods, stats),
                new ListMetricDescriptors(),
                new ListPodSandboxMetrics(containers, pods, stats),
                new GetContainerEvents(events, pods, containers, ContainerEvents.DEFAULT_CAPACITY));
    }
}
